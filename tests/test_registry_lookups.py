"""Objects a coroutine looks up by a key in kept state (a service registry): the summary records
the lookup (loopcheck/project/lookups.py), and a kept loop whose coroutines reach one gets no
loop fix, since a new loop per call would leave what the registry keeps bound to a closed loop
(tests/fixtures/projects/confined_registry_kept_loop runs it)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from loopcheck.data.catalogue import Catalogue
from loopcheck.project.model import build_model
from loopcheck.project.outcome import decode_reach, encode_reach
from loopcheck.project.reach import compute_reach
from loopcheck.project.summary import summarise
from tests.helpers import write


def lookups(source: str, name: str) -> tuple[str, ...]:
    found = summarise(textwrap.dedent(source), "app.m", "m.py", False, Catalogue.load()).function(name)
    assert found is not None, name
    return found.lookups


LOOKED_UP = {
    "an element of a container on self": (
        """
        class Registry:
            async def get(self, name):
                return await self._registry[name].instance()
        """,
        "Registry.get",
        ("self._registry[name].instance()",),
    ),
    "an object a method of self fetches by the key": (
        """
        class Registry:
            async def get(self, name):
                context = self.get_context(name)
                return await context.async_get_instance()
        """,
        "Registry.get",
        ("context.async_get_instance()",),
    ),
    "an element of a module-level container": (
        """
        _services = {}

        async def service(name):
            return await _services[name].start()
        """,
        "service",
        ("_services[name].start()",),
    ),
    "an awaited fetch by a keyword argument": (
        """
        class Registry:
            async def get(self, name):
                context = await self.find(key=name)
                return await context.instance()
        """,
        "Registry.get",
        ("context.instance()",),
    ),
}


@pytest.mark.parametrize("case", sorted(LOOKED_UP))
def test_an_async_def_returning_what_it_looks_up_by_a_parameter_in_kept_state_records_it(case):
    source, name, expected = LOOKED_UP[case]
    assert lookups(source, name) == expected


NOT_LOOKED_UP = {
    "a method of a fixed attribute given the key": """
        class Cache:
            async def f(self, name):
                return await self.client.get(name)
        """,
    "an element of a parameter": """
        class Cache:
            async def f(self, sessions, name):
                return await sessions[name].get()
        """,
    "an element of a local container": """
        class Cache:
            async def f(self, name):
                found = {}
                return await found[name].get()
        """,
    "a constant key": """
        class Cache:
            async def f(self, name):
                return await self._registry["redis"].instance()
        """,
    "a result not awaited": """
        class Cache:
            async def f(self, name):
                return self._registry[name].instance()
        """,
    "no key parameter": """
        class Cache:
            async def f(self):
                return await self._registry[self.name].instance()
        """,
}


@pytest.mark.parametrize("case", sorted(NOT_LOOKED_UP))
def test_other_returns_are_no_lookup(case):
    assert lookups(NOT_LOOKED_UP[case], "Cache.f") == ()


def test_a_synchronous_function_records_no_lookup():
    source = """
        class Registry:
            def get(self, name):
                return self._registry[name].instance()
        """
    assert lookups(source, "Registry.get") == ()


# The kept loop and the registry, across modules, through the command line.

CONTEXT = (Path(__file__).parent / "fixtures/projects/confined_registry_kept_loop/app/context.py").read_text("utf-8")

KEPT = """\
import asyncio

from app.context import get_redis_client


async def aput(key):
    client = await get_redis_client()
    return await client.get(key)


def put(key):
    return asyncio.get_event_loop().run_until_complete(aput(key))
"""

PER_CALL = """\
import asyncio

from app.context import get_redis_client


async def aput(key):
    client = await get_redis_client()
    return await client.get(key)


def put(key):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(aput(key))
    finally:
        loop.close()
