"""Building fixes as LibCST rewrites, and applying them to source text.

A rule describes its fix as node replacements on the parsed module plus imports to add or drop;
:class:`FixBuilder` renders the result and keeps only the text edits, so a :class:`Fix` is a plain
value that reporters can print and the engine can apply without the tree.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Union

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

from loopcheck.diagnostics import Edit, Fix, Safety

if TYPE_CHECKING:
    from loopcheck.engine import LintContext

Replacement = Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel]
# A change to a node, given the node as already rewritten below it (so that changes nest).
Change = Callable[[cst.CSTNode], Replacement]


class _Replacer(cst.CSTTransformer):
    def __init__(self, changes: Mapping[cst.CSTNode, Change]) -> None:
        super().__init__()
        self.changes = changes

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def]
        change = self.changes.get(original_node)
        return updated_node if change is None else change(updated_node)


class FixBuilder:
    """Collects the changes of one fix against the file's parsed module."""

    def __init__(self, context: LintContext) -> None:
        self.context = context
        self.changes: dict[cst.CSTNode, Change] = {}
        self.codemod = CodemodContext(wrapper=context.wrapper)

    def replace(self, original: cst.CSTNode, new: Replacement) -> FixBuilder:
        self.changes[original] = lambda _: new
        return self

    def change(self, original: cst.CSTNode, change: Change) -> FixBuilder:
        """Rewrite ``original``; changes to one node apply in the order they were asked for."""
        earlier = self.changes.get(original)
        if earlier is None:
            self.changes[original] = change
        else:
            self.changes[original] = lambda updated: change(earlier(updated))  # type: ignore[arg-type]
        return self

    def insert_after(self, statement: cst.BaseStatement, new: list[cst.BaseStatement]) -> FixBuilder:
        return self.change(statement, lambda updated: cst.FlattenSentinel([updated, *new]))

    def add_import(self, module: str, obj: str | None = None) -> FixBuilder:
        AddImportsVisitor.add_needed_import(self.codemod, module, obj)
        return self

    def drop_imports_used_by(self, node: cst.CSTNode) -> FixBuilder:
        """Remove the imports ``node`` refers to, if nothing else uses them after the fix."""
        RemoveImportsVisitor.remove_unused_import_by_node(self.codemod, node)
        return self

    def build(self, safety: Safety, description: str) -> Fix | None:
        tree = self.context.module.visit(_Replacer(self.changes))
        tree = AddImportsVisitor(self.codemod).transform_module(tree)
        tree = RemoveImportsVisitor(self.codemod).transform_module(tree)
        edits = diff_edits(self.context.source, tree.code)
        return Fix(safety, description, edits) if edits else None


def parse_statements(code: str) -> list[cst.BaseStatement]:
    """Statements from a code template (indentation follows the module they are put in)."""
    return list(cst.parse_module(code).body)


def code_of(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


_LINE_END = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split only where Python itself ends a line (not at \f etc.)."""
    return [line for line in _LINE_END.split(text) if line]


def diff_edits(old: str, new: str) -> tuple[Edit, ...]:
    """The line-granular edits that turn ``old`` into ``new``."""
    old_lines = split_lines(old)
    new_lines = split_lines(new)
    offsets = [0]
    for line in old_lines:
        offsets.append(offsets[-1] + len(line))
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    return tuple(
        Edit(offsets[i1], offsets[i2], "".join(new_lines[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    )


def _overlaps(a: Edit, b: Edit) -> bool:
    # Touching edits count as overlapping: two insertions at one place must not interleave.
    return a.start <= b.end and b.start <= a.end


def select_compatible(fixes: Iterable[Fix]) -> list[Fix]:
    """A greedy choice of fixes whose edits do not overlap; the rest wait for the next pass."""
    chosen: list[Fix] = []
    taken: list[Edit] = []
    for fix in fixes:
        if any(_overlaps(edit, other) for edit in fix.edits for other in taken):
            continue
        chosen.append(fix)
        taken.extend(fix.edits)
    return chosen


def apply_fixes(source: str, fixes: Iterable[Fix]) -> str:
    """Apply fixes whose edits do not overlap (see :func:`select_compatible`)."""
    edits = sorted((edit for fix in fixes for edit in fix.edits), key=lambda e: e.start)
    parts: list[str] = []
    position = 0
    for edit in edits:
        parts.append(source[position : edit.start])
        parts.append(edit.content)
        position = edit.end
    parts.append(source[position:])
    return "".join(parts)
