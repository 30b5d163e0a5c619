"""What the LCK2xx rules share: recognising the event-loop API, classifying what code does with a
loop object, and the rewrites that hand a loop's lifecycle to ``asyncio.run()``.

A *loop reference* is any expression that evaluates to a loop object: a local bound to
``new_event_loop()``, a module global, ``self._loop``, a getter call. Each one is classified by
the code around it (:class:`Use`); a rule decides from the set of uses whether the loop is a
per-call runner that ``asyncio.run()`` can replace, and the fix helpers below do the rewrite.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ScopeProvider

from loopcheck.analysis import ancestors, parent, qualified_names
from loopcheck.catalogue import loop_api
from loopcheck.diagnostics import Fix, Safety
from loopcheck.fixes import Change, FixBuilder, Replacement
from loopcheck.rule import Rule


def calls_one_of(rule: Rule, node: cst.CSTNode, names: frozenset[str]) -> bool:
    return isinstance(node, cst.Call) and bool(qualified_names(rule, node.func) & names)


def method_call(node: cst.CSTNode, methods: Iterable[str]) -> cst.Call | None:
    """``node`` when it is a call ``<something>.<method>(...)`` of one of ``methods``."""
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in methods
    ):
        return node
    return None


def expression_statement(rule: Rule, node: cst.CSTNode) -> cst.Expr | None:
    """The statement ``node`` makes up on its own (``loop.close()``), if it is one."""
    up = parent(rule, node)
    return up if isinstance(up, cst.Expr) and up.value is node else None


class Use(enum.Enum):
    RUN = "runs a coroutine on it"  # loop.run_until_complete(x)
    TEARDOWN = "tears it down"  # loop.close(), loop.run_until_complete(loop.shutdown_asyncgens())
    SET_CURRENT = "makes it current"  # asyncio.set_event_loop(loop)
    SERVE = "serves forever on it"  # loop.run_forever(): a long-lived loop, not a runner
    ESCAPE = "hands it on"  # returned, yielded or stored: its lifetime is managed elsewhere
    OTHER = "uses it otherwise"


@dataclass(frozen=True)
class LoopUse:
    kind: Use
    # RUN: the run_until_complete() call; TEARDOWN and SET_CURRENT: the statement to delete;
    # otherwise the reference itself.
    node: cst.CSTNode


def _is_shutdown(node: cst.CSTNode) -> bool:
    return method_call(node, loop_api().shutdown_methods) is not None


def classify_use(rule: Rule, ref: cst.CSTNode) -> LoopUse:
    """What the code around ``ref`` (an expression evaluating to a loop) does with the loop."""
    api = loop_api()
    up = parent(rule, ref)
    if isinstance(up, cst.Attribute) and up.value is ref:
        method = up.attr.value
        if method == api.serve_method:  # called here, or handed to a thread as its target
            return LoopUse(Use.SERVE, ref)
        call = parent(rule, up)
        if not (isinstance(call, cst.Call) and call.func is up):
            return LoopUse(Use.OTHER, ref)
        if method == api.run_method:
            if len(call.args) == 1 and _is_shutdown(call.args[0].value):
                statement = expression_statement(rule, call)
                return LoopUse(Use.TEARDOWN, statement) if statement else LoopUse(Use.OTHER, ref)
            return LoopUse(Use.RUN, call)
        if method in api.close_methods:
            statement = expression_statement(rule, call)
            return LoopUse(Use.TEARDOWN, statement) if statement else LoopUse(Use.OTHER, ref)
        if method in api.shutdown_methods:
            # The inner half of loop.run_until_complete(loop.shutdown_asyncgens()).
            argument = parent(rule, call)
            outer = parent(rule, argument) if isinstance(argument, cst.Arg) else None
            if method_call(outer, (api.run_method,)) is not None:
                statement = expression_statement(rule, outer)
                if statement is not None:
                    return LoopUse(Use.TEARDOWN, statement)
            return LoopUse(Use.OTHER, ref)
        return LoopUse(Use.OTHER, ref)
    if isinstance(up, cst.Arg) and up.value is ref:
        call = parent(rule, up)
        if calls_one_of(rule, call, api.set_loop):
            statement = expression_statement(rule, call)
            if statement is not None:
                return LoopUse(Use.SET_CURRENT, statement)
        return LoopUse(Use.OTHER, ref)
    if isinstance(up, (cst.Return, cst.Yield)):
        return LoopUse(Use.ESCAPE, ref)
    if isinstance(up, cst.Assign) and up.value is ref:
        stored = any(not isinstance(t.target, cst.Name) for t in up.targets)
        return LoopUse(Use.ESCAPE if stored else Use.OTHER, ref)
    return LoopUse(Use.OTHER, ref)


def uses_of(rule: Rule, refs: Iterable[cst.CSTNode]) -> list[LoopUse]:
    """The distinct uses of a loop (two references can share one teardown statement)."""
    seen: dict[tuple[Use, int], LoopUse] = {}
    for ref in refs:
        use = classify_use(rule, ref)
        seen.setdefault((use.kind, id(use.node)), use)
    return list(seen.values())


def of_kind(uses: Iterable[LoopUse], *kinds: Use) -> list[LoopUse]:
    return [use for use in uses if use.kind in kinds]


def is_set_current_none(rule: Rule, statement: cst.CSTNode) -> bool:
    """``asyncio.set_event_loop(None)``: pure lifecycle bookkeeping that asyncio.run() does."""
    if not isinstance(statement, cst.Expr):
        return False
    call = statement.value
    return (
        calls_one_of(rule, call, loop_api().set_loop)
        and isinstance(call, cst.Call)
        and len(call.args) == 1
        and isinstance(call.args[0].value, cst.Name)
        and call.args[0].value.value == "None"
    )


@dataclass(frozen=True)
class LocalLoop:
    """A variable holding a loop in a function (or at module level), and the name's reads:
    ``name = <loop expression>``, or ``with closing(<loop expression>) as name:``."""

    target: cst.Name
    # The statement that binds it: the assignment, or the `with` (whose body stays).
    binding: cst.Assign | cst.With
    scope: cst.metadata.Scope
    refs: tuple[cst.CSTNode, ...]
    bindings: int  # how many times the name is bound in its scope

    @property
    def name(self) -> str:
        return self.target.value


CLOSING = frozenset({"contextlib.closing"})


def local_binding(rule: Rule, value: cst.CSTNode) -> LocalLoop | None:
    """The local ``value`` is assigned to, as in ``loop = asyncio.new_event_loop()``."""
    assign = parent(rule, value)
    if not (
        isinstance(assign, cst.Assign)
        and assign.value is value
        and len(assign.targets) == 1
        and isinstance(assign.targets[0].target, cst.Name)
        and isinstance(parent(rule, assign), cst.SimpleStatementLine)
    ):
        return None
    target = assign.targets[0].target
    assert isinstance(target, cst.Name)
    return _local(rule, target, assign)


def closing_binding(rule: Rule, value: cst.CSTNode) -> LocalLoop | None:
    """The variable of ``with contextlib.closing(value) as name:`` (the only item)."""
    argument = parent(rule, value)
    closing = parent(rule, argument) if isinstance(argument, cst.Arg) else None
    item = parent(rule, closing) if closing is not None else None
    statement = parent(rule, item) if isinstance(item, cst.WithItem) else None
    if not (
        isinstance(statement, cst.With)
        and len(statement.items) == 1
        and statement.asynchronous is None
        and calls_one_of(rule, closing, CLOSING)
        and isinstance(item.asname, cst.AsName)  # type: ignore[union-attr]
        and isinstance(item.asname.name, cst.Name)  # type: ignore[union-attr]
    ):
        return None
    return _local(rule, item.asname.name, statement)  # type: ignore[union-attr]


def _local(rule: Rule, target: cst.Name, binding: cst.Assign | cst.With) -> LocalLoop | None:
    scope = rule.get_metadata(ScopeProvider, target, None)
    if scope is None:
        return None
    assignments = list(scope.assignments[target.value])
    refs = [access.node for a in assignments for access in a.references]
    return LocalLoop(target, binding, scope, tuple(refs), len(assignments))


def within(rule: Rule, node: cst.CSTNode, *containers: cst.CSTNode) -> bool:
    """Whether ``node`` lies inside one of ``containers``."""
    return any(up is container for _, up in ancestors(rule, node) for container in containers)


def position_in_block(
    rule: Rule, statement: cst.CSTNode
) -> tuple[Sequence[cst.BaseStatement], int | None]:
    """The statements of the block (or module) that holds ``statement``, and its index there."""
    block = parent(rule, statement)
    siblings = block.body if isinstance(block, (cst.IndentedBlock, cst.Module)) else ()
    return siblings, next((i for i, s in enumerate(siblings) if s is statement), None)


def enclosing_try_finally(rule: Rule, statement: cst.CSTNode) -> list[cst.Try]:
    """The ``try`` statements whose ``finally`` block holds ``statement``."""
    found = []
    for child, up in ancestors(rule, statement):
        if isinstance(up, cst.Finally):
            owner = parent(rule, up)
            if isinstance(owner, cst.Try):
                found.append(owner)
        if isinstance(up, (cst.FunctionDef, cst.ClassDef)):
            break
    return found


def in_try_body(rule: Rule, node: cst.CSTNode) -> bool:
    """Whether an exception raised at ``node`` may be caught by an enclosing ``try``."""
    for child, up in ancestors(rule, node):
        if isinstance(up, (cst.FunctionDef, cst.Lambda)):
            return False
        if isinstance(up, cst.Try) and child is up.body and up.handlers:
            return True
    return False


def _collapse_empty_finally(updated: cst.CSTNode) -> cst.CSTNode | cst.FlattenSentinel:
    assert isinstance(updated, cst.Try)
    if updated.finalbody is None or updated.finalbody.body.body:
        return updated
    if updated.handlers:
        return updated.with_changes(finalbody=None)
    # try/finally with nothing left to finalise: its body takes its place.
    return _body_in_place(updated)


def _body_in_place(statement: cst.Try | cst.With) -> cst.FlattenSentinel:
    """The statements of a block statement's body in its place, with the statement's comments."""
    body = list(statement.body.body) if isinstance(statement.body, cst.IndentedBlock) else []
    if body:
        body[0] = body[0].with_changes(
            leading_lines=[*statement.leading_lines, *body[0].leading_lines]
        )
    return cst.FlattenSentinel(body)


class LifecycleRewrite:
    """Rewrites that hand an event loop's lifecycle to asyncio.run(), on one :class:`FixBuilder`."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.builder = FixBuilder(rule.context)
        self._collapsing: set[int] = set()
        self._deleted_lines: list[cst.BaseStatement] = []
        self._comment_carriers: list[cst.SimpleStatementLine] = []

    def run_with_asyncio_run(self, run_call: cst.Call) -> None:
        """``<loop>.run_until_complete(x)`` → ``asyncio.run(x)``."""
        self.builder.change(
            run_call,
            lambda updated: updated.with_changes(
                func=cst.Attribute(value=cst.Name("asyncio"), attr=cst.Name("run"))
            ),
        )
        self.builder.add_import("asyncio")

    def await_instead(self, run_call: cst.Call) -> None:
        """``<loop>.run_until_complete(x)`` or ``asyncio.run(x)`` → ``await x``."""
        wrap = isinstance(parent(self.rule, run_call), (cst.Attribute, cst.Subscript, cst.Call))

        def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(updated, cst.Call)
            awaited = cst.Await(expression=updated.args[0].value)
            if wrap:
                awaited = awaited.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            return awaited.with_changes(
                lpar=[*updated.lpar, *awaited.lpar], rpar=[*awaited.rpar, *updated.rpar]
            )

        self.builder.change(run_call, rewrite)

    def delete(self, statement: cst.BaseSmallStatement) -> None:
        """Delete a statement, and the imports only it used; a ``try`` whose ``finally`` it
        empties is unwrapped."""
        self.builder.replace(statement, cst.RemoveFromParent())
        self.builder.drop_imports_used_by(statement)
        line = parent(self.rule, statement)
        if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
            self._deleted_lines.append(line)
            if isinstance(parent(self.rule, line), cst.IndentedBlock):
                self._comment_carriers.append(line)  # a step of a function: keep its comments
        for try_statement in enclosing_try_finally(self.rule, statement):
            if id(try_statement) not in self._collapsing:
                self._collapsing.add(id(try_statement))
                self.builder.change(try_statement, _collapse_empty_finally)

    def remove(self, statement: cst.BaseStatement) -> None:
        """Delete a whole statement (a function, a class-body line, an ``if`` block), and the
        imports only it used."""
        self.builder.replace(statement, cst.RemoveFromParent())
        self.builder.drop_imports_used_by(statement)
        self._deleted_lines.append(statement)

    def build(self, safety: Safety, description: str) -> Fix | None:
        self._keep_comments_of_deleted_lines()
        return self.builder.build(safety, description)

    def _keep_comments_of_deleted_lines(self) -> None:
        """The next statement that stays takes over the blank lines above a deleted statement
        (so the spacing between statements survives) and, for a deleted step of a function, its
        comments (definitions that go take their comments with them)."""
        deleted = {id(line) for line in self._deleted_lines}
        carriers = {id(line) for line in self._comment_carriers}
        for line in self._deleted_lines:
            siblings, index = position_in_block(self.rule, line)
            if index is None:
                continue
            following = [s for s in siblings[index + 1 :] if id(s) not in deleted]
            if not following:
                continue
            if id(line) in carriers:
                change = functools.partial(_prepend_lines, above=list(line.leading_lines))
            else:
                blanks = sum(1 for e in line.leading_lines if e.comment is None)
                # The statement that becomes first in its block takes the block's spacing.
                first = all(id(s) in deleted for s in siblings[:index])
                change = functools.partial(_blank_lines, blanks=blanks, exactly=first)
            self.builder.change(following[0], _on_first_statement(change))

    def retire_binding(self, local: LocalLoop) -> None:
        """Delete the assignment of a loop variable, or unwrap its ``with closing(...)``."""
        if isinstance(local.binding, cst.With):
            self.builder.change(local.binding, _unwrap_with)
            self.builder.drop_imports_used_by(local.binding.items[0].item)
        else:
            self.delete(local.binding)

    def discard(self, node: cst.CSTNode) -> None:
        """Delete a small statement or remove a whole one, whichever ``node`` is."""
        if isinstance(node, cst.BaseSmallStatement):
            self.delete(node)
        else:
            assert isinstance(node, cst.BaseStatement)
            self.remove(node)

    def delete_all(self, statements: Iterable[cst.CSTNode]) -> None:
        for statement in statements:
            assert isinstance(statement, cst.BaseSmallStatement)
            self.delete(statement)

    def delete_set_current_none(self, scope_node: cst.CSTNode) -> None:
        """Delete ``asyncio.set_event_loop(None)`` statements under ``scope_node``."""
        for statement in _small_statements(scope_node):
            if is_set_current_none(self.rule, statement):
                self.delete(statement)


