"""Every finding is backed by an executed failure: each fixture's `exercise_*` functions fail the
way their docstring says (`expect: <regex>`) when run twice as a worker would (see
runtime_harness.py), and the fixed snapshot runs clean, under every supported interpreter found on
the machine (the fixed snapshot under those its fixes target). Where a rule has no fix,
`after fix: <regex>` says how the fixed snapshot still fails. Every marked finding belongs to an
exercise that fails: the exercise runs the finding's line, or a line that uses what it defines.

Third-party modules fixtures import (async clients, nest_asyncio, Celery) are installed once per
interpreter (tests/runtime_deps.py); clients talk to real local servers (tests/servers.py)."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loopcheck.rules import file_rules
from tests import servers
from tests.helpers import fixtures, interpreters, markers, runs_on, target_version
from tests.runtime_deps import deps_dir

HARNESS = Path(__file__).parent / "runtime_harness.py"
RULES = file_rules()  # project rules: tests/test_project_rules.py
INTERPRETERS = interpreters()
FIXTURES = fixtures()

# Modules of the test suite fixtures import, shared with every interpreter of the matrix; the
# third-party ones come from tests/runtime_deps.py.
FIXTURE_MODULES = ("tests.fixture_support",)
_results: dict[tuple[str, str], dict] = {}


@pytest.fixture(scope="session")
def fixture_modules(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("fixture-modules")
    for name in FIXTURE_MODULES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin
        shutil.copy(spec.origin, directory / Path(spec.origin).name)  # importable by its own name
    return directory


@pytest.fixture(scope="session")
def local_servers():
    """The servers the client fixtures talk to, for the whole session."""
    with servers.http_api() as http_url, servers.redis() as redis_url:
        yield {servers.HTTP_URL: http_url, servers.REDIS_URL: redis_url}


def run_harness(python: str, path: Path, modules: Path, environment: dict[str, str]) -> dict:
    key = (python, str(path))
    if key not in _results:
        version = next(v for v, p in INTERPRETERS.items() if p == python)
        path_entries = [str(modules), str(deps_dir(python, version))]
        completed = subprocess.run(
            [python, str(HARNESS), str(path)],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **environment, "PYTHONPATH": os.pathsep.join(path_entries)},
        )
        assert completed.returncode == 0, completed.stderr
        _results[key] = json.loads(completed.stdout)
    return _results[key]


def expectation(doc: str, label: str = "expect") -> str | None:
    match = re.search(rf"^{label}:\s*(.+)$", doc, re.MULTILINE)
    return match.group(1).strip() if match else None


def interpreter_version(python: str) -> tuple[int, int]:
    name = next(v for v, p in INTERPRETERS.items() if p == python)
    major, minor = name.split(".")
    return int(major), int(minor)


def failing_exercises(results: dict) -> dict[str, set[int]]:
    """The exercises that fail as their docstring says, with the lines they ran."""
    found = {}
    for name, result in results.items():
        expected = expectation(result["doc"])
        failures = [run for run in result["runs"] if run != "ok"]
        if expected and failures and re.search(expected, failures[0]):
            found[name] = set(result["lines"])
    return found


def test_the_running_interpreter_is_in_the_matrix():
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in INTERPRETERS


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_invalid_code_fails_and_fixed_code_runs_clean(path, python, fixture_modules, local_servers):
    if interpreter_version(python) < runs_on(path):
        pytest.skip(f"{path.name} needs Python {'.'.join(map(str, runs_on(path)))}")
    original = run_harness(python, path, fixture_modules, local_servers)
    assert original, "the fixture has no exercise_* function"
    failing = 0
    for name, result in original.items():
        expected = expectation(result["doc"])
        if expected is None:
            assert result["runs"] == ["ok", "ok"], f"{name} should run clean: {result['runs']}"
            continue
        failing += 1
        failures = [run for run in result["runs"] if run != "ok"]
        assert failures, f"{name} did not fail under two loops"
        # The first failure is the bug's signature; later runs may inherit a broken object.
        assert re.search(expected, failures[0]), (name, failures)
    if any(RULES[m.code].runtime_failure for m in markers(path)):
        assert failing, "the fixture reproduces no failure"

    if interpreter_version(python) < target_version(path):
        return  # the fixes target a newer Python than this one: the original alone is checked
    fixed = run_harness(python, Path(f"{path}.fixed"), fixture_modules, local_servers)
    assert fixed.keys() == original.keys()
    for name, result in fixed.items():
        still = expectation(result["doc"], "after fix")
        if still is None:
            assert result["runs"] == ["ok", "ok"], f"fixed {name}: {result['runs']}"
        else:
            failures = [run for run in result["runs"] if run != "ok"]
            assert failures and re.search(still, failures[0]), (name, result["runs"])


def bound_names(source: str, line: int) -> set[str]:
    """The names a line binds: assignment targets (variables, attributes), or the function whose
    default values it holds."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.lineno == line:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    names.add(target.id)
                elif isinstance(target, ast.Attribute):
                    names.add(target.attr)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
            if any(d.lineno == line for d in defaults):
                names.add(node.name)
    return names


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_every_finding_belongs_to_a_failing_exercise(path, fixture_modules, local_servers):
    """A finding belongs to a failing exercise that runs its line. A finding whose line runs at
    import belongs to one that uses what the line binds (a module-level lock, a class attribute,
    an instance's attribute, a function with the default); a call run at import for its effect on
    the process (`nest_asyncio.apply()`) belongs to every failing exercise."""
    source = path.read_text()
    text = source.splitlines()
    results = run_harness(sys.executable, path, fixture_modules, local_servers)
    failing = failing_exercises(results)
    ran = set().union(*failing.values()) if failing else set()
    imported = {line for result in results.values() for line in result["import_lines"]}
    unexercised = []
    for marker in markers(path):
        if marker.line in ran or not RULES[marker.code].runtime_failure:
            continue
        names = bound_names(source, marker.line)
        if marker.line not in imported:
            belongs = False
        elif not names:
            belongs = bool(failing)
        else:
            belongs = any(
                re.search(rf"\b{re.escape(name)}\b", text[line - 1])
                for line in ran
                if line != marker.line
                for name in names
            )
        if not belongs:
            unexercised.append(f"{marker.line} ({marker.code})")
    assert not unexercised, f"findings no failing exercise runs: {', '.join(unexercised)}"
