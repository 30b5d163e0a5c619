"""Where each top-level statement of a parsed module sits in the file's text, so that a fix is
turned into text edits in time proportional to what it changes, not to the file.

A fix changes a few statements; the others stay the very same LibCST objects. The statements
that are not the same are regenerated and compared line by line with the text they replace, one
run of them at a time; everything else is known equal without looking at it. (Regenerating and
comparing the whole module for each fix made fixing N findings take N times the file.)
"""

from __future__ import annotations

import bisect
import operator
import re
from collections.abc import Iterable, Sequence
from functools import cached_property

import libcst as cst

from loopcheck.engine.diagnostics import Edit
from loopcheck.engine.edits import diff_edits, split_lines

# A word as ``imports._mentioned`` looks for one: not the attribute of something.
_WORD = re.compile(r"(?<![\w.])\w+")


def visit_statements(
    body: Sequence[cst.BaseStatement], chosen: Iterable[int], visitor: cst.CSTTransformer
) -> list[cst.BaseStatement]:
    """``body`` with the statements at the ``chosen`` positions visited, removed, or replaced by
    several, exactly as visiting the whole module would (``visit_body_iterable``: a statement
    the visit empties goes); the others are left alone, the same objects."""
    replacements: dict[int, list[cst.BaseStatement]] = {}
    for number in sorted(chosen):  # in order, as the whole module's visit goes
        child = body[number]
        new = child.visit(visitor)
        if isinstance(new, cst.RemovalSentinel):
            replacements[number] = []
        elif isinstance(new, cst.FlattenSentinel):
            replacements[number] = [n for n in new if child._is_removable() or not n._is_removable()]
        else:
            replacements[number] = [] if not child._is_removable() and new._is_removable() else [new]
    result = list(body)
    for number in sorted(replacements, reverse=True):
        result[number : number + 1] = replacements[number]
    return result


def _skip_same(old: Sequence[object], i: int, new: Sequence[object], j: int) -> tuple[int, int]:
    """Past the statements both bodies share from ``i`` and ``j`` on (compared in C: a fix
    touches a few statements of thousands)."""
    same = list(map(operator.is_, old[i:], new[j:]))
    run = same.index(False) if False in same else len(same)
    return i + run, j + run


class ModuleText:
    """The text of each top-level statement of ``module``, parsed from ``source``."""

    def __init__(self, module: cst.Module, source: str) -> None:
        self.module = module
        self.source = source
        self.body = module.body
        self.index = {id(statement): number for number, statement in enumerate(self.body)}

    @cached_property
    def _texts(self) -> list[str] | None:
        """Each statement's code, or None where the module's text is not the plain sequence of
        its parts (no trailing newline: the last one's is dropped)."""
        module = self.module
        if not module.has_trailing_newline or not self.body:
            return None
        texts = [module.code_for_node(statement) for statement in self.body]
        header = "".join(module.code_for_node(line) for line in module.header)
        footer = "".join(module.code_for_node(line) for line in module.footer)
        if len(header) + sum(map(len, texts)) + len(footer) != len(self.source):
            return None
        return texts

    @cached_property
    def _starts(self) -> list[int]:
        """Where each statement starts in the source, and where the last one ends."""
        assert self._texts is not None
        header = sum(len(self.module.code_for_node(line)) for line in self.module.header)
        starts = [header]
        for text in self._texts:
            starts.append(starts[-1] + len(text))
        return starts

    @property
    def usable(self) -> bool:
        return self._texts is not None

    def text_of(self, statement: cst.CSTNode, module: cst.Module) -> str:
        """The code of a top-level statement, from the source when it is one of the module's."""
        number = self.index.get(id(statement))
        if number is not None and self.body[number] is statement and self._texts is not None:
            return self._texts[number]
        return module.code_for_node(statement)

    def words_of(self, statement: cst.CSTNode) -> set[str] | None:
        """The words of one of the module's statements (None for any other statement)."""
        number = self.index.get(id(statement))
        if number is None or self.body[number] is not statement or self._texts is None:
            return None
        return self._words[number]

    @cached_property
    def _words(self) -> list[set[str]]:
        assert self._texts is not None
        return [set(_WORD.findall(text)) for text in self._texts]

    @cached_property
    def _line_starts(self) -> list[int]:
        starts, position = [], 0
        for line in split_lines(self.source):
            starts.append(position)
            position += len(line)
        starts.append(position)
        return starts

    def edits(self, new: cst.Module) -> tuple[Edit, ...] | None:
        """The edits that turn the source into ``new``'s code, where ``new`` keeps the module's
        header and footer and every statement it did not change (the same objects, in order);
        None when it does not."""
        if new.header is not self.module.header or new.footer is not self.module.footer:
            return None
        assert self._texts is not None
        old_body: Sequence[cst.BaseStatement] = self.body
        new_body = new.body
        # The statements' identities (new ones cannot share one with a statement still alive).
        present = set(map(id, new_body))
        regions: list[tuple[int, int, str]] = []  # (start, end, new text) in the source
        i = j = 0
        while i < len(old_body) or j < len(new_body):
            i, j = _skip_same(old_body, i, new_body, j)
            if i == len(old_body) and j == len(new_body):
                break
            # A run of changes: old statements up to the next one kept, new ones up to it.
            end_i = i
            while end_i < len(old_body) and id(old_body[end_i]) not in present:
                end_i += 1
            end_j = j
            anchor = old_body[end_i] if end_i < len(old_body) else None
            while end_j < len(new_body) and new_body[end_j] is not anchor:
                end_j += 1
            if (end_i, end_j) == (i, j) or (anchor is not None and end_j == len(new_body)):
                return None  # statements kept but moved
            after = "".join(self.text_of(statement, new) for statement in new_body[j:end_j])
            regions.append((self._starts[i], self._starts[end_i], after))
            i, j = end_i, end_j
        return self._diff(regions)

    def _diff(self, regions: list[tuple[int, int, str]]) -> tuple[Edit, ...] | None:
        """Each region compared line by line with a little of the unchanged text around it, so
        that the edits come out as a comparison of the whole files would place them: where equal
        lines (blank ones) let an edit slide, ``difflib`` extends the longer of the unchanged
        stretches on either side first, so the side with more unchanged lines gets more context
        here (enough to win, never more than the region's size)."""
        lines = self._line_starts
        edits: list[Edit] = []
        for number, (start, end, after) in enumerate(regions):
            first, last = bisect.bisect_left(lines, start), bisect.bisect_left(lines, end)
            if lines[first] != start or lines[last] != end:
                return None  # not whole lines
            left = first - (bisect.bisect_left(lines, regions[number - 1][1]) if number else 0)
            right = (bisect.bisect_left(lines, regions[number + 1][0]) if number + 1 < len(regions) else len(lines) - 1) - last
            base = (last - first) + after.count("\n") + after.count("\r") + 2
            lead = max(-base, min(base, left - right))
            before_count = min(left, base + max(lead, 0))
            after_count = min(right, base + max(-lead, 0))
            context_start, context_end = lines[first - before_count], lines[last + after_count]
            prefix, suffix = self.source[context_start:start], self.source[end:context_end]
            edits.extend(
                Edit(context_start + edit.start, context_start + edit.end, edit.content)
                for edit in diff_edits(prefix + self.source[start:end] + suffix, prefix + after + suffix)
            )
        for earlier, later in zip(edits, edits[1:]):
            if earlier.end >= later.start:
                return None  # two regions' edits met
        return tuple(edits)
