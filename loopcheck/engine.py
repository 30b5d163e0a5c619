"""Files → parse once → one batched traversal of the enabled rules → diagnostics → fixes."""

from __future__ import annotations

import ast
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from loopcheck.diagnostics import Diagnostic, Safety, SourceError
from loopcheck.fixes import apply_fixes, select_compatible
from loopcheck.rule import Rule
from loopcheck.suppression import is_suppressed, noqa_lines

# Each pass applies the fixes that do not overlap, then re-checks the result; a file whose fixes
# keep producing new fixes past this many passes is left untouched.
MAX_FIX_PASSES = 100


@dataclass
class LintContext:
    """What the rules of one run share about the file being checked."""

    path: str
    source: str
    wrapper: MetadataWrapper
    # Answers computed once per file and shared by the rules that ask the same question.
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def module(self) -> cst.Module:
        return self.wrapper.module


@dataclass(frozen=True)
class FixOutcome:
    source: str
    fixed: int
    remaining: list[Diagnostic]


def _syntax_error(message: str, line: int, column: int) -> SourceError:
    return SourceError(f"syntax error at {line}:{column}: {message}")


def check_syntax(source: str, path: str, target_version: tuple[int, int] | None = None) -> None:
    """Reject source the interpreter would not compile (cheap: the C parser), with the grammar of
    ``target_version`` where given (as far as ``ast.parse(feature_version=...)`` can tell)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            ast.parse(source, filename=path, feature_version=target_version)
    except SyntaxError as error:
        raise _syntax_error(error.msg, error.lineno or 1, error.offset or 1) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise SourceError(f"cannot be parsed: {error}") from None


class Linter:
    """Runs a fixed set of rules over source text."""

    def __init__(
        self,
        rules: Sequence[type[Rule]],
        *,
        honour_noqa: bool = True,
        syntax_check: bool = True,
        target_version: tuple[int, int] | None = None,
    ) -> None:
        self.rules = list(rules)
        self.honour_noqa = honour_noqa
        # Off where the host has already compiled the file (flake8 reports E999 itself).
        self.syntax_check = syntax_check
        self.target_version = target_version

    def active_rules(self, source: str) -> list[type[Rule]]:
        """The rules whose trigger words occur in ``source``: a plain substring test."""
        return [rule for rule in self.rules if any(w in source for w in rule.trigger_words)]

    def lint_source(self, source: str, path: str = "<stdin>") -> list[Diagnostic]:
        if self.syntax_check:
            check_syntax(source, path, self.target_version)
        active = self.active_rules(source)
        if not active:
            return []
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError as error:
            raise _syntax_error(error.message, error.raw_line, error.raw_column + 1) from None
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        context = LintContext(path, source, wrapper)
        visitors = [rule(context) for rule in active]
        wrapper.visit_batched(visitors)
        positions = wrapper.resolve(PositionProvider)
        diagnostics = []
        for visitor in visitors:
            for finding in visitor.findings:
                where = positions[finding.node]
                diagnostics.append(
                    Diagnostic(
                        path=path,
                        line=where.start.line,
                        column=where.start.column + 1,
                        end_line=where.end.line,
                        end_column=where.end.column + 1,
                        code=visitor.code,
                        message=finding.message,
                        fix=finding.fix,
                    )
                )
        if diagnostics and self.honour_noqa:
            noqa = noqa_lines(source)
            diagnostics = [d for d in diagnostics if not is_suppressed(noqa, d.line, d.code)]
        return sorted(diagnostics, key=Diagnostic.sort_key)

    def fix_source(self, source: str, path: str = "<stdin>", *, unsafe: bool = False) -> FixOutcome:
        """Apply every applicable fix, pass after pass, until none is left.

        Every pass re-checks the previous pass's output, so the result always parses: a fix that
        produced invalid code raises SourceError, and the caller writes nothing.
        """
        fixed = 0
        for _ in range(MAX_FIX_PASSES):
            try:
                diagnostics = self.lint_source(source, path)
            except SourceError as error:
                if fixed == 0:
                    raise  # the file as given is broken: not a fix's doing
                raise SourceError(f"a fix produced invalid code, file left unchanged ({error})")
            fixes = [
                d.fix
                for d in diagnostics
                if d.fix is not None and (unsafe or d.fix.safety is Safety.SAFE)
            ]
            if not fixes:
                return FixOutcome(source, fixed, diagnostics)
            # Several findings can share one fix (a loop and each of its uses): apply it once,
            # count every finding it resolves.
            chosen = select_compatible(dict.fromkeys(fixes))
            source = apply_fixes(source, chosen)
            fixed += sum(1 for fix in fixes if fix in chosen)
        raise SourceError(f"fixes did not settle after {MAX_FIX_PASSES} passes, file left unchanged")
