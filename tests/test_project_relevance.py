"""A run over a few files builds the project model only where it can change what they report
(``project/relevance.py``): the project rules' findings are still reported on a file checked
alone, per-file findings the reach changes still get it, and a file the model cannot touch is
checked without it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from loopcheck.data.catalogue import Catalogue
from loopcheck.engine.diagnostics import Diagnostic, Fix, Safety, SafeWhen
from loopcheck.project.records import Class, Function, Holder, LoopStart, ModuleSummary
from loopcheck.project.relevance import findings_need_reach, may_hold_project_findings, project_parts
from loopcheck.rules.project.checking import project_rules
from loopcheck.run import project as run_project
from loopcheck.run import runner
from loopcheck.run.project import model_may_matter
from loopcheck.settings.config import Settings
from tests.helpers import invoke, write

CATALOGUE = Catalogue.load()
EMPTY = ModuleSummary("app.plain", "app/plain.py", False, (), (), (), (), (), ())
IN_APP = {"app"}.__contains__


def summary(**fields) -> ModuleSummary:
    return replace(EMPTY, **fields)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, False),
        ({"holders": (Holder("lock", "primitive", "asyncio.Lock", "global", 3, 7),)}, True),
        ({"functions": (Function("run", False, 1, 0, starts=(LoopStart("asyncio.run", "per-call", None, (), 2, 4),)),)}, True),
        # The instance of a class another module of the project defines (LCK306's place).
        ({"imports": (("Browser", "app.browser.Browser"),), "instances": (("shared", "Browser"),)}, True),
        ({"imports": (("browser", "app.browser"),), "instances": (("shared", "browser.Browser"),)}, True),
        # Through another instance of the module, and through `from app.x import *`.
        ({"imports": (("make", "app.factory.make"),), "instances": (("a", "make"), ("b", "a.Browser"))}, True),
        ({"star_imports": ("app.browser",), "instances": (("shared", "Browser"),)}, True),
        # A library's, a builtin's, the module's own class: no other module of the project.
        ({"imports": (("re", "re"),), "instances": (("pattern", "re.compile"),)}, False),
        ({"instances": (("names", "frozenset"),)}, False),
        ({"classes": (Class("Browser", (), (), 1),), "instances": (("shared", "Browser"),)}, False),
        ({"imports": (("re", "re"),), "instances": (("a", "re.compile"), ("b", "a.sub"))}, False),
        # A star import brings public names only.
        ({"star_imports": ("app.browser",), "instances": (("shared", "_Browser"),)}, False),
        ({"star_imports": ("os",), "instances": (("shared", "Browser"),)}, False),
    ],
)
def test_the_places_a_project_rule_reports_at(fields, expected):
    assert may_hold_project_findings(summary(**fields), IN_APP) is expected


def test_the_names_a_project_module_can_begin_with(tmp_path):
    parts = project_parts([str(tmp_path / "src" / "app" / "tasks.py")], ["renamed.pkg"])
    assert {"src", "app", "tasks", "renamed", "pkg"} <= parts
    assert "tasks.py" not in parts and "re" not in parts


def finding(code: str, fix: Fix | None = None) -> Diagnostic:
    return Diagnostic("app/plain.py", 3, 1, 3, 9, code, "message", fix)


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        ([], False),
        ([finding("LCK401"), finding("LCK901")], False),
        ([finding("LCK101")], True),  # noted where no loop reaches it, dropped where confined
        ([finding("LCK301")], True),
        ([finding("LCK201")], True),  # a loop started or served on its line
        ([finding("LCK401", Fix(Safety.UNSAFE, "fix", safe_when=SafeWhen((("run", "coro"),), "fix")))], True),
    ],
)
def test_the_findings_the_reach_can_change(found, expected):
    assert findings_need_reach(found) is expected


def example_project(tmp_path: Path, modules: dict[str, str]) -> Path:
    write(tmp_path / "pyproject.toml", '[project]\nname = "example"\nversion = "0"\n')
    for path, source in modules.items():
        write(tmp_path / path, source)
        for parent in Path(path).parents:
            if parent != Path(".") and not (tmp_path / parent / "__init__.py").exists():
                write(tmp_path / parent / "__init__.py", "")
    return tmp_path


REPORTED = [
    (code, number, line)
    for code, rule in sorted(project_rules().items())
    for number, example in enumerate(rule.examples)
    for line in example.findings
]


@pytest.mark.parametrize(("code", "number", "line"), REPORTED)
def test_a_project_finding_is_reported_on_its_file_checked_alone(tmp_path, monkeypatch, code, number, line):
    """Every finding of the project rules' examples, with its file the only one named: the
    file needs the model, and the run reports the finding."""
    root = example_project(tmp_path, project_rules()[code].examples[number].modules)
    monkeypatch.chdir(root)
    path = line.partition(":")[0]
    assert model_may_matter([path], Settings(), CATALOGUE, None)
    result = invoke("--no-cache", "--output-format", "json", "--select", code, path, cwd=root)
    found = [f"{f['filename']}:{f['location']['row']}:{f['location']['column']} {f['message']}"
             for f in json.loads(result.output)]
    assert line in found


PLAIN = """\
import re

