"""Where each function runs: at import, under ``__main__``, in a coroutine, called from one, in a
thread, as an executor job, a Celery task, a worker start-up hook, a scheduler job, an ASGI
lifespan handler, a dramatiq actor, an arq job, an AsyncIOScheduler job, a pytest-asyncio test, or
somewhere unknown.

The seeds are data (``data/contexts.toml``): the calls and decorators that hand a callable to
something that runs it. Contexts then flow along the calls inside the module to a fixpoint: what a
thread target calls runs in the thread, a plain function called from a coroutine runs under the
coroutine's loop. The analysis is per module.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import libcst as cst

from loopcheck.analysis.definitions import Definitions, Function
from loopcheck.analysis.index import FileIndex, leaf_name
from loopcheck.analysis.names import Names
from loopcheck.analysis.tree import Tree
from loopcheck.data.catalogue import ContextSeed


class Runs(str, enum.Enum):
    IMPORT = "import"
    MAIN = "main"
    COROUTINE = "coroutine"
    CALLED_FROM_COROUTINE = "called-from-coroutine"
    THREAD = "thread"
    EXECUTOR = "executor"
    CELERY_TASK = "celery-task"
    WORKER_HOOK = "worker-hook"
    SCHEDULER_JOB = "scheduler-job"
    LIFESPAN = "lifespan"
    DRAMATIQ_ACTOR = "dramatiq-actor"
    DRAMATIQ_ASYNC_ACTOR = "dramatiq-async-actor"
    ARQ_JOB = "arq-job"
    LOOP_SCHEDULER_JOB = "loop-scheduler-job"
    ASYNCIO_TEST = "asyncio-test"
    ASYNCIO_FUNCTION_TEST = "asyncio-function-test"
    ASYNCIO_MODULE_TEST = "asyncio-module-test"
    ASYNCIO_SESSION_TEST = "asyncio-session-test"
    COMMAND_LINE = "command-line"
    FASTAPI_DEPENDENCY = "fastapi-dependency"
    UNKNOWN = "unknown"

# Contexts a callee inherits from its caller as they are (a coroutine's callee is told apart below).
_INHERITED = frozenset(Runs) - {Runs.COROUTINE, Runs.CALLED_FROM_COROUTINE, Runs.UNKNOWN}


class Unit:
    """Module-level code and code under ``__main__`` are units of their own, like functions."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


MODULE_CODE = Unit("module")
MAIN_CODE = Unit("main")
Code = Function | Unit


