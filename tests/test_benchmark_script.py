"""The benchmark script's own logic on made-up samples and a tiny corpus: statistics,
extrapolation, the tables, subsets, the 1% change, and a run of the cache steps against a fake
loopcheck. No download and no real tool is run; nothing here is timed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks import BenchmarkError, plan
from benchmarks import corpus as corpus_files
from benchmarks.environment import Venv
from benchmarks.measure import (
    FIXIT_CHECK,
    FLAKE8_CHECK,
    Sample,
    exit_status_check,
    run_measured,
)
from benchmarks.plan import Planner, Runner, Venvs
from benchmarks.report import Benchmark, BenchmarkRun, figures, render_markdown
from benchmarks.run import parse_arguments
from benchmarks.server_recheck import recheck_times


def sample(wall: float, cpu: float = 1.0, mb: float = 50.0, round_no: int = 1) -> Sample:
    return Sample(round=round_no, wall_s=wall, user_s=cpu * 0.9, sys_s=cpu * 0.1,
                  peak_rss_mb=mb, exit_code=1, output_lines=3)


def bench(key: str, walls: list[float], *, lines: int = 1000, files: int = 10,
          extrapolate_to: int | None = None, mb: float = 50.0) -> Benchmark:
    return Benchmark(
        key=key, label=f"label of {key}", command=f"{key} <files>", files=files, lines=lines,
        subset="every 8th file" if extrapolate_to else "3 packages", extrapolate_to_lines=extrapolate_to,
        samples=[sample(w, cpu=w * 2, mb=mb, round_no=i + 1) for i, w in enumerate(walls)],
    )


def fake_run() -> BenchmarkRun:
    header = {
        "machine": {"cpu": "Test CPU", "cores": 2, "ram_gib": 24.0, "system": "Linux", "load_average": 0.5},
        "load_average_end": 0.7,
        "python": "3.11.7",
        "versions": ["loopcheck 0.1.0 (abc1234) with LibCST 1.9.0", "Ruff 0.17.6"],
        "corpus": {"description": "3 packages", "files": 40, "lines": 8000, "path": "/corpus/src"},
        "settings": {"rounds": 3, "jobs": 2, "sample_every": 8, "flake8_sample_every": 1,
                     "repeat_budget_s": 3.0, "max_repeats": 5, "skipped": []},
    }
    return BenchmarkRun(date="2026-11-23 12:00 UTC", quick=False, header=header, benchmarks=[
        bench("ruff", [0.5, 0.4, 0.6], lines=8000, files=40, mb=20),
        bench("loopcheck-cold", [4.0, 6.0, 5.0], lines=8000, files=40, mb=200),
        bench("loopcheck-warm", [0.3, 0.4, 0.5], lines=8000, files=40, mb=30),
        bench("loopcheck-one", [0.8, 0.7, 0.9], lines=8000, files=40, mb=40),
        bench("fixit", []),  # not run
        bench("flake8-async", [1.0, 1.2, 0.8], lines=1000, files=5, extrapolate_to=8000),
        bench("flake8-default", [2.0, 2.0, 2.0], lines=8000, files=40),
        bench("flake8-default+loopcheck", [3.0, 3.0, 3.0], lines=8000, files=40),
        bench("loopcheck-1/8", [1.0], lines=1000, files=5, mb=100),
        bench("loopcheck-1/4", [1.5], lines=2000, files=10, mb=140),
        bench("loopcheck-1/2", [2.5], lines=4000, files=20, mb=170),
    ])


def test_figures_are_medians_and_subsets_are_extrapolated_per_line():
    cold = figures(bench("loopcheck-cold", [4.0, 6.0, 5.0], lines=8000))
    assert cold is not None
    assert (cold.wall_s, cold.wall_min_s, cold.wall_max_s, cold.cpu_s) == (5.0, 4.0, 6.0, 10.0)
    assert cold.lines_per_s == 1600 and not cold.extrapolated

    sampled = figures(bench("fixit", [1.0, 1.2, 0.8], lines=1000, extrapolate_to=8000, mb=70))
    assert sampled is not None and sampled.extrapolated
    assert sampled.wall_s == pytest.approx(8.0) and sampled.cpu_s == pytest.approx(16.0)
    assert sampled.lines_per_s == pytest.approx(1000)  # of the sample itself
    assert sampled.peak_rss_mb == 70  # memory is never extrapolated

    assert figures(bench("fixit", [])) is None  # not run


def test_the_report_has_the_header_the_ratios_the_overhead_the_scaling_and_the_targets():
    text = render_markdown(fake_run())
    assert text.startswith("# loopcheck benchmark, 2026-11-23 12:00 UTC")
    assert "Test CPU, 2 cores, 24.0 GiB RAM" in text and "Python 3.11.7" in text
    assert "Ruff 0.17.6" in text and "run with `--jobs 2`" in text
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    assert rows["label of ruff"].endswith("| 1.00 | 1.00 | 1.00 |")  # the reference
    # Wall 5.0 s against Ruff's 0.5 s; CPU 10 s against 1.0 s; 200 MB against 20 MB.
    assert rows["label of loopcheck-cold"].endswith("| 10.0 | 10.0 | 10.0 |")
    assert rows["label of fixit"] == "| label of fixit | not run |" + " – |" * 9
    assert "5 † | 1,000 † | 8.00 |" in rows["label of flake8-async"]  # 1.0 s × 8000/1000 lines
    assert "**+50% wall time (+50% CPU time)**" in text
    assert "extrapolated per line" in text and "not the sum" in text
    assert "| 1/8 | 5 | 1,000 |" in text and "| all | 40 | 8,000 |" in text
    assert "| cold run ≤ 5× Ruff's wall time | 10.0× (CPU 10.0×) | ❌ fail |" in text
    assert "| warm run ≤ Ruff's wall time | 0.80× (CPU 0.80×) | ✅ pass |" in text
    # flake8-async: 8 s and 16 CPU-s extrapolated against loopcheck's 5 s and 10 CPU-s.
    assert "| ≥ 100× flake8-async's lines per second (wall) | 1.60× (CPU 1.60×) | ❌ fail |" in text
    assert "| ≥ 100× Fixit's lines per second (wall) | – | – |" in text
    assert "| flake8 plugin adds ≤ 10% (wall) | +50% (CPU +50%) | ❌ fail |" in text
    assert "| 12 | peak memory < 300 MB (whole corpus) | 200 MB | ✅ pass |" in text
    # The targets with the project model, in the same table.
    assert "| 18 | cold run ≤ 10× Ruff's wall time | 10.0× (CPU 10.0×) | ✅ pass |" in text
    assert "| 18 | warm run, nothing changed, ≤ Ruff's wall time | 0.80× (CPU 0.80×) | ✅ pass |" in text
    # 0.8 s against Ruff's 0.5 s.
    assert "| 18 | warm run, one file changed, ≤ 1.5× Ruff's wall time | 1.60× (CPU 1.60×) | ❌ fail |" in text
    assert "| 18 | peak memory < 300 MB (whole corpus) | 200 MB | ✅ pass |" in text
    # MB per 100 k lines: (140-100)/1000 lines first, (200-170)/4000 lines last.
    assert "+4000.0 → +750.0 MB per 100 k lines" in text


def test_a_busy_machine_is_pointed_out():
    run = fake_run()
    assert "busy" not in render_markdown(run)
    run.header["load_average_end"] = 3.5
    assert "**The machine was busy with other work** (load average up to 3.5 on 2 cores)" in render_markdown(run)


def test_a_saved_run_renders_the_same_after_a_json_round_trip():
    run = fake_run()
    assert render_markdown(BenchmarkRun.from_json(run.to_json())) == render_markdown(run)


def test_options_quick_defaults_and_unknown_parts():
    quick = parse_arguments(["--quick"])
    assert (quick.rounds, quick.sample_every) == (1, 8)
    full = parse_arguments(["--rounds", "3", "--skip", "peers,scaling"])
    assert (full.rounds, full.sample_every, full.skip) == (3, 32, {"peers", "scaling"})
    with pytest.raises(SystemExit):
        parse_arguments(["--skip", "everything"])


def make_corpus(root: Path, files_per_package: int = 10) -> list[Path]:
    dirs = []
    for package in ("alpha", "beta"):
        for i in range(files_per_package):
            path = root / "src" / package / package / f"m{i:02}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("x = 1\n" * (i + 1) + "y = 2")  # no newline at the end
        dirs.append(root / "src" / package)
    return dirs


def test_subsets_are_nested_every_nth_files_of_the_sorted_corpus(tmp_path):
    files = corpus_files.python_files(make_corpus(tmp_path))
    assert files == sorted(files) and len(files) == 20
    quarter, half = corpus_files.every_nth_file(files, 4), corpus_files.every_nth_file(files, 2)
    assert set(quarter.files) <= set(half.files) and len(quarter.files) == 5
    assert quarter.description == "every 4th file"
    assert quarter.arguments == tuple(str(p) for p in quarter.files)
    assert quarter.lines == corpus_files.count_lines(list(quarter.files))
    assert corpus_files.files_to_change(files, percent=10) == [files[0], files[10]]
    assert corpus_files.files_to_change(files[:3]) == [files[0]]  # at least one


def test_changed_files_get_a_new_comment_each_time_and_are_restored(tmp_path):
    files = corpus_files.python_files(make_corpus(tmp_path))[:2]
    before = [p.read_bytes() for p in files]
    with pytest.raises(RuntimeError), corpus_files.changed_files(files) as change:
        change("run 1")
        first = files[0].read_bytes()
        assert first.endswith(b"y = 2\n# loopcheck benchmark: changed (run 1)\n")
        compile(first, "changed.py", "exec")
        change("run 2")
        assert files[0].read_bytes() == first + b"# loopcheck benchmark: changed (run 2)\n"
        raise RuntimeError("a failing run")
    assert [p.read_bytes() for p in files] == before


def test_the_file_changed_alone_is_the_first_that_starts_a_loop(tmp_path):
    files = corpus_files.python_files(make_corpus(tmp_path))
    with pytest.raises(BenchmarkError, match="no file of the corpus calls asyncio.run"):
        corpus_files.file_with_loop_start(files)
    files[7].write_text("asyncio.run(main())\n")
    files[3].write_text("import asyncio\n\nasyncio.run(main())\n")
    assert corpus_files.file_with_loop_start(files) == files[3]


FAKE_LOOPCHECK = """\
import argparse, hashlib
from pathlib import Path
parser = argparse.ArgumentParser()
parser.add_argument("-q", action="store_true", required=True)
parser.add_argument("--jobs", type=int)
parser.add_argument("--no-cache", action="store_true")
parser.add_argument("--cache-dir", type=Path)
parser.add_argument("--select")
parser.add_argument("paths", nargs="+", type=Path)
args = parser.parse_args()
files = [p for a in args.paths for p in ([a] if a.is_file() else sorted(a.rglob("*.py")))]
seen = {str(p) + ":" + hashlib.sha1(p.read_bytes()).hexdigest() for p in files}
cached = set()
if not args.no_cache:
    cache = args.cache_dir / "entries"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cached = set(cache.read_text().splitlines()) if cache.exists() else set()
    cache.write_text("\\n".join(seen))
