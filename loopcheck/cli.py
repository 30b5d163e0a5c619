"""The command line: ``loopcheck [OPTIONS] [PATHS]...``.

Exit status: 0 when no finding remains, 1 when findings remain (or, with ``--diff``, when a fix
would change a file), 2 on usage errors, unreadable or unparsable input, and internal errors.
"""

from __future__ import annotations

import functools
import sys
from collections import Counter
from typing import Any, TextIO

import click

from loopcheck import __version__
from loopcheck.config import ConfigError, load_settings
from loopcheck.diagnostics import Diagnostic, Safety
from loopcheck.docs import fix_availability, render_rule
from loopcheck.reporters import REPORTERS
from loopcheck.reporters.text import report_text
from loopcheck.rules import all_rules
from loopcheck.runner import Checker, Mode, RunResult, run_paths, run_stdin
from loopcheck.selection import SelectionError, parse_codes, select_rules

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
# Output formats that print each fix's edits; the others only say whether a fix exists.
FORMATS_WITH_EDITS = ("json", "sarif")


def _error_line(path: str, reason: str) -> str:
    return f"loopcheck: {path}: {reason}"


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


def _statistics(diagnostics: list[Diagnostic], stream: TextIO) -> None:
    """Counts per code, most frequent first: ``count  CODE  [*] name`` ([*]: has fixes)."""
    rules = all_rules()
    counts = Counter(d.code for d in diagnostics)
    fixable = {d.code for d in diagnostics if d.fix is not None}
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        mark = "[*]" if code in fixable else "   "
        stream.write(f"{count:>5}  {code}  {mark} {rules[code].name}\n")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--fix", is_flag=True, help="Apply safe fixes in place (on stdin: print the result).")
@click.option(
    "--unsafe-fixes",
    is_flag=True,
    help="Also apply (with --fix or --diff) fixes that change object identity or lifetime.",
)
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option(
    "--select", multiple=True, metavar="CODES", help="Only these codes or prefixes (LCK1); "
    "replaces the configured select."
)
@click.option(
    "--extend-select", multiple=True, metavar="CODES", help="Add codes to the selection."
)
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these codes or prefixes.")
@click.option(
    "--output-format",
    type=click.Choice(list(REPORTERS)),
    default="text",
    show_default=True,
    help="How findings are printed.",
)
@click.option("--statistics", is_flag=True, help="Print the number of findings per code.")
@click.option(
    "--config",
    metavar="PATH",
    help="Read [tool.loopcheck] from this file instead of the nearest pyproject.toml.",
)
@click.option(
    "--stdin-filename",
    metavar="PATH",
    help="The name of the file read from standard input (`-`), for messages and configuration.",
)
@click.option("--explain", metavar="CODE", help="Print a rule's documentation and exit.")
@click.option("--list-rules", is_flag=True, help="List every rule code and exit.")
@click.version_option(__version__, prog_name="loopcheck")
def main(**options: Any) -> None:
    """Find asyncio objects shared across event loops in PATHS (default: .), and fix them.

    A PATH of `-` reads standard input."""
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
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    output_format: str,
    statistics: bool,
    config: str | None,
    stdin_filename: str | None,
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
    reading_stdin = "-" in paths
    if reading_stdin and len(paths) > 1:
        raise click.UsageError("`-` (standard input) cannot be combined with other paths")
    names = [stdin_filename] if reading_stdin and stdin_filename else list(paths) or ["."]
    try:
        settings = load_settings(names, config, rules)
    except ConfigError as error:
        click.echo(f"loopcheck: {error}", err=True)
        return EXIT_ERROR
    try:
        enabled = select_rules(
            rules,
            parse_codes(select) or settings.select,
            [*settings.ignore, *parse_codes(ignore)],
            [*settings.extend_select, *parse_codes(extend_select)],
        )
    except SelectionError as error:
        raise click.UsageError(str(error)) from None
    checker = Checker(rules, enabled, settings)
    mode = Mode(
        fix=fix, unsafe=unsafe_fixes, diff=diff, build_fixes=output_format in FORMATS_WITH_EDITS
    )
    show_diff = functools.partial(click.echo, nl=False)
    if reading_stdin:
        stdin = sys.stdin.buffer.read()
        emit = functools.partial(click.echo, nl=False)
        result = run_stdin(stdin, stdin_filename or "-", checker, mode, emit, show_diff)
    else:
        result = run_paths(list(paths) or ["."], checker, mode, show_diff)
    for path, reason in result.errors:
        click.echo(_error_line(path, reason), err=True)
    _report(result, output_format, statistics, mode, to_stderr=reading_stdin and fix)
    if result.errors:
        return EXIT_ERROR
    if diff:
        return EXIT_FINDINGS if result.changed_files else EXIT_CLEAN
    return EXIT_FINDINGS if result.diagnostics else EXIT_CLEAN


def _report(result: RunResult, output_format: str, statistics: bool, mode: Mode, to_stderr: bool) -> None:
    """Findings to stdout (to stderr when stdout carries the fixed source), summary after them."""
    stream = sys.stderr if to_stderr else sys.stdout
    human = output_format in ("text", "concise")
    if statistics and human:
        _statistics(result.diagnostics, stream)
    elif not mode.diff or not human:
        reporter = REPORTERS[output_format]
        if output_format == "text" and stream.isatty():
            reporter = functools.partial(report_text, show_source=True)
        reporter(result.diagnostics, result.sources, stream)
    if human:
        summary = _summary(result, fix=mode.fix, unsafe=mode.unsafe, diff=mode.diff)
        click.echo(summary, err=mode.diff or to_stderr)
