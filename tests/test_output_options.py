"""``--color``, ``--show-files`` and ``--show-settings``."""

from __future__ import annotations

import io

import pytest

from loopcheck.frontends.color import use_color
from loopcheck.reporters.text import report_text
from tests.helpers import invoke, write
from tests.test_evidence_output import EVIDENCED, SOURCES

ESC = "\x1b["
# A finding with a fix (LCK401, opt-in) and one without (LCK101).
SOURCE = (
    "import asyncio\n\n"
    "lock = asyncio.Lock()\n\n\n"
    "async def now():\n"
    "    return asyncio.get_event_loop().time()\n"
)


@pytest.fixture
def project(tmp_path, monkeypatch):
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    write(tmp_path / "pyproject.toml", '[tool.loopcheck]\nextend-select = ["LCK401"]\n')
    write(tmp_path / "app.py", SOURCE)
    return tmp_path


def check(project, *args):
    return invoke("--no-cache", *args, "app.py", cwd=project)


@pytest.mark.parametrize("output_format", ["text", "concise"])
def test_color_always_styles_the_path_the_code_and_the_fix_marker(project, output_format):
    result = check(project, "--color", "always", "--output-format", output_format)
    lines = [line for line in result.output.splitlines() if "LCK" in line]
    assert lines[0] == (
        "\x1b[1mapp.py\x1b[0m:3:8: \x1b[31m\x1b[1mLCK101\x1b[0m asyncio.Lock created at module level"
        + lines[0].split(" module level", 1)[1]
    )
    assert lines[1].startswith("\x1b[1mapp.py\x1b[0m:7:12: \x1b[31m\x1b[1mLCK401\x1b[0m \x1b[36m[*]\x1b[0m ")
    assert ESC not in result.output.splitlines()[-1]  # the summary line stays plain


def test_color_never_and_auto_off_a_terminal_print_no_escapes(project):
    for args in (("--color", "never"), ("--color", "auto"), ()):
        result = check(project, *args)
        assert "app.py:7:12: LCK401 [*] " in result.output and ESC not in result.output, args


def test_force_color_colours_auto_and_no_color_wins(project, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert ESC in check(project).output
    monkeypatch.setenv("NO_COLOR", "1")
    assert ESC not in check(project).output
    assert ESC in check(project, "--color", "always").output  # the option beats the environment


@pytest.mark.parametrize("output_format", ["json", "sarif", "github"])
def test_machine_formats_are_never_coloured(project, output_format):
    result = check(project, "--color", "always", "--output-format", output_format)
    assert "LCK401" in result.output and ESC not in result.output


def test_an_output_file_is_never_coloured(project):
    result = check(project, "--color", "always", "-o", "out.txt")
    written = (project / "out.txt").read_text()
    assert "app.py:7:12: LCK401 [*] " in written and ESC not in written, result.output


def test_a_wrong_color_is_a_usage_error(project):
    result = check(project, "--color", "sometimes")
    assert result.exit_code == 2 and "'sometimes' is not one of 'auto', 'always', 'never'" in result.output


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("choice", "environ", "stream", "expected"),
    [
        ("auto", {}, Terminal(), True),
        ("auto", {}, io.StringIO(), False),
        ("auto", {"NO_COLOR": "1"}, Terminal(), False),
        ("auto", {"NO_COLOR": ""}, Terminal(), True),  # empty: not set (no-color.org)
        ("auto", {"TERM": "dumb"}, Terminal(), False),
        ("auto", {"FORCE_COLOR": "1"}, io.StringIO(), True),
        ("auto", {"FORCE_COLOR": "1", "NO_COLOR": "1"}, io.StringIO(), False),
        ("always", {"NO_COLOR": "1"}, io.StringIO(), True),
        ("never", {"FORCE_COLOR": "1"}, Terminal(), False),
    ],
)
def test_use_color(choice, environ, stream, expected):
    assert use_color(choice, stream, environ) is expected


def test_evidence_lines_are_dim():
    stream = io.StringIO()
    report_text([EVIDENCED], SOURCES, stream, color=True)
    evidence = stream.getvalue().splitlines()[1:]
    assert evidence and all(line.startswith("    \x1b[2m") and line.endswith("\x1b[0m") for line in evidence)


def test_show_files_prints_the_files_a_run_checks_sorted(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.loopcheck]\nextend-exclude = ["skipped"]\n')
    for name in ("pkg/z.py", "pkg/a.py", "b.pyi", "skipped/x.py", "notes.txt", ".venv/lib/y.py"):
        write(tmp_path / name, "x = 1\n")
    result = invoke("--show-files", ".", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == sorted(["b.pyi", "pkg/a.py", "pkg/z.py"])
    named = invoke("--show-files", "pkg/z.py", "b.pyi", "pkg", cwd=tmp_path)  # sorted, each once
    assert named.output.splitlines() == ["b.pyi", "pkg/a.py", "pkg/z.py"]


def test_show_files_names_a_missing_path_and_exits_2(tmp_path):
    write(tmp_path / "a.py", "x = 1\n")
    result = invoke("--show-files", "a.py", "missing.py", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.output.splitlines() == ["a.py", "loopcheck: missing.py: no such file or directory"]


def settings_of(output: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in output.splitlines())


def test_show_settings_prints_the_configuration_and_the_rules_after_the_tiers(tmp_path):
    write(
        tmp_path / "pyproject.toml",
        '[tool.loopcheck]\nselect = ["LCK1", "LCK4"]\nignore = ["LCK402"]\ntarget-version = "py311"\n'
        'extra-clients = ["acme.Client"]\nper-file-ignores = {"tests/*" = ["LCK101"]}\n',
    )
    write(tmp_path / "app.py", SOURCE)
    result = invoke("--show-settings", "--ignore", "LCK107", "app.py", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    shown = settings_of(result.output)
    assert shown["config file"] == str(tmp_path / "pyproject.toml")
    assert shown["enabled rules"] == "LCK101, LCK102, LCK103, LCK104, LCK105, LCK106, LCK401, LCK403, LCK404, LCK405, LCK406"
    assert shown["opt-in rules"] == "LCK401 (on), LCK901 (off)"
    assert shown["select"] == "LCK1, LCK4" and shown["ignore"] == "LCK402"
    assert shown["per-file-ignores"] == "tests/* = LCK101"
    assert shown["target-version"].startswith("py311 ")
    assert shown["extra-clients"] == "acme.Client"
    assert shown["cache dir"] == str(tmp_path / ".loopcheck_cache")
    assert settings_of(invoke("--show-settings", "--no-cache", cwd=tmp_path).output)["cache dir"] == "(none: --no-cache)"


def test_show_settings_without_a_configuration_shows_the_default_tier(tmp_path):
    result = invoke("--show-settings", cwd=tmp_path)
    shown = settings_of(result.output)
    assert result.exit_code == 0
    assert shown["config file"] == "(none: the defaults)" and shown["select"] == "(default tier)"
    assert "LCK401" not in shown["enabled rules"] and "LCK101" in shown["enabled rules"]


def test_show_settings_with_a_broken_configuration_is_one_line_and_exit_2(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.loopcheck]\nselect = ["LCK999"]\n')
    result = invoke("--show-settings", cwd=tmp_path)
    assert result.exit_code == 2 and len(result.output.splitlines()) == 1 and "LCK999" in result.output
