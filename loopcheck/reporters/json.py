"""JSON output: a list of findings, each with its fix and the fix's edits.

Schema (stable; lines and columns 1-based, end exclusive)::

    [{"code": "LCK101", "message": "...", "filename": "app.py",
      "location": {"row": 3, "column": 9}, "end_location": {"row": 3, "column": 23},
      "evidence": [{"message": "reached from ...",
                    "location": {"path": "tasks.py", "row": 12, "column": 5},
                    "steps": [{"path": "...", "row": 4, "column": 9, "message": "..."}]}],
      "fix": null | {"applicability": "safe" | "unsafe", "message": "...",
                     "edits": [{"content": "...", "location": {...}, "end_location": {...}}]}}]
"""

from __future__ import annotations

import bisect
import json
from typing import Any, TextIO

from loopcheck.engine.diagnostics import Diagnostic, Evidence
from loopcheck.engine.edits import split_lines


def locator(source: str):  # type: ignore[no-untyped-def]
    """offset → {"row", "column"} (1-based) in ``source``, on the lines findings are numbered
    by (CR, LF and CRLF end a line)."""
    starts = [0]
    for line in split_lines(source):
        starts.append(starts[-1] + len(line))

    def locate(offset: int) -> dict[str, int]:
        row = bisect.bisect_right(starts, offset) - 1
        return {"row": row + 1, "column": offset - starts[row] + 1}

    return locate


def as_json(diagnostic: Diagnostic, source: str) -> dict[str, Any]:
    fix = None
    if diagnostic.fix is not None:
        locate = locator(source)
        fix = {
            "applicability": diagnostic.fix.safety.value,
            "message": diagnostic.fix.description,
            "edits": [
                {
                    "content": edit.content,
                    "location": locate(edit.start),
                    "end_location": locate(edit.end),
                }
                for edit in diagnostic.fix.edits or ()
            ],
        }
    return {
        "code": diagnostic.code,
        "message": diagnostic.message,
        "filename": diagnostic.path,
        "location": {"row": diagnostic.line, "column": diagnostic.column},
        "end_location": {"row": diagnostic.end_line, "column": diagnostic.end_column},
        "evidence": [_evidence(e) for e in diagnostic.evidence],
        "fix": fix,
    }


def _evidence(evidence: Evidence) -> dict[str, Any]:
    """One loop that reaches the finding's object: where it starts (its message says which loop
    and through which calls) and each call from there, in order."""
    where = evidence.location
    return {
        "message": evidence.message,
        "location": {"path": where.path, "row": where.line, "column": where.column},
        "steps": [
            {"path": step.path, "row": step.line, "column": step.column, "message": step.message}
            for step in evidence.steps
        ],
    }


def report_json(diagnostics: list[Diagnostic], sources: dict[str, str], stream: TextIO) -> None:
    json.dump([as_json(d, sources.get(d.path, "")) for d in diagnostics], stream, indent=2)
    stream.write("\n")
