"""A warm run starts its worker processes at the first file the stat index does not answer for,
and hands them the other changed files once it has asked about them all: the findings are those
of one process whatever order the workers finish in, a file edited after its worker read it is
checked again by the next run, and a run with nothing changed starts no process at all."""

from __future__ import annotations

import concurrent.futures
import os
import time
from pathlib import Path

import pytest

from loopcheck.run import runner
from loopcheck.run.sources import discover
from loopcheck.settings.config import Settings
from tests.helpers import write
from tests.test_cache_integrity import settle

pytestmark = pytest.mark.skipif(not runner._FORKS, reason="the workers start early only where they fork")

PRIMITIVE = "import asyncio\n\nlock_{i} = asyncio.Lock()\n"
WAIT = 120  # seconds: a bound on a wait that should end at once, never a measurement


def warm_project(root: Path, count: int) -> tuple[list[str], runner.Job]:
    """``count`` files with a finding each, checked once into a cache whose index stands for them."""
    for i in range(count):
        write(root / f"mod{i:03}.py", PRIMITIVE.format(i=i))
    write(root / "pyproject.toml", "[tool.loopcheck]\n")
    files = discover([str(root)], Settings(root=root)).files
    settle(*(Path(path) for path in files))
    job = runner.Job(Settings(root=root), ("LCK101",), runner.Mode(), str(root / "cache"))
    list(runner.check_files(files, job, 1))
    return files, job


def change(path: str, i: int, extra: str = "") -> None:
    Path(path).write_text(PRIMITIVE.format(i=i) + extra)


def findings(results) -> list[tuple[str, int, str, str]]:
    return [(r.path, d.line, d.code, d.message) for r in results for d in r.diagnostics]


def in_one_process(files: list[str], job: runner.Job) -> list[tuple[str, int, str, str]]:
    return findings(runner.check_files(files, runner.Job(job.settings, job.enabled, job.mode, None), 1))


def test_the_first_changed_file_starts_the_workers_before_the_files_after_it_are_asked_about(tmp_path, monkeypatch):
    files, job = warm_project(tmp_path, 6)
    change(files[1], 101)
    change(files[4], 104)
    events: list[tuple[str, object]] = []
    real_cached, real_submit = runner.cached_result, runner.Workers.submit

    def asked(checker, path):
        events.append(("asked", path))
        return real_cached(checker, path)

    def handed_out(workers, paths):
        events.append(("handed out", list(paths)))
        return real_submit(workers, paths)

    monkeypatch.setattr(runner, "cached_result", asked)
    monkeypatch.setattr(runner.Workers, "submit", handed_out)
    results = list(runner.check_files(files, job, 2))
    assert events == [
        ("asked", files[0]), ("asked", files[1]), ("handed out", [files[1]]),
        *(("asked", path) for path in files[2:]), ("handed out", [files[4]]),
    ]
    assert findings(results) == in_one_process(files, job)
    assert any("lock_101" in message for *_, message in findings(results))


def test_workers_started_early_are_not_kept_waiting_for_the_projects_files(tmp_path, monkeypatch):
    """The model finds the projects' files once the workers have started (their checks offer it
    no summary then: it is ahead of them); a run whose workers do not start early finds them
    first, for its checks to offer."""
    files, job = warm_project(tmp_path, 6)
    change(files[1], 101)
    events: list[str] = []
    real_files, real_submit = runner.model_files, runner.Workers.submit

    def found(*args, **kwargs):
        events.append("projects' files found")
        return real_files(*args, **kwargs)

    def handed_out(workers, paths):
        events.append("handed out" if workers.pool._initargs[2].early is None else "handed out, offering")
        return real_submit(workers, paths)

    from loopcheck.run import project

    monkeypatch.setattr(runner, "model_files", found)  # the runner's lookup, and the model's own
    monkeypatch.setattr(project, "model_files", found)
    monkeypatch.setattr(runner.Workers, "submit", handed_out)
    results = list(runner.check_files(files, job, 2))
    assert events[0] == "handed out" and "projects' files found" in events
    assert findings(results) == in_one_process(files, job)
    events.clear()
    cold = runner.Job(job.settings, job.enabled, job.mode, str(tmp_path / "another cache"))
    assert findings(runner.check_files(files, cold, 2)) == in_one_process(files, job)  # no index: no early start
    assert events[:2] == ["projects' files found", "handed out, offering"]


