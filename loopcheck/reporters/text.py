"""Text output: ``path:line:col: CODE message`` per finding, the format editors and CI parse. On a
terminal each finding also shows its source line with a caret under the span (``show_source``)."""

from __future__ import annotations

from typing import TextIO

from loopcheck.diagnostics import Diagnostic


def report_text(
    diagnostics: list[Diagnostic],
    sources: dict[str, str],
    stream: TextIO,
    *,
    show_source: bool = False,
) -> None:
    for d in diagnostics:
        stream.write(f"{d.path}:{d.line}:{d.column}: {d.code} {d.message}\n")
        if show_source:
            stream.write(source_excerpt(d, sources.get(d.path, "")))


def source_excerpt(d: Diagnostic, source: str) -> str:
    """The finding's first source line, numbered, with carets under the reported span."""
    lines = source.splitlines()
    if not 0 < d.line <= len(lines):
        return ""
    text = lines[d.line - 1].expandtabs(1)
    end = d.end_column if d.end_line == d.line else len(text) + 1
    width = max(1, end - d.column)
    gutter = " " * len(str(d.line))
    return (
        f"{gutter} |\n{d.line} | {text}\n{gutter} | {' ' * (d.column - 1)}{'^' * width}\n\n"
    )


def report_concise(diagnostics: list[Diagnostic], sources: dict[str, str], stream: TextIO) -> None:
    """One line per finding, ``[*]`` marking those with a fix: ``path:line:col: CODE [*] message``."""
    del sources
    for d in diagnostics:
        mark = "[*] " if d.fix is not None else ""
        stream.write(f"{d.path}:{d.line}:{d.column}: {d.code} {mark}{d.message}\n")
