"""Files → parse once → the enabled rules over one shared analysis → diagnostics → fixes."""

from __future__ import annotations

import ast
import gc
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from loopcheck.prefilter.candidates import Candidates
from loopcheck.data.catalogue import Catalogue
from loopcheck.engine.diagnostics import Diagnostic, Fix, FixProposal, Safety, SourceError
from loopcheck.engine.edits import apply_edits, select_compatible
from loopcheck.engine.limits import TooComplex, check_complexity, interpreter_recursion_limit
from loopcheck.engine.registry import RuleInfo
from loopcheck.settings.suppression import is_suppressed, noqa_lines

if TYPE_CHECKING:
    from loopcheck.engine.rule import Rule

# A rule as the index describes it (its class is imported only when a file needs it), or the
# class itself.
AnyRule = Union[RuleInfo, "type[Rule]"]

# Each pass applies the fixes that do not overlap, then re-checks the result; a file whose fixes
# keep producing new fixes past this many passes is left untouched.
MAX_FIX_PASSES = 100
PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


@dataclass(frozen=True)
class FixOutcome:
    source: str
    fixed: int
    remaining: list[Diagnostic]


def _syntax_error(message: str, line: int, column: int) -> SourceError:
    return SourceError(f"syntax error at {line}:{column}: {message}")


def check_syntax(source: str, path: str, target_version: tuple[int, int] | None = None) -> ast.Module:
    """Reject exactly what the running interpreter would not compile, and return the file as the
    ``ast`` module parses it (for the candidate stage and the limits).

    ``compile()``, not only the parser: the symbol table and the code generator reject more (a
    duplicate argument name, ``nonlocal`` at module level, ``return`` outside a function). It
    runs with the recursion head-room of ``python file.py``: on 3.10 and 3.11 the compiler's
    depth limit follows the recursion limit, which the analysis thread raises. With
    ``target_version``, ``ast.parse(feature_version=...)`` also rejects newer grammar.

    The tree is parsed once and compiled from the tree (the parser's work is not done twice);
    where the tree is too deep to hand back to the compiler, the source is compiled instead.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences and the like
        try:
            tree = ast.parse(source, filename=path, feature_version=target_version)
        except SyntaxError as error:
            raise _syntax_error(error.msg, error.lineno or 1, error.offset or 1) from None
        except (RecursionError, MemoryError):
            tree = None  # the compiler below says whether Python itself accepts it
        except ValueError as error:
            raise SourceError(f"cannot be compiled: {error}") from None
        try:
            with interpreter_recursion_limit():
                try:
                    compile(source if tree is None else tree, path, "exec", dont_inherit=True)
                except RecursionError:
                    if tree is None:
                        raise
                    compile(source, path, "exec", dont_inherit=True)
        except SyntaxError as error:
            raise _syntax_error(error.msg, error.lineno or 1, error.offset or 1) from None
        except (RecursionError, MemoryError) as error:
            raise SourceError(
                f"cannot be compiled: too deeply nested for Python {PYTHON} "
                f"({type(error).__name__} in the compiler)"
            ) from None
        except ValueError as error:
            raise SourceError(f"cannot be compiled: {error}") from None
    if tree is None:
        raise TooComplex("too deeply nested to analyse")
    return tree


_frozen = False


def _freeze_imported_objects() -> None:
    """Once LibCST and the rules are imported, move what exists to the garbage collector's
    permanent generation: their many objects (LibCST's matchers alone define thousands of
    classes) would otherwise be traversed by every full collection for the rest of the process,
    which slowed down flake8's own checks by several percent."""
    global _frozen
    if not _frozen:
        gc.freeze()
        _frozen = True


@dataclass(frozen=True)
class _Result:
    """A diagnostic with the fix proposal behind it, while the parsed file is still alive."""

    diagnostic: Diagnostic
    proposal: FixProposal | None


