"""loopcheck as a real process on hostile input and file systems: never a traceback, never a
hang, never a corrupted or half-written file, honest summaries and exit statuses."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import run_loopcheck, write

BAD = "import asyncio\n\nlock = asyncio.Lock()\n\n\nasync def use():\n    async with lock:\n        pass\n"
IN_COROUTINE = "import asyncio\n\n\nasync def now():\n    return asyncio.get_event_loop().time()\n"
FIXED_IN_COROUTINE = IN_COROUTINE.replace("get_event_loop", "get_running_loop")
HANG_GUARD = 120  # seconds: a run that takes longer is a hang, not a slow run


def run(*args: object, cwd: Path, stdin: bytes | None = None, timeout: float = HANG_GUARD):
    """``loopcheck ARGS`` in a process of its own (bytes out), with LCK401 (opt-in) selected: its
    safe fix is the one these tests write under links, permissions and signals."""
    return run_loopcheck("--extend-select", "LCK401", *args, cwd=cwd, input=stdin, timeout=timeout)


def no_traceback(result: subprocess.CompletedProcess) -> None:
    for stream in (result.stdout, result.stderr):
        assert b"Traceback" not in stream, stream.decode(errors="replace")


# -- discovery ----------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs fifos")
def test_special_entries_named_like_python_files_are_skipped_never_read(tmp_path):
    write(tmp_path / "bad.py", BAD)
    os.mkfifo(tmp_path / "fifo.py")  # reading it would wait for a writer forever
    (tmp_path / "directory.py").mkdir()
    (tmp_path / "broken.py").symlink_to("nowhere.py")
    (tmp_path / "loop_a.py").symlink_to("loop_b.py")
    (tmp_path / "loop_b.py").symlink_to("loop_a.py")
    result = run(".", cwd=tmp_path, timeout=60)
    no_traceback(result)
    err = result.stderr.decode()
    assert "fifo.py: skipped: not a regular file (a fifo)" in err
    assert "broken.py: skipped: broken symbolic link" in err
    assert "loop_a.py: skipped: symbolic link loop" in err
    assert "directory.py" not in err  # a directory is walked, not read
    assert b"bad.py:3:8: LCK101" in result.stdout
    assert result.returncode == 1, err  # skipped entries are reported, the findings decide


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs fifos")
def test_a_fifo_named_on_the_command_line_is_an_error_not_a_wait(tmp_path):
    os.mkfifo(tmp_path / "b.py")
    result = run("b.py", cwd=tmp_path, timeout=60)
    no_traceback(result)
    assert result.returncode == 2
    assert "b.py: not a regular file (a fifo)" in result.stderr.decode()


# -- what is valid Python -------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import asyncio\n\nLOCK = asyncio.Lock()\n\ndef f(a, a):\n    return asyncio.get_event_loop()\n",
        "import asyncio\nnonlocal asyncio\nLOCK = asyncio.Lock()\n",
        "import asyncio\nLOCK = asyncio.Lock()\nreturn asyncio.get_event_loop()\n",
        "import asyncio\nLOCK = asyncio.Lock()\n\nasync def f():\n    yield 1\n    return asyncio.get_event_loop()\n",
    ],
    ids=["duplicate-argument", "module-nonlocal", "return-outside-function", "return-in-async-generator"],
)
def test_what_the_interpreter_refuses_is_a_syntax_error_and_is_never_fixed(tmp_path, source):
    # A file a rule analyses (its module-level lock). Files in which no rule could find anything
    # are not parsed at all, nor compiled where the parse shows nothing a rule looks at (README).
    with pytest.raises(SyntaxError):
        compile(source, "x.py", "exec")
    target = write(tmp_path / "x.py", source)
    result = run("--fix", "--unsafe-fixes", "x.py", cwd=tmp_path)
    no_traceback(result)
    assert result.returncode == 2
    assert "x.py: syntax error at" in result.stderr.decode()
    assert target.read_text() == source


def test_a_syntax_error_says_which_python_read_the_file(tmp_path):
    write(tmp_path / "broken.py", "import asyncio\n\ndef broken(:\n    asyncio.run(main())\n")
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    result = run("--no-cache", "broken.py", cwd=tmp_path)
    (line,) = [line for line in result.stderr.decode().splitlines() if "broken.py" in line]
    assert "broken.py: syntax error at 3:" in line
    assert line.endswith(f"(read as Python {running}, which runs loopcheck)")
    # Newer grammar than the target version: the target version is named.
    write(tmp_path / "p" / "pyproject.toml", '[tool.loopcheck]\ntarget-version = "py39"\n')
    write(tmp_path / "p" / "m.py", "import asyncio\nmatch 1:\n    case 1:\n        asyncio.run(main())\n")
    result = run("--no-cache", "m.py", cwd=tmp_path / "p")
    assert result.returncode == 2
    assert "(read as Python 3.9, the target-version)" in result.stderr.decode()


def test_a_syntax_error_in_a_project_for_a_newer_python_says_which_python_checks_it(tmp_path):
    """The Python running loopcheck reads the file; where the file's project requires a newer
    one (whose syntax it may use), the message says to run loopcheck on that Python."""
    newer = (sys.version_info[0], sys.version_info[1] + 1)
    write(tmp_path / "pyproject.toml", f'[project]\nname = "x"\nrequires-python = ">={newer[0]}.{newer[1]}"\n')
    write(tmp_path / "broken.py", "import asyncio\n\ndef broken(:\n    asyncio.run(main())\n")
    result = run("--no-cache", "broken.py", cwd=tmp_path)
    assert result.returncode == 2
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert (
        f"(read as Python {running}, which runs loopcheck; its project requires Python {newer[0]}.{newer[1]} or later:"
        f" run loopcheck on Python {newer[0]}.{newer[1]} to check it)"
    ) in result.stderr.decode()


def test_a_file_no_rule_analyses_is_parsed_not_compiled(tmp_path):
    # It mentions what the text test looks for, but its parse holds nothing a rule starts from.
    refused = "import asyncio\n\nasync def main():\n    pass\n\nreturn asyncio.run(main)\n"
    unparsable = "import asyncio\n\nasync def main(:\n    pass\n\nasyncio.run(main())\n"
    for source in (refused, unparsable):
        with pytest.raises(SyntaxError):
            compile(source, "x.py", "exec")
    write(tmp_path / "refused.py", refused)
    write(tmp_path / "unparsable.py", unparsable)
    result = run("refused.py", "unparsable.py", cwd=tmp_path)
    no_traceback(result)
    err = result.stderr.decode()
    assert "unparsable.py: syntax error at" in err and "refused.py" not in err
    assert result.returncode == 2


def test_a_form_feed_before_an_indented_block_is_valid_python(tmp_path):
    source = "import asyncio\n\n\nasync def now():\n\f    return asyncio.get_event_loop().time()\n"
    compile(source, "ff.py", "exec")
    target = write(tmp_path / "ff.py", source)
    result = run("ff.py", cwd=tmp_path)
    assert result.returncode == 1 and b"ff.py:5:13: LCK401" in result.stdout, result.stderr
    result = run("--fix", "ff.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    fixed = target.read_text()
    compile(fixed, "ff.py", "exec")
    assert "get_running_loop" in fixed


def elif_chain(branches: int) -> str:
    lines = ["import asyncio", "", "", "def pick(x):", "    if x == 0:", "        return 0"]
    for value in range(1, branches):
        lines += [f"    elif x == {value}:", f"        return {value}"]
    return "\n".join([*lines, "", "", "async def now():", "    return asyncio.get_event_loop()", ""])


@pytest.mark.parametrize(
    "source",
    [
        elif_chain(500),
        "import asyncio\n\nTOTAL = " + " + ".join(["1"] * 320) + "\n\n\nasync def now():\n"
        "    return asyncio.get_event_loop()\n",
    ],
    ids=["elif-500", "operators-320"],
)
def test_deep_but_valid_code_is_analysed_and_the_run_goes_on(tmp_path, source):
    compile(source, "deep.py", "exec")
    write(tmp_path / "a_deep.py", source)
    write(tmp_path / "b_next.py", BAD)
    result = run(".", cwd=tmp_path)
    no_traceback(result)
    out, err = result.stdout.decode(), result.stderr.decode()
    assert "b_next.py:3:8: LCK101" in out  # the file after the deep one is checked
    # Analysed (the finding at the end), or on a Python whose C stack cap LibCST meets first,
    # refused in one line; never anything else.
    if "a_deep.py" in err:
        assert err.count("\n") <= 2 and "too deeply nested" in err, err
        assert result.returncode == 2
    else:
        assert "LCK401" in out and result.returncode == 1, err


def test_nesting_beyond_the_documented_limit_is_refused_in_one_line(tmp_path):
    depth = 1_200  # over limits.MAX_NESTING; Python 3.10-3.13 compile it
    source = "import asyncio\nX = " + "-" * depth + "len(asyncio.Lock())\n"
    try:
        compile(source, "x.py", "exec")
    except (SyntaxError, RecursionError, MemoryError):
        pytest.skip("this Python does not compile it either")
    write(tmp_path / "deep.py", source)
    result = run("deep.py", cwd=tmp_path)
    no_traceback(result)
    assert result.returncode == 2
    assert "deep.py: too deeply nested to analyse" in result.stderr.decode()


# -- bounded time ---------------------------------------------------------------------------


def test_a_file_past_max_file_size_is_refused_before_it_is_read(tmp_path):
    write(tmp_path / "huge.py", "import asyncio\n" + "x = 1\n" * 2_000_000)  # 12 MB
    write(tmp_path / "bad.py", BAD)
    result = run(".", cwd=tmp_path, timeout=60)
    no_traceback(result)
    assert result.returncode == 2
    assert "huge.py: 12,000,015 bytes, larger than max-file-size" in result.stderr.decode()
    assert b"bad.py:3:8: LCK101" in result.stdout


@pytest.mark.parametrize(
    "source",
    [
        "import asyncio\n" + "x = 1\n" * 100_000,  # many tiny statements
        "import asyncio\nX = [" + "asyncio.Lock(), " * 60_000 + "]\n",  # one 960 KB line
    ],
    ids=["100k-statements", "1MB-line"],
)
def test_large_files_finish_or_are_refused_in_one_line(tmp_path, source):
    write(tmp_path / "large.py", source)
    result = run("large.py", cwd=tmp_path)
    no_traceback(result)
    err = result.stderr.decode()
    assert result.returncode in (0, 1, 2)
    if result.returncode == 2:
        assert "large.py: too large to analyse" in err, err


# -- honest summaries ------------------------------------------------------------------------


def test_a_file_that_cannot_be_checked_is_never_all_checks_passed(tmp_path):
    write(tmp_path / "good.py", "import asyncio\n\n\ndef main():\n    asyncio.run(work())\n")
    write(tmp_path / "latin.py", b"x = '\xe9'\n")
    result = run(".", cwd=tmp_path)
    assert result.returncode == 2
    err = result.stderr.decode()
    out = result.stdout.decode()
    assert "1 file could not be checked." in out and "All checks passed" not in out + err


def test_an_internal_error_is_one_line_naming_the_file_and_the_run_goes_on(tmp_path):
    write(tmp_path / "a.py", BAD)
    write(tmp_path / "b.py", BAD)
    # A rule that fails on the first file only (loaded through a sitecustomize hook).
    write(
        tmp_path / "hook" / "sitecustomize.py",
        "from loopcheck.rules.primitives import lck101_module_level_primitive as rule\n"
        "original = rule.ModuleLevelPrimitive.check\n"
        "def check(self):\n"
        "    if self.context.path.endswith('a.py'):\n"
        "        raise KeyError(object())\n"
        "    return original(self)\n"
        "rule.ModuleLevelPrimitive.check = check\n",
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "hook")}
    result = subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", "-j", "1", "."],
        cwd=tmp_path, env=env, capture_output=True, timeout=HANG_GUARD,
    )
    no_traceback(result)
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert "a.py: internal error: KeyError: <object> at" in err
    assert b"b.py:3:8: LCK101" in result.stdout


def test_undecodable_standard_input_comes_back_unchanged_with_fix(tmp_path):
    data = b"import asyncio\nx = '\xff'\n"
    result = run("--fix", "-", cwd=tmp_path, stdin=data)
    assert result.stdout == data
    assert result.returncode == 2 and b"not valid utf-8" in result.stderr


# -- writing fixes -------------------------------------------------------------------------


def test_a_symbolic_link_is_fixed_through_to_its_target(tmp_path):
    target = write(tmp_path / "real" / "module.py", IN_COROUTINE)
    link = tmp_path / "link.py"
    link.symlink_to(target)
    result = run("--fix", "link.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and target.read_text() == FIXED_IN_COROUTINE


def test_hard_links_keep_sharing_the_fixed_file(tmp_path):
    first = write(tmp_path / "first.py", IN_COROUTINE)
    second = tmp_path / "second.py"
    os.link(first, second)
    inode = first.stat().st_ino
    result = run("--fix", "first.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert first.stat().st_ino == inode and first.stat().st_nlink == 2
    assert second.read_text() == FIXED_IN_COROUTINE


def test_mode_and_owner_survive_a_fix(tmp_path):
    target = write(tmp_path / "module.py", IN_COROUTINE)
    target.chmod(0o640)
    owner = (65534, 65534) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    if os.geteuid() == 0:
        os.chown(target, *owner)  # someone else's file, fixed by root
    result = run("--fix", "module.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    info = target.stat()
    assert (info.st_uid, info.st_gid) == owner and stat.S_IMODE(info.st_mode) == 0o640
    assert target.read_text() == FIXED_IN_COROUTINE


def test_a_read_only_file_is_never_written(tmp_path):
    target = write(tmp_path / "module.py", IN_COROUTINE)
    target.chmod(0o444)
    result = run("--fix", "module.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "module.py: read-only file; fix not written" in result.stderr.decode()
    assert "1 fixed file could not be written." in result.stdout.decode()
    assert target.read_text() == IN_COROUTINE


def test_a_writable_file_in_a_read_only_directory_is_fixed_in_place(tmp_path):
    directory = tmp_path / "locked"
    target = write(directory / "module.py", IN_COROUTINE)
    directory.chmod(0o555)
    try:
        result = run("--fix", "locked/module.py", cwd=tmp_path)
    finally:
        directory.chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert target.read_text() == FIXED_IN_COROUTINE
    assert sorted(p.name for p in directory.iterdir()) == ["module.py"]


# -- signals -------------------------------------------------------------------------------


def many_files(root: Path, count: int) -> list[Path]:
    return [write(root / f"m{i:04}.py", IN_COROUTINE * 3) for i in range(count)]


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "loopcheck", "--no-cache", "--extend-select", "LCK401", *args],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def wait_until_some_fixed(files: list[Path], process: subprocess.Popen) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline and process.poll() is None:
        if any("get_running_loop" in f.read_text() for f in files):
            return
        time.sleep(0.02)
    pytest.fail("the fix run did not start writing")


def assert_each_file_whole(files: list[Path], root: Path) -> None:
    for f in files:
        assert f.read_text() in (IN_COROUTINE * 3, FIXED_IN_COROUTINE * 3), f
    leftovers = [p.name for p in root.iterdir() if not p.name.endswith(".py") or p.name.startswith(".")]
    assert leftovers == [], leftovers


@pytest.mark.parametrize(
    ("signum", "status", "line"),
    [(signal.SIGINT, 130, b"loopcheck: interrupted"), (signal.SIGTERM, 143, b"terminated by SIGTERM")],
    ids=["SIGINT", "SIGTERM"],
)
def test_a_signal_during_fix_exits_conventionally_and_leaves_whole_files(tmp_path, signum, status, line):
    files = many_files(tmp_path, 400)
    process = start(["--fix", "-j", "1", "."], tmp_path)
    wait_until_some_fixed(files, process)
    process.send_signal(signum)
    out, err = process.communicate(timeout=HANG_GUARD)
    if process.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert process.returncode == status, err
    assert line in err and b"Traceback" not in err
    assert_each_file_whole(files, tmp_path)


def test_sigkill_during_fix_leaves_whole_files_and_no_temporary_file(tmp_path):
    files = many_files(tmp_path, 400)
    process = start(["--fix", "."], tmp_path)
    wait_until_some_fixed(files, process)
    process.kill()
    process.communicate(timeout=HANG_GUARD)
    time.sleep(0.5)  # its worker processes finish the file in hand, then see the pipe closed
    assert_each_file_whole(files, tmp_path)
    result = run("--fix", ".", cwd=tmp_path)  # a later run completes the job
    assert result.returncode == 0, result.stderr
    assert all(f.read_text() == FIXED_IN_COROUTINE * 3 for f in files)
