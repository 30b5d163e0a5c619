"""The engine's configuration for one set of rules (:class:`Linter`) and its LibCST stage: the
module parsed once, the rules over one shared analysis, their findings. A file's way through it,
from the text test to the fixed text, is ``pipeline``."""

from __future__ import annotations

import ast
import gc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Union

from loopcheck.data.catalogue import Catalogue
from loopcheck.engine.diagnostics import Diagnostic, Edit, FixProposal, Safety, Withheld
from loopcheck.engine.edits import split_lines
from loopcheck.engine.registry import RuleInfo
from loopcheck.engine.syntax import PYTHON
from loopcheck.files import SourceError
from loopcheck.prefilter.candidates import Candidates

if TYPE_CHECKING:
    from loopcheck.engine.reparse import Reparse
    from loopcheck.engine.rule import Rule

# A rule as the index describes it (its class is imported only when a file needs it), or the
# class itself.
AnyRule = Union[RuleInfo, "type[Rule]"]


_frozen = False


def _freeze_imported_objects() -> None:
    """Once LibCST and the rules are imported, move what exists to the garbage collector's
    permanent generation: their many objects (LibCST alone defines some 200 node classes)
    would otherwise be traversed by every full collection for the rest of the process,
    which slowed down flake8's own checks by several percent."""
    global _frozen
    if not _frozen:
        gc.freeze()
        _frozen = True


@dataclass(frozen=True)
class FixOutcome:
    """What fixing a file gave (see ``pipeline.fix_file``)."""

    source: str  # the fixed text (it compiles)
    fixed: int  # findings the fixes resolved
    remaining: list[Diagnostic]  # the findings in ``source``
    found: list[Diagnostic] = field(default_factory=list)  # the findings in the text as given


class EveryRule:
    """The candidate stage switched off: every file may hold a finding of every rule."""

    def __init__(self, rules: Sequence[AnyRule]) -> None:
        self.codes = {rule.code for rule in rules}

    def may_match(self, text: str) -> bool:
        return True

    def rules_for(self, tree: ast.AST) -> set[str]:
        return self.codes


class Result(NamedTuple):
    """A diagnostic with the fix proposal behind it, while the parsed file is still alive."""

    diagnostic: Diagnostic
    proposal: FixProposal | None
    # A fix only the project model can offer (see Withheld).
    withheld: Withheld[FixProposal] | None = None


