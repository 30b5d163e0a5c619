"""Output formats: each reporter writes a run's diagnostics to a stream."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.reporters.github import report_github
from loopcheck.reporters.json import report_json
from loopcheck.reporters.sarif import report_sarif
from loopcheck.reporters.text import report_concise, report_text

Reporter = Callable[[list[Diagnostic], dict[str, str], TextIO], None]

# Formats that can print each file's findings as soon as they come (the others print one document).
STREAMING = frozenset({"text", "concise", "github"})

REPORTERS: dict[str, Reporter] = {
    "text": report_text,
    "concise": report_concise,
    "json": report_json,
    "sarif": report_sarif,
    "github": report_github,
}
