"""The fix of a module-level instance of a class another module defines, whose methods keep a
loop-bound object (LCK306), unsafe: the instance becomes one per event loop, made on first use
under that loop and closed with the class's own async close method when that loop ends (the
per-loop factory of an async client, see per_loop_client), and its name stays, as a proxy to the
running loop's instance. Every use (``connector.execute_query(...)`` here, ``from m import
connector`` elsewhere) stays as it is; the class's module is not touched.

The project model knows the class (its close method, whether it is an async context manager);
this module checks the statement and the uses the file shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.data.catalogue import Client
from loopcheck.engine.diagnostics import FixProposal, NoFix, Safety
from loopcheck.fixes.per_loop import hidden_reason, rebound_reason
from loopcheck.fixes.per_loop_client import ClientFixes

if TYPE_CHECKING:
    from loopcheck.engine.context import LintContext

# Why the fix is declined where the module's own code shows it cannot work.
OUTSIDE_COROUTINES = "it is used outside coroutines, where no loop runs to pick its instance"
ATTRIBUTE_SET = "code sets or deletes an attribute of it, which the proxy standing for it would not pass on"


def instance_statement(
    context: LintContext, name: str, callee: str
) -> tuple[cst.SimpleStatementLine, cst.Call] | cst.Call | None:
    """Where the module binds its global ``name`` to a call of ``callee`` (as written): the
    statement ``name = callee(...)``, on a line of its own at the top level, and its call; the call
    alone where it is bound otherwise (``a = b = callee()``, inside an ``if``: a shape the fix does
    not rewrite); None when nothing binds it so (the fix has replaced it)."""
    analysis, module = context.analysis, context.module
    scope, parents = analysis.scopes[module], analysis.tree.parents
    for binding in scope[name] if name in scope else ():  # type: ignore[index]
        target = getattr(binding, "node", None)
        store = parents.get(target) if isinstance(target, cst.Name) else None
        if isinstance(store, cst.AssignTarget):
            store = parents.get(store)
        value = store.value if isinstance(store, (cst.Assign, cst.AnnAssign)) else None
        if not (isinstance(value, cst.Call) and module.code_for_node(value.func) == callee):
            continue
        line = parents.get(store)
        if (
            isinstance(store, cst.Assign)
            and len(store.targets) == 1
            and isinstance(line, cst.SimpleStatementLine)
            and len(line.body) == 1
            and analysis.tree.is_top_level(line)
        ):
            return line, value
        return value
    return None


def per_loop_instance(
    context: LintContext,
    line: cst.SimpleStatementLine,
    call: cst.Call,
    name: str,
    cls: str,
    close: str,
    async_context_manager: bool,
    title: str,
) -> FixProposal | NoFix:
    """The fix of ``name = call`` (``line``), an instance of ``cls`` (qualified) that ``await
    instance.close()`` closes, under ``title`` (the rule's: the project model shows it before the
    file is fixed, so it names nothing the fix generates); ``async_context_manager``: the class
    defines ``__aenter__`` and ``__aexit__``, which the proxy must then define too (Python looks
    them up on the type)."""
    analysis = context.analysis
    scope = analysis.scopes.get(line.body[0].targets[0].target)  # type: ignore[attr-defined]
    bindings = list(scope[name]) if scope is not None else []
    if len(bindings) != 1:
        return NoFix(rebound_reason(name))
    reads = [read.node for read in bindings[0].references]
    if not all(analysis.tree.in_coroutine(read) for read in reads):
        return NoFix(OUTSIDE_COROUTINES)
    if any(_attribute_changed(analysis.tree.parents, read) for read in reads):
        return NoFix(ATTRIBUTE_SET)
    hidden = analysis.names.free_variables(call)
    if hidden:
        return NoFix(hidden_reason(hidden[0].value))
    instance = Client(
        key=cls,
        display=cls,
        constructors=(cls,),
        close=close,
        async_context_manager=async_context_manager,
        fix="per-loop-factory",
    )
    fixes = ClientFixes(context)
    factory = fixes.factory(instance, call, name, line, ())
    if isinstance(factory, NoFix):
        return factory
    proxied = fixes.proxied(factory, instance, name)
    return FixProposal(Safety.UNSAFE, title, proxied.build, proxied.names)



def _attribute_changed(parents: Mapping[cst.CSTNode, cst.CSTNode], read: cst.CSTNode) -> bool:
    """Whether ``read`` is the object of an attribute that is assigned or deleted there
    (``name.x = 1``, ``name.x += 1``, ``del name.x``)."""
    attribute = parents.get(read)
    if not isinstance(attribute, cst.Attribute) or attribute.value is not read:
        return False
    changed = parents.get(attribute)
    return isinstance(changed, (cst.AssignTarget, cst.Del)) or (
        isinstance(changed, (cst.AugAssign, cst.AnnAssign)) and changed.target is attribute
    )
