"""A project rule's fix, granted by the project model and built where the finding's file is fixed
(``Diagnostic.granted``): LCK306's per-loop instance. ``--fix``, ``--diff``, several processes and
the model's kept outcome give the same file; where the fix cannot work, the finding says why.
The fixed scenario's runtime proof is tests/test_projects_runtime.py
(``instance_connector_per_task``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_loopcheck, write

SCENARIO = Path(__file__).parent / "fixtures" / "projects" / "instance_connector_per_task"

GRAPH = '''\
from neo4j import AsyncGraphDatabase


class Connector:
    def __init__(self):
        self.driver = AsyncGraphDatabase.driver("neo4j://localhost")
CLOSE
    async def query(self, cypher):
        return await self.driver.execute_query(cypher)
'''
CLOSE = '''
    async def close(self):
        await self.driver.close()
'''
MEMORY = '''\
import asyncio

from app.graph import Connector

connector = Connector()


async def recall(user):
    return await connector.query(user)
'''
TASKS = '''\
import asyncio

from celery import shared_task

from app import memory


@shared_task
def recall(user):
    return asyncio.run(memory.recall(user))
'''


def project(tmp_path: Path, graph: str = GRAPH.replace("CLOSE", CLOSE), memory: str = MEMORY, **more: str) -> Path:
    root = tmp_path / "project"
    write(root / "pyproject.toml", '[project]\nname = "p"\nversion = "0"\n')
    write(root / "app" / "__init__.py", "")
    for name, text in {"graph": graph, "memory": memory, "tasks": TASKS, **more}.items():
        write(root / "app" / f"{name}.py", text)
    return root


def texts(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): path.read_text() for path in sorted(root.rglob("*.py"))}


def lck306(root: Path, *args: object) -> str:
    """The LCK306 lines of a concise check of ``root``."""
    result = run_loopcheck("--output-format", "concise", *args, ".", cwd=root, text=True)
    return "\n".join(line for line in result.stdout.splitlines() if " LCK306 " in line)


def test_the_fix_makes_the_instance_per_loop_in_its_module_only(tmp_path):
    root = project(tmp_path)
    before = texts(root)
    assert "unsafe fix" in run_loopcheck(".", cwd=root, text=True).stdout
    fixed = run_loopcheck("--fix", "--unsafe-fixes", ".", cwd=root, text=True)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "Fixed 1 finding" in fixed.stdout
    after = texts(root)
    assert {name for name in after if after[name] != before[name]} == {"app/memory.py"}
    memory = after["app/memory.py"]
    assert "connector = _ConnectorPerLoop()" in memory and "await client.close()" in memory
    assert "async def recall(user):\n    return await connector.query(user)\n" in memory


def test_without_unsafe_fixes_the_finding_stays_with_its_fix(tmp_path):
    root = project(tmp_path)
    before = texts(root)
    result = run_loopcheck("--fix", ".", cwd=root, text=True)
    assert texts(root) == before
    assert " LCK306 " in result.stdout
    assert "unsafe fix (--unsafe-fixes applies it): Make one `Connector`" in result.stdout


def test_fix_diff_processes_and_the_kept_outcome_agree(tmp_path):
    root = project(tmp_path)
    diff = run_loopcheck("--diff", "--unsafe-fixes", ".", cwd=root).stdout
    assert b"+connector = _ConnectorPerLoop()" in diff
    results = []
    for args, cache in ((("-j", "1"), False), (("-j", "2"), False), ((), True), ((), True)):
        copy = tmp_path / f"copy{len(results)}"
        shutil.copytree(root, copy)
        if cache:  # the second run takes the model's kept outcome from the first's cache
            run_loopcheck("--cache-dir", tmp_path / "cache", ".", cwd=copy, cache=True)
            run_loopcheck("--cache-dir", tmp_path / "cache", ".", cwd=copy, cache=True)
        options = ("--cache-dir", tmp_path / "cache") if cache else ()
        fixed = run_loopcheck("--fix", "--unsafe-fixes", *args, *options, ".", cwd=copy, cache=cache)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        results.append((copy / "app" / "memory.py").read_text())
    assert len(set(results)) == 1
    patched = run_loopcheck("--diff", "--unsafe-fixes", ".", cwd=root).stdout
    assert patched == diff and texts(root)["app/memory.py"] == MEMORY  # --diff writes nothing
    given = run_loopcheck(
        "--fix", "--unsafe-fixes", "--stdin-filename", "app/memory.py", "-", cwd=root, input=MEMORY, text=True
    )
    assert given.stdout == results[0]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"graph": GRAPH.replace("CLOSE", "")}, "`Connector` has no `async def close(self)` (nor `aclose`, `stop`)"),
        (
            {"graph": GRAPH.replace("CLOSE", CLOSE + "\n    def __call__(self):\n        return self\n")},
            "`Connector` defines `__call__`, which a proxy for its instances would not forward",
        ),
        (
            {"graph": GRAPH.replace("CLOSE", CLOSE).replace("class Connector:", "class Connector(Base):")},
            "`Connector` derives from `Base`",
        ),
        ({"memory": MEMORY + "\n\ndef name():\n    return connector.driver\n"}, "no fix: name() uses it outside"),
        (
            {"report": "from app.memory import connector\n\n\ndef describe():\n    return connector.driver\n"},
            "no fix: app.report: describe() uses it outside coroutines",
        ),
        (
            {"report": "from app import memory\n\n\ndef describe():\n    return memory.connector.driver\n"},
            "no fix: app.report: describe() uses it outside coroutines",
        ),
        (
            {"report": "from app.memory import *\n\n\ndef describe():\n    return connector.driver\n"},
            "no fix: app.report: describe() uses it outside coroutines",
        ),
        (
            {
                "__init__": "from app.memory import connector\n",
                "report": "from app import connector\n\n\ndef describe():\n    return connector.driver\n",
            },
            "no fix: app.report: describe() uses it outside coroutines",
        ),
        (
            {"report": "from app.memory import connector\n\n\ndef describe(:\n    pass\n"},
            "no fix: app.report may import it, and loopcheck could not read or parse that module",
        ),
    ],
)
def test_no_fix_where_the_model_shows_it_would_not_work(tmp_path, change, reason):
    root = project(tmp_path, **change)
    assert reason in lck306(root)
    before = texts(root)
    run_loopcheck("--fix", "--unsafe-fixes", ".", cwd=root)
    assert texts(root) == before


# What only the file's syntax shows (the summaries do not keep it), with the reason there is no fix.
DECLINED_BY_THE_FILE = [
    (
        MEMORY + "\n\nasync def rename(user):\n    connector.user = user\n",
        "no fix: code sets or deletes an attribute",
    ),
    (MEMORY.replace("connector = Connector()", "connector = Connector()\nconnector = Connector()"),
     "no fix: `connector` is assigned elsewhere too"),
    (MEMORY.replace("connector = Connector()", "connector = default = Connector()"),
     "no fix: the fix needs it assigned to one name, on a line of its own"),
    (MEMORY.replace("connector = Connector()", "if True:\n    connector = Connector()"),
     "no fix: the fix needs it assigned to one name, on a line of its own"),
]


@pytest.mark.parametrize(("memory", "reason"), DECLINED_BY_THE_FILE)
def test_no_fix_where_the_file_shows_it_would_not_work(tmp_path, memory, reason):
    """What the summaries do not keep is seen where the file is fixed: the finding stays, saying
    why, and the file is left as it is."""
    root = project(tmp_path, memory=memory)
    before = texts(root)
    result = run_loopcheck("--fix", "--unsafe-fixes", "--output-format", "concise", ".", cwd=root, text=True)
    assert texts(root) == before
    assert reason in "\n".join(line for line in result.stdout.splitlines() if " LCK306 " in line)


def test_the_fix_goes_with_the_per_file_fixes_of_the_same_file(tmp_path):
    """The granted fix is rebuilt on each pass's text, as the per-file rules' fixes are."""
    memory = MEMORY.replace("connector = Connector()", "_lock = asyncio.Lock()\nconnector = Connector()").replace(
        "    return await connector.query(user)", "    async with _lock:\n        return await connector.query(user)"
    )
    root = project(tmp_path, memory=memory)
    fixed = run_loopcheck("--fix", "--unsafe-fixes", ".", cwd=root, text=True)
    assert "Fixed 2 findings. No findings remain." in fixed.stdout, fixed.stdout + fixed.stderr
    after = texts(root)["app/memory.py"]
    assert "def _get_lock():" in after and "connector = _ConnectorPerLoop()" in after
    compile(after, "memory.py", "exec")


@pytest.mark.parametrize(("memory", "reason"), DECLINED_BY_THE_FILE)
def test_a_plain_check_shows_the_fix_declined_as_fix_does(tmp_path, memory, reason):
    """Checking without --fix says what --fix does: no fix, and why (the file is read for it),
    in text, JSON and SARIF alike."""
    root = project(tmp_path, memory=memory)
    checked = lck306(root)
    assert reason in checked
    assert checked == lck306(root, "--fix", "--unsafe-fixes")
    given = run_loopcheck(
        "--output-format", "concise", "--stdin-filename", "app/memory.py", "-", cwd=root, input=memory, text=True
    )
    assert [line for line in given.stdout.splitlines() if " LCK306 " in line] == checked.splitlines()
    text = run_loopcheck(".", cwd=root, text=True).stdout
    assert "unsafe fix" not in text and "fixable" not in text
    plugin = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "LCK306", "app/memory.py"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )
    assert plugin.stdout.count(reason) == 1, plugin.stdout + plugin.stderr
    (found,) = [f for f in report(root, "json") if f["code"] == "LCK306"]
    assert found["fix"] is None and reason in found["message"]
    (result,) = [r for r in report(root, "sarif")["runs"][0]["results"] if r["ruleId"] == "LCK306"]
    assert "fixes" not in result and reason in result["message"]["text"]


def test_json_and_sarif_give_the_edits_that_fix_applies(tmp_path):
    """A plain check's JSON and SARIF carry the granted fix's edits, built on the file as other
    rules' fixes are: applied, they give the file --fix writes."""
    root = project(tmp_path)
    (found,) = [f for f in report(root, "json") if f["code"] == "LCK306"]
    from_json = edited(
        MEMORY,
        [(e["location"]["row"], e["location"]["column"], e["end_location"]["row"], e["end_location"]["column"],
          e["content"]) for e in found["fix"]["edits"]],
    )
    (result,) = [r for r in report(root, "sarif")["runs"][0]["results"] if r["ruleId"] == "LCK306"]
    (change,) = result["fixes"][0]["artifactChanges"]
    from_sarif = edited(
        MEMORY,
        [(r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"], r["deletedRegion"]["endLine"],
          r["deletedRegion"]["endColumn"], r["insertedContent"]["text"]) for r in change["replacements"]],
    )
    fixed = run_loopcheck("--fix", "--unsafe-fixes", ".", cwd=root, text=True)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert from_json == from_sarif == texts(root)["app/memory.py"] != MEMORY


def report(root: Path, output_format: str):  # type: ignore[no-untyped-def]
    return json.loads(run_loopcheck("--output-format", output_format, ".", cwd=root, text=True).stdout)


def edited(text: str, edits: list[tuple[int, int, int, int, str]]) -> str:
    """``text`` with each edit (1-based start row and column, exclusive end, new content) made."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    for row, column, end_row, end_column, content in sorted(edits, reverse=True):
        start, end = starts[row - 1] + column - 1, starts[end_row - 1] + end_column - 1
        text = text[:start] + content + text[end:]
    return text
