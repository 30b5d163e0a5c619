"""``# noqa`` in the editor: the edit that silences one code on a line (a new comment, or the
code merged into the line's ``# noqa:`` list), and the code a position on a comment names."""

from __future__ import annotations

import re

from loopcheck.engine.diagnostics import Diagnostic, Edit
from loopcheck.engine.edits import split_lines
from loopcheck.run.noqa import add_noqa
from loopcheck.settings.suppression import NOQA

_CODE = re.compile(r"[A-Z]+[0-9]+", re.I)


def noqa_edit(text: str, line: int, code: str) -> Edit | None:
    """The edit that adds ``code`` to the ``# noqa`` of ``line``, as ``--add-noqa`` adds it; None
    when the line is silenced for it already or cannot hold a comment (it ends inside a string)."""
    added = add_noqa(text, [Diagnostic("", line, 1, line, 1, code, "")])
    if not added.added:
        return None
    lines = split_lines(text)
    start = sum(map(len, lines[: line - 1]))
    before = lines[line - 1]
    after = split_lines(added.text)[line - 1]
    # Only the line's text changes, never its ending.
    return Edit(start, start + len(before.rstrip("\r\n")), after.rstrip("\r\n"))


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
