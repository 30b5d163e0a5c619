"""Every finding is backed by an executed failure: each fixture's `exercise_*` functions fail the
way their docstring says (`expect: <regex>`) when run twice as a worker would (see
runtime_harness.py), and the fixed snapshot runs clean, under every supported interpreter found on
the machine. Where a rule has no fix, `after fix: <regex>` says how the fixed snapshot still fails.

Third-party modules a fixture imports (nest_asyncio) are taken from the test environment."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, fixture_codes, interpreters, python  # noqa: F401

HARNESS = Path(__file__).parent / "runtime_harness.py"
INTERPRETERS = interpreters()


# Pure-Python modules fixtures may import, shared with every interpreter of the matrix.
FIXTURE_MODULES = ("nest_asyncio",)


@pytest.fixture(scope="session")
def fixture_modules(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("fixture-modules")
    for name in FIXTURE_MODULES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin, f"{name} is a test dependency: pip install -e .[test]"
        shutil.copy(spec.origin, directory / Path(spec.origin).name)
    return directory


def run_harness(python: str, path: Path, modules: Path) -> dict:
    completed = subprocess.run(
        [python, str(HARNESS), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(modules)},
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def expectation(doc: str, label: str = "expect") -> str | None:
    match = re.search(rf"^{label}:\s*(.+)$", doc, re.MULTILINE)
    return match.group(1).strip() if match else None


def test_the_running_interpreter_is_in_the_matrix():
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in INTERPRETERS


@pytest.mark.parametrize("code", fixture_codes())
def test_invalid_code_fails_and_fixed_code_runs_clean(code, python, fixture_modules):
    original = run_harness(python, FIXTURES / f"{code}.py", fixture_modules)
    assert original, "the fixture has no exercise_* coroutine"
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
    assert failing, "the fixture reproduces no failure"

    fixed = run_harness(python, FIXTURES / f"{code}.py.fixed", fixture_modules)
    assert fixed.keys() == original.keys()
    for name, result in fixed.items():
        still = expectation(result["doc"], "after fix")
        if still is None:
            assert result["runs"] == ["ok", "ok"], f"fixed {name}: {result['runs']}"
        else:
            assert re.search(still, result["runs"][0]), (name, result["runs"])
