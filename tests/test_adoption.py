"""Adopting loopcheck on a codebase with findings, through the command line: the baseline,
``--add-noqa``, and the output options CI uses (``--exit-zero``, ``-o``, ``--show-fixes``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import invoke, write

BASELINE = ".loopcheck-baseline.json"
PYPROJECT = "[tool.loopcheck]\n"
# Two findings: a public module-level lock (no fix) and a private event two loops reach (a fix).
APP = """\
import asyncio

lock = asyncio.Lock()

_event = asyncio.Event()


async def handler():
    await _event.wait()


def main():
    asyncio.run(handler())
    asyncio.run(handler())
"""
WORKER = """\
import asyncio


class Worker:
    def run(self):
        loop = asyncio.new_event_loop()
        loop.run_until_complete(asyncio.sleep(0))
"""
NEW_FINDING = "import asyncio\n\nsemaphore = asyncio.Semaphore()\n"


def _project(tmp_path: Path) -> Path:
    write(tmp_path / "pyproject.toml", PYPROJECT)
    write(tmp_path / "app.py", APP)
    write(tmp_path / "worker.py", WORKER)
    return tmp_path


def _findings(output: str) -> list[str]:
    """``path:line: CODE`` of each finding line of the text output."""
    found = []
    for line in output.splitlines():
        parts = line.split(": ", 1)
        if len(parts) == 2 and parts[1].startswith("LCK") and not line.startswith(" "):
            path, row = parts[0].split(":")[:2]
            found.append(f"{path}:{row}: {parts[1].split()[0]}")
    return found


def _entries(tmp_path: Path, name: str = BASELINE) -> dict[str, list[str]]:
    data = json.loads((tmp_path / name).read_text())
    return {path: [e["code"] for e in entries] for path, entries in data["files"].items()}


def _reported(project: Path, *args: str) -> tuple[int, list[str], str]:
    """A run's exit status, its findings (``_findings``) and its whole output."""
    result = invoke("--no-cache", *args, cwd=project)
    return result.exit_code, _findings(result.output), result.output


def _baselined(tmp_path: Path) -> Path:
    project = _project(tmp_path)
    result = invoke("--no-cache", "--write-baseline", cwd=project)
    assert result.exit_code == 0, result.output
    assert "Wrote 3 findings to the baseline .loopcheck-baseline.json." in result.output
    assert _findings(result.output) == []
    return project


def test_the_baseline_holds_every_finding_by_content(tmp_path):
    project = _baselined(tmp_path)
    assert _entries(project) == {"app.py": ["LCK101", "LCK101"], "worker.py": ["LCK201"]}
    data = json.loads((project / BASELINE).read_text())
    assert "Worker.run" in [e["scope"] for e in data["files"]["worker.py"]]
    assert not any("line" in e for entries in data["files"].values() for e in entries)
    first = (project / BASELINE).read_bytes()
    assert invoke("--no-cache", "--write-baseline", cwd=project).exit_code == 0
    assert (project / BASELINE).read_bytes() == first  # stable: same findings, same bytes


def test_a_run_with_a_baseline_reports_only_new_findings(tmp_path):
    project = _baselined(tmp_path)
    clean = invoke("--no-cache", cwd=project)
    assert clean.exit_code == 0, clean.output
    assert "All checks passed. 3 findings in the baseline not shown." in clean.output
    write(project / "extra.py", NEW_FINDING)
    status, found, output = _reported(project)
    assert (status, found) == (1, ["extra.py:3: LCK101"])
    assert "Found 1 finding." in output


def test_moved_code_stays_baselined(tmp_path):
    project = _baselined(tmp_path)
    moved = "# the lock moved down\n\n\n" + APP.replace("lock = asyncio.Lock()\n", "") + "\nlock = asyncio.Lock()\n"
    write(project / "app.py", moved)
    write(project / "worker.py", WORKER.replace("    def run", "    x = 1\n\n    def run"))
    result = invoke("--no-cache", cwd=project)
    assert result.exit_code == 0, result.output
    assert _findings(result.output) == []
    assert _entries(project) == {"app.py": ["LCK101", "LCK101"], "worker.py": ["LCK201"]}


