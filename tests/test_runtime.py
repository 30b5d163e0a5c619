"""Every finding is backed by an executed failure: each fixture's `exercise_*` coroutines fail
under two successive asyncio.run() calls the way their docstring says (`expect: <regex>`), and
the fixed snapshot runs clean, under every supported interpreter found on the machine."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, fixture_codes, interpreters, python  # noqa: F401

HARNESS = Path(__file__).parent / "runtime_harness.py"
INTERPRETERS = interpreters()


def run_harness(python: str, path: Path) -> dict:
    completed = subprocess.run(
        [python, str(HARNESS), str(path)], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def expectation(doc: str) -> str | None:
    match = re.search(r"expect:\s*(.+)", doc)
    return match.group(1).strip() if match else None


def test_the_running_interpreter_is_in_the_matrix():
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in INTERPRETERS


@pytest.mark.parametrize("code", fixture_codes())
def test_invalid_code_fails_and_fixed_code_runs_clean(code, python):
    original = run_harness(python, FIXTURES / f"{code}.py")
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

    fixed = run_harness(python, FIXTURES / f"{code}.py.fixed")
    assert fixed.keys() == original.keys()
    for name, result in fixed.items():
        assert result["runs"] == ["ok", "ok"], f"fixed {name}: {result['runs']}"
