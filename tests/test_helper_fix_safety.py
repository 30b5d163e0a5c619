"""A `run_async(coro)` helper over a kept loop (LCK202), over `get_event_loop()` (LCK203) or over
a loop it makes and closes (LCK201) gets `return asyncio.run(coro)`: unsafe as the file alone shows it (a caller may pass a Future, which
asyncio.run() refuses), safe where the project model shows every caller passes a call of an
`async def` it resolves; the same through a plain run, the cache, -j, standard input and fixing."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from loopcheck.data.catalogue import Catalogue
from loopcheck.engine.diagnostics import Diagnostic, Fix, Safety, SafeWhen
from loopcheck.project.model import ProjectModel
from loopcheck.project.outcome import decode_reach, encode_reach
from loopcheck.project.reach import compute_reach, real_path
from loopcheck.project.summary import summarise
from loopcheck.run import cache
from tests.helpers import run_loopcheck

CATALOGUE = Catalogue.load()

KEPT_LOOP_HELPER = """\
import asyncio

_worker_loop = None


def get_worker_loop():
    global _worker_loop
    if _worker_loop is None or _worker_loop.is_closed():
        _worker_loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_worker_loop)
    return _worker_loop


def run_async(coro):
    return get_worker_loop().run_until_complete(coro)
"""

CURRENT_LOOP_HELPER = """\
import asyncio


def run_async(coro):
    return asyncio.get_event_loop().run_until_complete(coro)
"""

# LCK201: the loop made, run and closed by hand in the helper.
HAND_BUILT_HELPER = """\
import asyncio


def run_async(coro):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(coro)
    finally:
        asyncio.set_event_loop(None)
        loop.close()
"""

COROUTINE_CALLER = """\
from app.helpers import run_async


async def generate(user_id):
    return user_id


def task(user_id):
    return run_async(generate(user_id))


def other(user_id):
    return run_async(coro=generate(user_id))
"""

# Callers the model cannot prove pass a coroutine, each added to COROUTINE_CALLER's project.
UNPROVEN_CALLERS = {
    "a Future, through an alias": (
        "import asyncio\nfrom app.helpers import run_async as run\n\n\n"
        "def job(x):\n    return run(asyncio.get_event_loop().run_in_executor(None, sum, [x]))\n"
    ),
    "a call of a plain function": (
        "from app.helpers import run_async\n\n\ndef make(x):\n    return x\n\n\n"
        "def job(x):\n    return run_async(make(x))\n"
    ),
    "a variable": "from app.helpers import run_async\n\n\ndef job(coro):\n    return run_async(coro)\n",
    "unpacked arguments": "from app.helpers import run_async\n\n\ndef job(args):\n    return run_async(*args)\n",
    "the helper handed on": (
        "import functools\nfrom app.helpers import run_async\n\nrun = functools.partial(run_async)\n"
    ),
    "nothing for the parameter": "from app.helpers import run_async\n\n\ndef job():\n    return run_async()\n",
}


def project(tmp_path: Path, helper: str, *callers: str) -> Path:
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "helpers.py").write_text(helper)
    for number, caller in enumerate(callers):
        (root / "app" / f"caller{number}.py").write_text(caller)
    return root


def reach_of(root: Path):
    summaries = []
    for path in sorted((root / "app").glob("*.py")):
        module = "app" if path.stem == "__init__" else f"app.{path.stem}"
        summaries.append(summarise(path.read_text(), module, str(path), path.stem == "__init__", CATALOGUE))
    return compute_reach(ProjectModel(summaries), CATALOGUE)


def fixes(root: Path, *args: object, **options) -> list[tuple[str, str]]:
    completed = run_loopcheck("--output-format", "json", *args, cwd=root, text=True, **options)
    assert completed.returncode == 1, completed.stderr
    return [(d["code"], d["fix"]["applicability"]) for d in json.loads(completed.stdout) if d["fix"]]


# -- the model ---------------------------------------------------------------------------------


def test_a_parameter_every_caller_gives_a_coroutine_is_proven(tmp_path):
    root = project(tmp_path, KEPT_LOOP_HELPER, COROUTINE_CALLER)
    helpers = real_path(str(root / "app" / "helpers.py"))
    assert reach_of(root).coroutine_parameters == {(helpers, "run_async", "coro")}


@pytest.mark.parametrize("caller", sorted(UNPROVEN_CALLERS))
def test_one_caller_that_may_pass_something_else_leaves_it_unproven(tmp_path, caller):
    root = project(tmp_path, KEPT_LOOP_HELPER, COROUTINE_CALLER, UNPROVEN_CALLERS[caller])
    assert reach_of(root).coroutine_parameters == frozenset()


def test_a_helper_nobody_calls_or_a_method_is_never_proven(tmp_path):
    assert reach_of(project(tmp_path / "a", KEPT_LOOP_HELPER)).coroutine_parameters == frozenset()
    method = (
        "import asyncio\n\n\nclass Runner:\n    def run(self, coro):\n"
        "        return asyncio.get_event_loop().run_until_complete(coro)\n\n\n"
        "async def work():\n    pass\n\n\ndef job():\n    Runner().run(work())\n"
    )
    assert reach_of(project(tmp_path / "b", method)).coroutine_parameters == frozenset()


STATIC_HELPER = """\
import asyncio


