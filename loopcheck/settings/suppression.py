"""``# noqa`` comments, as flake8 reads them: bare ``# noqa`` silences every code on its line,
``# noqa: LCK101, LCK102`` only those codes (or prefixes). (The flake8 plugin leaves this to flake8.)"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from loopcheck.engine.diagnostics import Diagnostic

T = TypeVar("T")

NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.I)
ALL_CODES = None


def noqa_lines(source: str) -> dict[int, frozenset[str] | None]:
    """Line number → the codes suppressed there (``None``: all), numbered as findings are: a
    line ends at CR, LF or CRLF (universal newlines, as for Python and LibCST)."""
    found: dict[int, frozenset[str] | None] = {}
    try:
        lines = io.StringIO(source, newline=None)  # a lone CR ends a line too
        for token in tokenize.generate_tokens(lines.readline):
            if token.type != tokenize.COMMENT:
                continue
            match = NOQA.search(token.string)
            if match is None:
                continue
            line = token.start[0]
            if match.group("codes") is None:
                found[line] = ALL_CODES
            elif found.get(line, frozenset()) is not ALL_CODES:
                codes = frozenset(c.upper() for c in re.split(r"[,\s]+", match.group("codes")) if c)
                found[line] = found.get(line, frozenset()) | codes
    except (tokenize.TokenError, SyntaxError):
        pass  # the parser has already accepted the file; keep what was read
    return found


def is_suppressed(noqa: dict[int, frozenset[str] | None], line: int, code: str) -> bool:
    if line not in noqa:
        return False
    codes = noqa[line]
    return codes is ALL_CODES or any(code.startswith(prefix) for prefix in codes)


def unsuppressed(found: Sequence[T], source: str, diagnostic: Callable[[T], Diagnostic]) -> list[T]:
    """``found`` without what a ``# noqa`` comment in ``source`` silences (``diagnostic``: the
    finding each item stands for)."""
    noqa = noqa_lines(source)
    if not noqa:
        return list(found)
    kept = []
    for item in found:
        d = diagnostic(item)
        if not is_suppressed(noqa, d.line, d.code):
            kept.append(item)
    return kept
