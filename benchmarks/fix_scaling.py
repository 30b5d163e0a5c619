"""How the cost of ``--fix --unsafe-fixes`` grows with the number of findings in one file.

The file is N module-level ``asyncio.Lock()`` objects, each used by one coroutine (N LCK101
findings, each with an unsafe fix). For each N, the script times ``loopcheck --no-cache`` checking
a copy and then fixing another, in processes of their own (CPU time of the child, so a busy
machine counts less), and prints the ratio fix/check. It asserts nothing: fixing stays linear in
the findings when the ratio stays flat as N grows (it does not fall to 1: fixing also re-checks the
fixed file, which is larger).

    python benchmarks/fix_scaling.py              # N = 100, 300, 1000
    python benchmarks/fix_scaling.py 50 200       # other sizes
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (100, 300, 1000)


def locks_used_once(count: int) -> str:
    """A module with ``count`` private module-level locks, each used by one coroutine."""
    lines = ["import asyncio", ""]
    lines += [f"_lock_{n} = asyncio.Lock()" for n in range(count)]
    for n in range(count):
        lines += ["", "", f"async def use_{n}():", f"    async with _lock_{n}:", f"        return {n}"]
    return "\n".join(lines) + "\n"


def run(*args: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of ``loopcheck --no-cache ARGS``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", "-q", *args],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 1):
        raise SystemExit(f"loopcheck {' '.join(args)} failed: {result.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(sizes: tuple[int, ...]) -> None:
    print(f"{'findings':>8}  {'check s':>8}  {'fix s':>8}  {'fix/check':>9}  (CPU seconds)")
    with tempfile.TemporaryDirectory() as directory:
        for count in sizes:
            source = locks_used_once(count)
            checked, fixed = Path(directory, f"check_{count}.py"), Path(directory, f"fix_{count}.py")
            checked.write_text(source)
            fixed.write_text(source)
            _, check = run(os.fspath(checked))
            _, fix = run("--fix", "--unsafe-fixes", os.fspath(fixed))
            print(f"{count:>8}  {check:>8.2f}  {fix:>8.2f}  {fix / check:>9.1f}", flush=True)


if __name__ == "__main__":
    main(tuple(int(arg) for arg in sys.argv[1:]) or SIZES)
