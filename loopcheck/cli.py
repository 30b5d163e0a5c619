"""The command line: ``loopcheck [OPTIONS] [PATHS]...``.

Exit status: 0 when no finding remains, 1 when findings remain (or, with ``--diff``, when a fix
would change a file), 2 on usage errors, unreadable or unparsable input, and internal errors.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from typing import Any

import click

from loopcheck import __version__
from loopcheck.diagnostics import Diagnostic, Safety, SourceError
from loopcheck.docs import fix_availability, render_rule
from loopcheck.engine import Linter
from loopcheck.reporters import REPORTERS
from loopcheck.rules import all_rules
from loopcheck.selection import SelectionError, parse_codes, select_rules
from loopcheck.sources import discover, read_source, write_source

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@dataclass
class RunResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    fixed: int = 0
    changed_files: int = 0


def _error_line(path: str, reason: str) -> str:
    return f"loopcheck: {path}: {reason}"


def run(
    paths: list[str], linter: Linter, *, fix: bool, unsafe: bool, diff: bool
) -> RunResult:
    files, missing = discover(paths)
    result = RunResult(errors=list(missing))
    for path in files:
        try:
            source = read_source(path)
            if fix or diff:
                outcome = linter.fix_source(source.text, path, unsafe=unsafe)
                if outcome.source != source.text:
                    result.changed_files += 1
                    if diff:
                        click.echo(_unified_diff(path, source.text, outcome.source), nl=False)
                    else:
                        write_source(source, outcome.source)
                result.fixed += outcome.fixed
                result.diagnostics.extend(outcome.remaining)
                result.sources[path] = outcome.source
            else:
                result.diagnostics.extend(linter.lint_source(source.text, path))
                result.sources[path] = source.text
        except SourceError as error:
            result.errors.append((path, str(error)))
        except RecursionError:
            result.errors.append((path, "too deeply nested to analyse"))
    return result


def _unified_diff(path: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _summary(result: RunResult, *, fix: bool, unsafe: bool, diff: bool) -> str:
    remaining = len(result.diagnostics)
    if diff:
        return (
            f"Would fix {result.fixed} finding{'s' * (result.fixed != 1)} in "
            f"{result.changed_files} file{'s' * (result.changed_files != 1)}, "
            f"{remaining} would remain."
        )
    safe = sum(1 for d in result.diagnostics if d.fix and d.fix.safety is Safety.SAFE)
    unsafe_count = sum(1 for d in result.diagnostics if d.fix and d.fix.safety is Safety.UNSAFE)
    parts = []
    if fix:
        parts.append(f"Fixed {result.fixed} finding{'s' * (result.fixed != 1)}.")
    if remaining == 0:
        parts.append("All checks passed." if not fix else "No findings remain.")
        return " ".join(parts)
    parts.append(f"Found {remaining} finding{'s' * (remaining != 1)}" + (" remaining." if fix else "."))
    hints = []
    if safe:
        hints.append(f"{safe} fixable with --fix")
    if unsafe_count:
        hints.append(
            f"{unsafe_count} fixable with --fix --unsafe-fixes"
            if not unsafe
            else f"{unsafe_count} more fixable with --fix --unsafe-fixes"
        )
    if hints and not fix:
        parts.append("[*] " + ", ".join(hints) + ".")
    return " ".join(parts)


def _list_rules() -> None:
    rules = all_rules()
    width = max(len(rule.name) for rule in rules.values())
    for code, rule in rules.items():
        click.echo(f"{code}  {rule.name:<{width}}  fix: {fix_availability(rule):<14}  {rule.summary}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--fix", is_flag=True, help="Apply safe fixes in place.")
@click.option(
    "--unsafe-fixes",
    is_flag=True,
    help="Also apply (with --fix or --diff) fixes that change object identity or lifetime.",
)
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option("--select", multiple=True, metavar="CODES", help="Only these codes or prefixes (LCK1).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these codes or prefixes.")
@click.option(
    "--output-format",
    type=click.Choice(sorted(REPORTERS)),
    default="text",
    show_default=True,
    help="How findings are printed.",
)
@click.option("--explain", metavar="CODE", help="Print a rule's documentation and exit.")
@click.option("--list-rules", is_flag=True, help="List every rule code and exit.")
@click.version_option(__version__, prog_name="loopcheck")
def main(**options: Any) -> None:
    """Find asyncio objects shared across event loops in PATHS (default: .), and fix them."""
    try:
        sys.exit(_main(**options))
    except (click.exceptions.Exit, click.ClickException):
        raise
    except Exception as error:  # never a traceback: one line and exit status 2
        click.echo(f"loopcheck: internal error: {type(error).__name__}: {error}", err=True)
        sys.exit(EXIT_ERROR)


def _main(
    paths: tuple[str, ...],
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    output_format: str,
    explain: str | None,
    list_rules: bool,
) -> int:
    rules = all_rules()
    if list_rules:
        _list_rules()
        return EXIT_CLEAN
    if explain is not None:
        code = explain.strip().upper()
        if code not in rules:
            raise click.UsageError(f"--explain: unknown rule code {explain!r} (see --list-rules)")
        click.echo(render_rule(rules[code]), nl=False)
        return EXIT_CLEAN
    if fix and diff:
        raise click.UsageError("--fix and --diff cannot be used together")
    try:
        enabled = select_rules(rules, parse_codes(select), parse_codes(ignore))
    except SelectionError as error:
        raise click.UsageError(str(error)) from None
    result = run(list(paths) or ["."], Linter(enabled), fix=fix, unsafe=unsafe_fixes, diff=diff)
    for path, reason in result.errors:
        click.echo(_error_line(path, reason), err=True)
    if not diff or output_format != "text":
        REPORTERS[output_format](result.diagnostics, result.sources, sys.stdout)
    if output_format == "text":
        click.echo(_summary(result, fix=fix, unsafe=unsafe_fixes, diff=diff), err=diff)
    if result.errors:
        return EXIT_ERROR
    if diff:
        return EXIT_FINDINGS if result.changed_files else EXIT_CLEAN
    return EXIT_FINDINGS if result.diagnostics else EXIT_CLEAN