print(len(seen - cached), "files analysed")
raise SystemExit(1 if any(b"asyncio.Lock(" in p.read_bytes() for p in files) else 0)
"""


def planner_for(tmp_path: Path, dirs: list[Path]) -> Planner:
    """A planner whose loopcheck is FAKE_LOOPCHECK."""
    fake = tmp_path / "loopcheck.py"
    fake.write_text(FAKE_LOOPCHECK)
    venv = Venv(tmp_path / "venv")
    venv.bin("loopcheck").parent.mkdir(parents=True)
    venv.bin("loopcheck").write_text(f"#!/bin/sh\nexec {sys.executable} {fake} \"$@\"\n")
    venv.bin("loopcheck").chmod(0o755)
    return Planner(
        corpus=corpus_files.whole_corpus(dirs, corpus_files.python_files(dirs)),
        corpus_dirs=dirs,
        venvs=Venvs(peers=venv, flake8_alone=venv, loopcheck=venv),
        runner=Runner(work_dir=tmp_path, log_dir=tmp_path / "logs"),
        scratch_dir=tmp_path / "scratch",
        jobs=2,
    )


def test_cache_runs_fill_warm_and_change_one_percent_and_one_file_on_a_scratch_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(plan, "MAX_REPEATS", 2)  # repeats, but few: fast
    dirs = make_corpus(tmp_path / "pinned")
    (dirs[1] / "beta" / "m05.py").write_text("import asyncio\n\nasyncio.run(main())\n")
    pinned = {p: p.read_bytes() for p in corpus_files.python_files(dirs)}
    planner = planner_for(tmp_path, dirs)
    planner.add_cache_runs()
    keys = ["loopcheck-fill", "loopcheck-warm", "loopcheck-1%", "loopcheck-one"]
    assert [b.key for b in planner.benchmarks] == keys
    assert planner.benchmarks[2].label.endswith("(1 files)")
    assert planner.benchmarks[3].label.endswith("(`beta/beta/m05.py`, a module with a loop start)")
    [step] = planner.steps
    step.run(1)
    logs = tmp_path / "logs"
    assert (logs / "loopcheck-fill.out").read_text() == "20 files analysed\n"
    assert (logs / "loopcheck-warm.out").read_text() == "0 files analysed\n"
    assert (logs / "loopcheck-one.out").read_text() == "1 files analysed\n"
    assert (logs / "loopcheck-1%.out").read_text() == "1 files analysed\n"
    assert [len(b.samples) for b in planner.benchmarks] == [2, 2, 2, 2]
    assert {p: p.read_bytes() for p in pinned} == pinned  # the pinned corpus is never touched
    scratch = corpus_files.python_files([tmp_path / "scratch" / "corpus"])
    assert [p.read_bytes() for p in scratch] == list(pinned.values())  # restored after the run


def test_cold_and_scaling_runs_use_no_cache_and_are_not_extrapolated(tmp_path, monkeypatch):
    monkeypatch.setattr(plan, "MAX_REPEATS", 1)
    dirs = make_corpus(tmp_path / "pinned")
    planner = planner_for(tmp_path, dirs)
    planner.add_cold("loopcheck-cold", "cold", planner.corpus)
    planner.add_scaling(corpus_files.python_files(dirs))
    assert [b.key for b in planner.benchmarks] == ["loopcheck-cold", "loopcheck-1/8", "loopcheck-1/4",
                                                    "loopcheck-1/2"]
    assert all(b.extrapolate_to_lines is None for b in planner.benchmarks)
    assert planner.benchmarks[0].command == "loopcheck -q --jobs 2 --no-cache <2 packages>"
    for step in planner.steps:
        step.run(1)
    assert (tmp_path / "logs" / "loopcheck-1_8.out").read_text() == "3 files analysed\n"
    assert not (tmp_path / "scratch").exists()  # no cache written anywhere


def test_a_crash_fails_loudly_and_findings_do_not(tmp_path):
    def run(code: str, check=FLAKE8_CHECK) -> Sample:
        return run_measured([sys.executable, "-c", code], round_no=2, cwd=tmp_path, env={},
                            log_stem=tmp_path / "logs" / "tool", failure_check=check)

    findings = run("import sys; print('a.py:1:1: E1 x'); sys.exit(1)")
    assert (findings.exit_code, findings.output_lines) == (1, 1)
    assert findings.wall_s > 0 and findings.cpu_s >= 0 and findings.peak_rss_mb > 0
    with pytest.raises(BenchmarkError, match=r"unexpected exit status, exit status 3\) in round 2"):
        run("import sys; sys.exit(3)", FIXIT_CHECK)
    with pytest.raises(BenchmarkError, match="Traceback") as raised:
        run("raise ValueError('plugin broke')", exit_status_check(0, 1))
    assert "plugin broke" in str(raised.value) and "tool.err" in str(raised.value)
    with pytest.raises(BenchmarkError, match="on stdout"):
        run("print('There was a critical error during execution of Flake8:'); raise SystemExit(1)")


def long_file(path: Path, text: str, lines: int) -> Path:
    path.write_text(text + "x = 1\n" * lines)
    return path


def test_the_single_files_are_chosen_by_their_text_and_loopchecks_verdict(tmp_path):
    files = corpus_files.python_files(make_corpus(tmp_path))
    with pytest.raises(BenchmarkError, match="without a candidate construct"):
        corpus_files.file_without_candidate(files)  # all shorter than 100 lines
    long_file(files[2], "async def f(): pass\n", 150)  # has "async"
    long_file(files[5], "", 150)
    long_file(files[9], "", 150)
    assert corpus_files.file_without_candidate(files) == files[5]

    asked = []

    def reports(path: Path) -> bool:
        asked.append(path)
        return path == files[8]

    long_file(files[7], "import asyncio\nasyncio.sleep\n", 120)  # not reported on
    long_file(files[8], "import asyncio\nlock = asyncio.Lock()\n", 120)
    long_file(files[11], "import asyncio\nlock = asyncio.Lock()\n", 120)
    assert corpus_files.file_reported_on(files, reports) == files[8]
    assert asked == [files[7], files[8]]  # only files with enough lines and asyncio text
    with pytest.raises(BenchmarkError, match="reports on none"):
        corpus_files.file_reported_on(files, lambda path: False)

    # Nearest 2,000 lines among files with coroutines and asyncio; the first among equals.
    long_file(files[12], "import asyncio\nasync def f(): asyncio.sleep\n", 1_900)
    long_file(files[13], "import asyncio\nasync def f(): asyncio.sleep\n", 2_098)
    long_file(files[14], "import asyncio\n", 2_000)  # no coroutine
    assert corpus_files.file_nearest_lines(files, 2_000) == files[12]
    with pytest.raises(BenchmarkError, match="no file of the corpus has coroutines"):
        corpus_files.file_nearest_lines(files[:5], 2_000)


FAKE_RECHECK = """\
import json, sys
folder, path, edits, *grow = [a for a in sys.argv[1:] if a not in ("--every-rule", "--code-edit")]
assert path.startswith(folder)
lines = int(grow[0]) if grow else 1990
print(json.dumps({"samples": [[0.01 * (i + 1), 0.005] for i in range(int(edits))], "findings": 2, "lines": lines}))
"""


def test_single_file_rows_run_ruff_and_loopcheck_alone_and_the_server_rechecks(tmp_path, monkeypatch):
    monkeypatch.setattr(plan, "MAX_REPEATS", 1)
    monkeypatch.setattr(plan, "SERVER_SCRIPT", tmp_path / "recheck.py")
    (tmp_path / "recheck.py").write_text(FAKE_RECHECK)
    dirs = make_corpus(tmp_path / "pinned")
    files = corpus_files.python_files(dirs)
    plain = long_file(files[1], "", 120)
    candidate = long_file(files[12], "import asyncio\nlock = asyncio.Lock()\n", 120)
    large = long_file(files[15], "import asyncio\nasync def f(): asyncio.sleep\n", 1_990)
    planner = planner_for(tmp_path, dirs)
    for name, body in (("ruff", "exit 0"), ("python", f'exec {sys.executable} "$@"')):
        planner.venvs.peers.bin(name).write_text(f"#!/bin/sh\n{body}\n")
        planner.venvs.peers.bin(name).chmod(0o755)
    planner.add_single(files)
    assert [b.key for b in planner.benchmarks] == [
        "single-ruff-plain", "single-loopcheck-plain", "single-ruff-candidate", "single-loopcheck-candidate",
        "server-recheck", "server-recheck-grown", "server-recheck-grown-code"]
    by_key = {b.key: b for b in planner.benchmarks}
    assert by_key["single-loopcheck-plain"].command == "loopcheck -q --no-cache <alpha/alpha/m01.py>"
    assert by_key["single-loopcheck-candidate"].command == "loopcheck -q --no-cache --select LCK <beta/beta/m02.py>"
    assert by_key["single-ruff-candidate"].command == (
        "ruff check --isolated --no-cache --select ASYNC,RUF006 <beta/beta/m02.py>")
    assert by_key["single-loopcheck-candidate"].lines == candidate.read_bytes().count(b"\n")
    assert by_key["server-recheck"].label.endswith("(`beta/beta/m05.py`)") and large == files[15]
    assert by_key["server-recheck-grown"].label.endswith("(`beta/beta/m02.py` grown to 2,000 lines, `--select LCK`)")
    assert by_key["server-recheck-grown"].command == "server_recheck.py --every-rule <beta/beta/m02.py> 10 2000"
    assert by_key["server-recheck-grown-code"].command == (
        "server_recheck.py --every-rule --code-edit <beta/beta/m02.py> 10 2000")
    assert all(b.extrapolate_to_lines is None for b in planner.benchmarks)
    for step in planner.steps:
        step.run(1)
    assert [len(b.samples) for b in planner.benchmarks] == [1, 1, 1, 1, *[plan.SERVER_EDITS] * 3]
    assert by_key["server-recheck-grown"].lines == 2000  # the document checked
    assert [s.exit_code for s in by_key["single-loopcheck-candidate"].samples] == [1]  # it reports
    assert [s.exit_code for s in by_key["single-loopcheck-plain"].samples] == [0]
    recheck = by_key["server-recheck"].samples
    assert [s.wall_s for s in recheck[:2]] == [0.01, 0.02] and recheck[0].cpu_s == 0.005
    assert plain != candidate


def test_the_single_file_table_and_the_targets_of_issue_20():
    run = fake_run()
    run.benchmarks += [
        bench("single-ruff-plain", [0.005, 0.004, 0.006], lines=400, files=1),
        bench("single-loopcheck-plain", [0.12, 0.14, 0.16], lines=400, files=1),
        bench("single-ruff-candidate", [0.01, 0.01, 0.01], lines=500, files=1),
        bench("single-loopcheck-candidate", [0.36, 0.4, 0.38], lines=500, files=1),
        bench("server-recheck", [0.02, 0.03, 0.05], lines=1900, files=1),
        bench("server-recheck-grown", [0.2, 0.3, 0.5], lines=2100, files=1),
        bench("server-recheck-grown-code", [0.4, 0.5, 0.6], lines=2100, files=1),
    ]
    text = render_markdown(run)
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    # Each loopcheck row against Ruff on the same file: 140 ms / 5 ms, 380 ms / 10 ms.
    assert rows["label of single-loopcheck-plain"] == "| label of single-loopcheck-plain | 400 | 140 | 120–160 | 280 | 50 | 28.0 |"
    assert rows["label of single-loopcheck-candidate"].endswith("| 380 | 360–400 | 760 | 50 | 38.0 |")
    assert rows["label of server-recheck"].endswith("| 30 | 20–50 | 60 | 50 | – |")
    assert text.count("label of single-loopcheck-plain") == 1  # not in the main table
    assert "| 20 | one file with no candidate construct < 150 ms (no cache) | 140 ms (CPU 280 ms) | ✅ pass |" in text
    assert "| 20 | one file with a candidate < 350 ms (no cache) | 380 ms (CPU 760 ms) | ❌ fail |" in text
    assert "| 20 | language server re-checks a 2,000-line file < 100 ms after an edit | 30 ms (CPU 60 ms) | ✅ pass |" in text
    assert "| 20 | the same, a 2,000-line file with findings (the candidate grown) | 300 ms (CPU 600 ms) | ❌ fail |" in text
    assert "| 20 | the same, each edit a statement added (checked in full) | 500 ms (CPU 1,000 ms) | ❌ fail |" in text


def test_the_server_recheck_times_the_check_of_each_edit_with_its_findings(tmp_path):
    path = tmp_path / "app.py"
    path.write_text("import asyncio\n\nlock = asyncio.Lock()\n")
    measured = recheck_times(str(tmp_path), str(path), 3)
    assert measured["findings"] == 1  # the LCK101 finding: a real check, edit after edit
    assert len(measured["samples"]) == 3 and measured["lines"] == 6  # three comment lines added
    # An opt-in rule's finding only with every rule.
    (tmp_path / "later.py").write_text("import asyncio\n\nasync def f():\n    return asyncio.get_event_loop()\n")
    assert recheck_times(str(tmp_path), str(tmp_path / "later.py"), 1)["findings"] == 0
    assert recheck_times(str(tmp_path), str(tmp_path / "later.py"), 1, every_rule=True)["findings"] == 1
    path.write_text("from __future__ import annotations\n" + path.read_text())
    grown = recheck_times(str(tmp_path), str(path), 1, 20)
    # The first copy and six more without the __future__ import (still valid: 7 findings).
    assert grown["findings"] == 7 and grown["lines"] == 4 + 6 * 3 + 1  # one edit
    assert all(wall > 0 and cpu >= 0 for wall, cpu in measured["samples"])