PATTERN = re.compile("[a-z]+")


def words(text):
    return PATTERN.findall(text)
"""

SHARED = """\
import asyncio

from app.store import guarded
from app.words import words


def task(text):
    asyncio.run(count(text))


async def count(text):
    await guarded()
    return len(words(text))
"""


def models_built(monkeypatch) -> list[list[str]]:
    """The files of each project model the runner builds from now on."""
    built: list[list[str]] = []
    real = run_project.project_view

    def watched(files, *args, **kwargs):
        built.append(list(files))
        return real(files, *args, **kwargs)

    monkeypatch.setattr(runner, "project_view", watched)
    return built


def test_a_file_the_model_cannot_touch_is_checked_without_it(tmp_path, monkeypatch):
    root = example_project(tmp_path, {"app/words.py": PLAIN, "app/tasks.py": SHARED})
    monkeypatch.chdir(root)
    built = models_built(monkeypatch)
    job = runner.Job(Settings(), ("LCK101", "LCK306", "LCK401"), runner.Mode(), None)
    assert [r.diagnostics for r in runner.check_files(["app/words.py"], job, 1)] == [[]]
    assert built == []
    list(runner.check_files(["app/tasks.py"], job, 1))  # it starts a loop
    assert built == [["app/tasks.py"]]


def test_a_notebook_s_finding_is_noted_where_the_project_has_loops_and_none_reaches_it(tmp_path):
    """A notebook is no module of the model, so the model adds nothing in it, nor in a module
    with no place of a project finding; the notebook's LCK101 finding still says that no loop
    of the project (the project of the module checked with it) was seen reaching it."""
    from tests.test_notebooks import LOCKED

    root = example_project(tmp_path, {"app/tasks.py": SHARED, "app/words.py": PLAIN})
    write(root / "n.ipynb", LOCKED)
    result = invoke("--no-cache", "--output-format", "json", "n.ipynb", "app/words.py", cwd=root)
    (found,) = json.loads(result.output)
    assert found["code"] == "LCK101"
    assert found["message"].endswith("(no event loop in this project was seen reaching it)")


def test_standard_input_builds_the_model_only_where_it_can_change_the_buffer_s_findings(tmp_path, monkeypatch):
    root = example_project(tmp_path, {"app/words.py": PLAIN, "app/tasks.py": SHARED, "app/store.py": STORE})
    monkeypatch.chdir(root)
    built = models_built(monkeypatch)
    job = runner.Job(Settings(), ("LCK101", "LCK306"), runner.Mode(), None)
    result, _ = runner.check_stdin(PLAIN.encode(), "app/words.py", job)
    assert result.diagnostics == [] and built == []
    # A lock the loop of app/tasks.py reaches: the finding carries that loop.
    result, _ = runner.check_stdin(STORE.encode(), "app/store.py", job)
    assert built == [["app/store.py"]]
    (found,) = result.diagnostics
    assert found.code == "LCK101" and len(found.evidence) == 1


STORE = """\
import asyncio

_lock = asyncio.Lock()


async def guarded():
    async with _lock:
        await asyncio.sleep(0)
"""
