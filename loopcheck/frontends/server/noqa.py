"""``# noqa`` in the editor: the edit that silences one code on a line (a new comment, or the
code merged into the line's ``# noqa:`` list), and the code a position on a comment names."""

from __future__ import annotations

import io
import re
import tokenize

from loopcheck.engine.diagnostics import Edit
from loopcheck.settings.suppression import NOQA, is_suppressed, noqa_lines

_CODE = re.compile(r"[A-Z]+[0-9]+", re.I)
_LINE_END = re.compile(r"\r\n|\r|\n")


def _comment_on(text: str, line: int) -> tokenize.TokenInfo | None:
    """The comment that ends line ``line``, if it has one."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type == tokenize.COMMENT and token.start[0] == line:
                return token
            if token.start[0] > line:
                break
    except (tokenize.TokenError, SyntaxError):
        pass
    return None


def _line_start(text: str, line: int) -> int:
    """The offset of line ``line`` (1-based), lines ended as Python ends them."""
    offset = 0
    for _ in range(line - 1):
        match = _LINE_END.search(text, offset)
        if match is None:
            return len(text)
        offset = match.end()
    return offset


def noqa_edit(text: str, line: int, code: str) -> Edit | None:
    """The edit that adds ``code`` to the ``# noqa`` of ``line``; None when the line is silenced
    for it already or cannot hold a comment (it ends inside a string)."""
    if is_suppressed(noqa_lines(text), line, code):
        return None
    start = _line_start(text, line)
    end_match = _LINE_END.search(text, start)
    end = end_match.start() if end_match else len(text)
    comment = _comment_on(text, line)
    match = NOQA.search(comment.string) if comment is not None else None
    if comment is not None and match is not None and match.group("codes"):
        at = start + comment.start[1] + match.end("codes")
        edit = Edit(at, at, f", {code}")
    else:
        body = text[start:end]
        edit = Edit(end, end, f"{'  ' if body.strip() else ''}# noqa: {code}")
    fixed = text[: edit.start] + edit.content + text[edit.end :]
    return edit if is_suppressed(noqa_lines(fixed), line, code) else None


def code_at(line_text: str, column: int) -> str | None:
    """The rule code a ``# noqa:`` comment in ``line_text`` names at ``column`` (1-based, code
    points), if any."""
    for match in NOQA.finditer(line_text):
        codes = match.group("codes")
        if not codes:
            continue
        for code in _CODE.finditer(codes):
            if match.start("codes") + code.start() < column <= match.start("codes") + code.end() + 1:
                return code.group().upper()
    return None