def _unwrap_with(updated: cst.CSTNode) -> Replacement:
    assert isinstance(updated, cst.With)
    return _body_in_place(updated)


def _on_first_statement(change: Callable[[cst.BaseStatement], cst.BaseStatement]) -> Change:
    """A change of a statement's leading lines that still applies once an earlier change has
    unwrapped the statement (a collapsed ``try``) or removed it."""

    def apply(updated: cst.CSTNode) -> Replacement:
        if isinstance(updated, cst.FlattenSentinel):
            nodes = list(updated.nodes)
            if nodes and isinstance(nodes[0], cst.BaseStatement):
                nodes[0] = change(nodes[0])
            return cst.FlattenSentinel(nodes)
        return change(updated) if isinstance(updated, cst.BaseStatement) else updated

    return apply


def _prepend_lines(statement: cst.BaseStatement, above: list[cst.EmptyLine]) -> cst.BaseStatement:
    return statement.with_changes(leading_lines=[*above, *statement.leading_lines])


def _blank_lines(statement: cst.BaseStatement, blanks: int, exactly: bool) -> cst.BaseStatement:
    """``statement`` with ``blanks`` blank lines above its comments (at least that many, unless
    ``exactly``)."""
    lines = list(statement.leading_lines)
    have = 0
    while have < len(lines) and lines[have].comment is None:
        have += 1
    wanted = blanks if exactly else max(blanks, have)
    added = [cst.EmptyLine(indent=False)] * max(0, wanted - have)
    return statement.with_changes(leading_lines=[*added, *lines[: min(have, wanted)], *lines[have:]])


