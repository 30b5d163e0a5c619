"""Text edits: what a fix is once built, how edits are computed from a rewritten module's text,
chosen so that they do not overlap, and applied. No LibCST here: applying fixes, and reporting
them, never needs the tree."""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Iterable, Sequence

from loopcheck.engine.diagnostics import Edit

_LINE_END = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split only where Python itself ends a line (not at \\f etc.)."""
    return [line for line in _LINE_END.split(text) if line]


def unchanged_ends(before: Sequence[str], after: Sequence[str]) -> tuple[int, int]:
    """How many lines ``before`` and ``after`` have in common at their start, and then at their end."""
    same = min(len(before), len(after))
    head = next((n for n in range(same) if before[n] != after[n]), same)
    tail = next((n for n in range(same - head) if before[-1 - n] != after[-1 - n]), same - head)
    return head, tail


def diff_edits(old: str, new: str) -> tuple[Edit, ...]:
    """The line-granular edits that turn ``old`` into ``new`` (a module's text as LibCST printed
    it after a fix)."""
    if old.endswith("\r") and not new.endswith(("\r", "\n")):
        # LibCST prints a module without its final line ending when that is a lone CR: that is
        # its printing, not the fix's change, and the file keeps its last line ending.
        new += "\r"
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


def select_compatible(edit_sets: Iterable[tuple[Edit, ...]]) -> list[int]:
    """A greedy choice of edit sets that do not overlap (by index); the rest wait for the next
    pass. Touching edits count as overlapping: two insertions at one place must not interleave.
    The chosen edits are kept sorted, so each test is a binary search (a file with a thousand
    fixes is not a million comparisons)."""
    chosen: list[int] = []
    starts: list[int] = []  # of the chosen edits, which never overlap: their ends sort alike
    ends: list[int] = []
    for index, edits in enumerate(edit_sets):
        if any(_meets_chosen(edit, starts, ends) for edit in edits):
            continue
        chosen.append(index)
        for edit in edits:
            place = bisect.bisect_left(starts, edit.start)
            starts.insert(place, edit.start)
            ends.insert(place, edit.end)
    return chosen


def _meets_chosen(edit: Edit, starts: list[int], ends: list[int]) -> bool:
    """Whether ``edit`` overlaps or touches a chosen edit: the last one starting at or before its
    end is the only one that can."""
    place = bisect.bisect_right(starts, edit.end) - 1
    return place >= 0 and ends[place] >= edit.start


def apply_edits(source: str, edits: Iterable[Edit]) -> str:
    """Apply edits that do not overlap."""
    parts: list[str] = []
    position = 0
    for edit in sorted(edits, key=lambda e: e.start):
        parts.append(source[position : edit.start])
        parts.append(edit.content)
        position = edit.end
    parts.append(source[position:])
    return "".join(parts)