class Linter:
    """Runs a fixed set of rules over source text."""

    def __init__(
        self,
        rules: Sequence[AnyRule],
        *,
        honour_noqa: bool = True,
        syntax_check: bool = True,
        target_version: tuple[int, int] | None = None,
        fix_target: tuple[int, int] | None = None,
        catalogue: Catalogue | None = None,
        candidate_stage: bool = True,
    ) -> None:
        # A project rule reads the project model, not one file: the run checks it once, apart.
        self.rules = [rule for rule in rules if rule.scope == "file"]
        # The rule about the `# noqa` comments themselves, when it is enabled: it judges them
        # by the findings of the rules above, before suppression.
        self.noqa_rule = next((rule for rule in rules if rule.scope == "noqa"), None)
        self.honour_noqa = honour_noqa
        # Off where the host has already compiled the file (flake8 reports E999 itself).
        self.syntax_check = syntax_check
        # The grammar files are checked with (target-version), and the oldest Python fixes must
        # run on (the file's own project's, see config.fix_target; None: the oldest target).
        self.target_version = target_version
        self.fix_target = fix_target or target_version
        self.catalogue = catalogue or Catalogue.load()
        # Off only to prove that it never changes a result.
        self.candidates = Candidates(self.rules, self.catalogue) if candidate_stage else EveryRule(self.rules)

    def noqa_results(self, text: str, path: str, found: list[Result]) -> list[Result]:
        """The findings of the ``# noqa`` rule on ``text``, given the other rules' findings
        before suppression (none without that rule): each loopcheck code that silences nothing
        here, or names no rule, with the safe fix that removes it where one can."""
        from loopcheck.settings.suppression import NOQA

        if self.noqa_rule is None or NOQA.search(text) is None:  # most files: not tokenized again
            return []
        from loopcheck.engine.registry import rule_index
        from loopcheck.settings.suppression import noqa_problems

        judged = {rule.code for rule in self.rules}
        problems = noqa_problems(text, [(r.diagnostic.line, r.diagnostic.code) for r in found], judged, rule_index())
        starts = _line_starts(text) if problems else []
        results = []
        for p in problems:
            message = f"{'unknown' if p.unknown else 'unused'} noqa code {p.code}: " + (
                "no loopcheck rule has this code" if p.unknown else f"no {p.code} finding on this line"
            )
            proposal = None
            if p.removal is not None and p.line <= len(starts):
                start, end, content = p.removal
                edit = Edit(starts[p.line - 1] + start, starts[p.line - 1] + end, content)
                proposal = FixProposal(Safety.SAFE, f"Remove {p.code} from the noqa comment", lambda edit=edit: (edit,))
            fix = None if proposal is None else proposal.shown()
            diagnostic = Diagnostic(path, p.line, p.column, p.line, p.end_column, self.noqa_rule.code, message, fix)
            results.append(Result(diagnostic, proposal))
        return results

    def run_rules(
        self,
        source: str,
        path: str,
        active: list[AnyRule],
        tree: ast.Module | None = None,
        reparse: Reparse | None = None,
        granted: Sequence[Diagnostic] = (),
    ) -> list[Result]:
        """The LibCST stage, for a file the candidate stage kept (LibCST is imported on first
        use): the module parsed, the rules in ``active`` run over one shared analysis, their
        findings in position order. ``tree``: the ``ast`` module of ``source``, where the caller
        has it; ``reparse``: the last module parsed of ``path``, to parse only what changed
        since (the language server's edits); ``granted``: project rules' findings in the file
        whose fixes are built here (``Diagnostic.granted``)."""
        import libcst as cst
        from libcst.metadata import MetadataWrapper

        from loopcheck.engine.context import LintContext
        from loopcheck.engine.rule import run_rules

        _freeze_imported_objects()
        lines = None if tree is None else tuple(statement.lineno for statement in tree.body)
        try:
            module = cst.parse_module(source) if reparse is None else reparse.parse(path, source, lines)
        except cst.ParserSyntaxError as error:
            where = f"{error.raw_line}:{error.raw_column + 1}: {error.message}"
            if self.syntax_check:  # the interpreter has compiled the file
                raise SourceError(
                    f"cannot be analysed by LibCST, although Python {PYTHON} compiles it ({where})"
                ) from None
            raise SourceError(f"syntax error at {where}") from None
        context = LintContext(
            path,
            source,
            MetadataWrapper(module, unsafe_skip_copy=True),
            self.catalogue,
            self.fix_target,
            lines,
            None if reparse is None else reparse.index_parts(path),
        )
        results = []
        for code, finding, where in run_rules(context, active):
            proposal = finding.fix
            fix = None if proposal is None else proposal.shown()
            diagnostic = Diagnostic(
                path=path,
                line=where.start.line,
                column=where.start.column + 1,
                end_line=where.end.line,
                end_column=where.end.column + 1,
                code=code,
                message=finding.message,
                fix=fix,
                withheld=finding.withheld and finding.withheld.shown(),
            )
            results.append(Result(diagnostic, proposal, finding.withheld))
        if granted:
            # The project rules are above the engine: imported where a file has such a finding.
            from loopcheck.rules.project.checking import granted_findings

            results.extend(Result(diagnostic, proposal) for diagnostic, proposal in granted_findings(context, granted))
        return sorted(results, key=lambda r: r.diagnostic.sort_key())


def _line_starts(text: str) -> list[int]:
    """The offset in ``text`` where each line starts (lines as Python ends them)."""
    starts, offset = [], 0
    for line in split_lines(text):
        starts.append(offset)
        offset += len(line)
    return starts