class ExecutionContexts:
    def __init__(
        self,
        tree: Tree,
        index: FileIndex,
        names: Names,
        definitions: Definitions,
        seeds: Iterable[ContextSeed],
    ) -> None:
        self.tree = tree
        self.index = index
        self.names = names
        self.definitions = definitions
        self.contexts: dict[Code, set[Runs]] = {}
        self._seed(list(seeds))
        self._propagate()

    # -- queries -------------------------------------------------------------------------

    def of(self, code: Code) -> frozenset[Runs]:
        """The contexts ``code`` (a function, MODULE_CODE or MAIN_CODE) runs in."""
        found = frozenset(self.contexts.get(code, ()))
        if isinstance(code, Unit):
            return found
        if not found - {Runs.COROUTINE}:
            found |= {Runs.UNKNOWN}
        return found

    def at(self, node: cst.CSTNode) -> frozenset[Runs]:
        """The contexts of the code that evaluates ``node``."""
        return self.of(self.unit_of(node))

    def unit_of(self, node: cst.CSTNode) -> Code:
        function = self.tree.enclosing_function(node)
        if function is not None:
            return function
        return MAIN_CODE if self.tree.guard_of(node) == "main" else MODULE_CODE

    # -- seeds ---------------------------------------------------------------------------

    def _add(self, code: Code, context: Runs) -> bool:
        known = self.contexts.setdefault(code, set())
        if context in known:
            return False
        known.add(context)
        return True

    def _seed(self, seeds: list[ContextSeed]) -> None:
        self.contexts[MODULE_CODE] = {Runs.IMPORT}
        self.contexts[MAIN_CODE] = {Runs.MAIN}
        for function in self.index.functions:
            if function.asynchronous is not None:
                self._add(function, Runs.COROUTINE)
        for seed in seeds:
            context = Runs(seed.context)
            for function in self._seeded(seed):
                if seed.applies_to(self.tree.is_coroutine_function(function)):
                    self._add(function, context)

    def _seeded(self, seed: ContextSeed) -> Iterable[Function]:
        """The functions the seed's calls and decorators hand over."""
        if seed.calls:
            for call in self.names.calls_to(seed.calls):
                yield from self._handed_over(seed, call)
        for method in seed.methods:
            for call in self.index.calls_by_leaf.get(method, ()):
                if isinstance(call.func, cst.Attribute) and self._receiver_matches(seed, call.func.value):
                    yield from self._handed_over(seed, call)
        if seed.decorators or seed.decorator_methods:
            for function in self.index.functions:
                for decorator in function.decorators:
                    if self._decorator_matches(seed, decorator.decorator):
                        yield function
        if seed.subclass_of:
            for class_def in self.index.classes:
                if self.definitions.base_names(class_def) & seed.subclass_of:
                    for name in seed.subclass_methods:
                        method = self.definitions.methods(class_def).get(name)
                        if method is not None:
                            yield method
        if seed.class_attributes:
            for class_def in self.index.classes:
                if class_def.name.value in seed.class_names:
                    for value in self._assigned(class_def.body.body, seed.class_attributes):
                        yield from self.definitions.functions(value, seed.wrappers)
        if seed.module_variable is not None:
            yield from self._marked(seed)

    @staticmethod
    def _assigned(statements: Iterable[cst.CSTNode], names: frozenset[str]) -> Iterable[cst.BaseExpression]:
        """The values ``statements`` assign to one of ``names`` (``functions = [download]``)."""
        for statement in statements:
            for small in statement.body if isinstance(statement, cst.SimpleStatementLine) else ():
                if isinstance(small, cst.Assign) and any(
                    isinstance(target.target, cst.Name) and target.target.value in names for target in small.targets
                ):
                    yield small.value
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    if isinstance(small.target, cst.Name) and small.target.value in names:
                        yield small.value

    def _marked(self, seed: ContextSeed) -> Iterable[Function]:
        """The functions a module-level variable marks (``pytestmark = pytest.mark.asyncio``):
        those without a mark of their own (the closest mark wins)."""
        for value in self._assigned(self.tree.module.body, frozenset({seed.module_variable})):
            listed = isinstance(value, (cst.List, cst.Tuple))
            marks = [element.value for element in value.elements] if listed else [value]
            if any(self._decorator_matches(seed, mark) for mark in marks):
                prefix = seed.name_prefix or ""
                for function in self.index.functions:
                    if function.name.value.startswith(prefix) and not any(
                        self.names.qualified(d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator)
                        & seed.decorators
                        for d in function.decorators
                    ):
                        yield function

    def _handed_over(self, seed: ContextSeed, call: cst.Call) -> Iterable[Function]:
        if not self._first_argument_matches(seed, call):
            return
        positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
        candidates = []
        if seed.position is not None and seed.position < len(positional):
            candidates.append(positional[seed.position].value)
        if seed.keyword is not None:
            candidates.extend(
                arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == seed.keyword
            )
        for candidate in candidates:
            yield from self.definitions.functions(candidate, seed.wrappers)

    def _first_argument_matches(self, seed: ContextSeed, call: cst.CSTNode) -> bool:
        first = call.args[0].value if isinstance(call, cst.Call) and call.args else None
        if not seed.first_argument_matches(first.evaluated_value if isinstance(first, cst.SimpleString) else None):
            return False
        written = frozenset(
            f"{arg.keyword.value}={arg.value.evaluated_value}"
            for arg in (call.args if isinstance(call, cst.Call) else ())
            if arg.keyword is not None and isinstance(arg.value, cst.SimpleString)
        )
        return seed.keywords_match(written)

    def _decorator_matches(self, seed: ContextSeed, decorator: cst.BaseExpression) -> bool:
        target = decorator.func if isinstance(decorator, cst.Call) else decorator
        if seed.decorators and self.names.qualified(target) & seed.decorators:
            return self._first_argument_matches(seed, decorator)
        if (
            isinstance(target, cst.Attribute)
            and target.attr.value in seed.decorator_methods
            and self._receiver_matches(seed, target.value)
        ):
            return self._first_argument_matches(seed, decorator)
        return False

    def _receiver_matches(self, seed: ContextSeed, receiver: cst.BaseExpression) -> bool:
        if not seed.receivers and not seed.receiver_names and not seed.except_receivers:
            return True
        qualified = {name for part in self._receiver_parts(receiver) for name in self.names.qualified(part)}
        return seed.receiver_matches(leaf_name(receiver), qualified)

    def _receiver_parts(self, receiver: cst.BaseExpression) -> Iterable[cst.CSTNode]:
        """The receiver, the callee of a chain it starts with (``schedule.every(1).do``), and the
        call a name is bound to (``pool = ThreadPoolExecutor()``, ``with ... as pool``)."""
        yield receiver
        node: cst.CSTNode = receiver
        while isinstance(node, (cst.Attribute, cst.Call)):
            node = node.value if isinstance(node, cst.Attribute) else node.func
            if isinstance(node, cst.Call):
                yield node.func
        if isinstance(receiver, cst.Name):
            scope = self.definitions.scopes.get(receiver)
            for assignment in scope[receiver.value] if scope is not None else ():
                bound_to = self._bound_value(getattr(assignment, "node", None))
                if isinstance(bound_to, cst.Call):
                    yield bound_to.func

    def _bound_value(self, bound: cst.CSTNode) -> cst.CSTNode | None:
        up = self.tree.parents.get(bound)
        if isinstance(up, cst.AssignTarget):
            assign = self.tree.parents.get(up)
            return assign.value if isinstance(assign, cst.Assign) else None
        if isinstance(up, cst.AsName):
            item = self.tree.parents.get(up)
            return item.item if isinstance(item, cst.WithItem) else None
        return None

    # -- propagation ---------------------------------------------------------------------

    def _calls_by_code(self) -> dict[Code, list[tuple[cst.Call, list[Function]]]]:
        """Every call made by each unit of code to something this module defines."""
        found: dict[Code, list[tuple[cst.Call, list[Function]]]] = {}
        for calls in self.index.calls_by_leaf.values():
            for call in calls:
                callees = self.definitions.callees(call)
                if callees:
                    found.setdefault(self.unit_of(call), []).append((call, callees))
        return found

    def _propagate(self) -> None:
        calls = self._calls_by_code()
        pending = list(self.contexts)
        while pending:
            caller = pending.pop()
            for _, callees in calls.get(caller, ()):
                for callee in callees:
                    if self._inherit(caller, callee):
                        pending.append(callee)

    def _inherit(self, caller: Code, callee: Function) -> bool:
        changed = False
        callee_is_coroutine = self.tree.is_coroutine_function(callee)
        for context in list(self.contexts.get(caller, ())):
            if context in _INHERITED:
                inherited = context
            elif context in (Runs.COROUTINE, Runs.CALLED_FROM_COROUTINE) and not callee_is_coroutine:
                inherited = Runs.CALLED_FROM_COROUTINE
            else:
                continue
            changed |= self._add(callee, inherited)
        return changed
