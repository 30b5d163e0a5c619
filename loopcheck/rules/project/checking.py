"""The one call the run makes for the project rules: every selected project rule over the model
and its reach, ``# noqa`` applied from each file's text as for the per-file rules."""

from __future__ import annotations

import io
import tokenize
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from loopcheck.files import SourceError, read_regular
from loopcheck.rules import all_rules
from loopcheck.rules.project.base import ProjectRule
from loopcheck.settings.suppression import unsuppressed

if TYPE_CHECKING:
    from loopcheck.data.catalogue import Catalogue
    from loopcheck.engine.context import LintContext
    from loopcheck.engine.diagnostics import Diagnostic, FixProposal
    from loopcheck.project.model import ProjectModel
    from loopcheck.project.reach import Reach


def project_rules() -> dict[str, type[ProjectRule]]:
    """Every project rule, by code (the per-file rules' modules, and LibCST, are not imported)."""
    return {code: rule for code, rule in all_rules(("project",)).items() if issubclass(rule, ProjectRule)}


def read_text(path: str) -> str | None:
    """The text of the file at ``path`` (decoded as Python decodes it), None when it cannot be
    read: the per-file stage reports such a file."""
    try:
        data, _ = read_regular(path)
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding, errors="replace")
    except (SourceError, SyntaxError, LookupError):
        return None


def check_project(
    model: ProjectModel,
    reach: Reach,
    catalogue: Catalogue,
    selected_codes: Collection[str],
    texts: Mapping[str, str] | Callable[[str], str | None] = read_text,
) -> list[Diagnostic]:
    """The findings of the project rules among ``selected_codes`` (``--select``/``--ignore``
    already applied), without those a ``# noqa`` on their line silences, in path and position
    order. ``texts``: each path's text (standard input's buffer, say), or how to read it."""
    found: list[Diagnostic] = []
    for code, rule in project_rules().items():
        if code in selected_codes:
            found.extend(rule().check(model, reach, catalogue))
    text_of = texts.get if isinstance(texts, Mapping) else texts
    kept: list[Diagnostic] = []
    for path in sorted({d.path for d in found}):
        mine = [d for d in found if d.path == path]
        text = text_of(path)
        kept.extend(mine if text is None else unsuppressed(mine, text, lambda d: d))
    return sorted(kept, key=lambda d: d.sort_key())


def granted_findings(
    context: LintContext, granted: Sequence[Diagnostic]
) -> list[tuple[Diagnostic, FixProposal | None]]:
    """The findings ``granted`` (the project rules' findings in the file of ``context`` whose fix
    the model granted, ``Diagnostic.granted``) as they stand in the file's text now, each where
    its rule finds it, with the fix built on that text, or without one and saying why; none for
    a finding whose fix has been applied."""
    rules = project_rules()
    found = []
    for diagnostic in granted:
        assert diagnostic.granted is not None
        rule = rules[diagnostic.code](context)
        made = rule.fix_in_file(diagnostic.granted)
        if made is None:
            continue
        node, fix = made
        rule.report(node, diagnostic.message, fix)  # declined as any rule's fix is: the message says why
        finding = rule.findings[-1]
        where = context.analysis.positions[node]
        shown = replace(
            diagnostic,
            path=context.path,
            line=where.start.line,
            column=where.start.column + 1,
            end_line=where.end.line,
            end_column=where.end.column + 1,
            message=finding.message,
            fix=finding.fix and finding.fix.shown(),
            granted=None,
        )
        found.append((shown, finding.fix))
    return found
