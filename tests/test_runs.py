"""Runs over many files: results in a stable order whatever the parallelism, the results cache
(hits, misses, configuration, concurrency, --no-cache, --cache-dir, LOOPCHECK_CACHE_DIR), and the
progress display that only a terminal sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from loopcheck.files import absolute
from loopcheck.run import runner
from loopcheck.settings.config import Settings
from tests.helpers import invoke, write

PRIMITIVE = "import asyncio\n\nlock_{i} = asyncio.Lock()\n\n\nasync def use():\n    async with lock_{i}:\n        pass\n"
CLEAN = "import asyncio\n\n\ndef main_{i}():\n    asyncio.run(work())\n"


def project(root: Path, count: int = 60) -> Path:
    """``count`` files, every third clean, in nested directories (discovery order matters)."""
    for i in range(count):
        text = (CLEAN if i % 3 == 0 else PRIMITIVE).format(i=i)  # no two files alike
        write(root / f"pkg{i % 4}" / f"mod{i:03}.py", text)
    write(root / "pyproject.toml", "[tool.loopcheck]\n")
    return root


def lines(result) -> list[str]:
    return [line for line in result.output.splitlines() if ": LCK" in line]


def test_parallel_and_serial_runs_report_the_same_findings_in_the_same_order(tmp_path):
    project(tmp_path)
    serial = invoke("--no-cache", "-j", "1", ".", cwd=tmp_path)
    parallel = invoke("--no-cache", "-j", "3", ".", cwd=tmp_path)
    assert serial.exit_code == parallel.exit_code == 1
    assert lines(serial) == lines(parallel) == sorted(lines(serial), key=_position)
    assert len(lines(serial)) == 40


def _position(line: str) -> tuple:
    path, row, column, _ = line.split(":", 3)
    return (path, int(row), int(column))


def test_a_warm_run_gives_the_cold_runs_results_from_the_cache(tmp_path):
    project(tmp_path)
    cold = invoke(".", cwd=tmp_path)
    cache = tmp_path / ".loopcheck_cache"
    assert cache.is_dir() and (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    entries = sorted(p for p in cache.rglob("*") if p.is_file())
    warm = invoke(".", cwd=tmp_path)
    assert lines(warm) == lines(cold) and warm.exit_code == cold.exit_code == 1
    assert sorted(p for p in cache.rglob("*") if p.is_file()) == entries  # nothing new to store


def test_the_cache_is_used_only_where_nothing_that_decides_results_changed(tmp_path, monkeypatch):
    project(tmp_path, count=6)
    invoke("-j", "1", ".", cwd=tmp_path)
    checked: list[str] = []
    original = runner.check_source

    def counting(checker, source, mode, write, *more):
        checked.append(Path(source.path).name)
        return original(checker, source, mode, write, *more)

    monkeypatch.setattr(runner, "check_source", counting)  # counted in this process: -j 1
    invoke("-j", "1", ".", cwd=tmp_path)
    assert checked == []  # all six from the cache
    changed = tmp_path / "pkg1" / "mod001.py"
    changed.write_text(changed.read_text() + "\n# edited\n")
    invoke("-j", "1", ".", cwd=tmp_path)
    assert checked == ["mod001.py"]
    checked.clear()
    invoke("-j", "1", "--select", "LCK101", ".", cwd=tmp_path)  # other rules: other entries
    assert len(checked) == 6
    checked.clear()
    (tmp_path / "pyproject.toml").write_text('[tool.loopcheck]\nextra-clients = ["shop.Client"]\n')
    invoke("-j", "1", ".", cwd=tmp_path)  # other configuration: other entries
    assert len(checked) == 6
    checked.clear()
    invoke("-j", "1", "--no-cache", ".", cwd=tmp_path)
    assert len(checked) == 6


def test_the_same_relative_path_is_looked_up_from_each_current_directory(tmp_path, monkeypatch):
    """Two runs in one process (an editor, a test runner) from two directories: the cache's
    absolute paths follow the current directory, so one's results are never the other's."""
    for name, source in (("a", "import asyncio\n\nlock = asyncio.Lock()\n"), ("b", "x = 1\n")):
        write(tmp_path / name / "app.py", source)
    assert absolute("app.py") == os.path.abspath("app.py")
    cache = str(tmp_path / "cache")
    for name, findings in (("a", 1), ("b", 0), ("a", 1)):
        monkeypatch.chdir(tmp_path / name)
        assert absolute("app.py") == str(tmp_path / name / "app.py")
        result = invoke("--cache-dir", cache, "--output-format", "json", "app.py", cwd=tmp_path / name)
        assert len(json.loads(result.output)) == findings


def test_fix_runs_never_take_results_from_the_cache(tmp_path):
    target = write(tmp_path / "app.py", "import asyncio\n\n\nasync def now():\n    return asyncio.get_event_loop()\n")
    write(tmp_path / "pyproject.toml", '[tool.loopcheck]\nextend-select = ["LCK401"]\n')
    assert invoke(".", cwd=tmp_path).exit_code == 1
    assert invoke("--fix", ".", cwd=tmp_path).exit_code == 0
    assert "get_running_loop" in target.read_text()
    assert invoke(".", cwd=tmp_path).exit_code == 0


def test_the_cache_directory_follows_the_option_then_the_environment(tmp_path, monkeypatch):
    project(tmp_path, count=3)
    invoke("--cache-dir", "elsewhere", ".", cwd=tmp_path)
    assert (tmp_path / "elsewhere" / ".gitignore").is_file()
    monkeypatch.setenv("LOOPCHECK_CACHE_DIR", str(tmp_path / "from-env"))
    invoke(".", cwd=tmp_path)
    assert (tmp_path / "from-env" / ".gitignore").is_file()
    assert not (tmp_path / ".loopcheck_cache").exists()
    invoke("--no-cache", ".", cwd=tmp_path)
    monkeypatch.delenv("LOOPCHECK_CACHE_DIR")
    invoke("--no-cache", ".", cwd=tmp_path)
    assert not (tmp_path / ".loopcheck_cache").exists()


def test_concurrent_runs_share_one_cache_safely(tmp_path):
    project(tmp_path, count=40)
    expected = subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", "."], cwd=tmp_path, capture_output=True, timeout=300
    ).stdout

    def one_run(_: int) -> bytes:
        return subprocess.run(
            [sys.executable, "-m", "loopcheck", "-j", "1", "."], cwd=tmp_path, capture_output=True, timeout=300
        ).stdout

    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(one_run, range(4)))
    assert outputs == [expected] * 4
    assert one_run(0) == expected  # and the cache they left is sound


def test_json_output_from_the_cache_still_carries_the_fixes_edits(tmp_path):
    project(tmp_path, count=3)
    invoke(".", cwd=tmp_path)  # warms the cache without edits
    data = json.loads(invoke("--output-format", "json", ".", cwd=tmp_path).output)
    assert data and all(d["fix"] is None or d["fix"]["edits"] for d in data)


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_a_terminal_sees_progress_and_a_pipe_does_not(tmp_path):
    project(tmp_path, count=400)
    env = dict(os.environ)  # 400 files of findings, one process: well past the half second it waits
    command = [sys.executable, "-m", "loopcheck", "--no-cache", "-j", "1", "."]
    piped = subprocess.run(command, cwd=tmp_path, capture_output=True, env=env, timeout=300)
    assert b"checked" not in piped.stderr
    leader, follower = os.openpty()
    try:
        with_terminal = subprocess.run(
            command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=follower, env=env, timeout=300
        )
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    assert b"loopcheck: checked" in seen and with_terminal.stdout == piped.stdout
    quiet = subprocess.run([*command, "-q"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300)
    assert b"checked" not in quiet.stderr and b"Found" not in quiet.stdout


def test_a_change_to_loopcheck_itself_invalidates_the_cache(tmp_path, monkeypatch):
    from loopcheck.run import cache

    # Taken once per run (process): each call below stands for a new run.
    cache._data_fingerprint.cache_clear()
    first = cache._data_fingerprint()
    rule = Path(cache.__file__).parents[1] / "rules" / "primitives" / "lck101_module_level_primitive.py"
    info = rule.stat()
    try:
        os.utime(rule, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
        assert cache._data_fingerprint() == first  # the same run: the same fingerprint
        cache._data_fingerprint.cache_clear()
        assert cache._data_fingerprint() != first
    finally:
        os.utime(rule, ns=(info.st_atime_ns, info.st_mtime_ns))
        cache._data_fingerprint.cache_clear()
    assert cache._data_fingerprint() == first


def test_a_parallel_run_over_some_changed_files_ends_cleanly(tmp_path):
    """Most files from the cache, the changed ones in worker processes: the pool must be shut
    down by the run, not by the interpreter on its way out (which printed a traceback)."""
    files = [p for p in project(tmp_path, count=90).rglob("*.py")]
    command = [sys.executable, "-m", "loopcheck", "-j", "2", "."]
    for round_ in range(12):
        for path in files[: 40 + round_]:
            path.write_text(path.read_text() + "\n")
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=300)
        assert result.returncode == 1
        assert b"Traceback" not in result.stderr and b"Exception ignored" not in result.stderr, result.stderr


def _findings_every_way(root: Path, tmp_path: Path) -> None:
    """The findings over ``root`` are the same in one process without the cache, in several
    processes filling a cache, and from that cache."""
    def run(*options: str) -> bytes:
        result = subprocess.run(
            [sys.executable, "-m", "loopcheck", "--output-format", "concise", *options, str(root)],
            capture_output=True, timeout=3600,
        )
        assert b"internal error" not in result.stderr and b"Traceback" not in result.stderr
        return result.stdout

    cache = str(tmp_path / "cache")
    serial = run("--no-cache", "-j", "1")
    assert serial.count(b": LCK") > 10
    assert run("-j", "2", "--cache-dir", cache) == serial  # cold, filling the cache
    assert run("-j", "2", "--cache-dir", cache) == serial  # warm


def test_the_fixtures_give_the_same_findings_with_and_without_cache_and_parallelism(tmp_path):
    _findings_every_way(Path(__file__).parent / "fixtures", tmp_path)


CORPUS = Path(os.environ.get("LOOPCHECK_CORPUS", Path.home() / ".cache/loopcheck-corpus")) / "src"


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="run ../shared/bench/corpus.sh first")
def test_the_corpus_gives_the_same_findings_with_and_without_cache_and_parallelism(tmp_path):
    _findings_every_way(CORPUS, tmp_path)


def test_a_few_files_are_checked_beside_the_model_only_where_a_worker_forks_at_once():
    # Many files: every job. A few: one worker per chunk while this process builds the model,
    # if a worker can be forked; none when the model is built first (fixing) or with -j 1.
    assert runner._workers_for(100, 2, overlap=lambda: False) == 2
    assert runner._workers_for(1, 2, overlap=lambda: True) == (1 if runner._FORKS else 0)
    assert runner._workers_for(runner.CHUNK + 1, 4, overlap=lambda: True) == (2 if runner._FORKS else 0)
    assert runner._workers_for(1, 2, overlap=lambda: False) == 0
    assert runner._workers_for(1, 1, overlap=lambda: True) == 0
    assert runner._workers_for(0, 2, overlap=lambda: True) == 0


def test_only_a_file_some_rule_may_report_on_is_worth_a_forked_worker(tmp_path):
    # A file the candidate stage's text test drops is checked here: a process started for it
    # would cost more than its check. One a rule may report on, or one that cannot be read
    # (the usual path reports it), and many files go to the workers as before.
    checker = runner.Checker(runner.Job(Settings(), ("LCK101",), runner.Mode(), None))
    plain = write(tmp_path / "plain.py", "import os\n\nvalue = os.sep\n")
    candidate = write(tmp_path / "candidate.py", PRIMITIVE.format(i=1))
    assert not runner._worth_a_worker(checker, [str(plain)])
    assert runner._worth_a_worker(checker, [str(plain), str(candidate)])
    assert runner._worth_a_worker(checker, [str(tmp_path / "missing.py")])
    many = [str(plain)] * runner.PARALLEL_THRESHOLD  # go to the workers whatever they hold
    assert runner._workers_for(len(many), 2, overlap=lambda: runner._worth_a_worker(checker, many)) == 2


def test_a_changed_file_checked_in_a_worker_gives_what_this_process_gives(tmp_path):
    project(tmp_path, count=3)
    invoke(".", cwd=tmp_path)
    changed = tmp_path / "pkg1" / "mod001.py"
    changed.write_text(changed.read_text() + "\n# edited\n")
    beside = invoke("-j", "2", ".", cwd=tmp_path)  # the changed file in a forked worker
    changed.write_text(changed.read_text() + "\n# edited again\n")
    alone = invoke("-j", "1", ".", cwd=tmp_path)
    assert lines(beside) == lines(alone) and beside.exit_code == alone.exit_code == 1
