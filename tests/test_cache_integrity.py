"""The results cache never serves what a fresh run would not (a file replaced while it was
checked, a limit changed, a same-size edit with its mtime put back, cache files of another
shape), a file is checked once however it is named, and ``--fix`` never writes over an edit made
while it ran."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from loopcheck.run import cache, runner, writing
from tests.helpers import invoke, run_loopcheck, write

BAD = "import asyncio\n\nlock = asyncio.Lock()\n\n\nasync def use():\n    async with lock:\n        pass\n"
# The same size, and nothing to find: asyncio has no Lonk.
QUIET = BAD.replace("Lock()", "Lonk()")
CLEAN = "import asyncio\n\n\ndef main():\n    asyncio.run(work())\n"
IN_COROUTINE = "import asyncio\n\n\nasync def now():\n    return asyncio.get_event_loop().time()\n"
HANG_GUARD = 120  # seconds
# The project model's caches beside the results cache.
MODEL_CACHES = frozenset({"summaries", "outcomes"})


def run(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    """``loopcheck ARGS`` in a process of its own, with the cache (text out)."""
    return run_loopcheck("-j", "1", *args, cwd=cwd, cache=True, text=True)


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
    """The stat index, each entry with its profile (as the cache reads it)."""
    (index,) = root.glob(".loopcheck_cache/*/index.json")
    assert set(json.loads(index.read_text())) == {"profiles", "entries"}
    return cache._read_index(index)


# -- a file replaced while it is checked --------------------------------------------------------


def test_a_file_replaced_while_it_is_checked_is_checked_again_next_run(tmp_path, monkeypatch):
    target = write(tmp_path / "app.py", BAD)
    write(tmp_path / "pyproject.toml", "[tool.loopcheck]\n")
    monkeypatch.setattr(cache, "RACY_MARGIN_NS", 0, raising=False)  # trust every stat here
    monkeypatch.setattr(cache, "COARSE_RACY_MARGIN_NS", 0, raising=False)
    original = runner.check_source
    replaced = []

    def replace_while_checking(checker, source, mode, write_back, *more):
        result = original(checker, source, mode, write_back, *more)
        if not replaced:  # between the read and the store: an editor saves by rename
            fresh = write(tmp_path / "app.py.new", QUIET)
            os.replace(fresh, target)
            replaced.append(target.stat().st_ino)
        return result

    monkeypatch.setattr(runner, "check_source", replace_while_checking)
    first = invoke("-j", "1", ".", cwd=tmp_path)
    assert first.exit_code == 1 and "app.py:3:8: LCK101" in first.output  # what was read
    assert replaced
    monkeypatch.setattr(runner, "check_source", original)
    second = invoke("-j", "1", ".", cwd=tmp_path)
    assert "LCK101" not in second.output and second.exit_code == 0, second.output
    (entry,) = index_of(tmp_path).values()
    assert replaced[0] in entry  # the stat of the file now there, read this time


def test_a_file_changed_in_the_tick_it_was_read_stays_out_of_the_stat_index(tmp_path, monkeypatch):
    """A stat taken in the same timestamp tick as a change cannot see a second change in that
    tick (same size, same times, same inode): such a stat is never trusted."""
    write(tmp_path / "app.py", BAD)
    write(tmp_path / "pyproject.toml", "[tool.loopcheck]\n")
    hour = 3600 * 10**9
    monkeypatch.setattr(cache, "RACY_MARGIN_NS", hour, raising=False)  # "changed in this tick"
    monkeypatch.setattr(cache, "COARSE_RACY_MARGIN_NS", hour, raising=False)
    assert invoke("-j", "1", ".", cwd=tmp_path).exit_code == 1
    assert index_of(tmp_path) == {}
    monkeypatch.setattr(cache, "RACY_MARGIN_NS", 0)  # "changed long before"
    monkeypatch.setattr(cache, "COARSE_RACY_MARGIN_NS", 0)
    assert invoke("-j", "1", ".", cwd=tmp_path).exit_code == 1
    assert list(index_of(tmp_path)) == [str(tmp_path / "app.py")]
    monkeypatch.setattr(cache, "RACY_MARGIN_NS", hour)  # changed again, in the tick of its read
    monkeypatch.setattr(cache, "COARSE_RACY_MARGIN_NS", hour)
    (tmp_path / "app.py").write_text(QUIET)
    assert invoke("-j", "1", ".", cwd=tmp_path).exit_code == 0
    assert index_of(tmp_path) == {}  # the older, trusted entry is gone too


# -- configuration that changes results -----------------------------------------------------------


def test_lowering_max_file_size_refuses_a_file_the_cache_knows(tmp_path):
    target = write(tmp_path / "app.py", BAD)
    config = write(tmp_path / "pyproject.toml", "[tool.loopcheck]\n")
    settle(target)
    first = run(".", cwd=tmp_path)
    assert first.returncode == 1 and "app.py:3:8: LCK101" in first.stdout, first.stderr
    assert run(".", cwd=tmp_path).returncode == 1  # from the stat index
    config.write_text("[tool.loopcheck]\nmax-file-size = 50\n")
    limited = run(".", cwd=tmp_path)
    fresh = run("--no-cache", ".", cwd=tmp_path)
    assert fresh.returncode == 2 and "larger than max-file-size" in fresh.stderr
    assert (limited.returncode, limited.stdout, limited.stderr) == (2, fresh.stdout, fresh.stderr)
    config.write_text("[tool.loopcheck]\nmax-file-size = 0\n")
    assert run(".", cwd=tmp_path).returncode == 1  # no limit: checked again


def test_every_setting_that_decides_a_result_is_in_the_key_and_no_other():
    from dataclasses import fields, replace

    from loopcheck.settings.config import Settings

    base = runner.Job(Settings(), ("LCK101",), runner.Mode(), None)
    deciding = {
        "target_version": (3, 11),
        "extra_clients": ("shop.Client",),
        "max_file_size": 10,
        # which pool makes a Celery task's loop fail is in the findings' evidence
        "celery_pool": "threads",
    }
    # What a file is checked for, and the Python its fixes target, are keyed per file (see
    # Checker.profile); the rest is not a result.
    not_deciding = {
        "root": Path("/elsewhere"),
        "source": Path("/elsewhere/pyproject.toml"),
        "select": ("LCK2",),
        "extend_select": ("LCK3",),
        "ignore": ("LCK1",),
        "per_file_ignores": (("a.py", ("LCK1",)),),
        "exclude": ("x",),
        "extend_exclude": ("y",),
        "respect_gitignore": False,
        # The baseline filters what is reported after the cache: a file's result is the same.
        "baseline": Path("/elsewhere/baseline.json"),
    }
    assert set(deciding) | set(not_deciding) == {f.name for f in fields(Settings)}  # a new field: decide
    key = runner.settings_key(base)
    for name, value in deciding.items():
        assert runner.settings_key(replace(base, settings=replace(base.settings, **{name: value}))) != key, name
    for name, value in not_deciding.items():
        assert runner.settings_key(replace(base, settings=replace(base.settings, **{name: value}))) == key, name


# -- a same-size edit with the mtime put back ----------------------------------------------------------


def test_a_same_size_edit_with_its_mtime_restored_is_checked_again(tmp_path):
    target = write(tmp_path / "app.py", BAD)
    settle(target)
    first = run("app.py", cwd=tmp_path)
    assert first.returncode == 1 and "LCK101" in first.stdout, first.stderr
    before = target.stat()
    with open(target, "r+") as stream:  # in place: same inode
        stream.write(QUIET)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = target.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    assert after.st_ctime_ns != before.st_ctime_ns  # what gives the edit away
    second = run("app.py", cwd=tmp_path)
    assert "LCK101" not in second.stdout and second.returncode == 0, second.stdout


# -- one file, many names ----------------------------------------------------------------------------


def test_a_file_named_several_ways_is_checked_and_reported_once(tmp_path):
    write(tmp_path / "a.py", BAD)
    (tmp_path / "dir").mkdir()
    result = run("--no-cache", "a.py", "./a.py", "dir/../a.py", tmp_path / "a.py", ".", cwd=tmp_path)
    lines = [line for line in result.stdout.splitlines() if "LCK101" in line]
    assert len(lines) == 1 and lines[0].startswith("a.py:3:8: LCK101"), result.stdout  # the first name
    assert result.returncode == 1 and "Found 1 finding." in result.stdout


# -- cache files of another shape ----------------------------------------------------------------------

# Valid JSON (and some not) that the cache never writes: each must be a miss, never an error.
NOT_JSON = ["", "{", "\xff", "[" * 100_000]
INDEX_SHAPES = [
    "[]", "5", "null", '"index"', '{"x": 5}', '{"profiles": [], "entries": {"x": 5}}', '{"profiles": [5], "entries": {}}',
    '{"profiles": [], "entries": []}', *NOT_JSON,
]
EMPTY_SHAPES = ["{}", '{"a": 1}', "5", "null", "[1, 2]", "[[1]]", "[null]", *NOT_JSON]
ENTRY_SHAPES = [
    "[]",
    "{}",
    '{"diagnostics": 5}',
    '{"diagnostics": []}',
    '{"diagnostics": [5]}',
    '{"diagnostics": [{}]}',
    '{"diagnostics": [{"at": [1, 2], "code": "LCK101", "message": "m", "fix": null}]}',
    '{"diagnostics": [{"at": [1, 1, 1, 1], "code": 5, "message": "m", "fix": null}]}',
    '{"diagnostics": [{"at": [1, 1, 1, 1], "code": ["LCK101"], "message": "m", "fix": null}]}',
    '{"diagnostics": [{"at": [1, 1, 1, 1], "code": "LCK999", "message": "m", "fix": null}]}',
    '{"diagnostics": [{"at": [1, 1, 1, 1], "code": "LCK101", "message": 5, "fix": null}]}',
    '{"diagnostics": [{"at": [1, 1, 1, 1], "code": "LCK101", "message": "m", "fix": ["bogus", "x"]}]}',
    '{"diagnostics": [{"at": [1, 1, 1, 1], "code": "LCK101", "message": "m", "fix": [[], "x"]}]}',
    '{"diagnostics": [{"at": [true, 1, 1, 1], "code": "LCK101", "message": "m", "fix": null}]}',
    *NOT_JSON,
]


def _cached_project(root: Path) -> tuple[subprocess.CompletedProcess, Path]:
    write(root / "bad.py", BAD)
    write(root / "clean.py", CLEAN)
    settle(root / "bad.py", root / "clean.py")
    fresh = run(".", cwd=root)
    assert fresh.returncode == 1 and "bad.py:3:8: LCK101" in fresh.stdout, fresh.stderr
    (directory,) = [path for path in root.glob(".loopcheck_cache/*") if path.is_dir() and path.name not in MODEL_CACHES]
    return fresh, directory


def _same_as_fresh(fresh: subprocess.CompletedProcess, root: Path) -> None:
    for _ in range(2):  # the run that meets the bad file, and the one after it
        again = run(".", cwd=root)
        assert "internal error" not in again.stderr and "Traceback" not in again.stderr, again.stderr
        assert (again.returncode, again.stdout) == (fresh.returncode, fresh.stdout)


@pytest.mark.parametrize("shape", INDEX_SHAPES, ids=range(len(INDEX_SHAPES)))
def test_an_index_of_another_shape_is_a_miss_and_is_rewritten(tmp_path, shape):
    fresh, directory = _cached_project(tmp_path)
    (directory / "index.json").write_text(shape, errors="surrogateescape")
    _same_as_fresh(fresh, tmp_path)
    assert len(index_of(tmp_path)) == 2


def _mutations(entry: list) -> list[list]:
    """Index entries of the right stat but wrong types, or of the wrong length."""
    return [
        [{"a": 1} if isinstance(value, str) else value for value in entry],  # the key is not a string
        [value if isinstance(value, int) else 5 for value in entry],
        [str(value) for value in entry],
        entry[:-1],
        [*entry, 1],
        [None if isinstance(value, bool) else value for value in entry],
        [*entry[:5], 99, *entry[6:]],  # a profile the index does not have
    ]


def test_index_entries_of_the_wrong_types_are_misses_and_are_rewritten(tmp_path):
    fresh, directory = _cached_project(tmp_path)
    stored = json.loads((directory / "index.json").read_text())
    index = stored["entries"]
    assert len(index) == 2 and len(stored["profiles"]) == 1  # both files checked alike: one profile
    for mutation in range(len(_mutations([0] * 8))):
        wrong = {**stored, "entries": {path: _mutations(entry)[mutation] for path, entry in index.items()}}
        (directory / "index.json").write_text(json.dumps(wrong))
        _same_as_fresh(fresh, tmp_path)
        assert json.loads((directory / "index.json").read_text()) == stored, mutation


@pytest.mark.parametrize("shape", EMPTY_SHAPES, ids=range(len(EMPTY_SHAPES)))
def test_a_list_of_empty_results_of_another_shape_is_a_miss_and_is_rewritten(tmp_path, shape):
    fresh, directory = _cached_project(tmp_path)
    empty = json.loads((directory / "empty.json").read_text())
    assert len(empty) == 1
    (directory / "empty.json").write_text(shape, errors="surrogateescape")
    _same_as_fresh(fresh, tmp_path)
    assert json.loads((directory / "empty.json").read_text()) == empty


@pytest.mark.parametrize("shape", ENTRY_SHAPES, ids=range(len(ENTRY_SHAPES)))
def test_an_entry_of_another_shape_is_a_miss_and_is_rewritten(tmp_path, shape):
    fresh, directory = _cached_project(tmp_path)
    (entry,) = [path for path in directory.glob("*/*.json")]
    stored = entry.read_text()
    entry.write_text(shape, errors="surrogateescape")
    _same_as_fresh(fresh, tmp_path)
    assert entry.read_text() == stored


def _replace_with(path: Path, kind: str) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path)  # reading it would wait for a writer forever
    elif kind == "directory":
        path.mkdir()
    else:
        path.write_text("")


CACHE_PLACES = [
    ("index.json", "fifo"),
    ("index.json", "directory"),
    ("empty.json", "fifo"),
    ("empty.json", "directory"),
    ("entry", "fifo"),
    ("entry", "directory"),
    ("entries", "file"),  # the directory of an entry
    ("base", "file"),  # the directory of this configuration's entries
    (".gitignore", "directory"),
]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs fifos")
@pytest.mark.parametrize(("place", "kind"), CACHE_PLACES, ids=[f"{p}-{k}" for p, k in CACHE_PLACES])
def test_cache_files_of_another_kind_are_misses_never_errors_or_waits(tmp_path, place, kind):
    fresh, directory = _cached_project(tmp_path)
    (entry,) = directory.glob("*/*.json")
    where = {
        "index.json": directory / "index.json",
        "empty.json": directory / "empty.json",
        "entry": entry,
        "entries": entry.parent,
        "base": directory,
        ".gitignore": directory.parent / ".gitignore",
    }[place]
    _replace_with(where, kind)
    _same_as_fresh(fresh, tmp_path)


def test_an_entry_stored_under_another_key_is_a_miss(tmp_path):
    """A valid entry copied under another file's key (by hand, or a broken copy of the cache)."""
    write(tmp_path / "one.py", BAD)
    write(tmp_path / "two.py", BAD.replace("lock", "other"))
    fresh = run(".", cwd=tmp_path)
    assert fresh.returncode == 1
    one, two = sorted(p for p in tmp_path.glob(".loopcheck_cache/*/*/*.json") if MODEL_CACHES.isdisjoint(p.parts))
    two.write_text(one.read_text())
    _same_as_fresh(fresh, tmp_path)


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
    result = invoke("--no-cache", "--extend-select", "LCK401", "--fix", "app.py", cwd=tmp_path)
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
    result = invoke("--no-cache", "--extend-select", "LCK401", "--fix", "app.py", cwd=tmp_path)
    assert target.read_text() == IN_COROUTINE.replace("now", "mow")
    assert result.exit_code == 2, result.output
    assert "app.py: changed on disk while loopcheck ran; fix not written" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.py"]  # no temporary file left


def test_an_unchanged_file_is_still_fixed(tmp_path):
    target = write(tmp_path / "app.py", IN_COROUTINE)
    other = write(tmp_path / "linked.py", IN_COROUTINE)
    os.link(other, tmp_path / "other-name")
    result = invoke("--no-cache", "--extend-select", "LCK401", "--fix", "app.py", "linked.py", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert target.read_text() == other.read_text() == IN_COROUTINE.replace("get_event_loop", "get_running_loop")
