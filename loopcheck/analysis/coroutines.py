"""What the argument of a run is, as far as this module can prove it: a coroutine (a call of an
``async def`` the module defines), whether evaluating it may consult the thread's current loop,
and whether the coroutine may leave work in the loop's default executor. A fix that hands the
argument to ``asyncio.run()`` (or ``await``) keeps a program's behaviour only where these hold."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.analysis.definitions import Function
from loopcheck.analysis.tree import argument, is_name

if TYPE_CHECKING:
    from loopcheck.analysis import FileAnalysis

# Calls that never look at an event loop: builtins that compute a value or print one, and
# contextlib.suppress().
LOOP_FREE_CALLS = frozenset(
    {
        *(
            f"builtins.{name}"
            for name in (
                "abs", "bool", "bytes", "dict", "divmod", "enumerate", "float", "format", "frozenset",
                "hash", "id", "int", "isinstance", "len", "list", "max", "min", "print", "range",
                "repr", "reversed", "round", "set", "sorted", "str", "sum", "tuple", "zip",
            )
        ),
        "contextlib.suppress",
    }
)
# Decorators that leave an ``async def`` a coroutine function.
TRANSPARENT_DECORATORS = frozenset({"builtins.staticmethod", "builtins.classmethod"})


class Coroutines:
    def __init__(self, analysis: FileAnalysis) -> None:
        self.analysis = analysis
        self.api = analysis.catalogue.loop_api

    # -- is it a coroutine? ----------------------------------------------------------------

    def call_of(self, argument: cst.BaseExpression) -> cst.Call | None:
        """The call that makes ``argument``: the argument itself, or the value of a variable
        bound once."""
        if isinstance(argument, cst.Name):
            values = self.analysis.holders.assigned_values(argument)
            if len(values) != 1 or values[0] is None:
                return None
            argument = values[0]
        return argument if isinstance(argument, cst.Call) else None

    def proven(self, argument: cst.BaseExpression) -> bool:
        """Whether ``argument`` is certainly a coroutine, as ``asyncio.run()`` requires: a call
        of an ``async def`` of this module (a function, or ``self.method()`` of an async method
        of the class that no subclass here overrides with anything else)."""
        call = self.call_of(argument)
        return call is not None and self.coroutine_functions(call) is not None

    def passed_parameter(self, argument: cst.BaseExpression) -> tuple[str, str] | None:
        """The function (qualified within the module: ``run_async``, ``Worker.run``) and the
        parameter ``argument`` reads, when it is a parameter of the function it is read in that
        nothing else binds (``def run_async(coro): ... run_until_complete(coro)``): what runs is
        what the function's callers pass. None for anything else."""
        if not isinstance(argument, cst.Name):
            return None
        function = self.analysis.tree.enclosing_function(argument)
        if not isinstance(function, cst.FunctionDef):
            return None
        params = function.params
        named = [*params.posonly_params, *params.params, *params.kwonly_params]
        scope = self.analysis.scopes.get(argument)
        bindings = list(scope[argument.value]) if scope is not None else []
        if len(bindings) != 1 or not any(getattr(bindings[0], "node", None) is param for param in named):
            return None
        return self.analysis.tree.qualified_name(function), argument.value

    def coroutine_functions(self, call: cst.Call) -> list[cst.FunctionDef] | None:
        """The ``async def`` functions of this module ``call`` runs, when every one it may run
        is one (and none is an async generator or wrapped by a decorator), or a coroutine
        function of asyncio's (then none of this module's: ``[]``); None otherwise."""
        func = call.func
        if self.analysis.names.calls(call, self.api.coroutine_functions):
            return []  # asyncio's own: nothing of this module runs
        if isinstance(func, cst.Name):
            candidates = self._bound_functions(func)
        elif isinstance(func, cst.Attribute) and self.analysis.definitions.is_self(func.value):
            candidates = self._own_methods(func)
        else:
            return None
        if not candidates or not all(self._coroutine_function(f) for f in candidates):
            return None
        return candidates  # type: ignore[return-value]

    def _bound_functions(self, name: cst.Name) -> list[cst.CSTNode] | None:
        scope = self.analysis.scopes.get(name)
        if scope is None:
            return None
        assignments = list(scope[name.value])
        nodes = [getattr(a, "node", None) for a in assignments]
        if not nodes or any(not isinstance(n, cst.FunctionDef) for n in nodes):
            return None  # a builtin, an import, a parameter or a variable: anything callable
        return nodes  # type: ignore[return-value]

    def _own_methods(self, attribute: cst.Attribute) -> list[cst.CSTNode] | None:
        definitions = self.analysis.definitions
        owner = definitions.own_class(attribute)
        if owner is None:
            return None
        name = attribute.attr.value
        method = definitions.method(owner, name)
        if method is None or self._attribute_stored(name):
            return None  # `self.name = ...` somewhere: an instance may hold anything there
        pending, found = [owner], [method]
        while pending:  # an override in a subclass runs for its instances
            for subclass in definitions.subclasses(pending.pop()):
                override = definitions.methods(subclass).get(name)
                if override is not None:
                    found.append(override)
                pending.append(subclass)
        return found  # type: ignore[return-value]

    def _attribute_stored(self, name: str) -> bool:
        """Whether the module assigns ``<anything>.name`` or ``name = ...`` in a class body."""
        parents = self.analysis.tree.parents
        for attribute in self.analysis.index.attributes_by_name.get(name, ()):
            up = parents.get(attribute)
            if isinstance(up, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign)) and up.target is attribute:
                return True
        for class_def in self.analysis.definitions.classes:
            for line in class_def.body.body:
                for small in line.body if isinstance(line, cst.SimpleStatementLine) else ():
                    if isinstance(small, cst.Assign):
                        targets = [target.target for target in small.targets]
                    else:
                        targets = [small.target] if isinstance(small, cst.AnnAssign) else []
                    if any(is_name(target, name) for target in targets):
                        return True
        return False

    def _coroutine_function(self, node: cst.CSTNode) -> bool:
        if not isinstance(node, cst.FunctionDef) or node.asynchronous is None:
            return False
        names = self.analysis.names
        if any(not names.qualified(d.decorator) & TRANSPARENT_DECORATORS for d in node.decorators):
            return False
        return not any(isinstance(n, cst.Yield) for n in _own_nodes(node.body))  # async generator

    # -- does evaluating it consult the current loop? ----------------------------------------

    def loop_dependent_call(self, argument: cst.BaseExpression) -> cst.Call | None:
        """A call made while ``argument`` is evaluated that may consult the thread's current
        loop (``asyncio.Future()``, ``get_event_loop()``, a client's method, any function this
        module cannot see into) in the arguments of the call that makes ``argument``: calling
        a coroutine function runs none of its body, and the calls in LOOP_FREE_CALLS look
        at no loop. (Whether the call itself may is what ``proven`` answers.)"""
        call = self.call_of(argument)
        if call is None:
            return None
        # Not inside lambdas: their code runs later, inside the coroutine.
        return self.first_loop_dependent(n for n in _own_nodes(call.args) if isinstance(n, cst.Call))

    def first_loop_dependent(self, calls: Iterable[cst.Call]) -> cst.Call | None:
        """The first of ``calls`` that may consult the current loop, as above."""
        for node in sorted(calls, key=self.analysis.names.index_order):
            if self.coroutine_functions(node) is not None:
                continue
            qualified = self.analysis.names.qualified(node.func)
            if qualified and qualified <= LOOP_FREE_CALLS:
                continue
            return node
        return None

    # -- does the coroutine leave work in the default executor? ------------------------------

    def default_executor_use(self, argument: cst.BaseExpression) -> cst.Call | None:
        """A ``run_in_executor(None, ...)`` or ``asyncio.to_thread()`` call in the code the
        coroutine ``argument`` may reach in this module (the functions it calls or refers to,
        transitively). ``asyncio.run()`` waits for the default executor's threads when it ends,
        where ``loop.close()`` did not: a job the coroutine left running would hang the run."""
        uses = self.default_executor_calls()
        if not uses:
            return None
        call = self.call_of(argument)
        functions = self.coroutine_functions(call) if call is not None else None
        if not functions:
            return None  # asyncio's own coroutines leave no executor job behind
        reached = self.reachable(functions)
        tree = self.analysis.tree
        for use in uses:
            if tree.within(use, *reached):
                return use
        return None

    def default_executor_calls(self) -> list[cst.Call]:
        analysis = self.analysis
        found = list(analysis.names.calls_to(self.api.default_executor))
        for call in analysis.index.calls_by_leaf.get(self.api.executor_method, ()):
            if not isinstance(call.func, cst.Attribute) or call.func.attr.value != self.api.executor_method:
                continue
            executor = argument(call, 0, "executor")
            if executor is None or (isinstance(executor, cst.Name) and executor.value == "None"):
                found.append(call)
        return found

    def reachable(self, start: list[cst.FunctionDef]) -> list[Function]:
        """``start`` and the module functions their code calls or refers to, transitively."""
        definitions = self.analysis.definitions
        seen: dict[int, Function] = {}
        pending: list[Function] = list(start)
        while pending:
            function = pending.pop()
            if id(function) in seen:
                continue
            seen[id(function)] = function
            for node in _own_nodes(function.body, into_lambdas=True, into_functions=True):
                if isinstance(node, (cst.Name, cst.Attribute)):
                    pending.extend(definitions.functions(node))
        return list(seen.values())


def _own_nodes(
    roots: cst.CSTNode | tuple | list, into_lambdas: bool = False, into_functions: bool = False
) -> Iterator[cst.CSTNode]:
    """The nodes under ``roots``; by default not inside nested functions, lambdas or classes
    (code that does not run where ``roots`` runs)."""
    pending = list(roots) if isinstance(roots, (tuple, list)) else [roots]
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and not into_functions:
            continue
        if isinstance(node, cst.Lambda) and not into_lambdas:
            continue
        pending.extend(node.children)
