"""The default test loop scope read from a project's pytest configuration (project/pytest_config.py),
checked against what pytest and pytest-asyncio themselves do with the same files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loopcheck.project.pytest_config import SCOPE_CONTEXTS, TEST_CONTEXTS, configured_pytest_asyncio
from tests.helpers import write

SESSION_INI = "[pytest]\nasyncio_default_test_loop_scope = session\n"
PROJECT = '[project]\nname = "app"\nversion = "0"\n'

# Each layout: its files (under the temporary directory), the project directory, and the scope
# (None: a loop per test) loopcheck must read for it.
LAYOUTS = {
    "pyproject": ({"p/pyproject.toml": PROJECT + '[tool.pytest.ini_options]\nasyncio_default_test_loop_scope = "session"\n'},
                  "session", "pyproject.toml"),
    "pyproject native table": ({"p/pyproject.toml": PROJECT + '[tool.pytest]\nasyncio_default_test_loop_scope = "module"\n'},
                               "module", "pyproject.toml"),
    "pytest.ini beats pyproject.toml": (
        {"p/pytest.ini": SESSION_INI,
         "p/pyproject.toml": PROJECT + '[tool.pytest.ini_options]\nasyncio_default_test_loop_scope = "function"\n'},
        "session", "pytest.ini"),
    "an empty pytest.ini is the configuration": ({"p/pytest.ini": "", "pytest.ini": SESSION_INI}, None, None),
    "a pyproject.toml without pytest's table is passed": (
        {"p/pyproject.toml": PROJECT, "pytest.ini": SESSION_INI}, "session", "pytest.ini"),
    "a pyproject.toml with pytest's table stops the search": (
        {"p/pyproject.toml": PROJECT + "[tool.pytest.ini_options]\naddopts = \"-q\"\n", "pytest.ini": SESSION_INI},
        None, None),
    "tox.ini": ({"p/tox.ini": "[tox]\nenvlist = py3\n\n[pytest]\nasyncio_default_test_loop_scope = package\n"},
                "package", "tox.ini"),
    "tox.ini without [pytest] is passed": ({"p/tox.ini": "[tox]\nenvlist = py3\n", "pytest.ini": SESSION_INI},
                                           "session", "pytest.ini"),
    "setup.cfg": ({"p/setup.cfg": "[metadata]\nname = app\n\n[tool:pytest]\nasyncio_default_test_loop_scope = module\n"},
                  "module", "setup.cfg"),
    "function": ({"p/pytest.ini": "[pytest]\nasyncio_default_test_loop_scope = function\n"}, None, None),
    "unset": ({"p/pytest.ini": "[pytest]\naddopts = -q\n"}, None, None),
}

# pytest-asyncio refuses to run with these (a usage error): loopcheck takes its defaults.
REFUSED = {
    "an unknown scope": ({"p/pytest.ini": "[pytest]\nasyncio_default_test_loop_scope = everywhere\n"}, None, None),
}

COUNTING_TESTS = """
import asyncio

import pytest

LOOPS = set()


@pytest.mark.asyncio
async def test_one():
    LOOPS.add(id(asyncio.get_running_loop()))


@pytest.mark.asyncio
async def test_two():
    LOOPS.add(id(asyncio.get_running_loop()))


def test_loops():
    print(f"LOOPS={len(LOOPS)}")
