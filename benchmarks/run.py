"""The performance benchmark: loopcheck against Ruff, flake8-async and Fixit on the pinned corpus.

    python benchmarks/run.py            # the full benchmark: 3 rounds, about 20 minutes on 2 cores
    python benchmarks/run.py --quick    # a smoke run: aiohttp + httpx, one round, about 2 minutes

Rows: Ruff (`ruff check --select ASYNC,RUF006 --no-cache`, the reference); loopcheck cold
(`--no-cache`), filling an empty `--cache-dir`, warm, with 1% of the files changed and with one
module with a loop start changed (on a scratch copy); flake8-async and Fixit (on every 32nd
file, extrapolated per line); flake8's default checks without and with the loopcheck plugin;
loopcheck cold on 1/8, 1/4 and 1/2 of the corpus; Ruff and loopcheck on one file each (one with no
candidate construct, one loopcheck reports on) and the language server's re-check of a 2,000-line
file after an edit. Every figure is a median over alternating
rounds: wall s, CPU s, lines/s, peak MB (the children's maxrss), each as a ratio to Ruff's, and
the targets of issues 12, 18 and 20 pass or fail.

It builds its own virtual environments (~/.cache/loopcheck-bench; kept while the pins and the
interpreter stay the same, loopcheck reinstalled from this tree every run), fetches the corpus
with ../shared/bench/corpus.sh (kept in ~/.cache/loopcheck-corpus), and writes the Markdown table
to stdout and, with the raw samples as JSON, to benchmarks/results/. Not part of the test suite;
see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script (python benchmarks/run.py): make the benchmarks package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import BenchmarkError, environment
from benchmarks import corpus as corpus_files
from benchmarks.measure import FIXIT_CHECK, LOOPCHECK_CHECK, RUFF_CHECK
from benchmarks.plan import MAX_REPEATS, REPEAT_BUDGET_S, Planner, Runner, Venvs, progress
from benchmarks.report import BenchmarkRun, render_markdown

REPO_ROOT = Path(__file__).resolve().parents[1]
CACHE_HOME = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))

DEFAULT_ROUNDS = 3
DEFAULT_SAMPLE_EVERY = 32  # flake8-async and Fixit: every 32nd file, about 130 files
QUICK_SAMPLE_EVERY = 8
SKIPPABLE = ("cache", "peers", "plugin", "scaling", "single")


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description=__doc__.split("\n", 1)[0],
        epilog=__doc__.split("\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: aiohttp + httpx only, one round, a smaller sample")
    parser.add_argument("--rounds", type=_positive, metavar="N",
                        help=f"alternating rounds (default {DEFAULT_ROUNDS}; 1 with --quick)")
    parser.add_argument("--jobs", type=_positive, metavar="N", default=os.cpu_count() or 1,
                        help="--jobs for loopcheck and for flake8 (default: the number of cores)")
    parser.add_argument("--sample-every", type=_positive, metavar="N",
                        help="flake8-async and Fixit run on every N-th file and are extrapolated "
                        f"(default {DEFAULT_SAMPLE_EVERY}; {QUICK_SAMPLE_EVERY} with --quick)")
    parser.add_argument("--flake8-sample-every", type=_positive, metavar="N", default=1,
                        help="flake8 with and without the loopcheck plugin on every N-th file "
                        "(default 1: the whole corpus)")
    parser.add_argument("--skip", action="append", default=[], metavar="PART",
                        help=f"leave out parts, comma-separated: {', '.join(SKIPPABLE)}")
    parser.add_argument("--corpus", type=Path, metavar="DIR",
                        default=Path(os.environ.get("LOOPCHECK_CORPUS", CACHE_HOME / "loopcheck-corpus")),
                        help="where corpus.sh puts the corpus (default: $LOOPCHECK_CORPUS or "
                        "~/.cache/loopcheck-corpus)")
    parser.add_argument("--corpus-script", type=Path, metavar="PATH",
                        default=Path(os.environ.get("LOOPCHECK_CORPUS_SCRIPT",
                                                    REPO_ROOT.parent / "shared" / "bench" / "corpus.sh")),
                        help="the corpus download script (default: $LOOPCHECK_CORPUS_SCRIPT or "
                        "../shared/bench/corpus.sh next to the checkout)")
    parser.add_argument("--env-dir", type=Path, metavar="DIR",
                        default=Path(os.environ.get("LOOPCHECK_BENCH_HOME", CACHE_HOME / "loopcheck-bench")),
                        help="virtual environments, scratch copy and logs (default: "
                        "$LOOPCHECK_BENCH_HOME or ~/.cache/loopcheck-bench)")
    parser.add_argument("--python", default=sys.executable, metavar="PATH",
                        help="the interpreter the virtual environments are made with (default: this one)")
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "benchmarks" / "results",
                        metavar="DIR", help="where the .md and .json results go")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="print the table of a saved run's JSON and exit")
    options = parser.parse_args(argv)
    options.skip = {part.strip() for item in options.skip for part in item.split(",") if part.strip()}
    unknown = options.skip - set(SKIPPABLE)
    if unknown:
        parser.error(f"--skip: unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(SKIPPABLE)}")
    if options.rounds is None:
        options.rounds = 1 if options.quick else DEFAULT_ROUNDS
    if options.sample_every is None:
        options.sample_every = QUICK_SAMPLE_EVERY if options.quick else DEFAULT_SAMPLE_EVERY
    return options


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        if options.render:
            print(render_markdown(BenchmarkRun.from_json(options.render.read_text("utf-8"))))
            return 0
        return benchmark(options)
    except BenchmarkError as error:
        print(f"benchmark: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("benchmark: interrupted", file=sys.stderr)
        return 130


def benchmark(options: argparse.Namespace) -> int:
    started = datetime.now(timezone.utc)
    machine = environment.machine()
    if machine["cores"] and machine["load_average"] > machine["cores"]:
        progress(f"warning: load average {machine['load_average']:.1f} on {machine['cores']} cores: "
                 "other work will slow every tool down (the report says so)")

    # The corpus.
    corpus_files.fetch_corpus(options.corpus_script, options.corpus, small=options.quick)
    dirs = corpus_files.package_dirs(options.corpus, small=options.quick)
    all_files = corpus_files.python_files(dirs)
    corpus = corpus_files.whole_corpus(dirs, all_files)
    progress(f"corpus: {len(corpus.files):,} files, {corpus.lines:,} lines in {len(dirs)} packages")

    venvs = _environments(options.env_dir, options.python)
    header = {
        "machine": machine,
        "python": environment.python_version(venvs.loopcheck),
        "versions": _versions(venvs),
        "corpus": {"description": corpus.description, "files": len(corpus.files),
                   "lines": corpus.lines, "path": str(options.corpus / "src")},
        "settings": {"rounds": options.rounds, "jobs": options.jobs,
                     "sample_every": options.sample_every,
                     "flake8_sample_every": options.flake8_sample_every,
                     "repeat_budget_s": REPEAT_BUDGET_S, "max_repeats": MAX_REPEATS,
                     "skipped": sorted(options.skip)},
    }

    work_dir = options.env_dir / "work"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    runner = Runner(work_dir=work_dir, log_dir=options.env_dir / "logs")
    planner = Planner(
        corpus=corpus, corpus_dirs=dirs, venvs=venvs, runner=runner,
        scratch_dir=options.env_dir / "scratch", jobs=options.jobs,
    )
    planner.add_reference()
    planner.add_cold("loopcheck-cold", "loopcheck, cold (`--no-cache`)", corpus)
    if "cache" not in options.skip:
        planner.add_cache_runs()

    def sample(every: int) -> corpus_files.FileSet:
        return corpus if every == 1 else corpus_files.every_nth_file(all_files, every)

    if "peers" not in options.skip:
        planner.add_peers(sample(options.sample_every))
    if "plugin" not in options.skip:
        planner.add_plugin_comparison(sample(options.flake8_sample_every))
    if "scaling" not in options.skip:
        planner.add_scaling(all_files)
    if "single" not in options.skip:
        progress("choosing the single files ...")
        planner.add_single(all_files)
    steps = planner.steps

    # The first timed run must not pay for the disk: read the corpus, start every tool once.
    corpus_files.read_all(all_files)
    runner.warm_up(planner.ruff_argv(), RUFF_CHECK)
    runner.warm_up([str(venvs.peers.bin("fixit")), "--version"], FIXIT_CHECK)
    runner.warm_up([str(venvs.loopcheck.bin("loopcheck")), "--version"], LOOPCHECK_CHECK)

    for round_no in range(1, options.rounds + 1):
        round_started = time.monotonic()
        # Rotating the order spreads drifts of the machine (other work, heat) over every tool
        # instead of always hitting the same one.
        shift = (round_no - 1) % len(steps)
        order = steps[shift:] + steps[:shift]
        progress(f"round {round_no}/{options.rounds}: {', '.join(s.name for s in order)}")
        for step in order:
            step.run(round_no)
        took = time.monotonic() - round_started
        left = took * (options.rounds - round_no)
        progress(f"round {round_no} took {took / 60:.1f} min" + (f"; about {left / 60:.0f} min to go" if left else ""))

    shutil.rmtree(planner.scratch_dir, ignore_errors=True)
    header["load_average_end"] = os.getloadavg()[0]
    run = BenchmarkRun(
        date=started.strftime("%Y-%m-%d %H:%M UTC"), quick=options.quick, header=header,
        benchmarks=planner.benchmarks,
    )
    markdown = render_markdown(run)
    options.results_dir.mkdir(parents=True, exist_ok=True)
    stem = options.results_dir / (started.strftime("%Y-%m-%dT%H%MZ") + ("-quick" if options.quick else ""))
    stem.with_suffix(".md").write_text(markdown + "\n", "utf-8")
    stem.with_suffix(".json").write_text(run.to_json() + "\n", "utf-8")
    print(markdown)
    progress(f"written: {stem}.md and {stem}.json")
    return 0


def _environments(env_dir: Path, python: str) -> Venvs:
    """The peers; flake8 alone (the plugin baseline); loopcheck from this tree with the same
    flake8. Each flake8 must have exactly the plugins its rows are about."""
    flake8_pins = environment.FLAKE8_REQUIREMENTS
    venvs = Venvs(
        peers=environment.ensure_venv(
            env_dir / "peers", python, ["-r", str(environment.PEERS_REQUIREMENTS)],
            [environment.PEERS_REQUIREMENTS, flake8_pins],
        ),
        flake8_alone=environment.ensure_venv(env_dir / "flake8", python, ["-r", str(flake8_pins)], [flake8_pins]),
        loopcheck=environment.ensure_venv(env_dir / "loopcheck", python, ["-r", str(flake8_pins)], [flake8_pins]),
    )
    progress("installing loopcheck from the working tree ...")
    environment.install_loopcheck(venvs.loopcheck, REPO_ROOT)
    environment.require_flake8_plugins(venvs.flake8_alone, {"pycodestyle", "pyflakes"}, {"loopcheck", "flake8-async"})
    environment.require_flake8_plugins(venvs.loopcheck, {"pycodestyle", "pyflakes", "loopcheck"}, {"flake8-async"})
    environment.require_flake8_plugins(venvs.peers, {"flake8-async"}, {"loopcheck"})
    return venvs


def _versions(venvs: Venvs) -> list[str]:
    """The versions the header names; the flake8 of the plugin comparison must be the same."""
    p = environment.package_versions(
        venvs.peers, ["ruff", "flake8", "pycodestyle", "pyflakes", "mccabe", "flake8-async", "fixit", "libcst"])
    f = environment.package_versions(venvs.flake8_alone, ["flake8"])
    lc = environment.package_versions(venvs.loopcheck, ["loopcheck", "libcst", "flake8"])
    if len({p["flake8"], f["flake8"], lc["flake8"]}) != 1:
        raise BenchmarkError(f"flake8 versions differ between the venvs: {p['flake8']}, {f['flake8']}, "
                             f"{lc['flake8']}; delete {venvs.peers.path.parent} to rebuild them")
    return [
        f"loopcheck {lc['loopcheck']} ({environment.git_revision(REPO_ROOT)}) with LibCST {lc['libcst']}",
        f"Ruff {p['ruff']}",
        f"flake8 {p['flake8']} (pycodestyle {p['pycodestyle']}, pyflakes {p['pyflakes']}, mccabe {p['mccabe']})",
        f"flake8-async {p['flake8-async']}",
        f"Fixit {p['fixit']} with LibCST {p['libcst']}",
    ]


if __name__ == "__main__":
    sys.exit(main())
