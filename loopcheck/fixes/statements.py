"""Statement edits on a :class:`FixBuilder`: deleting statements without losing the comments and
spacing around them (a comment that describes a deleted statement goes with it, and the fix's
title names it), unwrapping a ``try``/``finally`` or ``with`` whose body stays, and placing
generated top-level code with PEP 8 spacing."""

from __future__ import annotations

import functools
from collections.abc import Callable, Container, Iterable
from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.fixes.builder import Change, FixBuilder, Replacement

if TYPE_CHECKING:
    from loopcheck.analysis.tree import Tree

TWO_BLANK_LINES = (cst.EmptyLine(), cst.EmptyLine())
SUPPRESS = frozenset({"contextlib.suppress"})


class StatementEditor:
    """Deletes statements on one builder, and fixes up what their removal leaves behind."""

    def __init__(self, builder: FixBuilder, tree: Tree) -> None:
        self.builder = builder
        self.tree = tree
        self._collapsing: set[int] = set()
        self._deleted_lines: list[cst.BaseStatement] = []
        self._comment_carriers: list[cst.SimpleStatementLine] = []
        self._deleted: set[int] = set()
        # `try` and `with contextlib.suppress(...)` statements whose body a deletion may empty.
        self._owners: dict[int, cst.Try | cst.With] = {}
        self._carried: dict[int, list[cst.EmptyLine]] = {}
        # Block statements replaced by their body, with the comment lines that ended the body
        # (filled in when the replacement happens: a `try` collapses only if its `finally` empties).
        self._unwrapped: list[tuple[cst.BaseStatement, list[cst.EmptyLine]]] = []
        # The comment lines the deletions take with them, by identity, in the order found.
        self._dropped: dict[int, cst.EmptyLine] = {}

    def delete(self, statement: cst.BaseSmallStatement) -> None:
        """Delete a small statement, and the imports only it used; a ``try`` whose ``finally``
        it empties is unwrapped."""
        if not self._take_out(statement):
            return
        line = self.tree.parents.get(statement)
        if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
            self._deleted_lines.append(line)
            block = self.tree.parents.get(line)
            if isinstance(block, cst.IndentedBlock) and not isinstance(
                self.tree.parents.get(block), cst.ClassDef
            ):
                self._comment_carriers.append(line)  # a step of a function: keep its comments
            owner = self.tree.parents.get(block)
            if (isinstance(owner, cst.Try) and owner.body is block) or (
                isinstance(owner, cst.With) and self._only_suppresses(owner)
            ):
                self._owners[id(owner)] = owner
        for try_statement in self.tree.enclosing_try_finally(statement):
            if id(try_statement) not in self._collapsing:
                self._collapsing.add(id(try_statement))
                footer: list[cst.EmptyLine] = []
                self._unwrapped.append((try_statement, footer))
                self.builder.change(try_statement, functools.partial(_collapse_empty_finally, footer=footer))

    def remove(self, statement: cst.BaseStatement) -> None:
        """Delete a whole statement (a function, a class-body line, an ``if`` block), and the
        imports only it used."""
        if self._take_out(statement):
            self._deleted_lines.append(statement)

    def _take_out(self, statement: cst.CSTNode) -> bool:
        """Remove ``statement`` and the imports only it used; False when it is gone already."""
        if id(statement) in self._deleted:
            return False
        self._deleted.add(id(statement))
        self.builder.replace(statement, cst.RemoveFromParent())
        self.builder.drop_imports_used_by(statement)
        return True

    def discard(self, node: cst.CSTNode) -> None:
        """Delete a small statement or remove a whole one, whichever ``node`` is."""
        if isinstance(node, cst.BaseSmallStatement):
            self.delete(node)
        else:
            assert isinstance(node, cst.BaseStatement)
            self.remove(node)

    def unwrap_with(self, statement: cst.With) -> None:
        """``with x as name:`` whose body stays in its place."""
        footer: list[cst.EmptyLine] = []
        self._unwrapped.append((statement, footer))
        self.builder.change(statement, functools.partial(_unwrap_with, footer=footer))
        self.builder.drop_imports_used_by(statement.items[0].item)

    def _only_suppresses(self, statement: cst.With) -> bool:
        """``with contextlib.suppress(...):``: a block that does nothing once its body is gone."""
        names = self.builder.context.analysis.names
        return all(
            isinstance(item.item, cst.Call) and names.calls(item.item, SUPPRESS) and item.asname is None
            for item in statement.items
        )

    def _drop_emptied_blocks(self) -> None:
        """A ``try`` whose body is all deleted cannot raise, so its handlers never run: its
        ``else`` and ``finally`` statements take its place, under the comments above the
        ``try``; a ``with contextlib.suppress()`` left empty goes, like a deleted statement
        (never a ``pass`` under the statement). The comments of the deleted body go with it."""
        deleted = {id(line) for line in self._deleted_lines}
        for owner in self._owners.values():
            body = list(owner.body.body) if isinstance(owner.body, cst.IndentedBlock) else []
            if not body or not all(id(line) in deleted for line in body):
                continue
            comments = list(owner.leading_lines)
            rest: list[cst.BaseStatement] = []
            if isinstance(owner, cst.Try):
                for suite in (owner.orelse, owner.finalbody):
                    if suite is not None and isinstance(suite.body, cst.IndentedBlock):
                        rest.extend(s for s in suite.body.body if id(s) not in deleted)
            if rest:
                self.builder.change(owner, functools.partial(_in_place_of_try, comments=comments))
                continue
            self.builder.change(owner, lambda _: cst.RemoveFromParent())
            self.builder.drop_imports_used_by(owner)
            self._deleted.add(id(owner))
            self._deleted_lines.append(owner)
            self._comment_carriers.append(owner)  # type: ignore[arg-type]
            self._carried[id(owner)] = comments

    def finish(self) -> None:
        """The next statement that stays takes over the blank lines above a deleted statement
        (so the spacing between statements survives) and, for a deleted step of a function, the
        comments above it that are not its own; its own comments (those right above it) go with
        it, as do a deleted definition's. The comments that ended an unwrapped block's body go
        to the statement after the block. Comments keep their order."""
        self._drop_emptied_blocks()
        deleted = {id(line) for line in self._deleted_lines}
        carriers = {id(line) for line in self._comment_carriers}
        # By the statement that takes them over: the comment lines it gets, in source order.
        carried: dict[int, tuple[cst.BaseStatement, list[tuple[int, Callable[[], list[cst.EmptyLine]]]]]] = {}

        def carry(statement: cst.BaseStatement, lines: Callable[[], list[cst.EmptyLine]]) -> bool:
            siblings, index = self.tree.position_in_block(statement)
            if index is None:
                return False
            following = [s for s in siblings[index + 1 :] if id(s) not in deleted]
            if not following:
                return False
            carried.setdefault(id(following[0]), (following[0], []))[1].append((index, lines))
            return True

        for statement, footer in self._unwrapped:
            if id(statement) not in deleted:
                carry(statement, lambda footer=footer: footer)  # type: ignore[misc]
        for line in self._deleted_lines:
            if id(line) in carriers:
                lines = self._carried.get(id(line), list(line.leading_lines))
                above = not_its_own(lines)
                self._drop(lines[len(above) :])
                if not carry(line, lambda above=above: above):  # type: ignore[misc]
                    self._drop(above)  # nothing follows in the block to take them
                self._drop(comments_inside(line))
                continue
            self._drop(line.leading_lines)
            self._drop(comments_inside(line))
            pass_on_spacing(self.builder, self.tree, line, deleted)
        for target, pieces in carried.values():
            pieces.sort(key=lambda piece: piece[0])
            self.builder.change(target, _on_first_statement(functools.partial(_prepend_pieces, pieces=pieces)))

    def delete_all(self, statements: Iterable[cst.CSTNode]) -> None:
        for statement in statements:
            self.discard(statement)

    def _drop(self, lines: Iterable[cst.EmptyLine]) -> None:
        for line in lines:
            if line.comment is not None:
                self._dropped.setdefault(id(line), line)

    @property
    def dropped(self) -> list[str]:
        """The comment lines the deletions remove (known once :meth:`finish` has run)."""
        return [line.comment.value for line in self._dropped.values()]  # type: ignore[union-attr]


