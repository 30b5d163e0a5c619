"""Objects a coroutine hands back after looking them up by a key in state the model cannot see.

A service registry (``app_context.async_get_instance(RedisManager.name)``) keeps one object per
name and makes it on first request, often through an abstract factory method or a container of
instances registered at start-up: the model cannot tell which class the element is, so it cannot
follow the call to the client the element keeps. What it can tell is the shape::

    async def async_get_instance(self, name):
        return await self._registry[name].instance()       # an element looked up by the key

    async def async_get_instance(self, name):
        context = self.get_context(name)                   # an object fetched by the key
        return await context.async_get_instance()

an ``async def`` that returns the awaited result of a method of an object chosen by one of its
parameters from state kept outside the call (rooted in ``self``/``cls`` or in a module-level
name). Such an object may be a process-wide loop-bound client; the reach uses this to decline
turning a kept loop that reaches it into a new loop per call. ``ast`` only.
"""

from __future__ import annotations

import ast
from typing import Callable

# The receiver parameters of a method: state kept on them outlives the call.
RECEIVERS = ("self", "cls")


def keyed_lookups(
    returns: list[ast.expr],
    parameters: tuple[str, ...],
    is_local: Callable[[str], bool],
    binding: Callable[[str, int], ast.expr | None],
) -> tuple[str, ...]:
    """The returned ``await <object>.<method>(...)`` calls (as written) whose object is chosen by
    a parameter (other than ``self``/``cls``) out of state kept outside the call. ``is_local``:
    whether a name is bound in the function (a parameter or an assignment); ``binding``: the last
    value a local name is bound to above a line."""
    keys = frozenset(p for p in parameters if p not in RECEIVERS)
    if not keys:
        return ()
    found = []
    for value in returns:
        if not (isinstance(value, ast.Await) and isinstance(value.value, ast.Call)):
            continue
        func = value.value.func
        if not isinstance(func, ast.Attribute):
            continue
        chosen = func.value
        if isinstance(chosen, ast.Name) and chosen.id not in parameters:
            bound = binding(chosen.id, chosen.lineno)
            if bound is None:
                continue
            chosen = bound
        if _keyed(chosen, keys, is_local):
            found.append(ast.unparse(value.value))
    return tuple(dict.fromkeys(found))


def _keyed(node: ast.expr, keys: frozenset[str], is_local: Callable[[str], bool]) -> bool:
    """Whether ``node`` picks an object by one of ``keys`` from kept state: ``self._registry[name]``
    or ``self.get_context(name)`` (also ``await``-ed), rooted in a receiver or a global."""
    if isinstance(node, ast.Await):
        node = node.value
    if isinstance(node, ast.Subscript):
        by, kept = node.slice, node.value
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        by, kept = node, node.func.value
        if not any(_names(argument, keys) for argument in (*node.args, *(k.value for k in node.keywords))):
            return False
    else:
        return False
    return _names(by, keys) and _kept_outside(kept, is_local)


def _names(node: ast.AST, keys: frozenset[str]) -> bool:
    return any(isinstance(name, ast.Name) and name.id in keys for name in ast.walk(node))


def _kept_outside(node: ast.expr, is_local: Callable[[str], bool]) -> bool:
    """Whether ``node`` (``self._registry``, ``_services``) is state that outlives the call."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    if not isinstance(node, ast.Name):
        return False
    return node.id in RECEIVERS or not is_local(node.id)
