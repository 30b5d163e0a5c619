"""Each multi-module scenario of tests/fixtures/projects/ does what its `main.py` says, on every
supported interpreter found on the machine (as in test_runtime.py): the incident shapes end with
their error, the confined designs exit cleanly with nothing logged by asyncio, nothing swallowed
by the interpreter and no ResourceWarning (tests/projects_harness.py runs them and reports)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import servers
from tests.helpers import interpreters
from tests.projects import PROJECTS, SERVERS, Scenario, load, scenarios
from tests.projects_harness import RESULT
from tests.runtime_deps import deps_dir

HARNESS = Path(__file__).parent / "projects_harness.py"
SCENARIOS = scenarios()
TIMEOUT = 60  # seconds; a scenario takes well under one


def run_scenario(
    python: str, path: Path, libraries: Path | None = None, env: dict[str, str] | None = None
) -> tuple[dict, str]:
    """The harness's result for ``path`` under ``python`` (with the real ``libraries`` before
    the stand-ins, and ``env`` added to the environment), and what the scenario wrote to stderr."""
    # -I: nothing from the environment or the checkout on sys.path but what the harness puts
    # there; -B: no __pycache__ written into the fixtures.
    completed = subprocess.run(
        [python, "-I", "-B", str(HARNESS), str(path), *([str(libraries)] if libraries else [])],
        capture_output=True, text=True, timeout=TIMEOUT, env={**os.environ, **(env or {})},
    )
    assert completed.returncode == 0, completed.stderr
    last = completed.stdout.rstrip("\n").splitlines()[-1]
    assert last.startswith(RESULT), completed.stdout
    return json.loads(last[len(RESULT):]), completed.stderr


def failure(scenario: Scenario, result: dict) -> str | None:
    """How ``result`` differs from what ``scenario`` expects (None: as expected)."""
    if scenario.confined:
        if result["error"] is not None or result["problems"]:
            return f"expected a clean run, got {result['error']!r} and {result['problems']!r}"
        return None
    if result["error"] is None or not re.search(scenario.expect, result["error"]):
        return f"expected an error matching {scenario.expect!r}, got {result['error']!r}"
    if scenario.while_handling and not any(re.search(scenario.while_handling, e) for e in result["chain"][1:]):
        return f"expected it raised while handling {scenario.while_handling!r}, got {result['chain']!r}"
    return None


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenario_runs_as_its_main_says(scenario, python):
    result, stderr = run_scenario(python, scenario.path)
    assert failure(scenario, result) is None, failure(scenario, result) + "\n" + stderr
    if scenario.confined:
        assert "Traceback" not in stderr, stderr


def test_there_are_incident_and_confined_scenarios():
    assert sum(s.confined for s in SCENARIOS) >= 5 and sum(not s.confined for s in SCENARIOS) >= 8


def test_every_scenario_is_in_the_readme_table():
    readme = (PROJECTS / "README.md").read_text("utf-8")
    listed = set(re.findall(r"^\| `([a-z0-9_]+)` \|", readme, re.MULTILINE))
    assert listed == {s.name for s in SCENARIOS}


# The checks above can fail: scenarios that end otherwise than they say, and confined designs
# that leave something behind, are reported.


def scenario(tmp_path: Path, main: str, modules: dict[str, str] | None = None) -> Path:
    root = tmp_path / "scenario"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    for name, text in (modules or {}).items():
        (root / "app" / name).write_text(text)
    (root / "main.py").write_text(main)
    return root


LEFT_BEHIND = {
    "unclosed loop": (
        '"""expect: clean"""\nfrom app import loop\n',
        {"loop.py": "import asyncio\n_worker_loop = asyncio.new_event_loop()\n"},
        "ResourceWarning: unclosed event loop",
    ),
    "pending task destroyed": (
        '"""expect: clean"""\nfrom app import background\nbackground.start()\n',
        {"background.py": (
            "import asyncio\n_loop = asyncio.new_event_loop()\n_task = None\n"
            "def start():\n    global _task\n    _task = _loop.create_task(asyncio.sleep(5))\n"
            "    _loop.run_until_complete(asyncio.sleep(0))\n    _loop.close()\n"
        )},
        "asyncio logged: Task was destroyed but it is pending!",
    ),
    "exception ignored": (
        '"""expect: clean"""\nimport gc\nclass Closer:\n    def __del__(self):\n'
        '        raise RuntimeError("Event loop is closed")\nCloser()\ngc.collect()\n',
        {},
        "exception ignored: RuntimeError: Event loop is closed",
    ),
}


@pytest.mark.parametrize("case", sorted(LEFT_BEHIND))
def test_a_confined_scenario_that_leaves_something_behind_fails(case, tmp_path):
    main, modules, reported = LEFT_BEHIND[case]
    path = scenario(tmp_path, main, modules)
    result, _ = run_scenario(sys.executable, path)
    assert any(problem.startswith(reported) for problem in result["problems"]), result["problems"]
    assert failure(load(path), result) is not None


def test_a_scenario_that_fails_otherwise_than_it_says_is_reported(tmp_path):
    path = scenario(tmp_path, '"""expect: Event loop is closed"""\nraise RuntimeError("attached to a different loop")\n')
    result, _ = run_scenario(sys.executable, path)
    assert result["error"] == "RuntimeError: attached to a different loop"
    assert "expected an error matching" in failure(load(path), result)


def test_a_scenario_that_runs_clean_but_should_fail_is_reported(tmp_path):
    path = scenario(tmp_path, '"""expect: Event loop is closed"""\nprint("fine")\n')
    result, _ = run_scenario(sys.executable, path)
    assert result == {"error": None, "chain": [], "problems": []}
    assert failure(load(path), result) is not None


def test_a_missing_expectation_is_refused(tmp_path):
    path = scenario(tmp_path, '"""A worker."""\n')
    with pytest.raises(AssertionError, match="says no `expect: <regex>`"):
        load(path)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("real libraries: sqlalchemy\nreal server: mysql\n", r"unknown `real server: mysql` \(known: postgresql\)"),
        ("real libraries: sqlalchemy\n", "`real libraries:` and `real server:` go together, with `fixed with:`"),
        ("real server: postgresql\n", "`real libraries:` and `real server:` go together"),
        ("real libraries: sqlalchemy\nreal server: postgresql\n", "go together, with `fixed with:`"),
    ],
)
def test_a_real_library_run_is_refused_unless_it_names_a_known_server_and_a_fix(keys, message, tmp_path):
    path = scenario(tmp_path, f'"""expect: Event loop is closed\n{keys}"""\n')
    with pytest.raises(AssertionError, match=message):
        load(path)


CONFINED = [s for s in SCENARIOS if s.confined]


@pytest.mark.parametrize("scenario", CONFINED, ids=lambda s: s.name)
def test_a_working_single_loop_design_still_runs_after_every_fix_loopcheck_offers(scenario, tmp_path):
    """`--fix --unsafe-fixes` leaves each confined design working: the fixes never touch an
    object one loop only uses, nor turn the one loop that keeps it into a loop per call."""
    copy = tmp_path / scenario.name
    shutil.copytree(scenario.path, copy)
    fixed = subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", "--fix", "--unsafe-fixes", "."],
        cwd=copy, capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert fixed.returncode in (0, 1), fixed.stderr
    result, stderr = run_scenario(sys.executable, copy)
    assert failure(scenario, result) is None, failure(scenario, result) + "\n" + fixed.stdout + stderr


FIXED = [s for s in SCENARIOS if s.fixed_with]


def fixed_copy(scenario: Scenario, tmp_path: Path) -> Path:
    """A copy of ``scenario`` that loopcheck fixed with the options its docstring gives."""
    copy = tmp_path / scenario.name
    shutil.copytree(scenario.path, copy)
    fixed = subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", *scenario.fixed_with, "."],
        cwd=copy, capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr  # and no finding left
    return copy


def test_some_incidents_say_what_fixes_them():
    assert FIXED and all(not s.confined for s in FIXED)


@pytest.mark.parametrize("scenario", FIXED, ids=lambda s: s.name)
def test_an_incident_runs_clean_once_loopcheck_fixed_it(scenario, python, tmp_path):
    copy = fixed_copy(scenario, tmp_path)
    result, stderr = run_scenario(python, copy)
    assert result["error"] is None and not result["problems"], (result, stderr)
    assert "Traceback" not in stderr, stderr


REAL = [s for s in SCENARIOS if s.real_libraries]


@pytest.fixture(scope="module")
def real_servers():
    """The URL of each server a scenario may name, started on first use; None where the
    machine cannot run it (why, for the skip)."""
    started: dict[str, str | LookupError] = {}
    with contextlib.ExitStack() as stack:

        def url(name: str) -> str:
            if name not in started:
                try:
                    started[name] = stack.enter_context(servers.postgresql())
                except LookupError as missing:
                    started[name] = missing
            found = started[name]
            if isinstance(found, LookupError):
                pytest.skip(f"needs a {name} server: {found}")
            return found

        yield url


def test_some_incidents_run_with_the_real_libraries_too():
    assert REAL and all(s.real_server in SERVERS for s in REAL)


@pytest.mark.parametrize("scenario", REAL, ids=lambda s: s.name)
def test_an_incident_fails_as_written_and_runs_clean_fixed_with_the_real_libraries(
    scenario, python, tmp_path, real_servers
):
    """What the stand-ins show, with the libraries themselves against a real server."""
    env = {servers.POSTGRESQL_URL: real_servers(scenario.real_server)}
    version = next(v for v, p in interpreters().items() if p == python)
    libraries = deps_dir(python, version, scenario.real_libraries)
    result, stderr = run_scenario(python, scenario.path, libraries, env)
    assert failure(scenario, result) is None, failure(scenario, result) + "\n" + stderr
    result, stderr = run_scenario(python, fixed_copy(scenario, tmp_path), libraries, env)
    assert result["error"] is None and not result["problems"], (result, stderr)
    assert "Traceback" not in stderr, stderr
