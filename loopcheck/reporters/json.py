"""JSON output: a list of findings, each with its fix and the fix's edits.

Schema (stable; lines and columns 1-based, end exclusive; in a notebook every location also has
``"cell"``, the cell's 1-based position among all cells, and its row is the line in that cell)::

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
from loopcheck.notebooks import CellMap


def locator(source: str, notebook: bool = False):  # type: ignore[no-untyped-def]
    """offset → {"row", "column"} (1-based) in ``source``, on the lines findings are numbered
    by (CR, LF and CRLF end a line); with ``notebook`` (``source`` is a notebook's joined cells),
    {"cell", "row", "column"}, the row in the cell."""
    starts = [0]
    for line in split_lines(source):
        starts.append(starts[-1] + len(line))
    cells = CellMap(source) if notebook else None

    def locate(offset: int) -> dict[str, int]:
        row = bisect.bisect_right(starts, offset) - 1
        column = offset - starts[row] + 1
        # At the start of a marker line, an edit ends (or inserts) at the end of the cell before.
        where = cells.position(row + 1, edge=column == 1) if cells is not None else None
        if where is not None:
            return {"cell": where[0], "row": where[1], "column": column}
        return {"row": row + 1, "column": column}

    return locate


def at(diagnostic: Diagnostic, row: int, column: int) -> dict[str, int]:
    """A finding's location: {"row", "column"}, and its "cell" in a notebook."""
    if diagnostic.cell is None:
        return {"row": row, "column": column}
    return {"cell": diagnostic.cell, "row": row, "column": column}


def as_json(diagnostic: Diagnostic, source: str) -> dict[str, Any]:
    fix = None
    if diagnostic.fix is not None:
        locate = locator(source, diagnostic.cell is not None)
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
        "location": at(diagnostic, diagnostic.line, diagnostic.column),
        "end_location": at(diagnostic, diagnostic.end_line, diagnostic.end_column),
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
