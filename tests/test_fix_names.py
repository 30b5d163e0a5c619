"""The names generated code uses mean the standard library objects wherever the code goes: a
module whose `asyncio` is something else (a framework's helpers imported under that name, a
parameter, a later assignment) gets another spelling, and a star import that may rebind any new
name declines the fix. Each case is fixed through the command line and the fixed program run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_loopcheck, write

# A framework's compatibility module whose `asyncio` is a namespace of helpers (as Tornado's and
# Django's are), built in memory so that each program stands alone.
SHIM = '''\
import sys
import types
{stdlib}

_compat = types.ModuleType("compat_asyncio")
_compat.asyncio = types.SimpleNamespace(pause=lambda: sleep(0))
sys.modules["compat_asyncio"] = _compat

from compat_asyncio import asyncio  # noqa: E402
'''

# A client under redis.asyncio's name, for the per-loop client accessor.
REDIS_STAND_IN = '''
_redis = types.ModuleType("redis")
_redis.asyncio = types.ModuleType("redis.asyncio")


class _Client:
    async def get(self, key):
        return key

    async def aclose(self):
        pass


_redis.asyncio.from_url = lambda url: _Client()
sys.modules.update({"redis": _redis, "redis.asyncio": _redis.asyncio})
'''

CASES = {
    "LCK401": SHIM.format(stdlib="from asyncio import get_event_loop, run, sleep") + '''

async def ticks():
    loop = get_event_loop()
    await asyncio.pause()
    return loop.time() > 0


print(run(ticks()))
''',
    "LCK101": SHIM.format(stdlib="from asyncio import Lock, run, sleep") + '''
_LOCK = Lock()


async def work(n):
    async with _LOCK:
        await asyncio.pause()
        return n


print(run(work(1)), run(work(2)))
''',
    "LCK201": SHIM.format(stdlib="from asyncio import new_event_loop, set_event_loop, sleep") + '''

async def job():
    await asyncio.pause()
    return "done"


def run_job():
    loop = new_event_loop()
    set_event_loop(loop)
    try:
        return loop.run_until_complete(job())
    finally:
        set_event_loop(None)
        loop.close()


print(run_job())
''',
    # The threading twin, where `threading` is a framework's helpers.
    "LCK101-threading": '''\
import sys
import types
from threading import Lock

_compat = types.ModuleType("compat_threading")
_compat.threading = types.SimpleNamespace(name="compat helpers")
sys.modules["compat_threading"] = _compat

from compat_threading import threading  # noqa: E402

import asyncio  # noqa: E402

_GUARD = asyncio.Lock()


def busy():
    return _GUARD.locked(), threading.name


print(busy())
''',
    # The per-loop client accessor (a stand-in client under redis.asyncio's name).
    "LCK301": SHIM.format(stdlib="from asyncio import run, sleep") + REDIS_STAND_IN + '''

import redis.asyncio as redis  # noqa: E402

_client = redis.from_url("redis://127.0.0.1:9/0")


async def first():
    return await _client.get("a")


async def second():
    await asyncio.pause()
    return await _client.get("b")


async def main():
    return await first() + await second()


print(run(main()))
''',
    # The per-loop client accessor's thread, where `threading` is a framework's helpers.
    "LCK301-threading": '''\
import sys
import types

_compat = types.ModuleType("compat_threading")
_compat.threading = types.SimpleNamespace(name="compat helpers")
sys.modules["compat_threading"] = _compat
''' + REDIS_STAND_IN + '''

from compat_threading import threading  # noqa: E402

import asyncio  # noqa: E402
import redis.asyncio as redis  # noqa: E402

_client = redis.from_url("redis://127.0.0.1:9/0")


async def first():
    return await _client.get("a")


async def second():
    return await _client.get("b") + threading.name


async def main():
    return await first() + await second()


print(asyncio.run(main()))
''',
}


def loopcheck(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    # LCK401 is opt-in; its fix is one of those whose names these tests follow.
    return run_loopcheck("--extend-select", "LCK401", *args, cwd=cwd, text=True)


def python(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, path.name], cwd=path.parent, capture_output=True, text=True, timeout=20)


@pytest.mark.parametrize("code", sorted(CASES))
def test_a_module_whose_asyncio_is_another_module_keeps_working_after_the_fix(tmp_path, code):
    program = write(tmp_path / "app.py", CASES[code])
    before = python(program)
    assert before.returncode == 0, before.stderr
    # A working program runs one loop: its objects are confined, fixed only on request.
    select = code.partition("-")[0]
    result = loopcheck("--fix", "--unsafe-fixes", "--include-confined", "--select", select, "app.py", cwd=tmp_path)
    assert "Fixed 1 finding" in result.stdout, result.stdout + result.stderr
    fixed = program.read_text()
    assert fixed != CASES[code] and "\nimport asyncio\n" not in fixed.replace("import asyncio  # noqa", "")
    if "import threading" in CASES[code]:  # the module's `threading` is a framework's helpers
        assert "\nimport threading\n" not in fixed
    after = python(program)
    assert (after.returncode, after.stdout, after.stderr) == (0, before.stdout, before.stderr), fixed


@pytest.mark.parametrize(
    "source, spelled",
    [
        # A parameter called asyncio anywhere: `asyncio` is not used at all.
        (
            "import asyncio\n\n\nasync def now(asyncio=asyncio):\n    return asyncio.get_event_loop()\n\n\n"
            "async def later():\n    return asyncio.get_event_loop()\n",
            "return get_running_loop()",
        ),
        # Rebound later at module level.
        (
            "import asyncio\n\n\nasync def later():\n    return asyncio.get_event_loop()\n\nasyncio = None\n",
            "return get_running_loop()",
        ),
        # The free name is taken too (a local elsewhere): an alias no one uses.
        (
            "import asyncio\n\n\nasync def later():\n    return asyncio.get_event_loop()\n\n\n"
            "def other():\n    get_running_loop = 1\n    return get_running_loop\n\nasyncio = None\n",
            "return _asyncio_get_running_loop()",
        ),
        # Nothing else binds it: the module's own import.
        ("import asyncio as aio\n\n\nasync def later():\n    return aio.get_event_loop()\n", "return aio.get_running_loop()"),
    ],
)
def test_every_binding_of_a_name_in_the_module_decides_whether_a_fix_uses_it(tmp_path, source, spelled):
    write(tmp_path / "app.py", source)
    assert loopcheck("--fix", "app.py", cwd=tmp_path).returncode == 0
    fixed = (tmp_path / "app.py").read_text()
    assert spelled in fixed
    compile(fixed, "app.py", "exec")


def test_a_star_import_from_elsewhere_declines_a_fix_that_needs_a_new_name(tmp_path):
    source = "from asyncio import get_event_loop\nfrom compat import *\n\n\nasync def now():\n    return get_event_loop()\n"
    write(tmp_path / "app.py", source)
    result = loopcheck("--fix", "app.py", cwd=tmp_path)
    assert result.returncode == 1 and (tmp_path / "app.py").read_text() == source
    assert "no fix: `from compat import *` may rebind any name given to `asyncio.get_running_loop`" in result.stdout


def test_a_proxy_class_is_named_as_a_class_from_a_name_with_digits():
    from loopcheck.fixes.per_loop import class_case

    assert class_case("_neo4j_connector") == "Neo4jConnector"
    assert class_case("redisClient") == "RedisClient"
