"""The command line: ``loopcheck [OPTIONS] [PATHS]...``.

Exit status: 0 when no finding remains, 1 when findings remain (or, with ``--diff``, when a fix
would change a file), 2 on usage errors, files that could not be checked, bad configuration and
internal errors, 130 when interrupted (SIGINT), 128 + N on SIGTERM (143) and SIGHUP (129).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

import click

from loopcheck import __version__
from loopcheck.engine.diagnostics import Diagnostic, Safety
from loopcheck.engine.limits import HANDLED_SIGNALS, describe
from loopcheck.engine.registry import RuleInfo, rule_index
from loopcheck.frontends.color import CHOICES as COLOR_CHOICES
from loopcheck.frontends.color import use_color
from loopcheck.frontends.progress import Progress
from loopcheck.frontends.show import settings_lines
from loopcheck.reporters import REPORTERS, STREAMING
from loopcheck.reporters.text import place, report_text
from loopcheck.run.adoption import Adoption, baseline_path
from loopcheck.run.baseline import Baseline, BaselineError
from loopcheck.run.cache import default_directory
from loopcheck.run.runner import FileResult, Job, Mode, check_files, check_stdin
from loopcheck.run.sources import discover
from loopcheck.settings.config import ConfigError, Settings, load_settings
from loopcheck.settings.selection import SelectionError, parse_codes, select_rules

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
# Output formats that print each fix's edits; the others only say whether a fix exists.
FORMATS_WITH_EDITS = ("json", "sarif")


class Terminated(BaseException):
    """SIGTERM or SIGHUP: unwind (removing temporary files) and exit 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated(signum)


def _error_line(path: str, reason: str) -> str:
    return f"loopcheck: {path}: {reason}"


def _note(text: str) -> None:
    click.echo(f"loopcheck: {text}", err=True)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def _default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class Totals:
    """What the summary line counts, gathered while results stream by."""

    def __init__(self) -> None:
        self.remaining: list[Diagnostic] = []
        self.errors = 0
        self.fixed = 0
        self.changed = 0
        self.unwritten = 0  # files whose fixes could not be written
        self.skipped = 0  # entries named like Python files that are not files (fifos, links)

    def add(self, result: FileResult) -> None:
        self.remaining.extend(result.diagnostics)
        self.errors += result.error is not None
        self.unwritten += result.write_error is not None
        self.fixed += result.fixed
        self.changed += result.changed


def _summary(totals: Totals, *, fix: bool, unsafe: bool, diff: bool) -> str:
    remaining = len(totals.remaining)
    unchecked = f" {_plural(totals.errors, 'file')} could not be checked." if totals.errors else ""
    if totals.unwritten:
        unchecked += f" {_plural(totals.unwritten, 'fixed file')} could not be written."
    if totals.skipped:
        unchecked += f" {_plural(totals.skipped, 'path')} skipped."
    if diff:
        return (
            f"Would fix {_plural(totals.fixed, 'finding')} in {_plural(totals.changed, 'file')}, "
            f"{remaining} would remain.{unchecked}"
        )
    safe = sum(1 for d in totals.remaining if d.fix and d.fix.safety is Safety.SAFE)
    unsafe_count = sum(1 for d in totals.remaining if d.fix and d.fix.safety is Safety.UNSAFE)
    parts = []
    if fix:
        parts.append(f"Fixed {_plural(totals.fixed, 'finding')}.")
    if remaining == 0:
        if not (totals.errors or totals.unwritten):  # never "all passed" when something failed
            parts.append("All checks passed." if not fix else "No findings remain.")
        return (" ".join(parts) + unchecked).strip()
    parts.append(f"Found {_plural(remaining, 'finding')}" + (" remaining." if fix else "."))
    hints = []
    if safe:
        hints.append(f"{safe} fixable with --fix")
    if unsafe_count:
        hints.append(
            f"{unsafe_count} fixable with --fix --unsafe-fixes"
            if not unsafe
            else f"{unsafe_count} more fixable with --fix --unsafe-fixes"
        )
    if hints and not fix:  # `[*]` marks what --fix applies, as on the findings
        parts.append(("[*] " if safe else "") + ", ".join(hints) + ".")
    return " ".join(parts) + unchecked


