"""What loopcheck reads and writes, through the real command line: line endings and `# noqa`,
diffs that patch tools accept, source encodings, the size limit's advice, SARIF locations, the
terminal excerpt and the flake8 plugin's configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HANG_GUARD = 120  # seconds: a run that takes longer is a hang, not a slow run

# One finding silenced by `# noqa` (line 5), one not (line 9); both have a safe fix.
NOQA_SOURCE = (
    "import asyncio\n"
    "\n"
    "\n"
    "async def now():\n"
    "    return asyncio.get_event_loop().time()  # noqa\n"
    "\n"
    "\n"
    "async def later():\n"
    "    return asyncio.get_event_loop().time()\n"
)


def run(*args: object, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """``loopcheck ARGS`` in a process of its own (bytes out)."""
    return subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=HANG_GUARD,
    )


def no_traceback(result: subprocess.CompletedProcess) -> None:
    for stream in (result.stdout, result.stderr):
        assert b"Traceback" not in stream, stream.decode(errors="replace")


def with_endings(source: str, ending: str) -> str:
    if ending == "mixed":  # CR, CRLF and LF in turn
        lines = source.split("\n")
        ends = ["\r", "\r\n", "\n"]
        return "".join(line + ends[i % 3] for i, line in enumerate(lines[:-1])) + lines[-1]
    return source.replace("\n", ending)


# -- `# noqa` and line endings ------------------------------------------------------------


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r", "mixed"], ids=["LF", "CRLF", "CR", "mixed"])
def test_noqa_holds_for_every_line_ending_in_check_and_fix(tmp_path, ending):
    source = with_endings(NOQA_SOURCE, ending)
    target = tmp_path / "app.py"
    target.write_bytes(source.encode())
    checked = run("app.py", cwd=tmp_path)
    no_traceback(checked)
    reported = [line.split(b" ")[0] for line in checked.stdout.splitlines() if b"LCK" in line]
    assert reported == [b"app.py:9:12:"], checked.stdout.decode()
    assert checked.returncode == 1
    fixed = run("--fix", "--unsafe-fixes", "app.py", cwd=tmp_path)
    no_traceback(fixed)
    assert fixed.returncode == 0, fixed.stderr.decode()
    # Only the unsuppressed line is rewritten; every line ending stays as it was.
    lines = with_endings(NOQA_SOURCE, ending).split("get_event_loop")
    expected = "get_event_loop".join(lines[:2]) + "get_running_loop" + lines[2]
    assert target.read_bytes() == expected.encode()
