"""No thread of loopcheck's own runs when it forks its worker processes: a process forked while
another thread runs may deadlock in the child (a lock that thread held stays held there), and
Python 3.12 warns of it ("This process is multi-threaded, use of fork() may lead to
deadlocks"). Two threads could: the progress line's timer (a run on a terminal), and the
analysis thread an earlier check in the same process left (``--watch``, or loopcheck used as a
library), both started before the workers are forked. They are stopped, and waited for until
the system has no thread of theirs left.

Each run is in a process of its own, whose first act is a before-fork hook that records every
other live thread: hooks registered first run last, after loopcheck's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loopcheck.run.runner import PARALLEL_THRESHOLD
from tests.helpers import write

pytestmark = pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="no fork here")

DRIVER = """\
import json, os, sys, threading

alive = []


def record():
    alive.extend(t.name for t in threading.enumerate() if t is not threading.current_thread() and t.is_alive())


os.register_at_fork(before=record)

from loopcheck.frontends.entry import main

out, *runs = sys.argv[1:]
for arguments in runs:
    sys.argv = ["loopcheck", *arguments.split()]
    try:
        main()
    except SystemExit:
        pass
with open(out, "w") as stream:
    json.dump(alive, stream)
"""

BAD = "import asyncio\n\nlock = asyncio.Lock()\n\n\nasync def use():\n    async with lock:\n        pass\n"


def project(root: Path) -> Path:
    """Enough files that two workers check them."""
    for number in range(PARALLEL_THRESHOLD + 2):
        write(root / "app" / f"m{number}.py", BAD)
    return root


def run(root: Path, *runs: str, stderr: int | None = None) -> tuple[list[str], str]:
    """The threads alive at each fork of ``runs`` (each loopcheck's arguments, in one process),
    and what went to stderr (when it is not ``stderr``)."""
    driver = write(root / "driver.py", DRIVER)
    out = root / "alive.json"
    command = [sys.executable, "-W", "always::DeprecationWarning", str(driver), str(out), *runs]
    done = subprocess.run(
        command, cwd=root, stdout=subprocess.DEVNULL, stderr=stderr or subprocess.PIPE, timeout=120, text=True
    )
    return json.loads(out.read_text()), done.stderr or ""


def test_an_earlier_check_in_the_process_leaves_no_thread_running_at_the_fork(tmp_path):
    root = project(tmp_path)
    # The first run checks one file here (its analysis thread starts), the second forks workers.
    alive, stderr = run(root, "-q --no-cache -j 1 app/m0.py", "-q --no-cache -j 2 app")
    assert "Traceback" not in stderr
    assert alive == []
    assert "multi-threaded" not in stderr  # what Python 3.12 and later say


@pytest.mark.skipif(sys.platform == "win32", reason="needs a terminal")
def test_the_progress_line_leaves_no_thread_running_at_the_fork(tmp_path):
    import pty

    root = project(tmp_path)
    leader, terminal = pty.openpty()  # stderr a terminal: the progress line's timer starts
    try:
        alive, _ = run(root, "--no-cache -j 2 app", stderr=terminal)
    finally:
        os.close(terminal)
        shown = b""
        try:
            while chunk := os.read(leader, 65536):
                shown += chunk
        except OSError:  # the terminal's other end is closed: all read
            pass
        os.close(leader)
    assert alive == []
    assert b"multi-threaded" not in shown and b"Traceback" not in shown


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="the system does not list a process's threads")
def test_a_stopped_thread_is_gone_from_the_system_before_the_fork_goes_on():
    """``Thread.join`` returns as the thread's Python code ends, a moment before the system's
    thread exits (here, in about two joins of five): a fork then is still a fork with a thread."""
    import threading

    from loopcheck.engine.limits import join_to_the_end

    for _ in range(200):
        thread = threading.Thread(target=lambda: None)
        thread.start()
        join_to_the_end(thread)
        assert not os.path.exists(f"/proc/self/task/{thread.native_id}")
