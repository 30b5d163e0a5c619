"""What code does with an event loop: each expression that evaluates to a loop (a read of its
holder, a getter call, a local copy) is classified by the code around it. The LCK2xx rules decide
from the set of uses whether a loop is a per-call runner that ``asyncio.run()`` can replace."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.analysis.names import is_import_binding
from loopcheck.analysis.tree import descendants, is_name, is_none, sole_statement, sole_target
from loopcheck.prefilter.starts import Where

if TYPE_CHECKING:
    from loopcheck.analysis import FileAnalysis
    from loopcheck.analysis.holders import Holder

# The holders (``Held``) are imported where a holder is asked for: finding a loop call does not
# need them, and they take long to import.

# What `except` takes a missing or running loop's RuntimeError with.
RUNTIME_ERROR = frozenset({"RuntimeError", "Exception", "BaseException"})


class Use(enum.Enum):
    RUN = enum.auto()  # runs a coroutine on it: loop.run_until_complete(x)
    TEARDOWN = enum.auto()  # loop.close(), loop.run_until_complete(loop.shutdown_asyncgens())
    SET_CURRENT = enum.auto()  # makes it current: asyncio.set_event_loop(loop)
    SERVE = enum.auto()  # loop.run_forever(): a long-lived loop, not a runner
    ESCAPE = enum.auto()  # returned, yielded or stored: its lifetime is managed elsewhere
    OTHER = enum.auto()  # uses it otherwise


@dataclass(frozen=True)
class LoopUse:
    kind: Use
    # RUN: the run_until_complete() call; TEARDOWN and SET_CURRENT: the statement to delete;
    # otherwise the reference itself.
    node: cst.CSTNode


@dataclass(frozen=True)
class RunningBranch:
    """``if loop.is_running(): <a task of x> else: <loop.run_until_complete(x)>``, each branch
    one statement returning its call (or assigning it to the same name): a task on the loop the
    thread is running, else a run of the same ``x`` on the loop, which is not running. Also with
    the test negated (``if not loop.is_running():``, the run first), and without ``else`` where
    the ``if`` returns and the statement after it returns the other call."""

    branch: cst.If
    task: cst.Call  # loop.create_task(x), asyncio.ensure_future(x[, loop=loop]) or asyncio.create_task(x)
    run: cst.Call
    returns: bool  # both branches return (else both assign)
    task_uses_loop: bool  # the task's call names the loop (its method, or ensure_future's `loop=`)
    loop: str  # the variable holding the loop
    negated: bool  # `if not loop.is_running():`: the `if` runs, the other branch makes the task
    after: cst.SimpleStatementLine | None  # the other branch, after an `if` without `else`


def method_call(node: cst.CSTNode | None, methods: Iterable[str]) -> cst.Call | None:
    """``node`` when it is a call ``<something>.<method>(...)`` of one of ``methods``."""
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in methods
    ):
        return node
    return None


def of_kind(uses: Iterable[LoopUse], *kinds: Use) -> list[LoopUse]:
    return [use for use in uses if use.kind in kinds]


def sole_argument(call: cst.Call) -> cst.BaseExpression | None:
    """The argument of a call that has exactly one, passed by position."""
    if len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star:
        return call.args[0].value
    return None


def catches_runtime_error(handler: cst.ExceptHandler) -> bool:
    """``except:``, ``except RuntimeError:`` or a handler of a base class of it."""
    return handler.type is None or (isinstance(handler.type, cst.Name) and handler.type.value in RUNTIME_ERROR)


def plain_operand(node: cst.BaseExpression) -> bool:
    """An operand that ``await`` can take without parentheses: a name, attribute, call, ..."""
    return isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) and not node.lpar


class LoopUses:
    def __init__(self, analysis: FileAnalysis) -> None:
        self.analysis = analysis
        self.tree = analysis.tree
        self.api = analysis.catalogue.loop_api

    def calls(self, node: cst.CSTNode | None, names: frozenset[str]) -> bool:
        return node is not None and self.analysis.names.calls(node, names)

    def classify(self, ref: cst.CSTNode) -> LoopUse:
        """What the code around ``ref`` (an expression evaluating to a loop) does with it."""
        api, parents = self.api, self.tree.parents
        up = parents.get(ref)
        if isinstance(up, cst.Attribute) and up.value is ref:
            method = up.attr.value
            if method == api.serve_method:  # called here, or handed to a thread as its target
                return LoopUse(Use.SERVE, ref)
            call = parents.get(up)
            if not (isinstance(call, cst.Call) and call.func is up):
                return LoopUse(Use.OTHER, ref)
            if method == api.run_method:
                if len(call.args) == 1 and method_call(call.args[0].value, api.shutdown_methods):
                    return self._teardown_statement(call, ref)
                return LoopUse(Use.RUN, call)
            if method in api.close_methods:
                return self._teardown_statement(call, ref)
            if method in api.shutdown_methods:
                # The inner half of loop.run_until_complete(loop.shutdown_asyncgens()).
                argument = parents.get(call)
                outer = parents.get(argument) if isinstance(argument, cst.Arg) else None
                if method_call(outer, (api.run_method,)) is not None:
                    return self._teardown_statement(outer, ref)  # type: ignore[arg-type]
            return LoopUse(Use.OTHER, ref)
        if isinstance(up, cst.Arg) and up.value is ref:
            call = parents.get(up)
            if self.calls(call, api.set_loop):
                statement = self.tree.expression_statement(call)  # type: ignore[arg-type]
                if statement is not None:
                    return LoopUse(Use.SET_CURRENT, statement)
            return LoopUse(Use.OTHER, ref)
        if isinstance(up, (cst.Return, cst.Yield)):
            return LoopUse(Use.ESCAPE, ref)
        if isinstance(up, cst.Assign) and up.value is ref:
            stored = any(not isinstance(t.target, cst.Name) for t in up.targets)
            return LoopUse(Use.ESCAPE if stored else Use.OTHER, ref)
        return LoopUse(Use.OTHER, ref)

    def aliased_runs(self, ref: cst.CSTNode) -> list[cst.Call]:
        """The calls of a local bound-method alias ``run = loop.run_until_complete``: each one
        runs a coroutine on the loop. (The alias itself classifies as OTHER, so no rule offers a
        fix that would leave it naming a loop that is gone.)"""
        attribute = self.tree.parents.get(ref)
        if not (
            isinstance(attribute, cst.Attribute)
            and attribute.value is ref
            and attribute.attr.value == self.api.run_method
        ):
            return []
        from loopcheck.analysis.holders import Held

        alias = self.analysis.holders.of(attribute)
        if alias.kind is not Held.LOCAL or not isinstance(alias.target, cst.Name):
            return []
        return [
            call for read in alias.reads
            if isinstance(call := self.tree.parents.get(read), cst.Call) and call.func is read
        ]

    def _teardown_statement(self, call: cst.Call, ref: cst.CSTNode) -> LoopUse:
        statement = self.tree.expression_statement(call)
        return LoopUse(Use.TEARDOWN, statement) if statement else LoopUse(Use.OTHER, ref)

    def running_branch(self, uses: list[LoopUse]) -> RunningBranch | None:
        """The ``if loop.is_running():`` branch between a task and a run of the same argument,
        when the loop's ``uses`` are that test, that run and the task's own use of the loop
        (``loop.create_task(x)``, ``asyncio.ensure_future(x, loop=loop)``), if any, and nothing else."""
        api, parents = self.api, self.tree.parents
        runs, other = of_kind(uses, Use.RUN), of_kind(uses, Use.OTHER)
        if len(runs) != 1 or len(runs) + len(other) != len(uses):
            return None
        tests = [call for use in other if (call := self._called_on(use.node, api.running_method)) and not call.args]
        if len(tests) != 1 or not isinstance(loop := tests[0].func.value, cst.Name):  # type: ignore[attr-defined]
            return None
        negation = parents.get(tests[0])
        negated = isinstance(negation, cst.UnaryOperation) and isinstance(negation.operator, cst.Not)
        condition = negation if negated else tests[0]
        branch = parents.get(condition)  # type: ignore[arg-type]
        if not (isinstance(branch, cst.If) and branch.test is condition):
            return None
        arms = self._branches(branch)
        if arms is None:
            return None
        first, second, after = arms
        running, not_running = (second, first) if negated else (first, second)
        if running[0] != not_running[0] or not_running[1] is not runs[0].node:
            return None
        run, task = not_running[1], running[1]
        in_task = [use.node for use in other if use.node is not loop]
        if not self._task_of(task, run, in_task):
            return None
        return RunningBranch(branch, task, run, running[0] is None, bool(in_task), loop.value, negated, after)

    def _branches(
        self, branch: cst.If
    ) -> tuple[tuple[str | None, cst.Call], tuple[str | None, cst.Call], cst.SimpleStatementLine | None] | None:
        """The results (see :meth:`_sole_result`) of the ``if``'s block and of the other branch:
        its ``else`` block, or where it has none and its block returns, the ``return`` after it
        (then also that statement)."""
        first = self._sole_result(branch.body)
        if first is None:
            return None
        if isinstance(branch.orelse, cst.Else):
            second = self._sole_result(branch.orelse.body)
            return None if second is None else (first, second, None)
        siblings, index = self.tree.position_in_block(branch)
        has_next = branch.orelse is None and index is not None and index + 1 < len(siblings)
        after = siblings[index + 1] if has_next else None  # type: ignore[operator]
        second = self._sole_result(cst.IndentedBlock([after])) if isinstance(after, cst.SimpleStatementLine) else None
        if second is None or first[0] is not None or second[0] is not None:
            return None  # without `else`, only a `return` in the `if` keeps the other branch from running
        return first, second, after  # type: ignore[return-value]

    def _task_of(self, task: cst.Call, run: cst.Call, loop_refs: list[cst.CSTNode]) -> bool:
        """``task`` wraps what ``run`` runs in a task, using the loop (``loop_refs``) only as
        ``loop.create_task(x)`` or as asyncio.ensure_future()'s ``loop=``: nothing else."""
        api = self.api
        on_loop = [ref for ref in loop_refs if self._called_on(ref, api.task_method) is task]
        if not (on_loop or self.calls(task, api.task)):
            return False
        argument, positional = sole_argument(run), [arg for arg in task.args if arg.keyword is None]
        keywords = [arg for arg in task.args if arg.keyword is not None]
        passed = [arg.value for arg in keywords if is_name(arg.keyword, "loop")]
        return (
            argument is not None
            and len(positional) == 1
            and not positional[0].star
            and argument.deep_equals(positional[0].value)
            and len(passed) == len(keywords)
            and sorted(map(id, loop_refs)) == sorted(map(id, [*on_loop, *passed]))
        )

    def _called_on(self, ref: cst.CSTNode, method: str) -> cst.Call | None:
        """The call ``ref.<method>(...)``."""
        attribute = self.tree.parents.get(ref)
        call = self.tree.parents.get(attribute) if isinstance(attribute, cst.Attribute) else None
        if isinstance(call, cst.Call) and isinstance(attribute, cst.Attribute) and attribute.attr.value == method:
            return call if call.func is attribute else None
        return None

    @staticmethod
    def _sole_result(block: cst.BaseSuite) -> tuple[str | None, cst.Call] | None:
        """A block of one statement, ``return <call>`` (None) or ``<name> = <call>`` (the name),
        with that call."""
        lines = block.body if isinstance(block, cst.IndentedBlock) else ()
        statement = sole_statement(lines[0]) if len(lines) == 1 else None
        target = sole_target(statement)
        if isinstance(statement, cst.Return) and isinstance(statement.value, cst.Call):
            return None, statement.value
        if isinstance(statement, cst.Assign) and isinstance(target, cst.Name) and isinstance(statement.value, cst.Call):
            return target.value, statement.value
        return None

    def uses_of(self, refs: Iterable[cst.CSTNode]) -> list[LoopUse]:
        """The distinct uses of a loop (two references can share one teardown statement)."""
        seen: dict[tuple[Use, int], LoopUse] = {}
        for ref in refs:
            use = self.classify(ref)
            seen.setdefault((use.kind, id(use.node)), use)
        return list(seen.values())

    def shared_receiver(self, runs: Iterable[cst.Call]) -> str | None:
        """The variable whose methods make the coroutines of two of ``runs``
        (``loop.run_until_complete(client.start())``, later ``...(client.close())``): an object
        that the first run may bind to the loop and a later run uses again. Not a module or a
        class an import or a ``class`` statement binds (``tasks.fetch()``). None when no two
        runs share one."""
        seen: set[str] = set()
        for run in runs:
            argument = sole_argument(run)
            func = argument.func if isinstance(argument, cst.Call) else None
            receiver = func.value if isinstance(func, cst.Attribute) else None
            if not isinstance(receiver, cst.Name) or self._names_a_module_or_class(receiver):
                continue
            if receiver.value in seen:
                return receiver.value
            seen.add(receiver.value)
        return None

    def _names_a_module_or_class(self, name: cst.Name) -> bool:
        scope = self.analysis.scopes.get(name)
        return scope is None or all(
            is_import_binding(binding) or isinstance(getattr(binding, "node", None), cst.ClassDef)
            for binding in scope[name.value]
        )

    def run_calls(self, in_coroutine: bool | None = None) -> list[cst.Call]:
        """Every ``asyncio.run(...)`` and ``<loop>.run_until_complete(...)``, in source order;
        with ``in_coroutine``, only those inside coroutines (True) or outside them (False)."""
        analysis = self.analysis
        found = {
            *analysis.names.calls_to(self.api.run),
            *(
                call
                for call in analysis.index.calls_by_leaf.get(self.api.run_method, ())
                if method_call(call, (self.api.run_method,))
            ),
        }
        return self._where(sorted(found, key=analysis.names.index_order), in_coroutine)

    @cached_property
    def import_runs_a_loop(self) -> bool:
        """Whether importing the module runs a loop itself (a script that drives its own loop):
        a task scheduled at import then runs on it."""
        return any(
            self.tree.site(call).kind is Where.MODULE
            for method in (self.api.run_method, self.api.serve_method)
            for call in self.analysis.index.calls_by_leaf.get(method, ())
            if isinstance(call.func, cst.Attribute)
        )

    def runs_or_is_handed_work(self, call: cst.Call) -> bool:
        """Whether the loop ``call`` gives runs a coroutine with run_until_complete(), directly
        or through the local or module global it is stored in, or is handed work from other
        threads."""
        analysis = self.analysis
        if self.classify(call).kind is Use.RUN:
            return True
        from loopcheck.analysis.holders import Held

        holder = analysis.holders.of(call)
        if holder.value is not call or not holder.followable:
            return False
        if holder.kind in (Held.LOCAL, Held.MODULE_GLOBAL) and of_kind(self.uses_of(holder.reads), Use.RUN):
            return True
        return any(analysis.thread_reach.handed_work(read) for read in holder.reads)

    def current_loop_calls(self, in_coroutine: bool | None = None) -> list[cst.Call]:
        """Every ``asyncio.get_event_loop()``, in source order; with ``in_coroutine``, only those
        inside coroutines (True) or outside them (False)."""
        return self._where(self.analysis.names.calls_to(self.api.current_loop), in_coroutine)

    def _where(self, calls: list[cst.Call], in_coroutine: bool | None) -> list[cst.Call]:
        if in_coroutine is None:
            return calls
        return [call for call in calls if self.tree.in_coroutine(call) is in_coroutine]

    def new_loops_in_synchronous_defs(self) -> list[tuple[cst.Call, cst.FunctionDef]]:
        """Each ``asyncio.new_event_loop()`` in the body of a ``def`` (module code runs once; in a
        coroutine the run is what is wrong), with that ``def``, in source order."""
        found = []
        for call in self.analysis.names.calls_to(self.api.new_loop):
            function = self.tree.synchronous_def(call)
            if function is not None:
                found.append((call, function))
        return found

    def is_set_current_none(self, statement: cst.CSTNode) -> bool:
        """``asyncio.set_event_loop(None)``: lifecycle bookkeeping that asyncio.run() does."""
        if not isinstance(statement, cst.Expr):
            return False
        call = statement.value
        return (
            self.calls(call, self.api.set_loop)
            and isinstance(call, cst.Call)
            and len(call.args) == 1
            and is_none(call.args[0].value)
        )

    def set_current_none_statements(self, function: cst.CSTNode) -> list[cst.Expr]:
        """``asyncio.set_event_loop(None)`` statements of ``function`` (not nested functions)."""
        return [
            statement
            for call in self.analysis.names.calls_to(self.api.set_loop)
            if self.tree.enclosing_function(call) is function
            and (statement := self.tree.expression_statement(call)) is not None
            and self.is_set_current_none(statement)
        ]

    def own_unsets(self, function: cst.CSTNode, uses: list[LoopUse]) -> list[cst.Expr]:
        """The ``asyncio.set_event_loop(None)`` statements of ``function`` that unset this loop:
        after its last ``set_event_loop()`` with no other loop set in between, in a block beside
        the loop's own setting, running or closing (so on the loop's path, not another
        branch's). Such an unset leaves the thread with no current loop, as asyncio.run() does."""
        sets = [use.node for use in uses if use.kind is Use.SET_CURRENT]
        if not sets:
            return []
        order = self.analysis.names.index_order
        last_set = max(sets, key=order)
        blocks = {id(self._block_of(use.node)) for use in uses if use.kind in (Use.RUN, Use.SET_CURRENT, Use.TEARDOWN)}
        others = [
            call
            for call in self.analysis.names.calls_to(self.api.set_loop)
            if self.tree.enclosing_function(call) is function and not self.tree.within(call, last_set)
        ]
        return [
            statement
            for statement in self.set_current_none_statements(function)
            if id(self._block_of(statement)) in blocks
            and order(statement) > order(last_set)
            and not any(order(last_set) < order(call) < order(statement) for call in others)
        ]

    def _block_of(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The block (an indented suite, or the module) holding the statement that holds ``node``."""
        for child, up in self.tree.ancestors(node):
            if isinstance(child, cst.BaseStatement) and isinstance(up, (cst.IndentedBlock, cst.Module)):
                return up
        return None

    def reentry_patched(self) -> bool:
        """Whether the module applies nest_asyncio (or a fork the catalogue knows) anywhere: the
        patch replaces asyncio.run() and the loop's run methods for the whole process, so a run
        rewritten to asyncio.run() may reuse a running loop instead of making its own."""
        return next(iter(self.analysis.names.calls_to(self.api.nest)), None) is not None

    def reentry_allowed(self, node: cst.CSTNode) -> bool:
        """Whether nest_asyncio (or a fork the catalogue knows) is applied at module level or in a
        function around ``node``: there, running a coroutine on the current (possibly running)
        loop is what the code asks for; LCK205 reports the patch itself."""
        tree = self.tree
        around = {id(up) for _, up in tree.ancestors(node) if isinstance(up, (cst.FunctionDef, cst.Lambda))}
        for call in self.analysis.names.calls_to(self.api.nest):
            function = tree.enclosing_function(call)
            if function is None or id(function) in around:
                return True
        return False

    def runs_teardown(self, run_call: cst.Call) -> bool:
        """``loop.run_until_complete(close_loop())`` where ``close_loop`` is a coroutine (or async
        generator) function of this module that shuts a loop down (``await
        loop.shutdown_asyncgens()``): the run tears the loop down rather than doing work. (The
        function itself may be passed, as real code does by mistake.)"""
        argument = sole_argument(run_call)
        if isinstance(argument, cst.Call) and not argument.args:
            argument = argument.func
        if not isinstance(argument, cst.Name):
            return False
        functions = self.analysis.definitions.functions(argument)
        return bool(functions) and all(self._shuts_down(f) for f in functions)

    def gathers_leftover_tasks(self, run_call: cst.Call) -> bool:
        """``loop.run_until_complete(asyncio.gather(*pending, ...))`` where ``pending`` holds the
        loop's tasks (``asyncio.all_tasks(loop)``, or a list made from them): the run finishes
        what the loop's work left behind, as asyncio.run() does, rather than doing work."""
        argument = sole_argument(run_call)
        if not (isinstance(argument, cst.Call) and self.calls(argument, self.api.future_factories)):
            return False
        starred = [arg.value for arg in argument.args if arg.star == "*"]
        if len(starred) != 1 or not isinstance(starred[0], cst.Name):
            return False
        values = self.analysis.holders.assigned_values(starred[0])
        return bool(values) and all(
            value is not None and any(self.calls(call, self.api.all_tasks) for call in descendants(value, cst.Call))
            for value in values
        )

    def _shuts_down(self, function: cst.CSTNode) -> bool:
        if not (isinstance(function, cst.FunctionDef) and function.asynchronous is not None):
            return False
        methods = self.api.shutdown_methods
        return any(method_call(call, methods) is not None for call in descendants(function.body, cst.Call))

    def coroutine_argument(self, node: cst.BaseExpression) -> bool | None:
        """Whether ``node`` is a coroutine, as asyncio.run() requires: True for a call of anything
        but a known Future factory, False for those, None (unknown) for any other expression. A
        variable bound once is followed to its value."""
        if isinstance(node, cst.Name):
            values = self.analysis.holders.assigned_values(node)
            if len(values) != 1 or values[0] is None:
                return None
            return self.coroutine_argument(values[0])
        if not isinstance(node, cst.Call):
            return None
        return not self.calls(node, self.api.future_factories)

    def known_running(self, node: cst.CSTNode) -> cst.Call | None:
        """The ``get_running_loop()`` call whose success shows that a loop is running in this
        thread where ``node`` runs: later in the same ``try`` body, in its ``else``, or after a
        ``try`` whose ``except RuntimeError`` leaves the function."""
        running = self.api.running_loop
        for child, up in self.tree.ancestors(node):
            if isinstance(up, (cst.FunctionDef, cst.Lambda)):
                return None
            if isinstance(up, cst.Try) and (child is up.body or child is up.orelse):
                found = self._running_call_in(up.body.body, before=child if child is up.body else None, names=running)
                if found is not None:
                    return found
            if isinstance(up, cst.IndentedBlock):
                siblings = list(up.body)
                index = next((i for i, s in enumerate(siblings) if s is child), None)
                for earlier in reversed(siblings[:index] if index is not None else []):
                    if isinstance(earlier, cst.Try) and self._handlers_leave(earlier):
                        found = self._running_call_in(earlier.body.body, before=None, names=running)
                        if found is not None:
                            return found
        return None

    def _running_call_in(
        self, statements: Iterable[cst.BaseStatement], before: cst.CSTNode | None, names: frozenset[str]
    ) -> cst.Call | None:
        for statement in statements:
            if before is not None and self.tree.within(before, statement):
                return None
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    value = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
                    if value is not None and self.calls(value, names):
                        return value  # type: ignore[return-value]
        return None

    def _handlers_leave(self, statement: cst.Try) -> bool:
        """Every handler of ``statement`` catches RuntimeError (or everything) and leaves the
        function, so the code after it runs only when the ``try`` body succeeded."""
        if not statement.handlers:
            return False
        for handler in statement.handlers:
            if not catches_runtime_error(handler):
                return False
            body = handler.body.body if isinstance(handler.body, cst.IndentedBlock) else []
            last = body[-1] if body else None
            if not isinstance(sole_statement(last), (cst.Return, cst.Raise)):
                return False
        return True

    def inside_is_running(self, call: cst.Call) -> cst.CSTNode | None:
        """The ``loop.is_running()`` test of an ``if`` whose body holds ``call`` (in the same
        function)."""
        for child, up in self.tree.ancestors(call):
            if isinstance(up, (cst.FunctionDef, cst.Lambda)):
                return None
            if isinstance(up, cst.If) and child is up.body:
                test = method_call(up.test, ("is_running",))
                if test is not None and not test.args:
                    return test
        return None

    def on_running_loop(self, call: cst.Call) -> bool:
        """``get_running_loop().<method>()``, or through a variable bound only to it."""
        if not isinstance(call.func, cst.Attribute):
            return False
        analysis = self.analysis
        running = self.api.running_loop
        receiver = call.func.value
        if analysis.names.calls(receiver, running):
            return True
        if isinstance(receiver, cst.Name):
            values = analysis.holders.assigned_values(receiver)
            return bool(values) and all(v is not None and analysis.names.calls(v, running) for v in values)
        return False

    def receiver_loop(self, call: cst.Call) -> Holder | None:
        """The local loop a ``loop.<method>()`` call runs on, when a loop call (a new, current or
        running loop) made it."""
        receiver = call.func.value if isinstance(call.func, cst.Attribute) else None
        if not isinstance(receiver, cst.Name):
            return None
        analysis = self.analysis
        from loopcheck.analysis.holders import Held

        loop_calls = self.api.loop_factories | self.api.running_loop
        for value in analysis.holders.assigned_values(receiver):
            if value is not None and analysis.names.calls(value, loop_calls):
                holder = analysis.holders.of(value)
                if holder.kind is Held.LOCAL and holder.value is value:
                    return holder
        return None

    def caught_without_loop(self, call: cst.Call) -> bool:
        """``call`` is in the body of a ``try`` (in the same function) whose handler takes the
        RuntimeError of a missing loop: the code expects to find none."""
        for child, up in self.tree.ancestors(call):
            if isinstance(up, (cst.FunctionDef, cst.Lambda)):
                return False
            if isinstance(up, cst.Try) and child is up.body:
                if any(catches_runtime_error(h) for h in up.handlers):
                    return True
        return False

    def other_bindings(self, holder: Holder) -> set[cst.CSTNode]:
        """The other bindings of the holder's variable that its reads may see (another loop, or
        something else, where the loop is used)."""
        flow = self.analysis.flow
        seen: set[cst.CSTNode] = set()
        for read in holder.reads:
            if isinstance(read, cst.Name):
                seen |= flow.reaching(read)
        seen.discard(holder.target)  # type: ignore[arg-type]
        return seen

    def binds_call(self, binding: cst.CSTNode, names: frozenset[str]) -> bool:
        """The binding gives its variable the result of a call of one of ``names``."""
        value = self.analysis.holders.value_bound_by(binding)
        return value is not None and self.analysis.names.calls(value, names)

    def loop_set_up(self, current: cst.Call) -> list[cst.CSTNode]:
        """``asyncio.set_event_loop(asyncio.new_event_loop())`` statements that only prepared the
        loop ``current`` (a ``get_event_loop()``) fetches: in its ``def``, when that asks for the
        current loop nowhere else."""
        analysis = self.analysis
        tree = self.tree
        function = tree.enclosing_function(current)
        if not isinstance(function, cst.FunctionDef):
            return []
        api = self.api
        asks = [c for c in analysis.names.calls_to(api.current_loop) if tree.enclosing_function(c) is function]
        if len(asks) != 1:
            return []
        found: list[cst.CSTNode] = []
        for call in analysis.names.calls_to(api.set_loop):
            statement = tree.expression_statement(call)
            if (
                statement is not None
                and tree.enclosing_function(call) is function
                and len(call.args) == 1
                and analysis.names.calls(call.args[0].value, api.new_loop)
            ):
                found.append(statement)
        return found
