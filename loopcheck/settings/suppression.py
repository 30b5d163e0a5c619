"""``# noqa`` comments, as flake8 reads them: bare ``# noqa`` silences every code on its line,
``# noqa: LCK101, LCK102`` only those codes (or prefixes). (The flake8 plugin leaves this to flake8.)"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
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
    for token, match in _noqa_tokens(source):
        line = token.start[0]
        if match.group("codes") is None:
            found[line] = ALL_CODES
        elif found.get(line, frozenset()) is not ALL_CODES:
            codes = frozenset(c.upper() for c in re.split(r"[,\s]+", match.group("codes")) if c)
            found[line] = found.get(line, frozenset()) | codes
    return found


# A check reads one file's directives several times (which codes its comments silence, which
# of them silence nothing): the file is tokenized once.
@lru_cache(maxsize=1)
def _noqa_tokens(source: str) -> tuple[tuple[tokenize.TokenInfo, re.Match[str]], ...]:
    """Each comment token with a ``# noqa`` directive, and the directive's match."""
    if NOQA.search(source) is None:  # no directive anywhere (most files): nothing to tokenize
        return ()
    found = []
    try:
        lines = io.StringIO(source, newline=None)  # a lone CR ends a line too
        for token in tokenize.generate_tokens(lines.readline):
            if token.type == tokenize.COMMENT:
                match = NOQA.search(token.string)
                if match is not None:
                    found.append((token, match))
    except (tokenize.TokenError, SyntaxError):
        pass  # the parser has already accepted the file; keep what was read
    return tuple(found)


def is_suppressed(noqa: dict[int, frozenset[str] | None], line: int, code: str) -> bool:
    if line not in noqa:
        return False
    codes = noqa[line]
    return codes is ALL_CODES or any(code.startswith(prefix) for prefix in codes)


def unsuppressed(found: Sequence[T], source: str, diagnostic: Callable[[T], Diagnostic]) -> list[T]:
    """``found`` without what a ``# noqa`` comment in ``source`` silences (``diagnostic``: the
    finding each item stands for)."""
    if not found or not _said_on_any(source, [diagnostic(item).line for item in found]):
        return list(found)  # no finding's line mentions noqa (most files): nothing to tokenize
    noqa = noqa_lines(source)
    if not noqa:
        return list(found)
    kept = []
    for item in found:
        d = diagnostic(item)
        if not is_suppressed(noqa, d.line, d.code):
            kept.append(item)
    return kept


def _said_on_any(source: str, lines: Iterable[int]) -> bool:
    """Whether any of ``lines`` (numbered as the tokenizer numbers them) holds the word noqa: a
    comment that silences a line is on it."""
    numbered = io.StringIO(source, newline=None).read().split("\n")
    return any(0 < line <= len(numbered) and "noqa" in numbered[line - 1].lower() for line in lines)


@dataclass(frozen=True)
class NoqaProblem:
    """A loopcheck code in a ``# noqa: ...`` list that silences nothing, or names no rule.
    Lines 1-based, columns 1-based (of the code in the comment), end exclusive."""

    line: int
    column: int
    end_column: int
    code: str
    unknown: bool  # no rule has the code (else: no finding of it on this line)
    # What removes the code: (0-based start and end column on the line, replacement); None
    # when removing it would change what the comment says (``# noqa: LCK101 (why)`` would
    # become a bare ``# noqa (why)``, which silences everything).
    removal: tuple[int, int, str] | None = None


@dataclass(frozen=True)
class _NoqaComment:
    line: int
    column: int  # 0-based, of the comment's '#'
    text: str
    match: re.Match[str]
    code_before: str  # the line's text before the comment

    def codes(self) -> dict[str, int]:
        """Each code listed, upper-cased, with its offset in the comment."""
        return {
            code.group().upper(): self.match.start("codes") + code.start()
            for code in re.finditer(r"[A-Za-z]+[0-9]+", self.match.group("codes"))
        }

    def without(self, code: str) -> tuple[int, int, str] | None:
        """The edit that removes ``code`` from the comment (see NoqaProblem.removal)."""
        listed = list(self.codes())
        if len(listed) > 1:
            start, end = self.match.span("codes")
            kept = ", ".join(c for c in listed if c != code)
            return self.column + start, self.column + end, kept
        if self.text[self.match.end() :].strip():
            return None
        # The whole directive goes, with the spaces before it (another comment before it stays).
        before = self.text[: self.match.start()].rstrip()
        start = self.column + len(before) if before else len(self.code_before.rstrip())
        return start, self.column + len(self.text), ""


def noqa_problems(
    source: str,
    found: Iterable[tuple[int, str]],
    judged: Collection[str],
    known: Collection[str],
    prefix: str = "LCK",
) -> list[NoqaProblem]:
    """The codes of ``# noqa: ...`` comments that start with ``prefix`` (loopcheck's; other
    tools' codes are theirs) and either match no code in ``known`` or match only rules in
    ``judged`` (those this run checked the file for) of which ``found`` (line, code: the
    findings before suppression) has none on the comment's line. A code that also names a rule
    not judged is left alone: its findings may come from elsewhere (the project rules) or were
    not looked for."""
    if re.search(r"noqa[^\r\n]*" + re.escape(prefix), source, re.I) is None:
        return []  # no noqa comment names a code of loopcheck's: its lines would say so
    found_on: dict[int, set[str]] = {}
    for line, code in found:
        found_on.setdefault(line, set()).add(code)
    problems = []
    for comment in _noqa_comments(source):
        for code, start in comment.codes().items():
            if not code.startswith(prefix):
                continue
            matching = [k for k in known if k.startswith(code)]
            unused = all(k in judged for k in matching) and not any(
                f.startswith(code) for f in found_on.get(comment.line, ())
            )
            if not matching or unused:
                column = comment.column + start + 1
                problems.append(
                    NoqaProblem(comment.line, column, column + len(code), code, not matching, comment.without(code))
                )
    return problems


def _noqa_comments(source: str) -> list[_NoqaComment]:
    """The comments with a ``# noqa: CODES`` directive."""
    lines = io.StringIO(source, newline=None).read().split("\n")  # as the tokenizer numbers them
    return [
        _NoqaComment(token.start[0], token.start[1], token.string, match, lines[token.start[0] - 1][: token.start[1]])
        for token, match in _noqa_tokens(source)
        if match.group("codes") is not None
    ]
