"""``--watch``: the run again when a checked file or the configuration changes, until Ctrl-C."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from loopcheck.frontends.watch import changed, stamps, watch
from tests.helpers import invoke, write

LOCKED = "import asyncio\n\nlock = asyncio.Lock()\n"
# The longest a real watch may take to notice a change and check again before the test gives up
# (a guard against hanging, not a measurement).
PATIENCE = 60.0


def test_stamps_and_changes(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    write(a, "x = 1\n")
    before = stamps([a, b])
    assert list(before) == [str(a)]  # b does not exist: left out
    write(b, "y = 2\n")
    write(a, "x = 10\n")  # another size
    after = stamps([a, b])
    assert changed(before, after) == [str(a), str(b)]
    a.unlink()
    assert changed(after, stamps([a, b])) == [str(a)]
    assert changed(after, after) == []


def test_watch_checks_again_only_on_a_change_and_stops_on_ctrl_c():
    looks = iter([{"a.py": (1, 1)}, {"a.py": (1, 1)}, {"a.py": (2, 1)}, {"a.py": (2, 1)}, {}, None])
    checks = []

    def look():
        seen = next(looks)
        if seen is None:
            raise KeyboardInterrupt
        return seen

    class Stream:
        text = ""

        def write(self, text):
            self.text += text

        def flush(self):
            pass

    stream = Stream()
    status = watch(lambda: checks.append(1) or 0, look, stream, interval=0, sleep=lambda _: None, clock=lambda: "T")
    assert status == 0
    assert len(checks) == 3  # the first, a.py modified, a.py deleted
    assert stream.text.splitlines()[0] == "[T] Watching for file changes (Ctrl-C stops)."
    assert "[T] Changed: a.py. Checking again." in stream.text


@pytest.mark.parametrize("other", ["--add-noqa", "--write-baseline", "--show-files"])
def test_watch_refuses_options_that_write_or_end_the_run(tmp_path, other):
    result = invoke("--watch", other, cwd=tmp_path)
    assert result.exit_code == 2
    assert f"--watch and {other} cannot be used together" in result.output


def test_watch_refuses_standard_input(tmp_path):
    result = invoke("--watch", "-", cwd=tmp_path)
    assert result.exit_code == 2
    assert "--watch cannot be used with `-` (standard input)" in result.output


def _lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def _until(lines: queue.Queue, wanted: str, seen: list[str]) -> None:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if wanted in line:
            return
    raise AssertionError(f"{wanted!r} never came; output so far:\n{''.join(seen)}")


def test_a_real_watch_sees_a_new_finding_a_fix_and_a_configuration_change(tmp_path):
    write(tmp_path / "app.py", "import asyncio\n")
    env = {**os.environ, "LOOPCHECK_WATCH_INTERVAL": "0.1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "loopcheck", "--watch", "--no-cache", "."],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        _until(lines, "All checks passed.", seen)
        write(tmp_path / "app.py", LOCKED)
        _until(lines, "Changed: app.py. Checking again.", seen)
        _until(lines, "app.py:3:8: LCK101", seen)
        _until(lines, "Found 1 finding.", seen)
        # The configuration is watched too: ignoring the code is a change.
        write(tmp_path / "pyproject.toml", '[tool.loopcheck]\nignore = ["LCK101"]\n')
        _until(lines, "Changed: pyproject.toml. Checking again.", seen)
        _until(lines, "All checks passed.", seen)
    finally:
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=PATIENCE)
    rest = process.stdout.read() if process.stdout else ""
    assert status == 0
    assert "Traceback" not in "".join(seen) + rest
    assert Path(tmp_path / "app.py").read_text() == LOCKED  # a watch without --fix writes nothing