"""


def project(tmp_path: Path, saver: str, context: str = CONTEXT) -> Path:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\nrequires-python = ">=3.13"\n')
    write(tmp_path / "app/__init__.py", "")
    write(tmp_path / "app/context.py", context)
    write(tmp_path / "app/saver.py", saver)
    return tmp_path


def fixed(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", "--select", "LCK2", "--fix", "--unsafe-fixes", "."],
        cwd=root, capture_output=True, text=True, timeout=120,
    )


def test_a_kept_loop_reaching_a_registry_lookup_gets_no_fix_and_says_why(tmp_path):
    root = project(tmp_path, KEPT)
    completed = fixed(root)
    assert completed.returncode == 1, completed.stderr
    assert "app/saver.py:12:12: LCK203" in completed.stdout
    assert (
        "no fix: its coroutines reach context.ContextManager.async_get_instance, which returns"
        " `self._registry[name].instance()`, an object looked up by a key that the project model cannot"
        " follow: it may be a process-wide loop-bound object" in completed.stdout
    )
    assert (root / "app/saver.py").read_text("utf-8") == KEPT


def test_a_new_loop_per_call_reaching_a_registry_lookup_keeps_its_fix(tmp_path):
    root = project(tmp_path, PER_CALL)
    completed = fixed(root)
    assert "no fix" not in completed.stdout, completed.stdout
    assert "asyncio.run(aput(key)" in (root / "app/saver.py").read_text("utf-8")


def test_a_registry_no_instance_keeps_for_the_process_declines_nothing(tmp_path):
    context = CONTEXT.replace("app_context = ContextManager()\n", "").replace(
        "app_context.register(", "ContextManager().register("
    ).replace("await app_context.async_get_instance(", "await ContextManager().async_get_instance(")
    assert "app_context" not in context
    root = project(tmp_path, KEPT, context)
    completed = fixed(root)
    assert "no fix" not in completed.stdout, completed.stdout
    assert "asyncio.run(aput(key)" in (root / "app/saver.py").read_text("utf-8")


def test_the_lookups_a_kept_loop_reaches_are_kept_with_the_reach_across_runs():
    scenario = Path(__file__).parent / "fixtures/projects/confined_registry_kept_loop"
    catalogue = Catalogue.load()
    reach = compute_reach(build_model(sorted(map(str, scenario.rglob("*.py"))), catalogue), catalogue)
    ((at, found),) = reach.unfollowed.items()
    assert at == (str(scenario / "app/checkpointer.py"), 20)
    assert found == ("context.ContextManager.async_get_instance", "self._registry[name].instance()")
    data = json.loads(json.dumps(encode_reach(reach)))
    assert decode_reach(data) == reach
    data[8] = [["a.py", "20", ["f", "g"]]]
    assert decode_reach(data) is None


# A module of the project loopcheck cannot read (here a syntax error; in real projects most often
# the syntax of a newer Python than the one running loopcheck): what the kept loop reaches through
# the module that imports it is not known, so the loop keeps no fix.
UNREAD_IMPORTER = """\
from app.engine import session


async def get_redis_client():
    return session
"""


def test_a_kept_loop_reaching_a_module_that_imports_an_unreadable_one_gets_no_fix_and_says_why(tmp_path):
    root = project(tmp_path, KEPT, UNREAD_IMPORTER)
    write(root / "app/engine.py", "def session(:\n    pass\n")
    completed = fixed(root)
    assert "app/saver.py:12:12: LCK203" in completed.stdout, completed.stdout
    assert (
        "no fix: its coroutines run code of app.context, which imports app.engine, a module of the project"
        " loopcheck could not read" in completed.stdout
    )
    assert (root / "app/saver.py").read_text("utf-8") == KEPT


def test_a_readable_import_leaves_the_kept_loop_its_fix(tmp_path):
    root = project(tmp_path, KEPT, UNREAD_IMPORTER)
    write(root / "app/engine.py", "session = None\n")
    completed = fixed(root)
    assert "no fix" not in completed.stdout, completed.stdout
    assert "asyncio.run(aput(key))" in (root / "app/saver.py").read_text("utf-8")
