"""loopcheck as a real process with little of something: file descriptors, memory, stack,
/dev/shm, a working directory; odd configuration files; deep directory trees; many fixes in one
file. Every run has a timeout, so a hang fails the test instead of stalling the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import write

LOCK = "import asyncio\n\n_lock = asyncio.Lock()\n\n\nasync def use():\n    async with _lock:\n        pass\n"
HANG_GUARD = 60  # seconds: longer is a hang, not a slow run


def run(*args: object, cwd: Path, timeout: float = HANG_GUARD, **options) -> subprocess.CompletedProcess:
    """``loopcheck ARGS`` in a process of its own (text out)."""
    return subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        **options,
    )


def one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit status 2, and one line on stderr that says what went wrong."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


# -- discovery ------------------------------------------------------------------------------


def test_a_directory_tree_deeper_than_the_recursion_limit_is_walked(tmp_path):
    directory = tmp_path
    for _ in range(1_100):  # os.makedirs itself recurses
        directory = directory / "d"
        directory.mkdir()
    write(directory / "bad.py", LOCK)
    try:
        result = run(".", cwd=tmp_path)
    finally:
        # Removed here, deepest first: shutil.rmtree (pytest's clean-up) recurses on 3.10/3.11.
        (directory / "bad.py").unlink()
        while directory != tmp_path:
            directory.rmdir()
            directory = directory.parent
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    assert "d/" * 1_100 + "bad.py:3:9: LCK101" in result.stdout
