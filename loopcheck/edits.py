"""Text edits: what a fix is once built, how edits are computed from a rewritten module's text,
chosen so that they do not overlap, and applied. No LibCST here: applying fixes, and reporting
them, never needs the tree."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from loopcheck.diagnostics import Edit

_LINE_END = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split only where Python itself ends a line (not at \\f etc.)."""
    return [line for line in _LINE_END.split(text) if line]


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


def _overlaps(a: Edit, b: Edit) -> bool:
    # Touching edits count as overlapping: two insertions at one place must not interleave.
    return a.start <= b.end and b.start <= a.end


def select_compatible(edit_sets: Iterable[tuple[Edit, ...]]) -> list[int]:
    """A greedy choice of edit sets that do not overlap (by index); the rest wait for the next
    pass."""
    chosen: list[int] = []
    taken: list[Edit] = []
    for index, edits in enumerate(edit_sets):
        if any(_overlaps(edit, other) for edit in edits for other in taken):
            continue
        chosen.append(index)
        taken.extend(edits)
    return chosen


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