def _with_edits(results: list[_Result], built: dict[int, tuple] | None = None) -> list[Diagnostic]:
    """The diagnostics with their fixes' edits, each proposal built once (``built``: the edits
    of proposals already built, by id, and where those built here are kept)."""
    built = {} if built is None else built
    diagnostics = []
    for result in results:
        d, proposal = result.diagnostic, result.proposal
        if proposal is not None:
            if id(proposal) not in built:
                built[id(proposal)] = proposal.build()
            edits = built[id(proposal)]
            fix = Fix(proposal.safety, proposal.title, edits) if edits else None
            d = Diagnostic(d.path, d.line, d.column, d.end_line, d.end_column, d.code, d.message, fix)
        diagnostics.append(d)
    return diagnostics


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
        self.rules = list(rules)
        self.honour_noqa = honour_noqa
        # Off where the host has already compiled the file (flake8 reports E999 itself).
        self.syntax_check = syntax_check
        # The grammar files are checked with (target-version), and the oldest Python fixes must
        # run on (the file's own project's, see config.fix_target; None: the oldest target).
        self.target_version = target_version
        self.fix_target = fix_target or target_version
        self.catalogue = catalogue or Catalogue.load()
        # Off only to prove that it never changes a result.
        self.candidates = Candidates(self.rules, self.catalogue) if candidate_stage else None

    def may_match(self, source: str) -> bool:
        """The candidate stage's text test: whether some rule's start is called in ``source``."""
        return self.candidates is None or self.candidates.may_match(source)

    def active_rules(self, source: str, tree: ast.AST | None) -> list[AnyRule]:
        """The rules whose starts the file holds (all of them without the candidate stage)."""
        if self.candidates is None:
            return self.rules
        if tree is None:
            tree = ast.parse(source)
        codes = self.candidates.rules_for(tree)
        return [rule for rule in self.rules if rule.code in codes]

    def lint_source(
        self,
        source: str,
        path: str = "<stdin>",
        *,
        build_fixes: bool = False,
        tree: ast.AST | None = None,
    ) -> list[Diagnostic]:
        """The findings in ``source``; their fixes' edits are built only with ``build_fixes``.
        ``tree`` is the file as the ``ast`` module parsed it, where the caller has it (flake8)."""
        results = self._lint(source, path, tree)
        return _with_edits(results) if build_fixes else [r.diagnostic for r in results]

    def _lint(self, source: str, path: str, tree: ast.AST | None = None) -> list[_Result]:
        if not self.may_match(source):
            return []  # no rule can report here: not even parsed
        if self.syntax_check:
            tree = check_syntax(source, path, self.target_version)
        elif tree is None:
            tree = ast.parse(source)
        active = self.active_rules(source, tree)
        if not active:
            return []
        check_complexity(tree)  # LibCST's time and stack, bounded before it starts
        return self._run_rules(source, path, active)

    def _run_rules(self, source: str, path: str, active: list[AnyRule]) -> list[_Result]:
        """The LibCST stage, for a file the candidate stage kept: imported on first use."""
        import libcst as cst
        from libcst.metadata import MetadataWrapper

        from loopcheck.engine.context import LintContext

        _freeze_imported_objects()
        try:
            module = cst.parse_module(source)
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
        )
        rules = [(rule.rule if isinstance(rule, RuleInfo) else rule)(context) for rule in active]
        for rule in rules:
            rule.check()
        findings = [(rule.code, finding) for rule in rules for finding in rule.findings]
        if not findings:
            return []
        positions = context.analysis.positions
        results = []
        for code, finding in findings:
            where = positions[finding.node]
            proposal = finding.fix
            fix = None if proposal is None else Fix(proposal.safety, proposal.title)
            diagnostic = Diagnostic(
                path=path,
                line=where.start.line,
                column=where.start.column + 1,
                end_line=where.end.line,
                end_column=where.end.column + 1,
                code=code,
                message=finding.message,
                fix=fix,
            )
            results.append(_Result(diagnostic, proposal))
        if self.honour_noqa:
            noqa = noqa_lines(source)
            results = [r for r in results if not is_suppressed(noqa, r.diagnostic.line, r.diagnostic.code)]
        return sorted(results, key=lambda r: r.diagnostic.sort_key())

    def fix_source(
        self, source: str, path: str = "<stdin>", *, unsafe: bool = False, build_fixes: bool = False
    ) -> FixOutcome:
        """Apply every applicable fix, pass after pass, until none is left.

        Every pass re-checks the previous pass's output, so the result always parses: a fix that
        produced invalid code raises SourceError, and the caller writes nothing.
        """
        fixed = 0
        for _ in range(MAX_FIX_PASSES):
            try:
                results = self._lint(source, path)
            except SourceError as error:
                if fixed == 0:
                    raise  # the file as given is broken: not a fix's doing
                raise SourceError(f"a fix produced invalid code, file left unchanged ({error})")
            built: dict[int, tuple] = {}  # each proposal is built once per pass
            remaining = _with_edits(results, built) if build_fixes else [r.diagnostic for r in results]
            # Several findings can share one proposal (a loop and each of its uses): build and
            # apply it once, count every finding it resolves.
            proposals = list(
                {
                    id(r.proposal): r.proposal
                    for r in results
                    if r.proposal is not None and (unsafe or r.proposal.safety is Safety.SAFE)
                }.values()
            )
            # Proposals of separate findings that build the same edits are one fix (a loop that
            # exists only for two runs: either finding's fix rewrites both).
            by_edits: dict[tuple, list[FixProposal]] = {}
            for proposal in proposals:
                if id(proposal) not in built:
                    built[id(proposal)] = proposal.build()
                edits = built[id(proposal)]
                if edits:
                    by_edits.setdefault(edits, []).append(proposal)
            if not by_edits:
                return FixOutcome(source, fixed, remaining)
            groups = list(by_edits.items())
            chosen = [groups[i] for i in select_compatible(edits for edits, _ in groups)]
            source = apply_edits(source, [edit for edits, _ in chosen for edit in edits])
            applied = {id(proposal) for _, group in chosen for proposal in group}
            fixed += sum(1 for r in results if r.proposal is not None and id(r.proposal) in applied)
        raise SourceError(f"fixes did not settle after {MAX_FIX_PASSES} passes, file left unchanged")
