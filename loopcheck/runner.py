"""One run over files (or standard input): which rules apply to which file, checking or fixing
each, and collecting what the reporters need. Nothing here prints findings."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field

from loopcheck.catalogue import Catalogue
from loopcheck.config import Settings
from loopcheck.diagnostics import Diagnostic, SourceError
from loopcheck.engine import Linter
from loopcheck.rule import Rule
from loopcheck.selection import select_rules
from loopcheck.sources import (
    SourceFile,
    decode_source,
    discover,
    read_source,
    write_source,
)


@dataclass
class RunResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    fixed: int = 0
    changed_files: int = 0


@dataclass(frozen=True)
class Mode:
    fix: bool = False
    unsafe: bool = False
    diff: bool = False
    # Build every fix's edits (JSON and SARIF print them); plain checks never build them.
    build_fixes: bool = False


class Checker:
    """The linter for each file: the enabled rules minus what `per-file-ignores` switches off."""

    def __init__(self, rules: dict[str, type[Rule]], enabled: list[type[Rule]], settings: Settings):
        self.rules = rules
        self.enabled = enabled
        self.settings = settings
        self._linters: dict[tuple[str, ...], Linter] = {}

    def linter_for(self, path: str) -> Linter:
        ignored = self.settings.ignored_codes(path)
        chosen = select_rules(self.rules, [r.code for r in self.enabled], ignored) if ignored else self.enabled
        key = tuple(rule.code for rule in chosen)
        if key not in self._linters:
            self._linters[key] = Linter(
                chosen,
                target_version=self.settings.target_version,
                fix_target=self.settings.fix_target,
                catalogue=Catalogue.load(tuple(self.settings.extra_clients)),
            )
        return self._linters[key]


def unified_diff(path: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path.lstrip('/')}",
        tofile=f"b/{path.lstrip('/')}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
        for line in lines
    )


def check_source(
    checker: Checker,
    source: SourceFile,
    mode: Mode,
    result: RunResult,
    write: Callable[[SourceFile, str], None],
    show_diff: Callable[[str], None],
) -> None:
    """Check (or fix) one decoded file, adding to ``result``; ``write`` stores a fixed text."""
    path = source.path
    linter = checker.linter_for(path)
    if not (mode.fix or mode.diff):
        result.diagnostics.extend(linter.lint_source(source.text, path, build_fixes=mode.build_fixes))
        result.sources[path] = source.text
        return
    outcome = linter.fix_source(source.text, path, unsafe=mode.unsafe, build_fixes=mode.build_fixes)
    if outcome.source != source.text:
        result.changed_files += 1
        if mode.diff:
            show_diff(unified_diff(path, source.text, outcome.source))
        else:
            write(source, outcome.source)
    result.fixed += outcome.fixed
    result.diagnostics.extend(outcome.remaining)
    result.sources[path] = outcome.source


def run_paths(
    paths: list[str], checker: Checker, mode: Mode, show_diff: Callable[[str], None]
) -> RunResult:
    files, missing = discover(paths, checker.settings)
    result = RunResult(errors=list(missing))
    for path in files:
        try:
            check_source(checker, read_source(path), mode, result, write_source, show_diff)
        except SourceError as error:
            result.errors.append((path, str(error)))
        except RecursionError:
            result.errors.append((path, "too deeply nested to analyse"))
    return result


def run_stdin(
    data: bytes,
    filename: str,
    checker: Checker,
    mode: Mode,
    emit_fixed: Callable[[str], None],
    show_diff: Callable[[str], None],
) -> RunResult:
    """Standard input, named ``filename`` for messages, per-file-ignores and exclusion. With
    ``--fix`` the fixed source (or the source unchanged) goes to ``emit_fixed``, as editors expect."""
    result = RunResult()
    try:
        source = decode_source(filename, data)
    except SourceError as error:
        result.errors.append((filename, str(error)))
        return result
    if checker.settings.excluded_by_user(filename):
        if mode.fix:
            emit_fixed(source.text)
        return result
    try:
        check_source(
            checker, source, mode, result, lambda _, text: emit_fixed(text), show_diff
        )
        if mode.fix and not result.changed_files:
            emit_fixed(source.text)
    except (SourceError, RecursionError) as error:
        reason = str(error) if isinstance(error, SourceError) else "too deeply nested to analyse"
        result.errors.append((filename, reason))
        if mode.fix:
            emit_fixed(source.text)  # an editor replaces the buffer with what it gets back
    return result
