"""loopcheck as others run it: the flake8 plugin through a real flake8 process, the hooks
through a real pre-commit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loopcheck.engine import pipeline
from loopcheck.engine.diagnostics import Diagnostic, Evidence, Location
from loopcheck.frontends import flake8_plugin
from loopcheck.frontends.flake8_plugin import evidence_tail
from tests.helpers import fixtures, write

REPO = Path(__file__).parent.parent
MODULE_LOCK = "import asyncio\n\n_lock = asyncio.Lock()\n"


def flake8(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )


def lck_lines(output: str) -> set[tuple[int, int, str]]:
    found = set()
    for line in output.splitlines():
        _, row, column, text = line.split(":", 3)
        found.add((int(row), int(column), text.strip()))
    return found


@pytest.mark.parametrize("path", fixtures(), ids=lambda p: p.stem)
def test_flake8_reports_what_the_cli_reports(path):
    # The same model of the project (this repository) behind both: the same findings, notes and
    # evidence (cut to its tail on flake8's one line).
    result = flake8("--select", "LCK", str(path), cwd=REPO)
    assert result.returncode == 1, result.stderr
    cli = subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", "--select", "LCK", "--output-format", "json", str(path)],
        cwd=REPO, capture_output=True, text=True,
    )
    expected = set()
    for item in json.loads(cli.stdout):
        evidence = tuple(Evidence(e["message"], Location("", 0, 0, "")) for e in item["evidence"])
        finding = Diagnostic("", 0, 0, 0, 0, item["code"], item["message"], evidence=evidence)
        where = item["location"]
        expected.add((where["row"], where["column"], f"{item['code']} {item['message']}{evidence_tail(finding)}"))
    assert expected and lck_lines(result.stdout) == expected


def test_flake8_select_extend_ignore_per_file_ignores_and_noqa(tmp_path):
    write(tmp_path / "app.py", MODULE_LOCK + "OTHER = asyncio.Lock()  # noqa: LCK101\n")
    write(tmp_path / "tests" / "test_app.py", MODULE_LOCK)
    selected = flake8("--select", "LCK", ".", cwd=tmp_path)
    assert [line.split(":")[:2] for line in selected.stdout.splitlines()] == [
        ["./app.py", "3"], ["./tests/test_app.py", "3"]
    ]
    assert flake8("--select", "LCK2", ".", cwd=tmp_path).stdout == ""
    ignored = flake8("--select", "LCK", "--extend-ignore", "LCK101", ".", cwd=tmp_path)
    assert ignored.returncode == 0 and ignored.stdout == ""
    per_file = flake8("--select", "LCK", "--per-file-ignores", "tests/*:LCK101", ".", cwd=tmp_path)
    assert [line.split(":")[0] for line in per_file.stdout.splitlines()] == ["./app.py"]
    no_noqa = flake8("--select", "LCK", "--disable-noqa", "app.py", cwd=tmp_path)
    assert len(no_noqa.stdout.splitlines()) == 2  # flake8, not the plugin, handles noqa


def test_flake8_leaves_the_opt_in_rules_off_unless_its_selection_names_them(tmp_path):
    write(tmp_path / "app.py", MODULE_LOCK + "\n\nasync def now():\n    return asyncio.get_event_loop().time()\n")
    codes = {
        args: [line.split()[1] for line in flake8(*args, "app.py", cwd=tmp_path).stdout.splitlines()]
        for args in ((), ("--select", "LCK"), ("--extend-select", "LCK401"), ("--select", "LCK1"))
    }
    assert codes == {
        (): ["LCK101"],
        ("--select", "LCK"): ["LCK101", "LCK401"],
        ("--extend-select", "LCK401"): ["LCK101", "LCK401"],
        ("--select", "LCK1"): ["LCK101"],
    }


def test_flake8_lists_the_plugin():
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--version"], capture_output=True, text=True, timeout=60
    )
    assert "loopcheck: " in result.stdout


CLIENT_APP = """import asyncio
from mylib import Client

client = Client()


async def fetch():
    return await client.get("x")


def task():
    return asyncio.run(fetch())
"""


def test_flake8_reads_the_extra_clients_of_each_files_project(tmp_path):
    # Two projects checked in one flake8 run from above both: only the one whose
    # [tool.loopcheck] adds the client reports it, with its evidence.
    for name, table in [("with", 'extra-clients = ["mylib.Client"]'), ("without", "")]:
        write(tmp_path / name / "pyproject.toml", f"[tool.loopcheck]\n{table}\n")
        write(tmp_path / name / "app.py", CLIENT_APP)
    result = flake8("--select", "LCK", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith("./with/app.py:4:10: LCK301 mylib.Client created at module level"), line
    assert line.endswith("[reached from app.task]"), line


def test_the_plugin_does_not_parse_files_without_loop_words(monkeypatch):
    def parse_forbidden(*args, **kwargs):
        raise AssertionError("the plugin parsed a file that mentions no event loop")

    monkeypatch.setattr(pipeline, "_findings", parse_forbidden)
    lines = ["import os\n", *(f"value_{i} = os.getcwd()\n" for i in range(5000))]
    plugin = flake8_plugin.Plugin(tree=None, filename="big.py", lines=lines)
    assert list(plugin.run()) == []


# -- pre-commit ---------------------------------------------------------------------------------

BAD = (
    "import asyncio\n\n\ndef task():\n    loop = asyncio.new_event_loop()\n"
    "    asyncio.set_event_loop(loop)\n    try:\n"
    "        return loop.run_until_complete(job())\n    finally:\n"
    "        asyncio.set_event_loop(None)\n        loop.close()\n"
    "\n\nasync def job():\n    pass\n"
)


@pytest.fixture(scope="module")
def pre_commit_project(tmp_path_factory):
    if shutil.which("git") is None:
        pytest.fail("git is needed to test the pre-commit hooks")
    project = tmp_path_factory.mktemp("project")
    home = tmp_path_factory.mktemp("pre-commit-home")
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "GIT_CONFIG_GLOBAL": os.devnull}
    for command in (["git", "init", "-q"], ["git", "config", "user.email", "t@example.com"],
                    ["git", "config", "user.name", "t"]):
        subprocess.run(command, cwd=project, check=True, env=env)
    return project, env


def try_repo(hook: str, files: list[str], project: Path, env: dict) -> subprocess.CompletedProcess:
    subprocess.run(["git", "add", "-A"], cwd=project, check=True, env=env)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), hook, "--files", *files],
        cwd=project, capture_output=True, text=True, timeout=900, env=env,
    )


def test_pre_commit_hooks_fail_fix_and_pass(pre_commit_project):
    project, env = pre_commit_project
    write(project / "bad.py", BAD)
    write(project / "good.py", "import asyncio\n\n\ndef task(job):\n    return asyncio.run(job())\n")

    checked = try_repo("loopcheck", ["bad.py", "good.py"], project, env)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "bad.py:5:12: LCK201" in checked.stdout and "good.py" not in checked.stdout

    fixed = try_repo("loopcheck-fix", ["bad.py"], project, env)
    assert fixed.returncode == 1  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in fixed.stdout
    assert "    return asyncio.run(job())\n" in (project / "bad.py").read_text()

    passed = try_repo("loopcheck", ["bad.py", "good.py"], project, env)
    assert passed.returncode == 0, passed.stdout
    assert "Passed" in passed.stdout
