"""Form feeds in indentation, which Python ignores and LibCST does not.

Python's tokenizer resets the indentation count at a form feed (``\\f``), so ``\\f    return x``
is indented by four. LibCST's tokenizer agrees, but its whitespace parser takes the indentation
as text and then refuses valid files (``unindent does not match``), drops the form feed when it
regenerates the code, or doubles it onto the next line. loopcheck therefore hands LibCST a copy
in which the leading whitespace of each line, up to and including its last form feed, is removed
(which changes nothing for Python: same tokens, same indentation), and maps every position and
every edit back to the original text. Lines inside a multi-line string are left alone. The lines
a fix rewrites lose the form feed; every other line keeps it.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import functools
import io
import re
import tokenize
from dataclasses import dataclass

from loopcheck.engine.diagnostics import Diagnostic, Edit

_PREFIX = re.compile(r"[ \t\f]*\f")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split where Python ends a line (CR, LF, CRLF) only."""
    return _LINE.findall(text)


@dataclass(frozen=True)
class Normalised:
    """``text`` as LibCST gets it: ``removed[i]`` characters were cut from the start of line i of
    ``original``, and nothing else differs."""

    original: str
    text: str
    removed: tuple[int, ...]

    @functools.cached_property
    def _starts(self) -> tuple[list[int], list[int]]:
        """Where each line starts, in the normalised and in the original text."""
        new, old = [0], [0]
        for line, cut in zip(split_lines(self.text), self.removed):
            new.append(new[-1] + len(line))
            old.append(old[-1] + len(line) + cut)
        return new, old

    def original_offset(self, offset: int) -> int:
        """The offset in ``original`` of ``offset`` in ``text``. An offset at the start of a line
        stays at the start of the line, so an edit that replaces whole lines takes the form feed
        with it."""
        new, old = self._starts
        line = max(0, min(bisect.bisect_right(new, offset) - 1, len(self.removed) - 1))
        column = offset - new[line]
        return old[line] + (column + self.removed[line] if column > 0 else 0)

    def diagnostic(self, diagnostic: Diagnostic) -> Diagnostic:
        """``diagnostic``, found in ``text``, with the columns and edits of ``original``."""

        def column(line: int, value: int) -> int:
            return value + self.removed[line - 1] if 0 < line <= len(self.removed) else value

        fix = diagnostic.fix
        if fix is not None and fix.edits is not None:
            fix = dataclasses.replace(
                fix,
                edits=tuple(
                    Edit(self.original_offset(e.start), self.original_offset(e.end), e.content)
                    for e in fix.edits
                ),
            )
        return dataclasses.replace(
            diagnostic,
            column=column(diagnostic.line, diagnostic.column),
            end_column=column(diagnostic.end_line, diagnostic.end_column),
            fix=fix,
        )


def _lines_inside_tokens(text: str) -> set[int] | None:
    """1-based numbers of the lines that continue a token begun on an earlier line (multi-line
    strings); None when the text cannot be tokenized."""
    inside: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline="").readline):
            inside.update(range(token.start[0] + 1, token.end[0] + 1))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return inside


def normalise(text: str) -> Normalised | None:
    """The copy of ``text`` LibCST can parse, or None when no line starts with a form feed in its
    indentation (nothing to do) or the text cannot be tokenized."""
    if "\f" not in text:
        return None
    lines = split_lines(text)
    if not any(_PREFIX.match(line) for line in lines):
        return None
    inside = _lines_inside_tokens(text)
    if inside is None:
        return None
    removed = []
    kept = []
    for number, line in enumerate(lines, start=1):
        match = _PREFIX.match(line)
        cut = match.end() if match and number not in inside else 0
        if cut == len(line):
            cut = 0  # a last line of only white space, without a line ending: keep it a line
        removed.append(cut)
        kept.append(line[cut:])
    return Normalised(text, "".join(kept), tuple(removed))


def restore(normalised: Normalised, fixed: str) -> Normalised:
    """``fixed`` (the fix of ``normalised.text``) with the original form feeds back on every line
    the fix left alone: the result's ``original`` is the text to write, and its positions map as
    those of ``normalised`` do."""
    before = split_lines(normalised.text)
    after = split_lines(fixed)
    original = split_lines(normalised.original)
    out: list[str] = []
    shift: list[int] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(original[i1:i2])
            shift.extend(normalised.removed[i1:i2])
        else:
            out.extend(after[j1:j2])
            shift.extend([0] * (j2 - j1))
    return Normalised("".join(out), fixed, tuple(shift))
