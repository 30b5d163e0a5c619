"""loopcheck as a real process with little of something: file descriptors, memory, stack,
/dev/shm, a working directory; odd configuration files; deep directory trees; many fixes in one
file. Every run has a timeout, so a hang fails the test instead of stalling the suite."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import fix_text, run_loopcheck, write

LOCK = "import asyncio\n\n_lock = asyncio.Lock()\n\n\nasync def use():\n    async with _lock:\n        await asyncio.sleep(0)\n"
HANG_GUARD = 60  # seconds: longer is a hang, not a slow run


def run(*args: object, cwd: Path, timeout: float = HANG_GUARD, **options) -> subprocess.CompletedProcess:
    """``loopcheck ARGS`` in a process of its own (text out)."""
    return run_loopcheck(*args, cwd=cwd, timeout=timeout, text=True, **options)


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


# -- configuration files ----------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs fifos")
@pytest.mark.parametrize("name", ["pyproject.toml", "setup.cfg", "setup.py"])
@pytest.mark.parametrize("where", ["here", "parent"])
@pytest.mark.parametrize("mode", [(), ("--diff", "--unsafe-fixes")])
def test_a_fifo_in_a_configuration_files_place_is_skipped_never_opened(tmp_path, name, where, mode):
    project = tmp_path / "project"
    write(project / "bad.py", LOCK)
    os.mkfifo((project if where == "here" else tmp_path) / name)  # a read would wait forever
    result = run("bad.py", *mode, cwd=project, timeout=30)
    assert result.returncode == 1, result.stderr
    assert ("+    async with _get_lock():" if mode else "bad.py:3:9: LCK101") in result.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs fifos")
def test_a_fifo_named_by_config_is_a_one_line_error(tmp_path):
    write(tmp_path / "bad.py", LOCK)
    os.mkfifo(tmp_path / "loopcheck.toml")
    result = run("--config", "loopcheck.toml", "bad.py", cwd=tmp_path, timeout=30)
    one_line_error(result, "loopcheck.toml: not a regular file (a fifo)")


def test_a_directory_named_by_config_is_a_one_line_error(tmp_path):
    write(tmp_path / "bad.py", LOCK)
    (tmp_path / "conf").mkdir()
    one_line_error(run("--config", "conf", "bad.py", cwd=tmp_path), "conf: not a regular file (a directory)")


DEEP_TOML = "x = " + "[" * 5_000 + "]" * 5_000 + "\n"


def test_a_pyproject_nested_too_deeply_without_our_table_is_skipped(tmp_path):
    write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n" + DEEP_TOML)
    write(tmp_path / "bad.py", LOCK)
    result = run("bad.py", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "bad.py:3:9: LCK101" in result.stdout


def test_a_pyproject_nested_too_deeply_with_our_table_is_a_one_line_error(tmp_path):
    write(tmp_path / "pyproject.toml", "[tool.loopcheck]\nselect = ['LCK1']\n" + DEEP_TOML)
    write(tmp_path / "bad.py", LOCK)
    one_line_error(run("bad.py", cwd=tmp_path), "pyproject.toml: invalid TOML: nested too deeply")


def test_a_setup_py_too_complex_to_parse_leaves_the_floor_unknown(tmp_path):
    write(tmp_path / "setup.py", "from setuptools import setup\nsetup(python_requires=" + "-" * 100_000 + "1)\n")
    write(tmp_path / "bad.py", LOCK)
    result = run("bad.py", cwd=tmp_path)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    assert "bad.py:3:9: LCK101" in result.stdout


@pytest.mark.parametrize("value", ['["py311"]', "{ version = 'py311' }", "311"])
def test_a_target_version_of_the_wrong_type_is_a_one_line_error(tmp_path, value):
    write(tmp_path / "pyproject.toml", f"[tool.loopcheck]\ntarget-version = {value}\n")
    write(tmp_path / "bad.py", LOCK)
    one_line_error(run("bad.py", cwd=tmp_path), "pyproject.toml: [tool.loopcheck] target-version: must be a string")


def test_a_deleted_working_directory_is_a_one_line_error(tmp_path):
    write(tmp_path / "bad.py", LOCK)
    gone = tmp_path / "gone"
    gone.mkdir()
    process = subprocess.Popen(
        ["sh", "-c", f'cd "{gone}" && rmdir "{gone}" && exec "$0" -m loopcheck --no-cache "$1"', sys.executable, str(tmp_path / "bad.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = process.communicate(timeout=HANG_GUARD)
    one_line_error(subprocess.CompletedProcess(process.args, process.returncode, out, err), "current directory")


# -- processes, descriptors, memory -----------------------------------------------------------


def _limit(kind: int, value: int):
    def apply() -> None:
        resource.setrlimit(kind, (value, value))

    return apply


def _project_of_many_files(root: Path, count: int) -> None:
    for number in range(count):
        write(root / f"m{number}.py", LOCK)


def test_too_few_file_descriptors_for_the_workers_falls_back_to_one_process(tmp_path):
    _project_of_many_files(tmp_path, 400)
    result = run("-q", "-j", "8", ".", cwd=tmp_path, preexec_fn=_limit(resource.RLIMIT_NOFILE, 24))
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert result.stderr.splitlines() == [
        "loopcheck: cannot start 8 worker processes (Too many open files); checking in one process"
    ]
    assert result.returncode == 1
    assert result.stdout.count("LCK101") == 400


def _loopcheck_with(patch: str) -> list[str]:
    """``python -c`` running loopcheck's entry point after ``patch``, in the same process."""
    program = f"{patch}\nimport sys\nsys.argv[0] = 'loopcheck'\nfrom loopcheck.frontends.entry import main\nmain()\n"
    return [sys.executable, "-c", program, "--no-cache"]