def _small_statements(node: cst.CSTNode) -> Iterable[cst.BaseSmallStatement]:
    class Collector(cst.CSTVisitor):
        def __init__(self) -> None:
            self.found: list[cst.BaseSmallStatement] = []

        def visit_Expr(self, expr: cst.Expr) -> None:
            self.found.append(expr)

        def visit_FunctionDef(self, function: cst.FunctionDef) -> bool:
            return function is node  # nested functions are not part of this lifecycle

    collector = Collector()
    node.visit(collector)
    return collector.found


def plain_operand(node: cst.BaseExpression) -> bool:
    """An operand that ``await`` can take without parentheses: a name, attribute, call, ..."""
    return isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) and not node.lpar


def sole_argument(call: cst.Call) -> cst.BaseExpression | None:
    """The argument of a call that has exactly one, passed by position."""
    if len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star:
        return call.args[0].value
    return None


def asyncio_run_accepts(rule: Rule, run_call: cst.Call) -> bool:
    """Whether ``<loop>.run_until_complete(x)`` can become ``asyncio.run(x)``."""
    argument = sole_argument(run_call)
    return argument is not None and coroutine_argument(rule, argument) is not False


def coroutine_argument(rule: Rule, node: cst.BaseExpression) -> bool | None:
    """Whether ``node`` is a coroutine, as asyncio.run() requires: True for a call of anything but
    a known Future factory, False for those, None (unknown) for any other expression. A local
    bound once is followed to its value."""
    if isinstance(node, cst.Name):
        value = _sole_local_value(rule, node)
        return None if value is None else coroutine_argument(rule, value)
    if not isinstance(node, cst.Call):
        return None
    return not calls_one_of(rule, node, loop_api().future_factories)