def test_the_same_construct_elsewhere_is_a_new_finding(tmp_path):
    project = _baselined(tmp_path)
    # The same line in another function: its anchor (the enclosing name) differs.
    write(project / "worker.py", WORKER.replace("class Worker", "class Runner"))
    status, found, output = _reported(project)
    assert (status, found) == (1, ["worker.py:6: LCK201"])
    assert "Removed 1 stale baseline entry." in output


def test_a_fixed_finding_shrinks_the_baseline(tmp_path):
    project = _baselined(tmp_path)
    write(project / "worker.py", "import asyncio\n\n\nasync def run():\n    await asyncio.sleep(0)\n")
    result = invoke("--no-cache", cwd=project)
    assert result.exit_code == 0, result.output
    assert "Removed 1 stale baseline entry." in result.output
    assert _entries(project) == {"app.py": ["LCK101", "LCK101"]}
    # The finding coming back is new: the baseline never grows by itself.
    write(project / "worker.py", WORKER)
    back = invoke("--no-cache", cwd=project)
    assert back.exit_code == 1
    assert _findings(back.output) == ["worker.py:6: LCK201"]
    assert _entries(project) == {"app.py": ["LCK101", "LCK101"]}


def test_a_deleted_file_leaves_the_baseline(tmp_path):
    project = _baselined(tmp_path)
    (project / "worker.py").unlink()
    result = invoke("--no-cache", "app.py", cwd=project)  # even when not among the paths checked
    assert result.exit_code == 0, result.output
    assert "Removed 1 stale baseline entry." in result.output
    assert _entries(project) == {"app.py": ["LCK101", "LCK101"]}


def test_entries_outside_the_run_are_kept(tmp_path):
    project = _baselined(tmp_path)
    # Only LCK2 selected, and only one file checked: the other entries were not looked at.
    assert invoke("--no-cache", "--select", "LCK2", cwd=project).exit_code == 0
    assert invoke("--no-cache", "worker.py", cwd=project).exit_code == 0
    assert _entries(project) == {"app.py": ["LCK101", "LCK101"], "worker.py": ["LCK201"]}


def test_diff_never_rewrites_the_baseline(tmp_path):
    project = _baselined(tmp_path)
    write(project / "worker.py", "x = 1\n")
    before = (project / BASELINE).read_bytes()
    result = invoke("--no-cache", "--diff", cwd=project)
    assert (project / BASELINE).read_bytes() == before
    assert "1 stale baseline entry (kept" in result.output


def test_the_configured_baseline_file(tmp_path):
    project = _project(tmp_path)
    write(project / "pyproject.toml", PYPROJECT + 'baseline = "ci/loopcheck.json"\n')
    (project / "ci").mkdir()
    assert invoke("--no-cache", "--write-baseline", cwd=project).exit_code == 0
    assert not (project / BASELINE).exists()
    assert set(_entries(project, "ci/loopcheck.json")) == {"../app.py", "../worker.py"}
    assert invoke("--no-cache", cwd=project).exit_code == 0


@pytest.mark.parametrize("value", ["3", '""', "[\"a\"]"])
def test_a_bad_baseline_setting_is_one_line(tmp_path, value):
    project = _project(tmp_path)
    write(project / "pyproject.toml", PYPROJECT + f"baseline = {value}\n")
    result = invoke("--no-cache", cwd=project)
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "[tool.loopcheck] baseline: must be a file name" in result.output


