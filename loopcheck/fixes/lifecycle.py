"""Rewrites that hand an event loop's lifecycle to asyncio: ``run_until_complete(x)`` becomes
``asyncio.run(x)`` (or, for a loop that was never made current, a runner that leaves the current
loop alone), or ``await x`` inside a coroutine; the statements that only created, set, shut down
and closed the loop go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.engine.diagnostics import Edit
from loopcheck.fixes.builder import FixBuilder, rewrite_subtree
from loopcheck.fixes.statements import StatementEditor, removed_comments_note

if TYPE_CHECKING:
    from loopcheck.analysis import Holder
    from loopcheck.analysis.loop_uses import RunningBranch
    from loopcheck.analysis.tree import Tree
    from loopcheck.engine.context import LintContext


# What each rewrite names (see FixProposal.names).
RUN_NAMES = ("asyncio.run",)
RUN_WITH_FACTORY_NAMES = ("asyncio.run", "asyncio.new_event_loop")
RUNNER_NAMES = ("asyncio.Runner", "asyncio.new_event_loop")
RUN_UNLESS_RUNNING_NAMES = ("asyncio.run", "asyncio.get_running_loop")


class LifecycleRewrite:
    def __init__(self, context: LintContext) -> None:
        self.context = context
        self.tree = context.analysis.tree
        self.builder = FixBuilder(context)
        self.statements = StatementEditor(self.builder, self.tree)
        self._runner_block: tuple[cst.SimpleStatementLine, list[cst.BaseStatement], cst.WithItem] | None = None

    def run_with_asyncio_run(self, run_call: cst.Call, loop_factory: bool = False) -> None:
        """``<loop>.run_until_complete(x)`` → ``asyncio.run(x)``; with ``loop_factory``,
        ``asyncio.run(x, loop_factory=asyncio.new_event_loop)`` (3.12+), which never touches the
        thread's current loop."""
        run = self.builder.expression("asyncio.run", run_call)
        extra = []
        if loop_factory:
            extra = [
                cst.Arg(
                    keyword=cst.Name("loop_factory"),
                    value=self.builder.expression("asyncio.new_event_loop", run_call),
                    equal=cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""),
                        whitespace_after=cst.SimpleWhitespace(""),
                    ),
                )
            ]

        def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(updated, cst.Call)
            args = list(updated.args)
            if extra:
                args[-1] = args[-1].with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                )
            return updated.with_changes(func=run, args=[*args, *extra])

        self.builder.change(run_call, rewrite)
        self.builder.drop_imports_used_by(run_call.func)

    def run_unless_running(self, found: RunningBranch) -> None:
        """``if loop.is_running(): <task> else: <run>`` → ``try: loop = asyncio.get_running_loop()
        except RuntimeError: <run with asyncio.run()>``, then the task (after the ``try`` where
        both return, else in its ``else``). The loop's variable is bound only where the task uses it.
        A negated test, or the branch after an ``if`` without ``else``, ends the same way (a task
        after the ``if`` stays where it is)."""
        self.run_with_asyncio_run(found.run)
        running = self.builder.name("asyncio.get_running_loop", found.branch)
        probe = cst.parse_statement(f"{found.loop} = {running}()" if found.task_uses_loop else f"{running}()")
        after, changes = found.after, self.builder.changes
        moved_after = after is not None and not found.negated  # the run: it moves into the `except`

        def rewrite(updated: cst.CSTNode) -> cst.CSTNode | cst.FlattenSentinel:
            assert isinstance(updated, cst.If)
            # The comments of the line that leads into each branch (`if`, `else`) go to the line
            # that leads into it after the fix (`try` for the task, `except` for the run).
            arms = [_Arm([], updated.body)]  # type: ignore[arg-type]
            if isinstance(updated.orelse, cst.Else):
                arms.append(_Arm(list(updated.orelse.leading_lines), updated.orelse.body))  # type: ignore[arg-type]
            elif moved_after:
                assert after is not None
                # As every other change rewrites it (but without the removal below).
                others = {node: change for node, change in changes.items() if node is not after}
                statement = rewrite_subtree(after, others)
                assert isinstance(statement, cst.SimpleStatementLine)
                kept = [line for line in statement.leading_lines if line.comment is not None]
                arms.append(_Arm([], cst.IndentedBlock([statement.with_changes(leading_lines=kept)])))
            running_arm, run_arm = (arms[1:], arms[0]) if found.negated else (arms[:1], arms[1])
            handler = cst.ExceptHandler(
                body=run_arm.block, type=cst.Name("RuntimeError"), leading_lines=run_arm.leading
            )
            header = running_arm[0].block.header if running_arm else cst.TrailingWhitespace()
            attempt = cst.Try(
                body=cst.IndentedBlock([probe], header=header), handlers=[handler], leading_lines=updated.leading_lines
            )
            if not running_arm:
                return attempt  # the task is the statement after the `if`
            task = running_arm[0]
            if not found.returns:
                block = task.block.with_changes(header=cst.TrailingWhitespace())
                return attempt.with_changes(orelse=cst.Else(body=block, leading_lines=task.leading))
            first, *rest = task.block.body
            first = first.with_changes(leading_lines=[*task.leading, *first.leading_lines])
            return cst.FlattenSentinel([attempt, first, *rest])

        self.builder.change(found.branch, rewrite)
        if moved_after:
            assert after is not None
            self.builder.replace(after, cst.RemoveFromParent())

    def run_in_runner(self, run_call: cst.Call, runner: str) -> None:
        """``<loop>.run_until_complete(x)`` → ``<runner>.run(x)``."""
        self.builder.change(
            run_call,
            lambda updated: updated.with_changes(  # type: ignore[attr-defined]
                func=cst.Attribute(value=cst.Name(runner), attr=cst.Name("run"))
            ),
        )

    def runner_with_item(self, runner: str, at: cst.CSTNode) -> cst.WithItem:
        """``asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner`` (3.11+), in place
        of ``at``."""
        call = cst.parse_expression(
            f"{self.builder.name('asyncio.Runner', at)}"
            f"(loop_factory={self.builder.name('asyncio.new_event_loop', at)})"
        )
        return cst.WithItem(item=call, asname=cst.AsName(name=cst.Name(runner)))

    def wrap_in_runner(self, binding: cst.SimpleStatementLine, last: cst.BaseStatement, runner: str) -> None:
        """Replace the line that builds the loop, and the statements after it up to ``last``,
        by ``with asyncio.Runner(...) as runner:`` holding those statements."""
        siblings, start = self.tree.position_in_block(binding)
        _, end = self.tree.position_in_block(last)
        assert start is not None and end is not None
        self._runner_block = (binding, list(siblings[start + 1 : end + 1]), self.runner_with_item(runner, binding))

    def await_instead(self, run_call: cst.Call) -> None:
        """``<loop>.run_until_complete(x)`` or ``asyncio.run(x)`` → ``await x``."""
        wrap = isinstance(self.tree.parents.get(run_call), (cst.Attribute, cst.Subscript, cst.Call))

        def rewrite(updated: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(updated, cst.Call)
            awaited = cst.Await(expression=updated.args[0].value)
            if wrap:
                awaited = awaited.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            return awaited.with_changes(
                lpar=[*updated.lpar, *awaited.lpar], rpar=[*awaited.rpar, *updated.rpar]
            )

        self.builder.change(run_call, rewrite)
        self.builder.drop_imports_used_by(run_call.func)

    def retire_binding(self, holder: Holder) -> None:
        """Delete the assignment of a loop variable, or unwrap its ``with closing(...)``."""
        if isinstance(holder.store, cst.WithItem):
            statement = self.tree.parents[holder.store]
            assert isinstance(statement, cst.With)
            self.statements.unwrap_with(statement)
        else:
            assert isinstance(holder.store, cst.BaseSmallStatement)
            self.statements.delete(holder.store)

    def retire(self, binding: Holder | None, *deleted: Sequence[cst.CSTNode]) -> None:
        """Retire the loop variable ``binding`` (if any) and delete each group of ``deleted``: the
        deletions a fix makes, and plans for its title (see :func:`removed_comments`)."""
        if binding is not None:
            self.retire_binding(binding)
        for statements in deleted:
            self.statements.delete_all(statements)

    def build(self) -> tuple[Edit, ...]:
        self.statements.finish()
        if self._runner_block is not None:
            self._move_into_runner(*self._runner_block)
        return self.builder.build()

    def _move_into_runner(
        self, binding: cst.SimpleStatementLine, covered: list[cst.BaseStatement], item: cst.WithItem
    ) -> None:
        # The covered statements move into the `with` as rewritten by every other change.
        changes = dict(self.builder.changes)

        def moved() -> list[cst.BaseStatement]:
            body: list[cst.BaseStatement] = []
            for statement in covered:
                result = rewrite_subtree(statement, changes)
                if isinstance(result, cst.FlattenSentinel):
                    body.extend(result.nodes)  # type: ignore[arg-type]
                elif isinstance(result, cst.SimpleStatementLine) and not result.body:
                    continue  # every statement of the line was deleted
                elif isinstance(result, cst.BaseStatement):
                    body.append(result)
            if body:
                body[0] = body[0].with_changes(
                    leading_lines=[e for e in body[0].leading_lines if e.comment is not None]
                )
            return body or [cst.SimpleStatementLine([cst.Pass()])]

        self.builder.replace(binding, cst.RemoveFromParent())
        self.builder.change(
            binding,
            lambda _: cst.With(
                items=[item], body=cst.IndentedBlock(body=moved()), leading_lines=binding.leading_lines
            ),
        )
        for statement in covered:
            self.builder.replace(statement, cst.RemoveFromParent())


@dataclass(frozen=True)
class _Arm:
    """A branch of an ``if loop.is_running():`` test as the fix moves it: the lines above the
    line that leads into it, and its block (with that line's comment)."""

    leading: list[cst.EmptyLine]
    block: cst.IndentedBlock


def outermost(tree: Tree, nodes: Sequence[cst.CSTNode]) -> list[cst.CSTNode]:
    """``nodes`` without those inside another of them: deleting the outer one deletes them."""
    return [
        node for node in nodes if not any(other is not node and tree.within(node, other) for other in nodes)
    ]


def removed_comments(context: LintContext, binding: Holder | None, *deleted: Sequence[cst.CSTNode]) -> str:
    """The note of the title of a fix that makes the deletions of ``retire(binding, *deleted)``:
    the comments they remove (see removed_comments_note). The deletions are planned on a
    builder of their own, which nothing builds."""
    rewrite = LifecycleRewrite(context)
    rewrite.retire(binding, *deleted)
    rewrite.statements.finish()
    return removed_comments_note(rewrite.statements.dropped)


def loop_statements(
    tree: Tree, retired: Sequence[cst.CSTNode], teardowns: Sequence[cst.CSTNode] = ()
) -> tuple[Sequence[cst.CSTNode], ...]:
    """What :func:`asyncio_run_instead` deletes, in groups for ``LifecycleRewrite.retire``."""
    return teardowns, outermost(tree, retired)


def asyncio_run_instead(
    context: LintContext,
    runs: Sequence[cst.Call],
    retired: Sequence[cst.CSTNode],
    teardowns: Sequence[cst.CSTNode] = (),
) -> tuple[Edit, ...]:
    """The edits that run each of ``runs`` with ``asyncio.run()`` and delete the statements that
    only held, set up or tore down the loop: each of ``teardowns`` (a ``finally`` it empties
    collapses), and of ``retired``, those no other retired statement holds."""
    rewrite = LifecycleRewrite(context)
    for run in runs:
        rewrite.run_with_asyncio_run(run)
    rewrite.retire(None, *loop_statements(rewrite.tree, retired, teardowns))
    return rewrite.build()


def asyncio_run_unless_running(
    context: LintContext, found: RunningBranch, retired: Sequence[cst.CSTNode]
) -> tuple[Edit, ...]:
    """The edits that make a task on the running loop, or else run the coroutine with
    ``asyncio.run()`` (see :meth:`LifecycleRewrite.run_unless_running`), and delete the statements
    that only held or set up the kept loop."""
    rewrite = LifecycleRewrite(context)
    rewrite.run_unless_running(found)
    rewrite.retire(None, *loop_statements(rewrite.tree, retired))
    return rewrite.build()