def assigned_values(rule: Rule, name: cst.Name) -> list[cst.BaseExpression | None]:
    """The values the variable ``name`` refers to is bound to, one per binding (None for a
    binding that is not a plain ``name = value``: a parameter, an import, a loop target...)."""
    scope = rule.get_metadata(ScopeProvider, name, None)
    values: list[cst.BaseExpression | None] = []
    for assignment in scope[name.value] if scope is not None else ():
        bound = assignment.node
        target = parent(rule, bound) if isinstance(bound, cst.Name) else None
        assign = parent(rule, target) if isinstance(target, cst.AssignTarget) else None
        plain = isinstance(assign, cst.Assign) and len(assign.targets) == 1
        values.append(assign.value if plain else None)  # type: ignore[union-attr]
    return values


def _sole_local_value(rule: Rule, name: cst.Name) -> cst.BaseExpression | None:
    values = assigned_values(rule, name)
    return values[0] if len(values) == 1 else None


def get_or_create(rule: Rule, local: LocalLoop) -> cst.CSTNode | None:
    """The statement that gives a local "the current loop, or a new one": either

        try:                                     loop = asyncio.get_event_loop()
            loop = asyncio.get_event_loop()      if loop.is_closed():
        except RuntimeError:                         loop = asyncio.new_event_loop()
            loop = asyncio.new_event_loop()          asyncio.set_event_loop(loop)
            asyncio.set_event_loop(loop)

    Returns the ``try`` or the ``if`` (the ``if`` form also needs its first assignment deleted);
    None when ``local`` is bound any other way. asyncio.run() replaces both forms."""
    if local.bindings != 2:
        return None
    api = loop_api()
    line = parent(rule, local.binding)
    block = parent(rule, line)
    holder = parent(rule, block)
    new_loop = m.SimpleStatementLine(
        [m.Assign([m.AssignTarget(m.Name(local.name))], m.MatchIfTrue(
            lambda value: calls_one_of(rule, value, api.new_loop)
        ))]
    )
    set_loop = m.SimpleStatementLine(
        [m.Expr(m.Call(args=[m.Arg(m.Name(local.name))]))]
    )

    def creates(body: cst.BaseSuite) -> bool:
        statements = list(body.body) if isinstance(body, cst.IndentedBlock) else []
        return bool(statements) and m.matches(statements[0], new_loop) and all(
            m.matches(s, set_loop) and calls_one_of(rule, s.body[0].value, api.set_loop)  # type: ignore[attr-defined]
            for s in statements[1:]
        )

    if (
        isinstance(holder, cst.Try)
        and block is holder.body
        and len(block.body) == 1
        and len(holder.handlers) == 1
        and holder.orelse is None
        and holder.finalbody is None
        and creates(holder.handlers[0].body)
    ):
        return holder
    siblings, index = position_in_block(rule, line)
    following = siblings[index + 1] if index is not None and index + 1 < len(siblings) else None
    closed_check = m.Call(m.Attribute(m.Name(local.name), m.Name("is_closed")))
    if (
        isinstance(following, cst.If)
        and following.orelse is None
        and m.matches(following.test, closed_check)
        and creates(following.body)
    ):
        return following
    return None