class Client:
    async def fetch(self, key):
        return key

    @staticmethod
    def _run(coro):
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(coro)
        finally:
            loop.close()

    def fetch_sync(self, key):
        return self._run(self.fetch(key))

    def fetch_twice(self, key):
        return Client._run(self.fetch(key)), self._run(coro=self.fetch(key))
"""

# The same helper as a class method: `cls` is bound whether it is called on the class, on an
# instance or on `cls`.
CLASS_HELPER = STATIC_HELPER.replace("@staticmethod\n    def _run(coro)", "@classmethod\n    def _run(cls, coro)")


@pytest.mark.parametrize("helper", [STATIC_HELPER, CLASS_HELPER], ids=["staticmethod", "classmethod"])
def test_a_static_or_class_methods_parameter_every_caller_gives_a_coroutine_is_proven(tmp_path, helper):
    root = project(tmp_path, helper)
    helpers = real_path(str(root / "app" / "helpers.py"))
    assert reach_of(root).coroutine_parameters == {(helpers, "Client._run", "coro")}
    # 3.12+: asyncio.run(loop_factory=...) leaves the thread's current loop alone, as the helper does.
    (root / "pyproject.toml").write_text('[project]\nname = "x"\nrequires-python = ">=3.12"\n')
    assert fixes(root, "--select", "LCK201") == [("LCK201", "safe")]


@pytest.mark.parametrize("helper", [STATIC_HELPER, CLASS_HELPER], ids=["staticmethod", "classmethod"])
def test_a_static_or_class_method_one_caller_may_give_something_else_is_unproven(tmp_path, helper):
    other = "from app.helpers import Client\n\n\ndef job(x):\n    return Client._run(x)\n"
    assert reach_of(project(tmp_path, helper, other)).coroutine_parameters == frozenset()


def test_a_class_methods_cls_is_never_proven(tmp_path):
    helper = CLASS_HELPER.replace("run_until_complete(coro)", "run_until_complete(cls)")
    assert reach_of(project(tmp_path, helper)).coroutine_parameters == frozenset()


def test_the_proven_parameters_are_kept_with_the_cached_reach(tmp_path):
    reach = reach_of(project(tmp_path, KEPT_LOOP_HELPER, COROUTINE_CALLER))
    data = json.loads(json.dumps(encode_reach(reach)))
    assert decode_reach(data).coroutine_parameters == reach.coroutine_parameters != frozenset()
    data[5] = [["only", "two"]]  # the proven parameters
    assert decode_reach(data) is None


def test_a_fix_that_would_be_safe_is_kept_so_by_the_results_cache():
    safe_when = SafeWhen((("run_async", "coro"),), "Run it", ("get_worker_loop",))
    found = Diagnostic("m.py", 1, 1, 1, 2, "LCK202", "m", Fix(Safety.UNSAFE, "Run it (unsafe)", safe_when=safe_when))
    item = json.loads(json.dumps(cache._plain(found)))
    assert cache._diagnostic("m.py", item, {"LCK202"}) == found
    item["fix"][2] = [["run_async"]]
    assert cache._diagnostic("m.py", item, {"LCK202"}) is None


# Modules that use a name the fix deletes with the loop: the fix would break them.
IMPORTERS = {
    "from-import": "from app.helpers import get_worker_loop\n\n\ndef now():\n    return get_worker_loop().time()\n",
    "module attribute": "import app.helpers\n\n\ndef loop():\n    return app.helpers._worker_loop\n",
    "star import": "from app.helpers import *\n",
}


@pytest.mark.parametrize("importer", sorted(IMPORTERS))
def test_a_name_the_fix_deletes_that_another_module_imports_keeps_the_fix_unsafe(tmp_path, importer):
    root = project(tmp_path, KEPT_LOOP_HELPER, COROUTINE_CALLER, IMPORTERS[importer])
    helpers = real_path(str(root / "app" / "helpers.py"))
    reach = reach_of(root)
    assert reach.coroutine_parameters == {(helpers, "run_async", "coro")}
    assert {name for path, name in reach.imported_names if path == helpers} & {"get_worker_loop", "_worker_loop", "*"}
    assert {safety for _code, safety in fixes(root, ".")} == {"unsafe"}


# -- through the command line ------------------------------------------------------------------


@pytest.mark.parametrize(
    "helper", [KEPT_LOOP_HELPER, CURRENT_LOOP_HELPER, HAND_BUILT_HELPER], ids=["kept", "current", "hand-built"]
)
def test_the_fix_is_safe_where_every_caller_passes_a_coroutine(tmp_path, helper):
    root = project(tmp_path, helper, COROUTINE_CALLER)
    found = fixes(root, ".")
    assert found and all(safety == "safe" for _code, safety in found), found
    assert fixes(root, "--no-cache", "app/helpers.py") == found  # the file alone, in its project
    assert fixes(root, ".", cache=True) == fixes(root, ".", cache=True) == found  # stored, then loaded
    assert fixes(root, "-j", "2", ".") == found
    text = (root / "app" / "helpers.py").read_text()
    stdin = ("--stdin-filename", "app/helpers.py", "-")
    assert fixes(root, *stdin, input=text) == found
    fixed = run_loopcheck("--fix", *stdin, cwd=root, input=text, text=True)
    assert "return asyncio.run(coro)" in fixed.stdout, fixed.stderr
    assert run_loopcheck("--fix", ".", cwd=root).returncode == 0
    written = (root / "app" / "helpers.py").read_text()
    assert "return asyncio.run(coro)" in written and "run_until_complete" not in written


@pytest.mark.parametrize("helper", [KEPT_LOOP_HELPER, HAND_BUILT_HELPER], ids=["kept", "hand-built"])
def test_the_fix_stays_unsafe_where_a_caller_may_pass_a_future(tmp_path, helper):
    caller = UNPROVEN_CALLERS["a Future, through an alias"]
    root = project(tmp_path, helper, COROUTINE_CALLER, caller)
    found = run_loopcheck("--output-format", "json", ".", cwd=root, text=True)
    helper_fixes = [d["fix"] for d in json.loads(found.stdout) if d["filename"].endswith("helpers.py")]
    assert helper_fixes and all(fix["applicability"] == "unsafe" for fix in helper_fixes)
    assert "a caller of `run_async` that passes a Future" in helper_fixes[0]["message"]
    run_loopcheck("--fix", ".", cwd=root)
    assert (root / "app" / "helpers.py").read_text() == helper
    run_loopcheck("--fix", "--unsafe-fixes", ".", cwd=root)
    assert "return asyncio.run(coro)" in (root / "app" / "helpers.py").read_text()


def test_alone_the_file_offers_the_unsafe_fix_and_says_what_it_changes(tmp_path):
    (tmp_path / "helpers.py").write_text(textwrap.dedent(KEPT_LOOP_HELPER))
    found = json.loads(run_loopcheck("--output-format", "json", "helpers.py", cwd=tmp_path, text=True).stdout)
    assert {d["fix"]["applicability"] for d in found} == {"unsafe"}
    assert all("would fail with 'a coroutine was expected'" in d["fix"]["message"] for d in found)
