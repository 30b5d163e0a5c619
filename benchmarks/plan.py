"""What a benchmark run measures: the benchmarks in table order, and the steps a round is made of."""

from __future__ import annotations

import json
import shutil
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import corpus as corpus_files
from benchmarks import environment
from benchmarks.corpus import FileSet
from benchmarks.environment import Venv
from benchmarks.measure import (
    FIXIT_CHECK,
    FLAKE8_CHECK,
    LOOPCHECK_CHECK,
    RUFF_CHECK,
    FailureCheck,
    Sample,
    exit_status_check,
    run_measured,
)
from benchmarks.report import Benchmark

# Short runs are noisy (start-up, scheduling): within its round a benchmark is run again until it
# has this many samples or has taken this long. (A rule on the first run's time alone would be
# fooled by one slow first run.)
REPEAT_BUDGET_S = 3.0
MAX_REPEATS = 5

RUFF_SELECT = "ASYNC,RUF006"
# flake8's default checks: pycodestyle (E, W), pyflakes (F), mccabe (C90).
FLAKE8_DEFAULT_SELECT = "E,F,W,C90"
CHANGED_PERCENT = 1.0
SCALING_SAMPLES = ((8, "1/8"), (4, "1/4"), (2, "1/2"))
# The language server's re-check: a file of about this many lines, edited this many times a round.
SERVER_FILE_LINES = 2000
SERVER_EDITS = 10
SERVER_SCRIPT = Path(__file__).with_name("server_recheck.py")
SERVER_CHECK = exit_status_check(0)
# The corpus (libraries) has no finding of the default rules: the file with a candidate is one
# loopcheck reports on with every rule, the opt-in tiers included, and its row runs them all.
EVERY_RULE = "LCK"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Runner:
    """Runs the measured commands: one neutral working directory, a scrubbed environment, and
    the repetition of short runs."""

    work_dir: Path
    log_dir: Path
    env: dict[str, str] = field(default_factory=environment.tool_environment)

    def measure(
        self,
        benchmark: Benchmark,
        argv: Sequence[str],
        round_no: int,
        check: FailureCheck,
        before_each: Callable[[int], None] | None = None,
    ) -> None:
        """Adds this round's samples to ``benchmark``; ``before_each(repeat)`` prepares a run."""
        spent = 0.0
        for repeat in range(MAX_REPEATS):
            if before_each:
                before_each(repeat)
            sample = run_measured(
                argv,
                round_no=round_no,
                cwd=self.work_dir,
                env=self.env,
                log_stem=self.log_dir / benchmark.key.replace("/", "_"),
                failure_check=check,
            )
            benchmark.samples.append(sample)
            progress(
                f"  {benchmark.key:<26} {sample.wall_s:8.2f} s wall {sample.cpu_s:8.2f} s CPU "
                f"{sample.peak_rss_mb:6.0f} MB  exit {sample.exit_code}"
            )
            spent += sample.wall_s
            if spent >= REPEAT_BUDGET_S:
                break

    def warm_up(self, argv: Sequence[str], check: FailureCheck) -> None:
        """An untimed run, so that no timed run pays for loading a tool from disk."""
        run_measured(argv, round_no=0, cwd=self.work_dir, env=self.env,
                     log_stem=self.log_dir / "warm-up", failure_check=check)


@dataclass
class Step:
    """A unit of a round: one run, or runs that must follow each other (the cache runs)."""

    name: str
    run: Callable[[int], None]  # takes the round number


@dataclass
class Venvs:
    peers: Venv  # Ruff, flake8 + flake8-async, Fixit
    flake8_alone: Venv  # the baseline of the plugin comparison
    loopcheck: Venv  # loopcheck from the working tree, with the same flake8


