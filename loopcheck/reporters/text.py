from __future__ import annotations

from typing import TextIO

from loopcheck.diagnostics import Diagnostic


def report_text(diagnostics: list[Diagnostic], sources: dict[str, str], stream: TextIO) -> None:
    """One finding per line: ``path:line:col: CODE message`` (the format editors and CI parse)."""
    for d in diagnostics:
        stream.write(f"{d.path}:{d.line}:{d.column}: {d.code} {d.message}\n")
