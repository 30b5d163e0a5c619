"""A document's findings after an edit of comments and blank lines only: the last check's findings,
the lines below the edit moved, without parsing the text again.

Comments and blank lines are not among the tokens Python's grammar reads, so such an edit leaves
the ``ast`` tree as it was, the lines below moved; LibCST's tree differs only in the nodes that
hold whitespace and comments, which no rule reads. The findings (before the project model's
evidence, which the server attaches afterwards as after a full check) are then those of the last
check, moved. The shortcut is taken only where that is certain, else the text is checked in full:

- the edit is one run of whole lines (the lines before and after it unchanged), removed and added,
  each a blank line or a comment line, not on the first two lines (a coding declaration) and not
  a ``# noqa`` comment, a form feed or a character the interpreter refuses in source;
- the tokenizer is between tokens where the run starts (not inside a string, an f-string or a
  line continued by a backslash), and each removed line held no token but its comment;
- the text test answers as before (it reads comments too);
- no finding is on the lines next to the run or inside it (where a range could take in the lines
  around a node), and where lines move, no message or fix title holds a digit (a message may name
  another line by its number), and no fix title names the comments the fix removes (an edit of
  comments may change them).

An edit of code is checked in full: the findings of the statements it leaves alone cannot be
kept, since the analysis reads the whole module (``await x.wait()`` typed in one coroutine makes a
module-level ``asyncio.Event()`` elsewhere one that binds to a loop, and a finding appears there).
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, replace

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.engine.edits import split_lines, unchanged_ends
from loopcheck.fixes.statements import quotes_comments

# The first lines may declare the source's encoding, which a comment there could change.
ENCODING_LINES = 2
# Tokens that are not the grammar's: a line holding only these is a blank or comment line.
_LAYOUT = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
# Tokens between which (on 3.12 and later) an f-string's parts come: its lines are inside a token.
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


@dataclass(frozen=True)
class Layout:
    """Of each line of a text (1-based; index 0 unused): whether it holds nothing but layout
    (``quiet``), and whether the tokenizer is between tokens where it starts (``fresh``, which
    also has an entry for the end of the text)."""

    quiet: tuple[bool, ...]
    fresh: tuple[bool, ...]


def layout_of(text: str) -> Layout | None:
    """The text's layout, from its tokens; None when the tokenizer refuses it."""
    lines = len(split_lines(text))
    code = [False] * (lines + 2)
    inside = [False] * (lines + 2)  # within a token that started on an earlier line
    ended = [False] * (lines + 2)  # a line-ending token ends the line
    fstrings: list[int] = []
    try:
        readline = io.StringIO(text, newline=None).readline  # a lone CR ends a line, as for Python
        for token in tokenize.generate_tokens(readline):
            (first, _), (last, _) = token.start, token.end
            if token.type in (tokenize.NL, tokenize.NEWLINE):
                ended[first] = True
            if token.type == _FSTRING_START:
                fstrings.append(first)
            elif token.type == _FSTRING_END and fstrings:
                first = fstrings.pop()
            if token.type not in _LAYOUT:
                for line in range(first, min(last, lines + 1) + 1):
                    code[line] = True
                for line in range(first + 1, min(last, lines + 1) + 1):
                    inside[line] = True
    except (tokenize.TokenError, SyntaxError):
        return None
    quiet = tuple(index > 0 and not code[index] and not inside[index] for index in range(lines + 1))
    fresh = tuple(index == 1 or (index > 1 and ended[index - 1] and not inside[index]) for index in range(lines + 2))
    return Layout(quiet, fresh)


@dataclass
class Checked:
    """A text as it was checked: the text test's answer and the findings; the answer (None: not
    asked yet) and the layout are read only when an edit may be one of comments and blank lines
    (most edits while typing are not)."""

    text: str
    matched: bool | None
    found: tuple[Diagnostic, ...]
    known_layout: Layout | None = None

    def layout(self) -> Layout | None:
        if self.known_layout is None:
            self.known_layout = layout_of(self.text)
        return self.known_layout


def moved(before: Checked, text: str, matches: Callable[[str], bool]) -> Checked | None:
    """``text``'s findings from ``before``'s when the edit from one to the other is of comments
    and blank lines only (see the module's doc); None when the text must be checked in full.
    ``matches``: the text test."""
    if text == before.text:
        return before
    if "\f" in text:  # form feeds in indentation move columns (``formfeed``)
        return None
    old, new = split_lines(before.text), split_lines(text)
    head, tail = unchanged_ends(old, new)
    # The run: old lines head+1 .. len(old)-tail become new lines head+1 .. len(new)-tail (1-based).
    start, removed, added = head + 1, old[head : len(old) - tail], new[head : len(new) - tail]
    if start <= ENCODING_LINES or not all(_plain_comment_or_blank(line) for line in [*removed, *added]):
        return None
    layout = before.layout()
    if (
        layout is None
        or not layout.fresh[start]
        or not all(layout.quiet[line] for line in range(start, start + len(removed)))
        or matches(text) != _matched(before, matches)
    ):
        return None
    near = range(start - 1, start + len(removed) + 1)  # the line before the run, the run, the line after
    if any(d.line in near or d.end_line in near for d in before.found):
        return None
    shift = len(added) - len(removed)
    if shift and any(_has_digit(d) for d in before.found):
        return None
    if any(d.fix is not None and d.fix.edits for d in before.found):  # offsets: never asked for here
        return None
    if any(d.fix is not None and quotes_comments(d.fix.description) for d in before.found):
        return None  # a title quoting the comments a fix removes changes with them
    after = start + len(removed)  # the first line below the run, as numbered before
    found = tuple(
        replace(
            d,
            line=d.line + shift if d.line >= after else d.line,
            end_line=d.end_line + shift if d.end_line >= after else d.end_line,
        )
        for d in before.found
    )
    quiet = (*layout.quiet[:start], *(True,) * len(added), *layout.quiet[after:])
    fresh = (*layout.fresh[:start], *(True,) * len(added), *layout.fresh[after:])
    return Checked(text, before.matched, found, Layout(quiet, fresh))


def _matched(checked: Checked, matches: Callable[[str], bool]) -> bool:
    if checked.matched is None:
        checked.matched = matches(checked.text)
    return checked.matched


def _plain_comment_or_blank(line: str) -> bool:
    content = line.rstrip("\r\n")
    stripped = content.lstrip(" \t")
    if stripped and not stripped.startswith("#"):
        return False
    if "noqa" in content.lower() or "\x00" in content or "\f" in content:
        return False
    try:
        content.encode("utf-8")  # a lone surrogate: the interpreter refuses the source
    except UnicodeEncodeError:
        return False
    return True


def _has_digit(d: Diagnostic) -> bool:
    return any(c.isdigit() for c in d.message) or (d.fix is not None and any(c.isdigit() for c in d.fix.description))