@dataclass
class Planner:
    """Builds the benchmarks and the steps that measure them."""

    corpus: FileSet
    corpus_dirs: list[Path]
    venvs: Venvs
    runner: Runner
    scratch_dir: Path
    jobs: int
    benchmarks: list[Benchmark] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    def loopcheck_argv(self, *cache_flags: str) -> list[str]:
        """loopcheck with the same --jobs as flake8, findings only (-q: no summary line)."""
        return [str(self.venvs.loopcheck.bin("loopcheck")), "-q", "--jobs", str(self.jobs), *cache_flags]

    def ruff_argv(self) -> list[str]:
        return [str(self.venvs.peers.bin("ruff")), "check", "--isolated", "--select", RUFF_SELECT,
                "--no-cache", *self.corpus.arguments]

    def add(self, key: str, label: str, argv: list[str], files: FileSet, check: FailureCheck, *,
            extrapolate: bool = True) -> None:
        """A benchmark of one command; on a sample of the corpus it is extrapolated per line,
        unless ``extrapolate`` is false (the scaling runs, which are about the sample itself)."""
        whole = files.lines == self.corpus.lines
        bench = _benchmark(key, label, argv, files,
                           extrapolate_to=None if whole or not extrapolate else self.corpus.lines)
        self.benchmarks.append(bench)
        self.steps.append(Step(key, lambda round_no: self.runner.measure(bench, argv, round_no, check)))

    def add_reference(self) -> None:
        self.add("ruff", f"`ruff check --select {RUFF_SELECT} --no-cache` (reference)",
                 self.ruff_argv(), self.corpus, RUFF_CHECK)

    def add_cold(self, key: str, label: str, files: FileSet) -> None:
        """loopcheck with no cache at all (--no-cache: nothing read, nothing written)."""
        self.add(key, label, [*self.loopcheck_argv("--no-cache"), *files.arguments], files,
                 LOOPCHECK_CHECK, extrapolate=False)

    def add_cache_runs(self) -> None:
        """loopcheck filling an empty cache, warm, after 1% of the files changed and after one
        file changed: on a scratch copy of the corpus (the pinned corpus is never changed), with a
        fresh cache every round."""
        copies = corpus_files.make_scratch_copy(self.corpus_dirs, self.scratch_dir / "corpus")
        copy_files = corpus_files.python_files(copies)
        scratch = corpus_files.whole_corpus(copies, copy_files)
        to_change = corpus_files.files_to_change(copy_files, percent=CHANGED_PERCENT)
        # One module the project model loads on every run (it starts a loop): its change makes
        # the model's outcome again, as an edit between two runs does.
        one = corpus_files.file_with_loop_start(copy_files)
        one_name = one.relative_to(self.scratch_dir / "corpus").as_posix()
        cache_dir = self.scratch_dir / "cache"
        argv = [*self.loopcheck_argv("--cache-dir", str(cache_dir)), *scratch.arguments]
        fill, warm, changed, changed_one = (
            _benchmark(key, label, argv, scratch) for key, label in (
                ("loopcheck-fill", "loopcheck, filling an empty `--cache-dir`"),
                ("loopcheck-warm", "loopcheck, warm (cache, nothing changed)"),
                ("loopcheck-1%", f"loopcheck, warm cache, {CHANGED_PERCENT:g}% of the files changed "
                                 f"({len(to_change)} files)"),
                ("loopcheck-one", f"loopcheck, warm cache, one file changed (`{one_name}`, a module with a "
                                  "loop start)"),
            )
        )
        self.benchmarks.extend((fill, warm, changed, changed_one))

        def empty_cache(_: int) -> None:
            shutil.rmtree(cache_dir, ignore_errors=True)

        def run(round_no: int) -> None:
            self.runner.measure(fill, argv, round_no, LOOPCHECK_CHECK, before_each=empty_cache)
            self.runner.measure(warm, argv, round_no, LOOPCHECK_CHECK)
            # The one file first: the warm run before it left the cache as the files are.
            for files, benchmark in (([one], changed_one), (to_change, changed)):
                with corpus_files.changed_files(files) as change:
                    # A new comment each time: every repeat finds the same files changed again.
                    self.runner.measure(benchmark, argv, round_no, LOOPCHECK_CHECK,
                                        before_each=lambda repeat: change(f"round {round_no}, run {repeat + 1}"))

        self.steps.append(Step("loopcheck-cache", run))

    def add_peers(self, sample: FileSet) -> None:
        """flake8-async and Fixit, on a sample of the corpus."""
        self.add("flake8-async", "`flake8 --select ASYNC` (flake8-async)",
                 [str(self.venvs.peers.bin("flake8")), "--isolated", f"--jobs={self.jobs}",
                  "--select", "ASYNC", *sample.arguments], sample, FLAKE8_CHECK)
        self.add("fixit", "`fixit lint` (its built-in rules)",
                 [str(self.venvs.peers.bin("fixit")), "lint", *sample.arguments], sample, FIXIT_CHECK)

    def add_plugin_comparison(self, files: FileSet) -> None:
        """flake8's default checks without and with the loopcheck plugin, on the same files. flake8
        runs every installed plugin whatever --select says, hence two venvs."""
        for key, venv, select, label in (
            ("flake8-default", self.venvs.flake8_alone, FLAKE8_DEFAULT_SELECT, "no plugin"),
            ("flake8-default+loopcheck", self.venvs.loopcheck, FLAKE8_DEFAULT_SELECT + ",LCK",
             "loopcheck plugin"),
        ):
            self.add(key, f"`flake8 --select {select}` ({label})",
                     [str(venv.bin("flake8")), "--isolated", f"--jobs={self.jobs}", "--select", select,
                      *files.arguments], files, FLAKE8_CHECK)

    def add_scaling(self, all_files: Sequence[Path]) -> None:
        """loopcheck cold on nested samples; the whole corpus is the cold run itself."""
        for every, part in SCALING_SAMPLES:
            self.add_cold(f"loopcheck-{part}", f"loopcheck, cold, {part} of the corpus",
                          corpus_files.every_nth_file(all_files, every))


    def add_single(self, all_files: Sequence[Path]) -> None:
        """One file on its own, as pre-commit and editors run it, Ruff and loopcheck side by side:
        a file with no candidate construct and one loopcheck reports on; then the language
        server's re-check of a 2,000-line file after an edit, timed in-process."""
        plain = corpus_files.file_without_candidate(all_files)
        candidate = corpus_files.file_reported_on(all_files, self._reports_on)
        for kind, path, what, options in (
            ("plain", plain, "no candidate construct", ()),
            ("candidate", candidate, f"a file loopcheck reports on with `--select {EVERY_RULE}`", ("--select", EVERY_RULE)),
        ):
            files = corpus_files.single_file(path, self._name_in_corpus(path))
            ruff = [str(self.venvs.peers.bin("ruff")), "check", "--isolated", "--no-cache", "--select",
                    RUFF_SELECT, str(path)]
            self.add(f"single-ruff-{kind}", f"`ruff check` on one file, {what} (`{files.description}`)",
                     ruff, files, RUFF_CHECK, extrapolate=False)
            self.add(f"single-loopcheck-{kind}", f"`loopcheck` on one file, {what} (`{files.description}`)",
                     self.single_loopcheck_argv(path, *options), files, LOOPCHECK_CHECK, extrapolate=False)
        self.add_server_recheck("server-recheck", corpus_files.file_nearest_lines(all_files, SERVER_FILE_LINES))
        # The corpus's files near 2,000 lines end at the candidate stage: the candidate, grown to
        # 2,000 lines with copies of itself, goes through LibCST, the analysis and the rules.
        self.add_server_recheck("server-recheck-grown", candidate, grow_to=SERVER_FILE_LINES, every_rule=True)
        # The same with a statement appended at each edit: the whole check, not the findings kept.
        self.add_server_recheck("server-recheck-grown-code", candidate, grow_to=SERVER_FILE_LINES, every_rule=True,
                                code_edit=True)

    def single_loopcheck_argv(self, path: Path, *options: str) -> list[str]:
        """loopcheck as a pre-commit hook runs it on one file: default --jobs, no cache."""
        return [str(self.venvs.loopcheck.bin("loopcheck")), "-q", "--no-cache", *options, str(path)]

    def _reports_on(self, path: Path) -> bool:
        argv = self.single_loopcheck_argv(path, "--select", EVERY_RULE)
        sample = run_measured(argv, round_no=0, cwd=self.runner.work_dir, env=self.runner.env,
                              log_stem=self.runner.log_dir / "single-choice", failure_check=LOOPCHECK_CHECK)
        return sample.exit_code == 1

    def _name_in_corpus(self, path: Path) -> str:
        for directory in self.corpus_dirs:
            if path.is_relative_to(directory):
                return path.relative_to(directory.parent).as_posix()
        return path.name

    def add_server_recheck(self, key: str, path: Path, *, grow_to: int = 0, every_rule: bool = False,
                           code_edit: bool = False) -> None:
        """The server's re-check after an edit (benchmarks/server_recheck.py in loopcheck's venv),
        of ``path`` or of ``path`` grown to ``grow_to`` lines with copies of itself: each edit
        of a round is a sample; the process around them is not timed."""
        folder = next((d for d in self.corpus_dirs if path.is_relative_to(d)), path.parent)
        files = corpus_files.single_file(path, self._name_in_corpus(path))
        grown = [str(grow_to)] if grow_to else []
        rules = ["--every-rule"] if every_rule else []
        rules += ["--code-edit"] if code_edit else []
        argv = [str(self.venvs.loopcheck.python), str(SERVER_SCRIPT), *rules, str(folder), str(path),
                str(SERVER_EDITS), *grown]
        what = f"`{files.description}` grown to {grow_to:,} lines" if grow_to else f"`{files.description}`"
        what += f", `--select {EVERY_RULE}`" if every_rule else ""
        what += ", a statement added at each edit" if code_edit else ""
        bench = _benchmark(key, f"language server, re-check after an edit ({what})", argv, files)
        bench.command = " ".join(["server_recheck.py", *rules, f"<{files.description}>", str(SERVER_EDITS), *grown])
        self.benchmarks.append(bench)

        def run(round_no: int) -> None:
            log_stem = self.runner.log_dir / key
            process = run_measured(argv, round_no=round_no, cwd=self.runner.work_dir, env=self.runner.env,
                                   log_stem=log_stem, failure_check=SERVER_CHECK)
            measured = json.loads(log_stem.with_suffix(".out").read_text("utf-8"))
            bench.lines = measured["lines"]  # the document checked, grown or not
            for wall, cpu in measured["samples"]:
                bench.samples.append(Sample(round=round_no, wall_s=wall, user_s=cpu, sys_s=0.0,
                                            peak_rss_mb=process.peak_rss_mb, exit_code=0,
                                            output_lines=measured["findings"]))
            progress(f"  {bench.key:<26} {len(measured['samples'])} edits, median "
                     f"{statistics.median(w for w, _ in measured['samples']) * 1000:.0f} ms wall")

        self.steps.append(Step(key, run))


def _benchmark(key: str, label: str, argv: Sequence[str], files: FileSet, *,
               extrapolate_to: int | None = None) -> Benchmark:
    # The command as the JSON records it: paths (the corpus, file lists, venvs) left out.
    shown = [Path(argv[0]).name, *(a for a in argv[1:] if not a.startswith("/"))]
    return Benchmark(
        key=key,
        label=label,
        command=" ".join(shown) + f" <{files.description}>",
        files=len(files.files),
        lines=files.lines,
        subset=files.description,
        extrapolate_to_lines=extrapolate_to,
    )