def comments_inside(statement: cst.CSTNode) -> list[cst.EmptyLine]:
    """The comment lines within ``statement`` (a block's), not those above it."""
    found: list[cst.EmptyLine] = []

    class Collect(cst.CSTVisitor):
        def visit_EmptyLine(self, node: cst.EmptyLine) -> None:
            if node.comment is not None:
                found.append(node)

    own = set(map(id, getattr(statement, "leading_lines", ())))
    statement.visit(Collect())
    return [line for line in found if id(line) not in own]


def removed_comments_note(comments: list[str]) -> str:
    """For a fix's title: the comment lines its deletions remove, by the first of them."""
    if not comments:
        return ""
    first = comments[0].strip()
    if len(comments) == 1:
        return f"{REMOVES_COMMENTS}the comment `{first}`"
    return f"{REMOVES_COMMENTS}{len(comments)} comment lines, the first `{first}`"


# How a fix's title starts to say which comments it removes (``removed_comments_note``): a title
# that says so changes with those comments.
REMOVES_COMMENTS = "; removes "


def quotes_comments(title: str) -> bool:
    """Whether a fix's title names comments its deletions remove."""
    return REMOVES_COMMENTS in title and " comment" in title.partition(REMOVES_COMMENTS)[2]


def pass_on_spacing(builder: FixBuilder, tree: Tree, line: cst.BaseStatement, deleted: Container[int]) -> None:
    """The statement after ``line``, which the fix takes out (``deleted``: the ids of every
    statement it takes out), keeps the blank lines above ``line``; when it becomes the first
    of its block, exactly those (none atop a class body)."""
    siblings, index = tree.position_in_block(line)
    following = [s for s in siblings[index + 1 :] if id(s) not in deleted] if index is not None else []
    if not following:
        return
    blanks = sum(1 for e in line.leading_lines if e.comment is None)
    first = all(id(s) in deleted for s in siblings[:index])
    change = functools.partial(_blank_lines, blanks=blanks, exactly=first)
    builder.change(following[0], _on_first_statement(change))