# What a read-only (or missing) /dev/shm does to multiprocessing: no semaphore can be created.
NO_SEMAPHORES = """
import errno, _multiprocessing
class NoSemaphores(_multiprocessing.SemLock):
    def __new__(cls, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")
_multiprocessing.SemLock = NoSemaphores
"""


def test_no_semaphores_for_the_workers_falls_back_to_one_process(tmp_path):
    _project_of_many_files(tmp_path, 40)
    result = subprocess.run(
        [*_loopcheck_with(NO_SEMAPHORES), "-q", "-j", "2", "."],
        cwd=tmp_path, capture_output=True, text=True, timeout=HANG_GUARD,
    )
    assert result.stderr.splitlines() == [
        "loopcheck: cannot start 2 worker processes (Read-only file system); checking in one process"
    ]
    assert result.returncode == 1
    assert result.stdout.count("LCK101") == 40


# Nested deeply enough to need more than the default recursion limit in LibCST.
DEEP_ELIF = "import asyncio\n\nx = 0\nif x == 0:\n    pass\n" + "".join(
    f"elif x == {n}:\n    pass\n" for n in range(1, 400)
) + "\n_lock = asyncio.Lock()\n\n\nasync def use():\n    async with _lock:\n        await asyncio.sleep(0)\n"


def test_too_little_address_space_for_the_analysis_stack_still_gives_results(tmp_path):
    # 200,000 KiB: no room for a thread with a 256 MiB stack, enough for LibCST on a small file.
    write(tmp_path / "bad.py", LOCK)
    result = run("-j", "1", ".", cwd=tmp_path, preexec_fn=_limit(resource.RLIMIT_AS, 200_000 * 1024))
    assert "Traceback" not in result.stderr and "could not be checked" not in result.stderr, result.stderr
    assert result.returncode == 1
    assert "bad.py:3:9: LCK101" in result.stdout


NO_THREADS = """
import threading
def refuse(self):
    raise RuntimeError("can't start new thread")
threading.Thread.start = refuse
"""


