"""``--add-noqa``: a ``# noqa: CODE`` comment on each line with a finding, so that a project can
turn loopcheck on and fix its findings later. A line that already has a ``# noqa: ...`` comment
gets the missing codes added to it (other tools' codes stay); a bare ``# noqa`` already silences
everything. The comment must be on the finding's own line (that is the line ``# noqa`` is read
on): a line that ends inside a multi-line string, or with a backslash continuation, cannot take a
comment, and is left alone with a note saying so."""

from __future__ import annotations

import io
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.engine.edits import split_lines
from loopcheck.settings.suppression import NOQA


@dataclass
class NoqaEdit:
    text: str  # the file with the comments added
    added: int = 0  # codes added
    skipped: list[tuple[Diagnostic, str]] = field(default_factory=list)  # with the reason


def _lines_inside_tokens(source: str) -> tuple[set[int], dict[int, tokenize.TokenInfo]]:
    """The lines that end inside a token (a multi-line string), and each line's comment."""
    inside: set[int] = set()
    comments: dict[int, tokenize.TokenInfo] = {}
    readline = io.StringIO(source, newline=None).readline
    for token in tokenize.generate_tokens(readline):
        if token.start[0] < token.end[0] and token.type != tokenize.NL:
            inside.update(range(token.start[0], token.end[0]))
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token
    return inside, comments


def _merged(comment: str, codes: Iterable[str]) -> tuple[str, int] | None:
    """``comment`` with ``codes`` added to its ``# noqa: ...`` list, and how many were added;
    None when it already silences them all (bare ``# noqa``, or each code or a prefix listed)."""
    match = NOQA.search(comment)
    if match is None or match.group("codes") is None:
        return None
    listed = [c for c in match.group("codes").replace(",", " ").split() if c]
    missing = [c for c in codes if not any(c.startswith(p.upper()) for p in listed)]
    if not missing:
        return None
    start, end = match.span("codes")
    return f"{comment[:start]}{', '.join([*listed, *missing])}{comment[end:]}", len(missing)


def add_noqa(source: str, diagnostics: list[Diagnostic]) -> NoqaEdit:
    """``source`` with a ``# noqa`` comment for each finding (see the module's docstring)."""
    by_line: dict[int, list[Diagnostic]] = {}
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        by_line.setdefault(d.line, []).append(d)
    lines = split_lines(source)
    try:
        inside, comments = _lines_inside_tokens(source)
    except (tokenize.TokenError, SyntaxError):
        return NoqaEdit(source, skipped=[(d, "the file cannot be tokenized") for d in diagnostics])
    edit = NoqaEdit(source)
    for number, found in by_line.items():
        if not 0 < number <= len(lines):
            continue
        codes = list(dict.fromkeys(d.code for d in found))
        line = lines[number - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        comment = comments.get(number)
        if comment is not None and NOQA.search(comment.string):
            merged = _merged(comment.string, codes)
            if merged is not None:
                start = comment.start[1]
                lines[number - 1] = body[:start] + merged[0] + body[start + len(comment.string) :] + ending
                edit.added += merged[1]
            continue
        if number in inside or body.endswith("\\"):
            reason = "its line ends inside a multi-line string" if number in inside else "its line ends with a backslash"
            edit.skipped.extend((d, reason) for d in found)
            continue
        lines[number - 1] = f"{body.rstrip()}  # noqa: {', '.join(codes)}{ending}"
        edit.added += len(codes)
    edit.text = "".join(lines)
    return edit
