"""The command line through click's runner, and bad input: one clear line, never a traceback."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from loopcheck.engine import pipeline
from loopcheck.rules import all_rules
from tests.helpers import invoke, write

BAD = "import asyncio\n\n_lock = asyncio.Lock()\n\n\nasync def work():\n    async with _lock:\n        await asyncio.sleep(0)\n"
CLEAN = "import asyncio\n\n\nasync def work():\n    lock = asyncio.Lock()\n    async with lock:\n        pass\n"


def test_findings_are_path_line_col_code_message(tmp_path):
    write(tmp_path / "app.py", BAD)
    result = invoke("app.py", cwd=tmp_path)
    assert result.exit_code == 1
    first, under = result.output.splitlines()[:2]
    assert first.startswith("app.py:3:9: LCK101 asyncio.Lock created at module level")  # no [*]: its fix is unsafe
    assert under == "    unsafe fix (--unsafe-fixes applies it): Create one Lock per event loop with `_get_lock()`"
    assert "Found 1 finding. 1 fixable with --fix --unsafe-fixes." in result.output


def test_clean_code_exits_zero(tmp_path):
    write(tmp_path / "app.py", CLEAN)
    result = invoke(cwd=tmp_path)
    assert result.exit_code == 0
    assert "All checks passed." in result.output


def test_directories_are_walked_skipping_environments_and_build_output(tmp_path):
    write(tmp_path / "pkg" / "mod.py", BAD)
    write(tmp_path / "pkg" / "stub.pyi", BAD)
    write(tmp_path / "pkg" / "notes.txt", BAD)
    for skipped in (".git", ".venv", "build", "dist", "node_modules", "__pycache__", ".tox"):
        write(tmp_path / skipped / "x.py", BAD)
    write(tmp_path / "myenv" / "pyvenv.cfg", "home = /usr\n")
    write(tmp_path / "myenv" / "lib" / "y.py", BAD)
    result = invoke(".", cwd=tmp_path)
    files = {line.split(":")[0] for line in result.output.splitlines() if "LCK" in line}
    assert files == {os.path.join("pkg", "mod.py"), os.path.join("pkg", "stub.pyi")}


def test_an_excluded_directory_named_explicitly_is_still_skipped_but_a_file_is_checked(tmp_path):
    write(tmp_path / "build" / "gen.py", BAD)
    assert invoke("build/gen.py", cwd=tmp_path).exit_code == 1


def test_fix_applies_unsafe_fixes_only_when_asked(tmp_path):
    target = write(tmp_path / "app.py", BAD)
    result = invoke("--fix", "app.py", cwd=tmp_path)
    assert result.exit_code == 1 and target.read_text() == BAD
    result = invoke("--fix", "--unsafe-fixes", "app.py", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "async with _get_lock():" in target.read_text()
    assert "Fixed 1 finding." in result.output
    again = invoke("--fix", "--unsafe-fixes", "app.py", cwd=tmp_path)
    assert again.exit_code == 0 and "Fixed 0 findings." in again.output


KEPT_LOOP = """\
import asyncio

_loop = asyncio.new_event_loop()


def first(job):
    return _loop.run_until_complete(job())


def second(job):
    return _loop.run_until_complete(job())
