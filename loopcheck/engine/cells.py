"""Findings in a notebook: from the lines of its joined text (what the engine checks) to its
cells' lines (what is reported and cached), and back (what anchors and ``# noqa`` edits need).
See ``loopcheck.notebooks``."""

from __future__ import annotations

import dataclasses
import re

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.notebooks import CellMap

# Where a message names another line of the file ("reused by run_until_complete() (line 60)").
_LINE_REFERENCE = re.compile(r"\bline ([0-9]+)\b")


def in_cells(diagnostics: list[Diagnostic], text: str) -> list[Diagnostic]:
    """``diagnostics`` of the joined ``text``, each with its cell and lines in that cell (an end
    in a later cell, which no finding has, is cut at the start's line)."""
    cells = CellMap(text)
    mapped = []
    for d in diagnostics:
        start = cells.position(d.line)
        if start is None:  # on a marker line: no finding is; kept as it is
            mapped.append(d)
            continue
        cell, line = start
        end = cells.position(d.end_line)
        end_line, end_column = (end[1], d.end_column) if end is not None and end[0] == cell else (line, d.column)
        message = _LINE_REFERENCE.sub(lambda match: _in_cell(cells, int(match[1])) or match[0], d.message)
        mapped.append(
            dataclasses.replace(d, line=line, end_line=end_line, end_column=end_column, cell=cell, message=message)
        )
    return mapped


def _in_cell(cells: CellMap, line: int) -> str | None:
    where = cells.position(line)
    return None if where is None else f"line {where[1]} of cell {where[0]}"


def in_text(diagnostics: list[Diagnostic], text: str) -> list[Diagnostic]:
    """The inverse of :func:`in_cells`: findings numbered by the joined ``text``'s lines."""
    if not any(d.cell is not None for d in diagnostics):
        return diagnostics
    cells = CellMap(text)
    return [to_text(d, cells) for d in diagnostics]


def to_text(d: Diagnostic, cells: CellMap) -> Diagnostic:
    """One finding numbered by the lines of the joined text ``cells`` maps."""
    if d.cell is None:
        return d
    line, end_line = cells.joined_line(d.cell, d.line), cells.joined_line(d.cell, d.end_line)
    return dataclasses.replace(d, line=line, end_line=end_line, cell=None)