def _list_rules() -> None:
    """One line per rule: code, name, tier (``(opt-in)``: off unless selected), fix, summary."""
    rules = rule_index()
    width = max(len(rule.name) for rule in rules.values())
    tiers = {code: rule.tier + " (opt-in)" * rule.opt_in for code, rule in rules.items()}
    tier_width = max(map(len, tiers.values()))
    for code, rule in rules.items():
        click.echo(
            f"{code}  {rule.name:<{width}}  tier: {tiers[code]:<{tier_width}}  fix: {rule.fix_kind:<16}  {rule.summary}"
        )


def _statistics(diagnostics: list[Diagnostic], stream: TextIO) -> None:
    """Counts per code, most frequent first: ``count  CODE  [*] name``, with Ruff's marks: ``[*]``
    when ``--fix`` fixes some of them, ``[-]`` when only ``--unsafe-fixes`` does."""
    rules = rule_index()
    counts = Counter(d.code for d in diagnostics)
    marks: dict[str, str] = {}
    for d in diagnostics:
        if d.fix is not None and marks.get(d.code) != "[*]":
            marks[d.code] = _fix_mark(d.fix.safety)
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        stream.write(f"{count:>5}  {code}  {marks.get(code, '   ')} {rules[code].name}\n")


def _fix_mark(safety: Safety) -> str:
    """``[*]``: ``--fix`` applies it (the mark on the findings); ``[-]``: only with ``--unsafe-fixes``."""
    return "[*]" if safety is Safety.SAFE else "[-]"


def _fixes(diagnostics: list[Diagnostic], stream: TextIO) -> None:
    """``--show-fixes``: the fix of each finding that has one, with what applies it."""
    fixable = [d for d in diagnostics if d.fix is not None]
    if not fixable:
        return
    stream.write(f"\n{len(fixable)} {'fix' if len(fixable) == 1 else 'fixes'} available:\n")
    for d in fixable:
        assert d.fix is not None
        how = "--fix" if d.fix.safety is Safety.SAFE else "--fix --unsafe-fixes"
        stream.write(f"  {place(d)}: {d.code} {_fix_mark(d.fix.safety)} {d.fix.description} ({how})\n")


@click.command(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Editors: `loopcheck server` runs the language server (see `loopcheck server --help`).",
)
# Not readable=True (click's default): an unreadable file is one line, and the others are checked.
@click.argument("paths", nargs=-1, type=click.Path(readable=False, path_type=str))
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
    "--include-confined",
    is_flag=True,
    help="Also report objects the project model shows one event loop only reaches (harmless in this program).",
)
@click.option(
    "--config", metavar="PATH", help="Read [tool.loopcheck] from this file instead of the nearest pyproject.toml."
)
@click.option(
    "--stdin-filename",
    metavar="PATH",
    help="The name of the file read from standard input (`-`), for messages and configuration.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    help="Check files in this many processes (default: one per core).",
)
@click.option(
    "--respect-gitignore/--no-respect-gitignore",
    default=None,
    help="Leave out of directory walks what .gitignore files ignore (default: on; "
    "respect-gitignore in [tool.loopcheck]). Files named on the command line are always checked.",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the results cache.")
@click.option(
    "--cache-dir",
    metavar="DIR",
    help="Keep the results cache here (default: .loopcheck_cache, or $LOOPCHECK_CACHE_DIR).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print findings and errors only: no summary, no progress.")
@click.option(
    "--write-baseline",
    is_flag=True,
    help="Record the findings in the baseline file; later runs report only findings not in it.",
)
@click.option("--add-noqa", is_flag=True, help="Add a `# noqa: CODE` comment to every line with a finding.")
@click.option("--exit-zero", is_flag=True, help="Exit with status 0 even when findings remain.")
@click.option(
    "-o",
    "--output-file",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=str),
    help="Write the findings and the summary to FILE instead of standard output.",
)
@click.option("--show-fixes", is_flag=True, help="List the fixes of the findings after them.")
@click.option(
    "--color",
    type=click.Choice(COLOR_CHOICES),
    default="auto",
    show_default=True,
    help="Colour the text output: auto (on a terminal, unless NO_COLOR; FORCE_COLOR forces it), always, never.",
)
@click.option("--watch", is_flag=True, help="Check again whenever a checked file or the configuration changes, until Ctrl-C.")
@click.option("--show-files", is_flag=True, help="Print the files that would be checked, one per line, and exit.")
@click.option("--show-settings", is_flag=True, help="Print the resolved settings for PATHS and exit.")
@click.option("--explain", metavar="CODE", help="Print a rule's documentation and exit.")
@click.option("--list-rules", is_flag=True, help="List every rule code and exit.")
@click.version_option(__version__, prog_name="loopcheck")
def main(**options: Any) -> None:
    """Find asyncio objects shared across event loops in PATHS (default: .), and fix them.

    A PATH of `-` reads standard input."""
    status = _watch(options) if options.pop("watch") else _run_guarded(options)
    if status > 128 and threading.current_thread() is threading.main_thread():
        _leave_at_once(status)
    sys.exit(status)