"""


def test_a_fix_shared_by_several_findings_counts_each_of_them(tmp_path):
    target = write(tmp_path / "tasks.py", KEPT_LOOP)
    listed = invoke("tasks.py", cwd=tmp_path)
    assert listed.output.count("LCK202") == 3  # the loop and its two uses
    result = invoke("--fix", "--unsafe-fixes", "tasks.py", cwd=tmp_path)
    assert "Fixed 3 findings." in result.output, result.output
    assert target.read_text().count("asyncio.run(job())") == 2
    assert "_loop" not in target.read_text()


def test_safe_fixes_alone_rewrite_a_local_loop(tmp_path):
    source = (
        "import asyncio\n\n\nasync def job():\n    pass\n\n\ndef task():\n    loop = asyncio.new_event_loop()\n"
        "    asyncio.set_event_loop(loop)\n"
        "    try:\n        return loop.run_until_complete(job())\n    finally:\n"
        "        asyncio.set_event_loop(None)\n        loop.close()\n"
    )
    target = write(tmp_path / "task.py", source)
    result = invoke("--fix", "task.py", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert target.read_text() == (
        "import asyncio\n\n\nasync def job():\n    pass\n\n\ndef task():\n    return asyncio.run(job())\n"
    )


def test_fix_keeps_mode_encoding_and_line_endings(tmp_path):
    source = ("# -*- coding: latin-1 -*-\n# caf\xe9\n" + BAD).replace("\n", "\r\n")
    target = write(tmp_path / "app.py", source.encode("latin-1"))
    target.chmod(0o750)
    result = invoke("--fix", "--unsafe-fixes", "app.py", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    assert b"caf\xe9" in data and b"async with _get_lock():" in data
    assert data.count(b"\r\n") == data.count(b"\n"), "line endings changed"
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert [p.name for p in tmp_path.iterdir()] == ["app.py"], "a temporary file was left"


def test_diff_prints_and_writes_nothing(tmp_path):
    target = write(tmp_path / "app.py", BAD)
    result = invoke("--diff", "--unsafe-fixes", "app.py", cwd=tmp_path)
    assert result.exit_code == 1
    assert "--- a/app.py" in result.output and "+def _get_lock():" in result.output
    assert target.read_text() == BAD
    write(tmp_path / "app.py", CLEAN)
    assert invoke("--diff", "app.py", cwd=tmp_path).exit_code == 0


def test_a_fix_that_breaks_the_file_leaves_it_untouched(tmp_path, monkeypatch):
    target = write(tmp_path / "app.py", BAD)
    monkeypatch.setattr(pipeline, "apply_edits", lambda source, edits: source + "def (:\n")
    result = invoke("--fix", "--unsafe-fixes", "app.py", cwd=tmp_path)
    assert result.exit_code == 2
    assert "a fix produced invalid code, file left unchanged" in result.output
    assert target.read_text() == BAD


def test_a_fix_that_breaks_the_file_and_removes_every_start_leaves_it_untouched(tmp_path, monkeypatch):
    # No rule's start is left for the next pass to parse: the fixed text is compiled at the end.
    target = write(tmp_path / "app.py", BAD)
    monkeypatch.setattr(pipeline, "apply_edits", lambda source, edits: "def (:\n")
    result = invoke("--fix", "--unsafe-fixes", "app.py", cwd=tmp_path)
    assert result.exit_code == 2
    assert "a fix produced invalid code, file left unchanged (syntax error at 1:5" in result.output
    assert target.read_text() == BAD


def test_a_fixed_file_that_cannot_be_written_keeps_the_findings_of_the_file_as_read(tmp_path):
    source = "import asyncio\n\n\nasync def now():\n    return asyncio.get_event_loop().time()\n"
    target = write(tmp_path / "module.py", source)
    target.chmod(0o444)
    result = invoke("--fix", "--extend-select", "LCK401", "module.py", cwd=tmp_path)
    assert result.exit_code == 2
    assert "module.py: read-only file; fix not written" in result.output
    assert "module.py:5:12: LCK401" in result.output  # the safe fix was not written: it remains
    assert "Fixed 0 findings." in result.output


def test_select_and_ignore_take_codes_and_prefixes(tmp_path):
    write(tmp_path / "app.py", BAD)
    assert invoke("--ignore", "LCK1", "app.py", cwd=tmp_path).exit_code == 0
    assert invoke("--select", "LCK102,LCK103", "app.py", cwd=tmp_path).exit_code == 0
    assert invoke("--select", "lck101", "app.py", cwd=tmp_path).exit_code == 1
    unknown = invoke("--select", "LCK999", "app.py", cwd=tmp_path)
    assert unknown.exit_code == 2 and "unknown rule code or prefix 'LCK999'" in unknown.output


@pytest.mark.parametrize(
    "comment, exit_code",
    [("  # noqa", 0), ("  # noqa: LCK101", 0), ("  # noqa:LCK1", 0), ("  # noqa: LCK102", 1)],
)
def test_noqa(tmp_path, comment, exit_code):
    write(tmp_path / "app.py", BAD.replace("asyncio.Lock()\n", f"asyncio.Lock(){comment}\n"))
    assert invoke("app.py", cwd=tmp_path).exit_code == exit_code


def test_noqa_findings_are_not_fixed(tmp_path):
    source = BAD.replace("asyncio.Lock()\n", "asyncio.Lock()  # noqa: LCK101\n")
    target = write(tmp_path / "app.py", source)
    assert invoke("--fix", "--unsafe-fixes", "app.py", cwd=tmp_path).exit_code == 0
    assert target.read_text() == source


def test_json_output(tmp_path):
    write(tmp_path / "app.py", BAD)
    result = invoke("--output-format", "json", "app.py", cwd=tmp_path)
    [finding] = json.loads(result.output)
    assert finding["code"] == "LCK101" and finding["location"] == {"row": 3, "column": 9}
    assert finding["fix"]["applicability"] == "unsafe"
    assert finding["fix"]["edits"][0]["location"]["column"] == 1


def test_explain_and_list_rules(tmp_path):
    explained = invoke("--explain", "lck101", cwd=tmp_path)
    assert explained.exit_code == 0
    for section in ("## What it does", "## Why is this bad", "## Fix safety"):
        assert section in explained.output
    assert invoke("--explain", "LCK999", cwd=tmp_path).exit_code == 2
    listed = invoke("--list-rules", cwd=tmp_path)
    assert [line.split()[0] for line in listed.output.splitlines()] == list(all_rules())


BAD_INPUTS = {
    "syntax.py": (b"import asyncio\ndef broken(:\n    asyncio.run(main())\n", "syntax error at 2:"),
    "binary.py": (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary file"),
    "latin.py": ("x = 'caf\xe9'\n".encode("latin-1"), "not valid utf-8: byte 0xe9"),
    "badcoding.py": (b"# -*- coding: klingon -*-\nx = 1\n", "bad encoding declaration"),
}


def test_a_file_no_rule_can_report_on_is_not_parsed(tmp_path):
    """The candidate stage: without a word of the loop API or the catalogues, a file cannot hold
    a finding, so it is not parsed, and a syntax error there is left to the interpreter."""
    write(tmp_path / "plain.py", "def broken(:\n    pass\n")
    result = invoke("plain.py", cwd=tmp_path)
    assert result.exit_code == 0 and "All checks passed." in result.output


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_2_and_other_files_are_checked(tmp_path, name):
    data, reason = BAD_INPUTS[name]
    write(tmp_path / name, data)
    write(tmp_path / "good.py", BAD)
    result = invoke(name, "good.py", cwd=tmp_path)
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("loopcheck:")]
    assert errors == [errors[0]] and name in errors[0] and reason in errors[0]
    assert "good.py:3:9: LCK101" in result.output
    assert "Traceback" not in result.output


def test_missing_path(tmp_path):
    result = invoke("nowhere.py", cwd=tmp_path)
    assert result.exit_code == 2
    assert "loopcheck: nowhere.py: no such file or directory" in result.output


def test_a_pep263_file_is_read(tmp_path):
    write(tmp_path / "app.py", b"# -*- coding: latin-1 -*-\nx = 'caf\xe9'\n")
    assert invoke("app.py", cwd=tmp_path).exit_code == 0


def test_usage_errors_exit_2(tmp_path):
    assert invoke("--no-such-flag", cwd=tmp_path).exit_code == 2
    assert invoke("--fix", "--diff", cwd=tmp_path).exit_code == 2


def test_the_installed_command_and_module_run(tmp_path):
    write(tmp_path / "app.py", BAD)
    for command in ([sys.executable, "-m", "loopcheck"],):
        completed = subprocess.run(
            [*command, "app.py"], cwd=tmp_path, capture_output=True, text=True
        )
        assert completed.returncode == 1
        assert "app.py:3:9: LCK101" in completed.stdout
