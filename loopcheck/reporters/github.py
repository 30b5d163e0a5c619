"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request, its
message followed by the finding's evidence lines as the text output prints them.

https://docs.github.com/actions/reference/workflow-commands-for-github-actions#setting-an-error-message
"""

from __future__ import annotations

from typing import TextIO

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.reporters.text import evidence_lines


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def report_github(diagnostics: list[Diagnostic], sources: dict[str, str], stream: TextIO) -> None:
    del sources
    for d in diagnostics:
        properties = ",".join(
            f"{key}={_escape_property(str(value))}"
            for key, value in (
                ("title", f"loopcheck {d.code}"),
                ("file", d.path),
                ("line", d.line),
                ("col", d.column),
                ("endLine", d.end_line),
                ("endColumn", d.end_column),
            )
        )
        # A notebook's annotation names the cell: its line is the cell's, not the file's.
        cell = "" if d.cell is None else f"cell {d.cell}:{d.line}:{d.column}: "
        message = f"{cell}{d.code} {d.message}\n{evidence_lines(d)}".rstrip("\n")
        stream.write(f"::error {properties}::{_escape_data(message)}\n")