def _leave_at_once(status: int) -> None:
    """Exit after a signal without finalising the interpreter. The analysis thread may still be
    inside LibCST's native parser; finalisation stops such a daemon thread by unwinding its
    stack, which native frames turn into an abort (exit -6 instead of 128 + N, seen on 3.10).
    Files are already whole and temporary files removed: the stack has unwound up to here."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


def _run_guarded(options: dict[str, Any]) -> int:
    """``_main`` with every way out turned into an exit status and at most one line: 130 on
    SIGINT, 128 + N on SIGTERM/SIGHUP, 2 on an internal error, never a traceback."""
    handlers = {}
    if threading.current_thread() is threading.main_thread():  # not under a test runner's thread
        handlers = {
            signum: signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else _terminate)
            for signum in HANDLED_SIGNALS
        }
    try:
        return _main(**options)
    except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
        raise
    except KeyboardInterrupt:
        _quiet_line("loopcheck: interrupted")
        return 128 + signal.SIGINT
    except Terminated as stop:
        _quiet_line(f"loopcheck: terminated by {signal.Signals(stop.signum).name}")
        return 128 + stop.signum
    except BrokenPipeError:
        # The reader went away (`loopcheck | head`): nothing more can be said on stdout.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as error:  # never a traceback: one line and exit status 2
        _quiet_line(f"loopcheck: internal error: {describe(error)}")
        return EXIT_ERROR
    finally:
        for signum, handler in handlers.items():
            if handler is not None:  # None: installed outside Python, cannot be put back
                signal.signal(signum, handler)


# Options that end the run before any check, or write files of their own from one check.
NOT_WITH_WATCH = ("write_baseline", "add_noqa", "show_files", "show_settings", "explain", "list_rules")


def _watch(options: dict[str, Any]) -> int:
    """``--watch``: the run again each time a file it checks or the configuration changes;
    exit status 0 when Ctrl-C stops it (between checks or during one)."""
    from loopcheck.frontends.watch import stamps, watch

    for name in NOT_WITH_WATCH:
        if options[name]:
            raise click.UsageError(f"--watch and --{name.replace('_', '-')} cannot be used together")
    if "-" in options["paths"]:
        raise click.UsageError("--watch cannot be used with `-` (standard input)")
    paths = list(options["paths"]) or ["."]

    def look() -> dict[str, tuple[int, int]]:
        try:
            settings = load_settings(paths, options["config"], rule_index())
        except ConfigError:  # the check says why; a fixed configuration is a change
            settings = None
        files: list[str | Path] = list(discover(paths, settings).files)
        files += [settings.source] if settings is not None and settings.source else []
        files += [options["config"]] if options["config"] else []
        return stamps(files)

    def check() -> int:
        status = _run_guarded(dict(options))
        if status == 128 + signal.SIGINT:
            raise KeyboardInterrupt  # Ctrl-C during a check stops the watch as between checks
        return status

    if threading.current_thread() is threading.main_thread():  # between checks too, not at once
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return watch(check, look, sys.stderr)


def _quiet_line(text: str) -> None:
    try:
        click.echo(text, err=True)
    except Exception:
        pass


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
    include_confined: bool,
    config: str | None,
    stdin_filename: str | None,
    jobs: int | None,
    respect_gitignore: bool | None,
    no_cache: bool,
    cache_dir: str | None,
    quiet: bool,
    write_baseline: bool,
    add_noqa: bool,
    exit_zero: bool,
    output_file: str | None,
    show_fixes: bool,
    color: str,
    show_files: bool,
    show_settings: bool,
    explain: str | None,
    list_rules: bool,
) -> int:
    rules = rule_index()
    if list_rules:
        _list_rules()
        return EXIT_CLEAN
    if explain is not None:
        _explain(rules, explain)
        return EXIT_CLEAN
    reading_stdin = _reads_stdin(paths, fix=fix, diff=diff)
    _check_adoption_options(reading_stdin, fix=fix, diff=diff, write_baseline=write_baseline, add_noqa=add_noqa)
    names = [stdin_filename] if reading_stdin and stdin_filename else list(paths) or ["."]
    settings = _settings(names, config, rules)
    if settings is None:
        return EXIT_ERROR
    if respect_gitignore is not None:
        settings = dataclasses.replace(settings, respect_gitignore=respect_gitignore)
    enabled = _enabled_rules(rules, settings, select, extend_select, ignore)
    directory = _cache_directory(settings, no_cache, cache_dir)
    if show_settings:
        click.echo("\n".join(settings_lines(names, settings, enabled, directory)))
        return EXIT_CLEAN
    if show_files:
        return _show_files(list(paths) or ["."], settings)
    try:
        baseline = Baseline.load(baseline_path(settings))
    except BaselineError as error:
        if not write_baseline:  # which rewrites a broken file from scratch
            _note(str(error))
            return EXIT_ERROR
        baseline = Baseline(baseline_path(settings))
    adoption = Adoption(
        baseline,
        settings,
        frozenset(rule.code for rule in enabled),
        write_baseline=write_baseline,
        add_noqa=add_noqa,
        keep_file=diff or reading_stdin,
    )
    try:
        output = open(output_file, "w", encoding="utf-8") if output_file is not None else None
    except OSError as error:
        _note(f"{output_file}: cannot write: {error.strerror or error}")
        return EXIT_ERROR
    report = Report(
        output_format,
        statistics=statistics,
        quiet=quiet,
        fix=fix,
        unsafe=unsafe_fixes,
        diff=diff,
        to_stderr=reading_stdin and fix,  # stdout carries the fixed source
        output=output,
        adoption=adoption,
        show_fixes=show_fixes,
        exit_zero=exit_zero,
        color=color,
    )
    mode = Mode(
        fix=fix,
        unsafe=unsafe_fixes,
        diff=diff,
        build_fixes=output_format in FORMATS_WITH_EDITS,
        # The baseline anchors findings in the text they are about: standard input's, and
        # with --diff the fixed text, which is not on disk.
        keep_sources=report.excerpts
        or output_format in FORMATS_WITH_EDITS
        or ((reading_stdin or diff) and bool(baseline.entries)),
    )
    # Standard input's findings are never cached (nor is the cache's index read for it); the
    # summaries of the rest of its project are. Fixing files starts from the files themselves,
    # the project's included: no cache at all.
    job = Job(
        settings,
        tuple(rule.code for rule in enabled),
        mode,
        None if reading_stdin else directory,
        model_cache_dir=None if (fix or diff) and not reading_stdin else directory,
        include_confined=include_confined,
    )
    if reading_stdin:
        _check_stdin(job, stdin_filename, report, give_back=fix)
    else:
        _check_paths(list(paths) or ["."], settings, job, jobs or _default_jobs(), report)
    return report.finish()


def _cache_directory(settings: Settings, no_cache: bool, cache_dir: str | None) -> str | None:
    return None if no_cache else str(Path(cache_dir) if cache_dir else default_directory(settings.root))


def _show_files(paths: list[str], settings: Settings) -> int:
    """``--show-files``: the files a run would check; paths that cannot be checked, one line each
    on stderr (exit status 2)."""
    found = discover(paths, settings)
    for path in sorted(found.files):
        click.echo(path)
    for path, reason in found.errors:
        click.echo(_error_line(path, reason), err=True)
    return EXIT_ERROR if found.errors else EXIT_CLEAN


def _check_adoption_options(reading_stdin: bool, *, fix: bool, diff: bool, write_baseline: bool, add_noqa: bool) -> None:
    """UsageError for adoption options that cannot go with the others: each writes files of its
    own, from the findings of a plain check of files."""
    for flag, given in (("--write-baseline", write_baseline), ("--add-noqa", add_noqa)):
        if not given:
            continue
        if write_baseline and add_noqa:
            raise click.UsageError("--write-baseline and --add-noqa cannot be used together")
        for other, also in (("--fix", fix), ("--diff", diff)):
            if also:
                raise click.UsageError(f"{flag} and {other} cannot be used together")
        if reading_stdin:
            raise click.UsageError(f"{flag} cannot be used with `-` (standard input)")


def _explain(rules: dict[str, RuleInfo], explain: str) -> None:
    code = explain.strip().upper()
    if code not in rules:
        raise click.UsageError(f"--explain: unknown rule code {explain!r} (see --list-rules)")
    from loopcheck.rules.docs import render_rule

    click.echo(render_rule(rules[code].rule), nl=False)


def _reads_stdin(paths: tuple[str, ...], *, fix: bool, diff: bool) -> bool:
    """Whether the run reads standard input (``-``); UsageError for options that cannot go
    together."""
    if fix and diff:
        raise click.UsageError("--fix and --diff cannot be used together")
    reading_stdin = "-" in paths
    if reading_stdin and len(paths) > 1:
        raise click.UsageError("`-` (standard input) cannot be combined with other paths")
    return reading_stdin


def _settings(names: list[str], config: str | None, rules: dict[str, RuleInfo]) -> Settings | None:
    """The configuration for ``names``; None (the reason said in one line) when there is none."""
    try:
        os.getcwd()  # relative paths, exclusions and the cache all start from it
    except OSError as error:
        click.echo(f"loopcheck: cannot use the current directory: {error.strerror or error}", err=True)
        return None
    try:
        return load_settings(names, config, rules)
    except ConfigError as error:
        click.echo(f"loopcheck: {error}", err=True)
        return None


def _enabled_rules(
    rules: dict[str, RuleInfo],
    settings: Settings,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
) -> list[RuleInfo]:
    """The rules the configuration and the command line's codes select."""
    try:
        return select_rules(
            rules,
            parse_codes(select) or settings.select,
            [*settings.ignore, *parse_codes(ignore)],
            [*settings.extend_select, *parse_codes(extend_select)],
        )
    except SelectionError as error:
        raise click.UsageError(str(error)) from None


