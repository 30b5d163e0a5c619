"""The results cache never serves what a fresh run would not (a file replaced while it was
checked, a limit changed, a same-size edit with its mtime put back, cache files of another
shape), a file is checked once however it is named, and ``--fix`` never writes over an edit made
while it ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loopcheck import cache, runner, writing
from tests.helpers import invoke, write

BAD = "import asyncio\n\nlock = asyncio.Lock()\n\n\nasync def use():\n    async with lock:\n        pass\n"
# The same size, and nothing to find: asyncio has no Lonk.
QUIET = BAD.replace("Lock()", "Lonk()")
CLEAN = "import asyncio\n\n\ndef main():\n    asyncio.run(work())\n"
IN_COROUTINE = "import asyncio\n\n\nasync def now():\n    return asyncio.get_event_loop().time()\n"
HANG_GUARD = 120  # seconds


def run(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    """``loopcheck ARGS`` in a process of its own, with the cache (text out)."""
    return subprocess.run(
        [sys.executable, "-m", "loopcheck", "-j", "1", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )


def settle(*paths: Path) -> None:
    """Wait until each file's last change is older than the cache's racy margin, so that a run
    puts its stat into the index (a stat taken in the tick of a change is never trusted)."""
    for path in paths:
        changed = path.stat().st_ctime_ns
        coarse = changed % 1_000_000_000 == 0  # a file system without sub-second times
        margin = getattr(cache, "COARSE_RACY_MARGIN_NS" if coarse else "RACY_MARGIN_NS", 0)
        while time.time_ns() - margin <= changed:
            time.sleep(0.02)


def index_of(root: Path) -> dict:
    (index,) = root.glob(".loopcheck_cache/*/index.json")
    return json.loads(index.read_text())


# -- one file, many names ----------------------------------------------------------------------------


def test_a_file_named_several_ways_is_checked_and_reported_once(tmp_path):
    write(tmp_path / "a.py", BAD)
    (tmp_path / "dir").mkdir()
    result = run("--no-cache", "a.py", "./a.py", "dir/../a.py", tmp_path / "a.py", ".", cwd=tmp_path)
    lines = [line for line in result.stdout.splitlines() if "LCK101" in line]
    assert len(lines) == 1 and lines[0].startswith("a.py:3:8: LCK101"), result.stdout  # the first name
    assert result.returncode == 1 and "Found 1 finding." in result.stdout


# -- --fix and an edit made while it runs ------------------------------------------------------------


def _edit_during_fix(target: Path, how: str):
    """A stand-in for the step of writing between the first comparison and the rename: the user
    saves an edit then."""

    def edit() -> None:
        if how == "append":
            with open(target, "a") as stream:
                stream.write("# saved by the user\n")
        else:  # same size, modification time put back: only the ctime and the bytes tell
            before = target.stat()
            with open(target, "r+") as stream:
                stream.write(IN_COROUTINE.replace("now", "mow"))
            os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))

    return edit


@pytest.mark.parametrize("how", ["append", "same-size"])
@pytest.mark.parametrize("links", [1, 2], ids=["renamed", "in-place"])
def test_an_edit_made_while_fix_runs_survives_and_the_write_is_refused(tmp_path, monkeypatch, how, links):
    target = write(tmp_path / "app.py", IN_COROUTINE)
    if links == 2:
        os.link(target, tmp_path / "other-name")  # fixed in place, not renamed
    edit = _edit_during_fix(target, how)
    original = writing.remove_stale_temporaries

    def edit_then_clean(directory):  # runs after the first comparison, before any write
        edit()
        return original(directory)

    monkeypatch.setattr(writing, "_cleaned", set())
    monkeypatch.setattr(writing, "remove_stale_temporaries", edit_then_clean)
    result = invoke("--no-cache", "--fix", "app.py", cwd=tmp_path)
    edited = IN_COROUTINE + "# saved by the user\n" if how == "append" else IN_COROUTINE.replace("now", "mow")
    assert target.read_text() == edited
    assert result.exit_code == 2, result.output
    assert "app.py: changed on disk while loopcheck ran; fix not written" in result.output
    assert "1 fixed file could not be written." in result.output


def test_an_edit_made_just_before_the_rename_survives(tmp_path, monkeypatch):
    target = write(tmp_path / "app.py", IN_COROUTINE)
    edit = _edit_during_fix(target, "same-size")
    original = writing._copy_attributes

    def edit_then_copy(path, handle):  # the temporary file is written; the rename comes next
        edit()
        return original(path, handle)

    monkeypatch.setattr(writing, "_copy_attributes", edit_then_copy)
    result = invoke("--no-cache", "--fix", "app.py", cwd=tmp_path)
    assert target.read_text() == IN_COROUTINE.replace("now", "mow")
    assert result.exit_code == 2, result.output
    assert "app.py: changed on disk while loopcheck ran; fix not written" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.py"]  # no temporary file left


def test_an_unchanged_file_is_still_fixed(tmp_path):
    target = write(tmp_path / "app.py", IN_COROUTINE)
    other = write(tmp_path / "linked.py", IN_COROUTINE)
    os.link(other, tmp_path / "other-name")
    result = invoke("--no-cache", "--fix", "app.py", "linked.py", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert target.read_text() == other.read_text() == IN_COROUTINE.replace("get_event_loop", "get_running_loop")