def test_the_findings_are_those_of_one_process_when_the_first_files_worker_finishes_last(tmp_path, monkeypatch):
    files, job = warm_project(tmp_path, 6)
    first, others = files[1], files[3:5]
    for number, path in enumerate([first, *others]):
        change(path, 200 + number)
    expected = in_one_process(files, job)
    finished = tmp_path / "finished.log"  # the order the workers finished their files in
    real_check = runner.check_file

    def first_waits_for_the_others(checker, path):
        if path == first:
            deadline = time.monotonic() + WAIT
            while len(finished.read_text().split()) < len(others) if finished.exists() else True:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
        result = real_check(checker, path)
        with open(finished, "a") as log:
            log.write(path + "\n")
        return result

    monkeypatch.setattr(runner, "check_file", first_waits_for_the_others)
    results = list(runner.check_files(files, job, 2))
    assert finished.read_text().split() == [*sorted(others, key=lambda p: -os.path.getsize(p)), first]
    assert findings(results) == expected
    assert [r.path for r in results] == files


def test_a_file_edited_after_its_worker_read_it_is_checked_again_by_the_next_run(tmp_path, monkeypatch):
    files, job = warm_project(tmp_path, 4)
    target = files[2]
    change(target, 300)
    settle(Path(target))  # its new stat may stand for it: only a later edit must not
    real_read = runner.read_source
    parent = os.getpid()

    def edited_once_read(path, limit):
        source = real_read(path, limit)
        if path == target and os.getpid() != parent:
            change(target, 300, extra="other = asyncio.Lock()\n")
        return source

    monkeypatch.setattr(runner, "read_source", edited_once_read)
    read = findings(runner.check_files(files, job, 2))
    monkeypatch.setattr(runner, "read_source", real_read)
    assert [line for path, line, *_ in read if path == target] == [3]  # what the worker read
    after = findings(runner.check_files(files, job, 2))
    assert [line for path, line, *_ in after if path == target] == [3, 4]
    assert after == in_one_process(files, job)


def test_a_warm_run_with_nothing_changed_starts_no_worker(tmp_path, monkeypatch):
    files, job = warm_project(tmp_path, 5)

    def no_process(*args, **kwargs):
        raise AssertionError("a worker process was started")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_process)
    results = list(runner.check_files(files, job, 2))
    assert findings(results) == in_one_process(files, job) and len(results) == 5


def test_the_workers_start_early_only_in_a_warm_run_with_several_jobs(tmp_path):
    files, job = warm_project(tmp_path, 2)
    warm = runner.Checker(job)
    assert runner._starts_early(warm, 2)
    assert not runner._starts_early(warm, 1)
    assert not runner._starts_early(runner.Checker(runner.Job(job.settings, job.enabled, job.mode, None)), 2)
    empty = runner.Job(job.settings, job.enabled, job.mode, str(tmp_path / "empty-cache"))
    assert not runner._starts_early(runner.Checker(empty), 2)  # filling a cache: every file is checked


def test_workers_that_cannot_start_early_leave_the_changed_files_to_this_process(tmp_path, monkeypatch):
    files, job = warm_project(tmp_path, 40)
    for number, path in enumerate(files):  # enough changed files for the workers of many files
        change(path, 500 + number)
    expected = in_one_process(files, job)
    started: list[int] = []

    def too_few_descriptors(jobs, **kwargs):
        started.append(jobs)
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", too_few_descriptors)
    notes: list[str] = []
    results = list(runner.check_files(files, job, 2, notify=notes.append))
    assert started == [2]  # tried once, at the first changed file; not again for the rest
    assert notes == ["cannot start 2 worker processes (Too many open files); checking in one process"]
    assert findings(results) == expected