def _check_stdin(job: Job, stdin_filename: str | None, report: Report, *, give_back: bool) -> None:
    result, buffer = check_stdin(sys.stdin.buffer.read(), stdin_filename or "-", job)
    report.take(result)
    if give_back:
        sys.stdout.buffer.write(buffer)
        sys.stdout.flush()


def _check_paths(paths: list[str], settings: Settings, job: Job, jobs: int, report: Report) -> None:
    found = discover(paths, settings)
    for path, reason in found.errors:
        report.take(FileResult(path, error=reason))
    for path, reason in found.skipped:
        click.echo(_error_line(path, f"skipped: {reason}"), err=True)
    report.totals.skipped = len(found.skipped)
    # Named files the configuration excludes (pre-commit names every staged file): no surprise.
    if found.walked and not found.files and not found.errors:
        report.nothing_to_check()
    progress = Progress(len(found.files), sys.stderr, enabled=report.human and not report.quiet)
    progress.start()

    def note(text: str) -> None:  # said while files are checked: never on the progress line
        with progress.hidden():
            _note(text)

    try:
        for result in check_files(found.files, job, jobs, note, walked=paths, checked=progress.advance):
            with progress.hidden(when=report.shows(result)):
                report.take(result)
    finally:
        progress.clear()


class Report:
    """Where the results go as they come (findings to ``stream``, errors and diffs on their
    own), and at the end the findings held back, the summary line and the exit status."""

    def __init__(
        self,
        output_format: str,
        *,
        statistics: bool,
        quiet: bool,
        fix: bool,
        unsafe: bool,
        diff: bool,
        to_stderr: bool,
        output: TextIO | None = None,
        adoption: Adoption | None = None,
        show_fixes: bool = False,
        exit_zero: bool = False,
        color: str = "never",
    ) -> None:
        self.statistics = statistics
        self.quiet = quiet
        self.fix, self.unsafe, self.diff = fix, unsafe, diff
        self.to_stderr = to_stderr
        self.output = output  # -o FILE: the findings and the summary go there
        self.stream = output or (sys.stderr if to_stderr else sys.stdout)
        self.adoption = adoption
        self.show_fixes = show_fixes
        self.exit_zero = exit_zero
        self.human = output_format in ("text", "concise")
        # Source lines under each finding: for a reader at a terminal.
        self.excerpts = output_format == "text" and self.stream.isatty() and not statistics
        self.reporter = REPORTERS[output_format]
        if self.excerpts:
            self.reporter = functools.partial(report_text, show_source=True)
        # Escapes only for a reader at a terminal: never in a file (-o) nor in machine formats.
        if self.human and output is None and use_color(color, self.stream):
            self.reporter = functools.partial(self.reporter, color=True)
        self.streaming = output_format in STREAMING and not statistics and not (diff and self.human)
        self.totals = Totals()
        self.held: dict[str, str] = {}  # the sources reporters that print at the end need
        self.found_nothing = False  # no Python file under the paths: a warning, not a pass

    def nothing_to_check(self) -> None:
        self.found_nothing = True
        if not self.quiet:
            _note("warning: no Python files found under the given paths")

    def shows(self, result: FileResult) -> bool:
        """Whether taking ``result`` may write to the terminal."""
        streamed = self.streaming and bool(result.diagnostics)
        return bool(result.error or result.write_error or result.diff or streamed)

    def take(self, result: FileResult) -> None:
        if self.adoption is not None and result.error is None:
            result.diagnostics = self.adoption.take(result)
        self.totals.add(result)
        for problem in (result.error, result.write_error):
            if problem is not None:
                click.echo(_error_line(result.path, problem), err=True)
        if result.diff:
            click.echo(result.diff, nl=False)
        sources = {result.path: result.source} if result.source is not None else {}
        if self.streaming and result.diagnostics:
            self.reporter(result.diagnostics, sources, self.stream)
            self.stream.flush()
        else:
            self.held.update(sources)

    def finish(self) -> int:
        """Print what was held back and the summary; the exit status."""
        try:
            return self._finish()
        finally:
            if self.output is not None:
                self.output.close()

    def _finish(self) -> int:
        totals = self.totals
        diagnostics = sorted(totals.remaining, key=Diagnostic.sort_key)
        if self.statistics and self.human:
            _statistics(diagnostics, self.stream)
        elif not self.streaming and not (self.diff and self.human):
            self.reporter(diagnostics, self.held, self.stream)
        if self.show_fixes and self.human:
            _fixes(diagnostics, self.stream)
        adopted = self._finish_adoption()
        if self.human and not self.quiet and not self.found_nothing:
            summary = _summary(totals, fix=self.fix, unsafe=self.unsafe, diff=self.diff)
            if adopted and self.adoption is not None and self.adoption.write_baseline and not totals.errors:
                summary = adopted  # nothing is reported: "All checks passed." would mislead
            elif adopted:
                summary = f"{summary} {adopted}".strip()
            if self.output is not None:
                self.output.write(summary + "\n")
            else:
                click.echo(summary, err=self.diff or self.to_stderr)
        if totals.errors or totals.unwritten or adopted is None:
            return EXIT_ERROR
        if self.diff:
            return EXIT_FINDINGS if totals.changed and not self.exit_zero else EXIT_CLEAN
        return EXIT_FINDINGS if totals.remaining and not self.exit_zero else EXIT_CLEAN

    def _finish_adoption(self) -> str | None:
        """Write the baseline if needed; what the summary adds, None when it failed (said)."""
        if self.adoption is None:
            return ""
        for note in self.adoption.notes:
            _note(note)
        try:
            self.adoption.finish()
        except BaselineError as error:
            _note(str(error))
            return None
        return self.adoption.summary()