"""


def lay_out(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        write(root / name, text)
    (root / "p").mkdir(exist_ok=True)
    return root / "p"


@pytest.mark.parametrize("layout", sorted({**LAYOUTS, **REFUSED}))
def test_the_configured_scope_is_the_one_pytest_takes(tmp_path, layout):
    files, scope, name = {**LAYOUTS, **REFUSED}[layout]
    project = lay_out(tmp_path, files)
    found = configured_pytest_asyncio(project)
    assert (found and found.scope, found and found.path.name) == (scope, name)
    assert found is None or found.auto is False


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_pytest_asyncio_shares_a_loop_exactly_where_the_configured_scope_says(tmp_path, layout):
    """The layouts run under the real pytest and pytest-asyncio: the two marked tests share one
    loop when loopcheck reads a scope, and get a loop each when it reads none."""
    pytest.importorskip("pytest_asyncio")
    files, scope, _ = LAYOUTS[layout]
    project = lay_out(tmp_path, files)
    write(project / "tests" / "test_loops.py", COUNTING_TESTS)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", "tests/test_loops.py"],
        cwd=project, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert ("LOOPS=1" if scope else "LOOPS=2") in run.stdout


@pytest.mark.parametrize(("name", "text"), [("pyproject.toml", "[tool.pytest.ini_options\n"), ("tox.ini", "[pytest\n")])
def test_a_configuration_that_cannot_be_parsed_states_nothing(tmp_path, name, text):
    """(pytest stops there too, with an error, rather than look further up.)"""
    project = lay_out(tmp_path, {f"p/{name}": text, "pytest.ini": SESSION_INI})
    assert configured_pytest_asyncio(project) is None


def test_answers_are_shared_between_directories(tmp_path):
    lay_out(tmp_path, {"pytest.ini": SESSION_INI, "p/a/x.py": "", "p/b/x.py": ""})
    known: dict = {}
    first = configured_pytest_asyncio(tmp_path / "p" / "a", known)
    assert first is not None and first.scope == "session"
    assert known[tmp_path] == first and known[tmp_path / "p"] == first
    assert configured_pytest_asyncio(tmp_path / "p" / "b", known) is first


@pytest.mark.parametrize(("text", "auto"), [
    ('[tool.pytest.ini_options]\nasyncio_mode = "auto"\n', True),
    ('[tool.pytest.ini_options]\nasyncio_mode = "strict"\n', False),
    ('[tool.pytest]\nasyncio_mode = "auto"\nasyncio_default_test_loop_scope = "session"\n', True),
])
def test_the_mode_is_read(tmp_path, text, auto):
    project = lay_out(tmp_path, {"p/pyproject.toml": PROJECT + text})
    found = configured_pytest_asyncio(project)
    assert (found is not None and found.auto) is auto


AUTO_TESTS = """
import asyncio

LOOPS = set()


async def test_one():
    LOOPS.add(id(asyncio.get_running_loop()))


async def test_two():
    LOOPS.add(id(asyncio.get_running_loop()))


def test_loops():
    print(f"LOOPS={len(LOOPS)}")
"""


@pytest.mark.parametrize(("text", "printed"), [
    ('[tool.pytest.ini_options]\nasyncio_mode = "auto"\n', "LOOPS=2"),
    ('[tool.pytest.ini_options]\nasyncio_mode = "auto"\nasyncio_default_test_loop_scope = "session"\n', "LOOPS=1"),
])
def test_pytest_asyncio_runs_unmarked_tests_in_auto_mode(tmp_path, text, printed):
    """Unmarked ``async def`` tests run, each on its own loop unless the default scope is wider."""
    pytest.importorskip("pytest_asyncio")
    project = lay_out(tmp_path, {"p/pyproject.toml": PROJECT + text})
    write(project / "tests" / "test_loops.py", AUTO_TESTS)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", "tests/test_loops.py"],
        cwd=project, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0 and "3 passed" in run.stdout, run.stdout + run.stderr
    assert printed in run.stdout


@pytest.mark.parametrize(
    "text",
    ["[tool.pytest.ini_options]\nx = " + "[" * 100_000 + "\n", "[tool.pytest.ini_options]\nx = 1\n\xff\n"],
    ids=["nested too deeply", "not UTF-8"],
)
def test_a_pyproject_that_cannot_be_read_states_nothing(tmp_path, text):
    project = lay_out(tmp_path, {"pytest.ini": SESSION_INI})
    (project / "pyproject.toml").write_bytes(text.encode("utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff"))
    assert configured_pytest_asyncio(project) is None


def test_the_test_contexts_are_the_catalogues_pytest_asyncio_contexts():
    from loopcheck.data.catalogue import Catalogue

    seeded = {seed.context for seed in Catalogue.load().context_seeds if "pytest.mark.asyncio" in seed.decorators}
    assert TEST_CONTEXTS == seeded
    assert {context for context, _ in SCOPE_CONTEXTS.values()} <= TEST_CONTEXTS
