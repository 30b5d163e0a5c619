"""Text output: ``path:line:col: CODE message`` per finding (``CODE [*] message`` when it has a
safe fix, which ``--fix`` applies), the format editors and CI parse. Under it, indented: one
``path:line:col: message`` line per loop that reaches the finding's object (its evidence: where
the loop starts, and the calls it goes through in the message); then, for a finding with no fix,
why and what to write instead (``no fix: <reason>; instead, <advice>``), for one whose fix is
unsafe, that fix (``--unsafe-fixes`` applies it). On a terminal each finding also shows its source
line with a caret under the span (``show_source``). The concise output is the finding lines
alone, each message whole (with its "no fix" reason). With ``color`` the path is bold, the code
red, ``[*]`` cyan and the evidence dim (ANSI escapes, for a terminal: the command line decides,
see ``--color``)."""

from __future__ import annotations

import unicodedata
from typing import TextIO

import click

from loopcheck.engine.diagnostics import Diagnostic, Safety, declined_reason
from loopcheck.engine.edits import split_lines
from loopcheck.engine.registry import rule_index
from loopcheck.notebooks import CellMap


def report_text(
    diagnostics: list[Diagnostic],
    sources: dict[str, str],
    stream: TextIO,
    *,
    show_source: bool = False,
    color: bool = False,
) -> None:
    for d in diagnostics:
        stream.write(finding_line(d, reason=False, color=color))
        stream.write(evidence_lines(d, color=color))
        stream.write(fix_line(d, color=color))
        if show_source:
            stream.write(source_excerpt(d, sources.get(d.path, "")))


# The evidence lines text shows under a finding; the rest are counted (JSON and SARIF list all).
SHOWN_EVIDENCE = 8


def _styled(text: str, color: bool, **style: object) -> str:
    return click.style(text, **style) if color else text  # type: ignore[arg-type]


def evidence_lines(d: Diagnostic, *, color: bool = False) -> str:
    """One indented line per evidence: where the loop starts and how it reaches the object (the
    steps are not listed: the message names the calls, ``via a.f -> b.g``); past
    :data:`SHOWN_EVIDENCE`, one line that counts the others."""
    lines = [
        f"{e.location.path}:{e.location.line}:{e.location.column}: {e.message}" for e in d.evidence[:SHOWN_EVIDENCE]
    ]
    more = len(d.evidence) - SHOWN_EVIDENCE
    if more > 0:
        lines.append(f"... and {more} more loop{'s' if more > 1 else ''} (the JSON and SARIF outputs list every one)")
    return "".join(f"    {_styled(line, color, dim=True)}\n" for line in lines)


TAB_SIZE = 8  # as Python's tokenizer and most terminals count a tab


def _char_width(char: str) -> int:
    """Terminal columns a character takes: two for East Asian wide and full-width characters,
    none for combining marks and format characters, one otherwise."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _display(text: str) -> tuple[str, list[int]]:
    """``text`` as the excerpt prints it (tabs expanded, other control characters shown as a
    space, which a terminal would otherwise act on) and the terminal column each character
    starts at, plus the end."""
    shown: list[str] = []
    starts = [0]
    for char in text:
        if char == "\t":
            width = TAB_SIZE - starts[-1] % TAB_SIZE
            shown.append(" " * width)
        elif unicodedata.category(char) == "Cc":
            width = 1
            shown.append(" ")
        else:
            width = _char_width(char)
            shown.append(char)
        starts.append(starts[-1] + width)
    return "".join(shown), starts


def source_excerpt(d: Diagnostic, source: str) -> str:
    """The finding's first source line, numbered, with carets under the reported span, aligned
    on a terminal: tabs are expanded in both lines, and wide characters take two columns."""
    lines = split_lines(source)  # numbered as findings are: CR, LF and CRLF end a line
    # A notebook's source is its joined cells; the finding's line is its cell's.
    row = d.line if d.cell is None else CellMap(source).joined_line(d.cell, d.line)
    if not 0 < row <= len(lines):
        return ""
    text = lines[row - 1].rstrip("\r\n")
    shown, starts = _display(text)
    first = min(max(d.column - 1, 0), len(text))
    last = min(max(d.end_column - 1, first), len(text)) if d.end_line == d.line else len(text)
    start, end = starts[first], starts[last]
    gutter = " " * len(str(d.line))
    return (
        f"{gutter} |\n{d.line} | {shown}\n{gutter} | {' ' * start}{'^' * max(1, end - start)}\n\n"
    )


def finding_line(d: Diagnostic, *, reason: bool = True, color: bool = False) -> str:
    """``path:line:col: CODE [*] message``, ``[*]`` marking a finding with a safe fix; in a
    notebook ``path:cell N:line:col`` (the line in the cell), as Ruff prints it. Without
    ``reason``, the message stops before why the finding has no fix (:func:`fix_line` says it)."""
    safe = d.fix is not None and d.fix.safety is Safety.SAFE
    mark = _styled("[*]", color, fg="cyan") + " " if safe else ""
    code = _styled(d.code, color, fg="red", bold=True)
    message = d.message if reason else declined_reason(d.message)[0]
    return f"{_styled(d.path, color, bold=True)}{place(d)[len(d.path):]}: {code} {mark}{message}\n"


def place(d: Diagnostic) -> str:
    """``path:line:col``, or ``path:cell N:line:col`` for a notebook's finding."""
    cell = "" if d.cell is None else f"cell {d.cell}:"
    return f"{d.path}:{cell}{d.line}:{d.column}"


# The reason of a finding whose message says nothing more of why it has no fix, where its rule
# documents none either.
NO_AUTOMATIC_FIX = "loopcheck has no automatic fix for this"


def fix_line(d: Diagnostic, *, color: bool = False) -> str:
    """The indented line under a finding that ``--fix`` leaves: why it has no fix and what to
    write instead (the rule's ``instead``), or its unsafe fix; nothing for a safe fix."""
    if d.fix is not None:
        if d.fix.safety is Safety.SAFE:
            return ""
        return f"    {_styled(f'unsafe fix (--unsafe-fixes applies it): {d.fix.description}', color, dim=True)}\n"
    rule = rule_index().get(d.code)
    reason = declined_reason(d.message)[1] or (rule is not None and rule.no_fix) or NO_AUTOMATIC_FIX
    instead = f"; instead, {rule.instead}" if rule is not None and rule.instead else ""
    return f"    {_styled(f'no fix: {reason}{instead}', color, dim=True)}\n"


def report_concise(
    diagnostics: list[Diagnostic], sources: dict[str, str], stream: TextIO, *, color: bool = False
) -> None:
    """One line per finding (:func:`finding_line`, its message whole), without the fix line,
    evidence or source lines."""
    del sources
    for d in diagnostics:
        stream.write(finding_line(d, color=color))
