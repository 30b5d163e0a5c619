"""Loopcheck's findings as LSP diagnostics: the rule's code with a link to its page, source
``loopcheck``, severity warning, and the evidence (the loops that reach the object, and the
calls by which they do) as related information."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from lsprotocol import types

from loopcheck.engine.diagnostics import Diagnostic, Location
from loopcheck.frontends.server.positions import Lines

SOURCE = "loopcheck"
# The rule pages ``python -m loopcheck.dev generate`` writes beside the package (a source
# checkout or an editable install; an installed wheel has none, and its findings no link).
RULE_PAGES = Path(__file__).resolve().parents[3] / "rules"


@cache
def rule_page(code: str) -> str | None:
    page = RULE_PAGES / f"{code}.md"
    return page.as_uri() if page.is_file() else None


def _place(where: Location) -> types.Location:
    # Another file's text is not at hand: its columns are taken as they are (exact for ASCII).
    at = types.Position(max(where.line - 1, 0), max(where.column - 1, 0))
    return types.Location(Path(where.path).resolve().as_uri(), types.Range(at, at))


def _related(d: Diagnostic) -> list[types.DiagnosticRelatedInformation] | None:
    related = []
    for evidence in d.evidence:
        related.append(types.DiagnosticRelatedInformation(_place(evidence.location), evidence.message))
        related += [types.DiagnosticRelatedInformation(_place(step), f"via {step.message}") for step in evidence.steps]
    return related or None


def fix_data(d: Diagnostic) -> dict[str, Any]:
    """What a code action needs to find the finding again (``Diagnostic.data``)."""
    data: dict[str, Any] = {"line": d.line, "column": d.column}
    if d.fix is not None:
        data["fix"] = {"title": d.fix.description, "safety": d.fix.safety.value}
    return data


def to_lsp(d: Diagnostic, lines: Lines) -> types.Diagnostic:
    page = rule_page(d.code)
    return types.Diagnostic(
        range=types.Range(lines.position(d.line, d.column), lines.position(d.end_line, d.end_column)),
        message=d.message,
        severity=types.DiagnosticSeverity.Warning,
        code=d.code,
        code_description=types.CodeDescription(href=page) if page else None,
        source=SOURCE,
        related_information=_related(d),
        data=fix_data(d),
    )