@pytest.mark.parametrize(
    "content, reason",
    [("{not json", "invalid JSON"), ('{"files": {}}', "not a baseline file loopcheck writes")],
)
def test_a_broken_baseline_file_is_one_line(tmp_path, content, reason):
    project = _project(tmp_path)
    write(project / BASELINE, content)
    result = invoke("--no-cache", cwd=project)
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert reason in result.output
    assert invoke("--no-cache", "--write-baseline", cwd=project).exit_code == 0  # rewritten
    assert invoke("--no-cache", cwd=project).exit_code == 0


@pytest.mark.parametrize("other", [["--fix"], ["--diff"], ["--add-noqa"], ["-"]])
def test_write_baseline_goes_with_a_plain_check_only(tmp_path, other):
    result = invoke("--write-baseline", *other, cwd=_project(tmp_path))
    assert result.exit_code == 2
    assert "cannot be used" in result.output
    assert not (tmp_path / BASELINE).exists()


def test_sarif_fingerprints_follow_content_not_lines(tmp_path):
    project = _project(tmp_path)

    def prints() -> list[str]:
        result = invoke("--no-cache", "--output-format", "sarif", "app.py", cwd=project)
        results = json.loads(result.output)["runs"][0]["results"]
        return [r["partialFingerprints"]["loopcheckAnchor/v1"] for r in results]

    before = prints()
    assert len(before) == len(set(before)) == 2
    write(project / "app.py", "# a comment\n\n" + APP)
    assert prints() == before


# -- --add-noqa ---------------------------------------------------------------------------


def test_add_noqa_silences_every_finding_once(tmp_path):
    project = _project(tmp_path)
    result = invoke("--no-cache", "--add-noqa", cwd=project)
    assert result.exit_code == 0, result.output
    assert "Added 3 noqa codes in 2 files." in result.output
    text = (project / "app.py").read_text()
    assert "lock = asyncio.Lock()  # noqa: LCK101\n" in text
    assert "loop = asyncio.new_event_loop()  # noqa: LCK201\n" in (project / "worker.py").read_text()
    again = invoke("--no-cache", "--add-noqa", cwd=project)
    assert again.exit_code == 0
    assert "Added 0 noqa codes in 0 files." in again.output
    assert (project / "app.py").read_text() == text
    assert invoke("--no-cache", cwd=project).exit_code == 0


def test_add_noqa_merges_with_other_codes(tmp_path):
    project = _project(tmp_path)
    write(project / "app.py", APP.replace("lock = asyncio.Lock()", "lock = asyncio.Lock()  # noqa: E501 (long)"))
    write(project / "worker.py", WORKER.replace("new_event_loop()", "new_event_loop()  # type: ignore"))
    assert invoke("--no-cache", "--add-noqa", cwd=project).exit_code == 0
    assert "lock = asyncio.Lock()  # noqa: E501, LCK101 (long)\n" in (project / "app.py").read_text()
    assert "new_event_loop()  # type: ignore  # noqa: LCK201\n" in (project / "worker.py").read_text()


def test_add_noqa_never_writes_inside_a_string(tmp_path):
    project = _project(tmp_path)
    source = 'import asyncio\n\nlock = asyncio.Lock(); DOC = """\nlock\n"""\n'
    write(project / "app.py", source)
    result = invoke("--no-cache", "--add-noqa", "app.py", cwd=project)
    assert result.exit_code == 1
    assert "app.py:3:8: no noqa comment added for LCK101: its line ends inside a multi-line string" in result.output
    assert (project / "app.py").read_text() == source


@pytest.mark.parametrize("other", [["--fix"], ["--diff"], ["-"]])
def test_add_noqa_goes_with_a_plain_check_only(tmp_path, other):
    project = _project(tmp_path)
    result = invoke("--add-noqa", *other, cwd=project)
    assert result.exit_code == 2
    assert "cannot be used" in result.output
    assert (project / "app.py").read_text() == APP


# -- output options -----------------------------------------------------------------------


def test_exit_zero_keeps_the_findings(tmp_path):
    result = invoke("--no-cache", "--exit-zero", cwd=_project(tmp_path))
    assert result.exit_code == 0
    assert "Found 3 findings." in result.output


