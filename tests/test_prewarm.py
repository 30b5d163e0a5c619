"""The worker a run over a few files starts as the command starts (``run/prewarm.py``): it gives
the findings this process would, a run whose worker is gone checks the files itself, and a worker
the run does not take is ended."""

from __future__ import annotations

import os

import pytest

from loopcheck.run import prewarm, runner
from loopcheck.settings.config import Settings
from tests.helpers import write

STORE = """\
import asyncio

_lock = asyncio.Lock()


async def guarded():
    async with _lock:
        await asyncio.sleep(0)
"""

TASK = """\
import asyncio

from app.store import guarded


def task():
    asyncio.run(guarded())
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    write(tmp_path / "pyproject.toml", '[project]\nname = "app"\nversion = "0"\n')
    write(tmp_path / "app" / "__init__.py", "")
    write(tmp_path / "app" / "store.py", STORE)
    write(tmp_path / "app" / "tasks.py", TASK)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(prewarm, "_cores", lambda: 2)  # the worker is started on any machine
    yield tmp_path
    prewarm.stop()


def job() -> runner.Job:
    return runner.Job(Settings(), ("LCK101",), runner.Mode(), None)


def findings(jobs: int) -> list[list[tuple[int, str, int]]]:
    return [
        [(d.line, d.code, len(d.evidence)) for d in result.diagnostics]
        for result in runner.check_files(["app/store.py"], job(), jobs)
    ]


def checked_here(monkeypatch) -> list[str]:
    """The files this process checks itself from now on (the worker, forked before, does not
    see the change)."""
    here: list[str] = []
    real = runner.check_file

    def counted(checker, path):
        here.append(path)
        return real(checker, path)

    monkeypatch.setattr(runner, "check_file", counted)
    return here


def test_the_worker_started_early_gives_the_findings_of_this_process(project, monkeypatch):
    expected = findings(1)
    assert expected == [[(3, "LCK101", 1)]]  # with the evidence of the loop in app/tasks.py
    prewarm.start(["-q", "app/store.py"])
    worker = prewarm._worker
    assert worker is not None
    here = checked_here(monkeypatch)
    assert findings(2) == expected
    assert here == []  # the worker checked it
    assert prewarm._worker is None and worker.pid == 0  # taken, and reaped once done


def test_a_run_whose_worker_is_gone_checks_its_files_itself(project, monkeypatch):
    expected = findings(1)
    prewarm.start(["app/store.py"])
    worker = prewarm._worker
    assert worker is not None
    os.kill(worker.pid, 9)
    here = checked_here(monkeypatch)
    assert findings(2) == expected
    assert here == ["app/store.py"]


def test_a_worker_the_run_does_not_take_is_ended(project):
    prewarm.start(["app/store.py"])
    worker = prewarm._worker
    assert worker is not None
    pid = worker.pid
    prewarm.stop()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no such child any more
    assert prewarm._worker is None


@pytest.mark.parametrize(
    ("arguments", "started"),
    [
        (["app/store.py"], True),
        (["-q", "--select", "LCK1", "app/store.py", "app/tasks.py"], True),
        (["app/tasks.py"], False),  # nothing LibCST would check: a loop start only
        (["--fix", "app/store.py"], False),
        (["-j", "1", "app/store.py"], False),
        (["--jobs=1", "app/store.py"], False),
        (["app"], False),  # a directory: many files, perhaps
        (["app/missing.py"], False),
    ],
)
def test_the_worker_is_started_for_a_few_files_libcst_will_check(project, arguments, started):
    prewarm.start(arguments)
    assert (prewarm._worker is not None) is started