def test_no_thread_for_the_analysis_runs_it_on_the_main_thread(tmp_path):
    write(tmp_path / "bad.py", LOCK)
    write(tmp_path / "deep.py", DEEP_ELIF)
    result = subprocess.run(
        [*_loopcheck_with(NO_THREADS), "-j", "1", "."],
        cwd=tmp_path, capture_output=True, text=True, timeout=HANG_GUARD,
    )
    assert "Traceback" not in result.stderr and "could not be checked" not in result.stderr, result.stderr
    assert result.returncode == 1
    assert "bad.py:3:9: LCK101" in result.stdout and "deep.py:805:9: LCK101" in result.stdout


# -- fixing many findings in one file -----------------------------------------------------------


def locks_used_once(count: int) -> str:
    """``count`` private module-level locks, each used by one coroutine: ``count`` LCK101
    findings whose unsafe fixes are all independent (benchmarks/fix_scaling.py times them)."""
    lines = ["import asyncio", ""]
    lines += [f"_lock_{n} = asyncio.Lock()" for n in range(count)]
    for n in range(count):
        lines += ["", "", f"async def use_{n}():", f"    async with _lock_{n}:", "        await asyncio.sleep(0)", f"        return {n}"]
    return "\n".join(lines) + "\n"


# Counts, in the loopcheck process: lint passes, and the rewrites and regenerations of the whole
# module (what made each fix cost as much as the file).
COUNT_WHOLE_MODULE_WORK = """
import atexit, sys
import libcst
from loopcheck.engine import pipeline
counts = {"passes": 0, "whole-module": 0}
lint = pipeline._findings
def counted_lint(*args, **kwargs):
    counts["passes"] += 1
    return lint(*args, **kwargs)
pipeline._findings = counted_lint
for name in ("code",):
    prop = getattr(libcst.Module, name)
    def counted_code(self, prop=prop):
        counts["whole-module"] += 1
        return prop.fget(self)
    setattr(libcst.Module, name, property(counted_code))
visit = libcst.Module.visit
def counted_visit(self, visitor):
    if type(visitor).__module__.startswith("loopcheck"):  # not LibCST's metadata providers
        counts["whole-module"] += 1
    return visit(self, visitor)
libcst.Module.visit = counted_visit
atexit.register(lambda: print("counts", counts["passes"], counts["whole-module"], file=sys.stderr))
"""


def _fix_counts(tmp_path: Path, count: int) -> tuple[int, int]:
    path = write(tmp_path / f"locks_{count}.py", locks_used_once(count))
    result = subprocess.run(
        [*_loopcheck_with(COUNT_WHOLE_MODULE_WORK), "-q", "--fix", "--unsafe-fixes", path.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert path.read_text().count("_by_loop = {}") == count  # every finding fixed
    line = next(line for line in result.stderr.splitlines() if line.startswith("counts "))
    passes, whole = map(int, line.split()[1:])
    return passes, whole


def test_fixing_many_findings_takes_few_passes_and_no_whole_module_work_per_fix(tmp_path):
    few_passes, few_whole = _fix_counts(tmp_path, 20)
    passes, whole = _fix_counts(tmp_path, 200)
    assert passes <= 3
    # Not one rewrite or regeneration of the module per fix: as many for 200 findings as for 20.
    assert whole == few_whole


def test_fix_edits_from_the_changed_statements_equal_those_of_the_whole_module(monkeypatch):
    """Each fix's edits are built from the statements it changes (``fixes.layout``); they must
    be the edits that comparing the whole rewritten module with the file gives, placed alike
    (where an edit could slide over equal lines, the choice decides which fixes share a pass)."""
    from loopcheck.fixes.builder import FixBuilder
    from tests.helpers import fixture_linter, fixtures

    built = FixBuilder.build
    compared, different = [], []

    def both(builder: FixBuilder):
        edits = built(builder)
        compared.append(builder.context.path)
        if edits != builder.build_whole():
            different.append(builder.context.path)
        return edits

    monkeypatch.setattr(FixBuilder, "build", both)
    for path in fixtures():
        fix_text(fixture_linter(path), path.read_text("utf-8"), path.name, unsafe=True)
    fix_text(fixture_linter(fixtures()[0]), locks_used_once(30), "locks.py", unsafe=True)
    assert len(compared) > 50 and not different, sorted(set(different))