def test_exit_zero_still_fails_on_errors(tmp_path):
    project = _project(tmp_path)
    write(project / "broken.py", "import asyncio\nlock = asyncio.Lock(\n")
    assert invoke("--no-cache", "--exit-zero", cwd=project).exit_code == 2


def test_output_file_takes_the_report(tmp_path):
    project = _project(tmp_path)
    result = invoke("--no-cache", "-o", "report.txt", cwd=project)
    assert result.exit_code == 1
    assert result.output == ""
    report = (project / "report.txt").read_text()
    assert _findings(report) == ["app.py:3: LCK101", "app.py:5: LCK101", "worker.py:6: LCK201"]
    assert report.endswith("Found 3 findings. 1 fixable with --fix --unsafe-fixes.\n")


def test_an_unwritable_output_file_is_one_line(tmp_path):
    project = _project(tmp_path)
    (project / "out").mkdir()
    result = invoke("--no-cache", "--output-file", "missing/report.txt", cwd=project)
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "missing/report.txt: cannot write" in result.output
    into_directory = invoke("--no-cache", "-o", "out", cwd=project)
    assert into_directory.exit_code == 2
    assert "Error: Invalid value for '-o' / '--output-file': File 'out' is a directory." in into_directory.output


def _under(lines: list[str], finding: str) -> list[str]:
    """The indented lines under the one finding line that starts with ``finding``."""
    (at,) = [n for n, line in enumerate(lines) if line.startswith(finding)]
    end = next((n for n in range(at + 1, len(lines)) if not lines[n].startswith("    ")), len(lines))
    return lines[at + 1 : end]


def test_text_marks_fixable_findings_and_show_fixes_lists_them(tmp_path):
    result = invoke("--no-cache", "--show-fixes", cwd=_project(tmp_path))
    lines = result.output.splitlines()
    # No [*]: the fix is unsafe, which the last line under the finding says.
    assert _under(lines, "app.py:5:10: LCK101 asyncio.Event created")[-1].startswith(
        "    unsafe fix (--unsafe-fixes applies it): Create one Event per event loop"
    )
    assert _under(lines, "app.py:3:8: LCK101 asyncio.Lock created")[-1].startswith("    no fix: ")
    assert "1 fix available:" in lines
    assert "  app.py:5:10: LCK101 [-] Create one Event per event loop with `_get_event()` (--fix --unsafe-fixes)" in lines


# -- LCK901: unused and unknown noqa codes --------------------------------------------------

NOQA_SOURCE = """\
import asyncio


async def main():
    lock = asyncio.Lock()  # noqa: LCK101
    ready = asyncio.Event()  # noqa: E501, LCK999


shared = asyncio.Lock()  # noqa: LCK101
kept = 1  # noqa: LCK101, LCK901
"""


def test_noqa_codes_are_judged_only_when_selected(tmp_path):
    write(tmp_path / "app.py", NOQA_SOURCE)
    write(tmp_path / "plain.py", "x = 1  # noqa: LCK998\n")  # no rule can report here
    default = invoke("--no-cache", cwd=tmp_path)
    assert default.exit_code == 0, default.output
    assert "LCK901" not in default.output
    selected = invoke("--no-cache", "--extend-select", "LCK901", cwd=tmp_path)
    assert selected.exit_code == 1
    assert _findings(selected.output) == ["app.py:5: LCK901", "app.py:6: LCK901", "plain.py:1: LCK901"]
    lines = selected.output.splitlines()
    assert "app.py:5:36: LCK901 [*] unused noqa code LCK101: no LCK101 finding on this line" in lines
    assert "app.py:6:44: LCK901 [*] unknown noqa code LCK999: no loopcheck rule has this code" in lines
    assert "plain.py:1:16: LCK901 [*] unknown noqa code LCK998: no loopcheck rule has this code" in lines