def _in_place_of_try(updated: cst.CSTNode, comments: list[cst.EmptyLine]) -> Replacement:
    """The ``else`` and ``finally`` statements left of a ``try`` whose body is gone."""
    if isinstance(updated, cst.FlattenSentinel):  # the `finally` collapsed already: its body
        nodes = list(updated.nodes)
    elif isinstance(updated, cst.Try):
        nodes = [
            *(updated.orelse.body.body if updated.orelse is not None else ()),
            *(updated.finalbody.body.body if updated.finalbody is not None else ()),
        ]
    else:
        return updated
    if not nodes:
        return cst.RemoveFromParent()
    nodes[0] = nodes[0].with_changes(leading_lines=[*comments, *nodes[0].leading_lines])
    return cst.FlattenSentinel(nodes)


def _collapse_empty_finally(updated: cst.CSTNode, footer: list[cst.EmptyLine]) -> cst.CSTNode | cst.FlattenSentinel:
    assert isinstance(updated, cst.Try)
    if updated.finalbody is None or updated.finalbody.body.body:
        return updated
    if updated.handlers:
        return updated.with_changes(finalbody=None)
    # try/finally with nothing left to finalise: its body takes its place.
    return body_in_place(updated, footer)


def body_in_place(statement: cst.Try | cst.With, footer: list[cst.EmptyLine]) -> cst.FlattenSentinel:
    """The statements of a block statement's body in its place, with the statement's comments;
    ``footer`` becomes the comment lines that ended the body (for the statement after; the same
    lines however often the statement is rewritten: a runner's body is rewritten on its own)."""
    block = statement.body
    body = list(block.body) if isinstance(block, cst.IndentedBlock) else []
    if body:
        body[0] = body[0].with_changes(
            leading_lines=[*statement.leading_lines, *body[0].leading_lines]
        )
    if isinstance(block, cst.IndentedBlock):
        footer[:] = [line for line in block.footer if line.comment is not None]
    return cst.FlattenSentinel(body)


def _unwrap_with(updated: cst.CSTNode, footer: list[cst.EmptyLine]) -> Replacement:
    assert isinstance(updated, cst.With)
    return body_in_place(updated, footer)


def not_its_own(lines: list[cst.EmptyLine]) -> list[cst.EmptyLine]:
    """The lines above a statement without the comments right above it (no blank line
    between), which describe the statement itself."""
    end = len(lines)
    while end and lines[end - 1].comment is not None:
        end -= 1
    return lines[:end]


def _prepend_pieces(
    statement: cst.BaseStatement, pieces: list[tuple[int, Callable[[], list[cst.EmptyLine]]]]
) -> cst.BaseStatement:
    """``statement`` under the comment lines of the statements before it that went."""
    return prepend_lines(statement, [line for _, lines in pieces for line in lines()])


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


def prepend_lines(statement: cst.BaseStatement, above: list[cst.EmptyLine]) -> cst.BaseStatement:
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


def keep_comments(old: cst.BaseStatement, new: cst.BaseStatement) -> cst.BaseStatement:
    """``new`` with the comment lines above ``old`` and, for simple lines, its trailing comment."""
    new = new.with_changes(leading_lines=[*old.leading_lines, *new.leading_lines])
    if isinstance(old, cst.SimpleStatementLine) and isinstance(new, cst.SimpleStatementLine):
        new = new.with_changes(trailing_whitespace=old.trailing_whitespace)
    return new


def place_at_top_level(
    builder: FixBuilder,
    tree: Tree,
    anchor: cst.BaseStatement,
    statements: list[cst.BaseStatement],
    *,
    where: str,
) -> None:
    """Put generated top-level ``statements`` before or after ``anchor``, or instead of it,
    keeping its comments and two blank lines around the generated function (PEP 8)."""
    body = list(tree.module.body)
    index = next(i for i, statement in enumerate(body) if statement is anchor)
    two_blank = list(TWO_BLANK_LINES)
    statements = list(statements)
    if where == "before":
        statements[0] = statements[0].with_changes(leading_lines=anchor.leading_lines)
        builder.change(
            anchor,
            lambda updated: cst.FlattenSentinel(
                [*statements, updated.with_changes(leading_lines=two_blank)]
            ),
        )
        return
    if where == "after":
        statements[0] = statements[0].with_changes(
            leading_lines=[*two_blank, *statements[0].leading_lines]
        )
        builder.insert_after(anchor, statements)
    else:
        statements[0] = keep_comments(anchor, statements[0])
        builder.replace(anchor, cst.FlattenSentinel(statements))
    if index + 1 < len(body):
        following = body[index + 1]
        kept = [line for line in following.leading_lines if line.comment is not None]
        builder.change(
            following, lambda updated: updated.with_changes(leading_lines=[*two_blank, *kept])
        )