def test_noqa_codes_of_rules_not_run_are_not_judged(tmp_path):
    write(tmp_path / "app.py", NOQA_SOURCE)
    # Only LCK901 runs: LCK101 was not looked for, so its codes cannot be called unused.
    result = invoke("--no-cache", "--select", "LCK9", cwd=tmp_path)
    assert _findings(result.output) == ["app.py:6: LCK901"]


def test_opt_in_rules_need_a_selector(tmp_path):
    write(tmp_path / "pyproject.toml", PYPROJECT + 'extend-select = ["LCK901"]\n')
    write(tmp_path / "app.py", NOQA_SOURCE)
    assert "LCK901" in invoke("--no-cache", cwd=tmp_path).output
    write(tmp_path / "pyproject.toml", PYPROJECT + 'select = ["LCK"]\n')
    assert "LCK901" in invoke("--no-cache", cwd=tmp_path).output
    write(tmp_path / "pyproject.toml", PYPROJECT + 'select = ["LCK1"]\n')
    assert "LCK901" not in invoke("--no-cache", cwd=tmp_path).output


def test_add_noqa_then_lck901_finds_nothing(tmp_path):
    project = _project(tmp_path)
    assert invoke("--no-cache", "--add-noqa", cwd=project).exit_code == 0
    result = invoke("--no-cache", "--extend-select", "LCK901", cwd=project)
    assert result.exit_code == 0, result.output


def test_standard_input_is_matched_by_its_own_text(tmp_path):
    project = _baselined(tmp_path)
    write(project / "app.py", "x = 1\n")  # what is on disk no longer has the findings
    result = invoke("--no-cache", "-", "--stdin-filename", "app.py", cwd=project, stdin="# moved\n" + APP)
    assert result.exit_code == 0, result.output
    assert "2 findings in the baseline not shown." in result.output
    assert _entries(project)["app.py"] == ["LCK101", "LCK101"]  # standard input never rewrites it


def test_baseline_through_worker_processes(tmp_path):
    """Findings that come back from worker processes (no source with them) are anchored too."""
    from tests.helpers import run_loopcheck

    for number in range(40):
        write(tmp_path / f"m{number:02}.py", f"import asyncio\n\nlock_{number} = asyncio.Lock()\n")
    written = run_loopcheck("--write-baseline", "-j", "2", ".", cwd=tmp_path, text=True)
    assert written.returncode == 0, written.stderr
    for number in range(0, 40, 2):  # every other file gains two lines above its lock
        write(tmp_path / f"m{number:02}.py", f"import asyncio\n\n# moved\n\nlock_{number} = asyncio.Lock()\n")
    write(tmp_path / "m39.py", "import asyncio\n")
    result = run_loopcheck("-j", "2", ".", cwd=tmp_path, text=True)
    assert result.returncode == 0, result.stderr
    assert _findings(result.stdout) == []
    assert "39 findings in the baseline not shown. Removed 1 stale baseline entry." in result.stdout
    assert len(_entries(tmp_path)) == 39


def test_lck901_fix_removes_the_codes_that_silence_nothing(tmp_path):
    source = """\
import asyncio


async def main():
    lock = asyncio.Lock()  # noqa: LCK101
    ready = asyncio.Event()  # noqa: E501, LCK999
    again = asyncio.Event()  # type: ignore  # noqa:LCK101,LCK102
    why = asyncio.Event()  # noqa: LCK101 (kept for now)
"""
    write(tmp_path / "app.py", source)
    result = invoke("--no-cache", "--extend-select", "LCK901", "--fix", cwd=tmp_path)
    assert result.exit_code == 1
    assert "Fixed 4 findings." in result.output
    assert _findings(result.output) == ["app.py:8: LCK901"]  # no fix: it would become a bare noqa
    assert (tmp_path / "app.py").read_text() == source.replace("  # noqa: LCK101\n", "\n", 1).replace(
        "  # noqa: E501, LCK999", "  # noqa: E501"
    ).replace("  # noqa:LCK101,LCK102", "")
