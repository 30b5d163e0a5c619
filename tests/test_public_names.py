"""A module-level primitive (LCK101) or client (LCK301) with a public name gets its fix from the
project model: the fix a private name gets where no module of the project imports the name
(`from m import x`, `m.x` through `import m` or `from pkg import m`, `from m import *`, a
re-export in `__init__.py`), the per-loop accessor with a proxy that keeps the name importable
where one does (unsafe: `isinstance()` and the object's type change), and no fix without the
model, with the reason."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest

from loopcheck.data.catalogue import Catalogue, CatalogueError, _special_methods
from loopcheck.engine.diagnostics import STAR, Diagnostic, Fix, NoFix, Proven, Safety, Withheld
from loopcheck.fixes.templates import per_loop_proxy
from loopcheck.project.reach import real_path
from loopcheck.rules.clients.lck304_worker_hook_client import HOOKED_GLOBAL
from loopcheck.run import cache
from tests.helpers import run_loopcheck
from tests.test_helper_fix_safety import reach_of

CATALOGUE = Catalogue.load()

LOCKS = """\
import asyncio

lock = asyncio.Lock()


async def guarded():
    async with lock:
        await asyncio.sleep(0)
        return 1
"""

# Runs `locks.guarded` under two loops: the model loads app/locks.py, and reaches its lock.
RUNNER = """\
import asyncio

from app import locks


def main():
    asyncio.run(locks.guarded())
    asyncio.run(locks.guarded())
"""

# Modules that import `lock` from app/locks.py, each beside RUNNER.
IMPORTERS = {
    "from-import": "from app.locks import lock\n\n\nasync def use():\n    async with lock:\n        pass\n",
    "module attribute": "import app.locks\n\n\nasync def use():\n    async with app.locks.lock:\n        pass\n",
    "module from its package": "from app import locks as l\n\n\nasync def use():\n    await l.lock.acquire()\n",
    "star import": "from app.locks import *\n",
    "re-export": None,  # app/__init__.py: from app.locks import lock
}

ACCESSOR = "Create one Lock per event loop with `_get_lock()`"


def project(tmp_path: Path, locks: str = LOCKS, *importers: str, init: str = "") -> Path:
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    (root / "app" / "__init__.py").write_text(init)
    (root / "app" / "locks.py").write_text(locks)
    (root / "app" / "runner.py").write_text(RUNNER)
    for number, importer in enumerate(importers):
        (root / "app" / f"user{number}.py").write_text(importer)
    return root


def fixes_of(root: Path, *args: object, **options) -> list[dict]:
    """The findings about app/locks.py, as JSON gives them."""
    completed = run_loopcheck("--output-format", "json", *args, cwd=root, text=True, **options)
    assert completed.returncode == 1, completed.stderr
    return [d for d in json.loads(completed.stdout) if d["filename"].endswith("locks.py")]


def with_importer(tmp_path: Path, importer: str) -> Path:
    if importer == "re-export":
        return project(tmp_path, LOCKS, init="from app.locks import lock\n")
    return project(tmp_path, LOCKS, IMPORTERS[importer])


# -- through the command line ------------------------------------------------------------------


def test_a_public_name_no_module_imports_gets_the_private_fix(tmp_path):
    root = project(tmp_path)
    (found,) = fixes_of(root, ".")
    assert found["fix"]["applicability"] == "unsafe"  # as the private name's
    assert found["fix"]["message"] == f"{ACCESSOR} (no module of the project imports `lock`)"
    assert any("def _get_lock():" in edit["content"] for edit in found["fix"]["edits"])
    assert "no fix" not in found["message"]
    assert run_loopcheck("--fix", "--unsafe-fixes", ".", cwd=root).returncode == 0
    fixed = (root / "app" / "locks.py").read_text()
    assert "async with _get_lock():" in fixed and "lock =" not in fixed and "PerLoop" not in fixed


def test_the_file_alone_in_its_project_workers_and_the_results_cache_give_the_same_fix(tmp_path):
    root = project(tmp_path)
    (found,) = fixes_of(root, ".")
    assert [d["fix"] for d in fixes_of(root, "app/locks.py")] == [found["fix"]]
    assert [d["fix"] for d in fixes_of(root, "-j", "2", ".")] == [found["fix"]]
    stored = fixes_of(root, ".", cache=True)
    assert [d["fix"] for d in fixes_of(root, ".", cache=True)] == [d["fix"] for d in stored] == [found["fix"]]


@pytest.mark.parametrize("importer", sorted(IMPORTERS))
def test_an_imported_public_name_gets_the_proxy_that_keeps_it_importable(tmp_path, importer):
    root = with_importer(tmp_path, importer)
    (found,) = fixes_of(root, ".")
    assert found["fix"]["applicability"] == "unsafe"
    assert found["fix"]["message"].startswith(f"{ACCESSOR}, and keep `lock` importable as a proxy")
    assert "`isinstance(lock, asyncio.Lock)` becomes false" in found["fix"]["message"]
    assert any("lock = _LockPerLoop()" in edit["content"] for edit in found["fix"]["edits"])
    importers = {path: path.read_text() for path in (root / "app").glob("*.py") if path.name != "locks.py"}
    assert run_loopcheck("--fix", "--unsafe-fixes", ".", cwd=root).returncode == 0
    fixed = (root / "app" / "locks.py").read_text()
    assert "lock = _LockPerLoop()" in fixed and "async with _get_lock():" in fixed
    assert {path: path.read_text() for path in importers} == importers  # left as they are


# Modules that import `lock` from app/locks.py and use it where no loop runs, each with the place
# the declined fix names.
OUTSIDE = {
    "sync function": ("from app.locks import lock\n\n\ndef held():\n    return lock.locked()\n", "app.user0: held()"),
    "import-time code": ("import app.locks\n\nLOCKED = app.locks.lock.locked()\n", "app.user0: its import-time code"),
    "lambda": ("from app.locks import *\n\nheld = lambda: lock.locked()\n", "app.user0: its import-time code"),
    "class body": (
        "from app import locks\n\n\nclass Guard:\n    held = locks.lock.locked()\n", "app.user0: its import-time code"
    ),
}
PROXY_OUTSIDE = "where the proxy that would keep it importable finds no running loop (RuntimeError)"


@pytest.mark.parametrize("importer", sorted(OUTSIDE))
def test_no_proxy_where_an_importer_uses_the_name_outside_coroutines(tmp_path, importer):
    text, place = OUTSIDE[importer]
    root = project(tmp_path, LOCKS, text)
    (found,) = fixes_of(root, ".")
    assert found["fix"] is None
    assert found["message"].endswith(f"; no fix: {place} uses it outside coroutines, {PROXY_OUTSIDE}")
    before = (root / "app" / "locks.py").read_text()
    run_loopcheck("--fix", "--unsafe-fixes", ".", cwd=root)
    assert (root / "app" / "locks.py").read_text() == before


def test_no_proxy_where_a_module_importing_a_package_that_re_exports_it_uses_it_outside_coroutines(tmp_path):
    user = "from app import lock\n\n\ndef held():\n    return lock.locked()\n"
    root = project(tmp_path, LOCKS, user, init="from app.locks import lock\n")
    (found,) = fixes_of(root, ".")
    assert found["fix"] is None and "no fix: app.user0: held() uses it outside coroutines" in found["message"]


def test_an_importer_that_uses_the_name_in_coroutines_only_keeps_the_proxy(tmp_path):
    user = (
        "from app.locks import lock\n\n\ndef make():\n    return other()\n\n\n"
        "async def held():\n    return lock.locked()\n"
    )
    (found,) = fixes_of(project(tmp_path, LOCKS, user), ".")
    assert "keep `lock` importable as a proxy" in found["fix"]["message"]


@pytest.mark.parametrize("imports", ["from app.locks import lock\n", "from app.locks import guarded\n", "import app\n"])
def test_no_fix_where_an_importer_could_not_be_read(tmp_path, imports):
    """A module that cannot be parsed may import the name and use it anywhere: neither the proxy
    nor the private name's fix (which deletes the name) stands."""
    root = project(tmp_path, LOCKS, imports + "\n\ndef broken(:\n    pass\n")
    if imports == "import app\n":  # the package re-exports it
        (root / "app" / "__init__.py").write_text("from app.locks import lock\n")
    (found,) = fixes_of(root, ".")
    assert found["fix"] is None
    reason = "no fix: app.user0 may import it, and loopcheck could not read or parse that module"
    assert reason in found["message"]
    stored = fixes_of(root, ".", cache=True)  # the model's kept outcome says the same
    assert fixes_of(root, ".", cache=True) == stored == [found]
    (root / "app" / "user0.py").write_text(imports)  # once it reads, the kept outcome is not taken
    (offered,) = fixes_of(root, ".", cache=True)
    assert offered["fix"] is not None and "no fix" not in offered["message"]


def test_checked_alone_in_its_project_the_file_is_seen_imported_by_modules_not_checked(tmp_path):
    root = with_importer(tmp_path, "from-import")
    (found,) = fixes_of(root, "app/locks.py")  # app/user0.py, not checked, is read for its imports
    assert "keep `lock` importable as a proxy" in found["fix"]["message"]


def test_a_private_name_is_fixed_as_before_whoever_imports_it(tmp_path):
    root = project(tmp_path, LOCKS.replace("lock", "_lock"), "from app.locks import _lock\n")
    (found,) = fixes_of(root, ".")
    assert found["fix"]["message"] == "Create one Lock per event loop with `_get_lock()`"


def test_a_name_all_lists_is_kept_importable_even_where_no_module_of_the_project_imports_it(tmp_path):
    # __all__ declares the module's interface: `import *` from outside the project, or a dynamic
    # import, reads the name too.
    locks = LOCKS.replace("lock", "_lock").replace("import asyncio\n", 'import asyncio\n\n__all__ = ["_lock"]\n')
    for number, importers in enumerate([(), ("from app.locks import *\n",)]):
        (found,) = fixes_of(project(tmp_path / str(number), locks, *importers), ".")
        assert "keep `_lock` importable as a proxy" in found["fix"]["message"]


def test_without_the_model_the_fix_is_declined_with_the_reason(tmp_path):
    (tmp_path / "locks.py").write_text(LOCKS)
    declined = "no fix: `lock` is public; modules importing it would need changing too"
    completed = run_loopcheck("--output-format", "json", "-", cwd=tmp_path, input=LOCKS, text=True)
    (found,) = json.loads(completed.stdout)  # standard input, no project
    assert found["fix"] is None and declined in found["message"]
    in_project = project(tmp_path / "p")  # flake8 reading standard input has no model
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "LCK", "-"],
        cwd=in_project, input=LOCKS, capture_output=True, text=True, timeout=60,
    )
    assert "LCK101" in flake8.stdout and declined in flake8.stdout, flake8.stdout + flake8.stderr


def test_a_client_kept_importable_as_a_proxy_is_named_in_the_title(tmp_path):
    root = project(tmp_path)
    (root / "app" / "store.py").write_text(
        "import redis.asyncio as aioredis\n\nredis_client = aioredis.from_url('redis://')\n\n\n"
        "async def remember(key, value):\n    return await redis_client.set(key, value)\n"
    )
    (root / "app" / "user.py").write_text("from app.store import redis_client\n")
    (root / "app" / "runner.py").write_text(RUNNER.replace("locks.guarded()", "store.remember(1, 2)").replace(
        "import locks", "import store"
    ))
    found = json.loads(run_loopcheck("--output-format", "json", ".", cwd=root, text=True).stdout)
    (client,) = [d for d in found if d["code"] == "LCK301"]
    assert client["fix"]["message"].startswith("Create one client per event loop with `get_redis_client()`")
    assert "keep `redis_client` importable as a proxy" in client["fix"]["message"]


# -- the pieces --------------------------------------------------------------------------------


def test_the_model_knows_the_importers_of_a_module_that_keeps_a_global(tmp_path):
    root = with_importer(tmp_path, "module from its package")
    reach = reach_of(root)
    locks = real_path(str(root / "app" / "locks.py"))
    assert locks in reach.importers_known
    assert (locks, "lock") in reach.imported_names


def test_the_model_chooses_by_what_other_modules_import():
    alone, imported = Fix(Safety.UNSAFE, "alone"), Fix(Safety.UNSAFE, "proxy")
    withheld = Withheld(("lock",), "public", alone, imported)
    assert withheld.chosen(Proven()) is None  # no model
    assert withheld.chosen(Proven(modelled=True)) is alone
    assert withheld.chosen(Proven(imported=frozenset({"other"}), modelled=True)) is alone
    assert withheld.chosen(Proven(imported=frozenset({"lock"}), modelled=True)) is imported
    assert withheld.chosen(Proven(imported=frozenset({STAR}), modelled=True)) is imported
    assert Withheld(("lock",), "public", alone).chosen(Proven(imported=frozenset({"lock"}), modelled=True)) is None
    for declined in ("lock", STAR):
        proven = Proven(imported=frozenset({"lock"}), modelled=True, declined=frozenset({(declined, "used")}))
        assert withheld.chosen(proven) == NoFix("used")
    assert withheld.chosen(Proven(modelled=True, declined=frozenset({("other", "used")}))) is alone


def test_a_finding_the_model_offers_a_fix_loses_its_reason():
    withheld = Withheld(("lock",), "public", Fix(Safety.UNSAFE, "alone"))
    found = Diagnostic("m.py", 1, 1, 1, 2, "LCK101", "shared; no fix: public", withheld=withheld)
    assert found.proven(Proven()) is found
    offered = found.proven(Proven(modelled=True))
    assert (offered.message, offered.fix, offered.withheld) == ("shared", withheld.alone, None)
    refused = found.proven(Proven(modelled=True, declined=frozenset({("lock", "used")})))
    assert (refused.message, refused.fix, refused.withheld) == ("shared; no fix: used", None, None)


def test_a_withheld_fix_is_kept_by_the_results_cache():
    withheld = Withheld(("lock",), "public", Fix(Safety.UNSAFE, "alone"), Fix(Safety.UNSAFE, "proxy"))
    found = Diagnostic("m.py", 1, 1, 1, 2, "LCK101", "shared; no fix: public", withheld=withheld)
    item = json.loads(json.dumps(cache._plain(found)))
    assert cache._diagnostic("m.py", item, {"LCK101"}) == found
    item["withheld"][2] = ["nonsense"]
    assert cache._diagnostic("m.py", item, {"LCK101"}) is None


def test_the_catalogue_refuses_special_methods_that_are_not_special():
    assert _special_methods("Lock", ["__aenter__"]) == ("__aenter__",)
    for wrong in (["acquire"], "__aenter__", [1]):
        with pytest.raises(CatalogueError, match=r"\[Lock\] special-methods"):
            _special_methods("Lock", wrong)


SPECIALS = ("__aenter__", "__aexit__", "__aiter__", "__anext__", "__await__", "__iter__", "__next__", "__len__")


def test_the_catalogue_lists_the_special_methods_each_interpreter_has(python):
    primitives = {p.name: p.special_methods for p in CATALOGUE.primitives.values()}
    probe = (
        "import asyncio, json, sys\n"
        f"names = {sorted(primitives)!r}\n"
        f"print(json.dumps({{n: [s for s in {SPECIALS!r} if hasattr(getattr(asyncio, n), s)]"
        " for n in names if hasattr(asyncio, n)}))\n"
    )
    found = json.loads(subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout)
    assert found == {name: list(primitives[name]) for name in found}


def test_the_proxy_defines_the_special_methods_it_is_given():
    code = cst.Module(body=per_loop_proxy("_P", "_get", "lock", "asyncio.Lock", ("__aenter__", "__aexit__"))).code
    assert "lock = _P()" in code
    made = []
    namespace = {"_get": lambda: made[0]}
    exec(code, namespace)
    proxy = namespace["lock"]
    assert "__await__" not in vars(type(proxy))

    async def use():
        made.append(asyncio.Lock())
        async with proxy:  # looked up on the type
            return proxy.locked()

    assert asyncio.run(use()) is True and not isinstance(proxy, asyncio.Lock)


# -- a client a worker start-up hook keeps in a public global (LCK304) -------------------------

# LCK304's own example of a global a hook sets, with a public name.
HOOKED = re.sub(r"\b_http\b", "http", HOOKED_GLOBAL)

# A Celery task that runs `clients.fetch` with asyncio.run(): the model loads app/clients.py.
TASKS = """\
import asyncio

from celery import shared_task

from app import clients


@shared_task
def get(url):
    return asyncio.run(clients.fetch(url))
"""

FACTORY = (
    "Create one client per event loop with `get_http()`, closed when its loop ends, instead of one per "
    "worker process; `open_http()`, which made only that, goes"
)


def hooked_project(tmp_path: Path, *importers: str) -> Path:
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "clients.py").write_text(HOOKED)
    (root / "app" / "tasks.py").write_text(TASKS)
    for number, importer in enumerate(importers):
        (root / "app" / f"user{number}.py").write_text(importer)
    return root


def hook_finding(root: Path, *args: str) -> dict:
    completed = run_loopcheck("--output-format", "json", *args, ".", cwd=root, text=True)
    (found,) = [d for d in json.loads(completed.stdout) if d["code"] == "LCK304"]
    return found


def test_a_public_global_a_worker_hook_sets_no_module_imports_gets_the_private_fix(tmp_path):
    root = hooked_project(tmp_path)
    found = hook_finding(root)
    assert found["fix"]["applicability"] == "unsafe" and "no fix" not in found["message"]
    assert found["fix"]["message"] == f"{FACTORY} (no module of the project imports `http`)"
    assert run_loopcheck("--fix", "--unsafe-fixes", ".", cwd=root).returncode == 0
    fixed = (root / "app" / "clients.py").read_text()
    assert "return await get_http().get(url)" in fixed
    assert "def open_http" not in fixed and "http =" not in fixed and "PerLoop" not in fixed


@pytest.mark.parametrize(
    "importer",
    [
        "from app import clients\n\n\nasync def head(url):\n    return await clients.http.head(url)\n",
        "from app.clients import http\n",
    ],
    ids=["module attribute", "from-import"],
)
def test_an_imported_public_global_a_worker_hook_sets_gets_the_proxy(tmp_path, importer):
    root = hooked_project(tmp_path, importer)
    found = hook_finding(root)
    assert found["fix"]["message"].startswith(f"{FACTORY}, and keep `http` importable as a proxy")
    assert "`isinstance(http, httpx.AsyncClient)` becomes false" in found["fix"]["message"]
    assert run_loopcheck("--fix", "--unsafe-fixes", ".", cwd=root).returncode == 0
    fixed = (root / "app" / "clients.py").read_text()
    assert "http = _HttpPerLoop()" in fixed and "return await get_http().get(url)" in fixed
    assert "def open_http" not in fixed
    assert (root / "app" / "user0.py").read_text() == importer  # left as it is


def test_without_the_model_a_public_global_a_worker_hook_sets_is_declined_with_the_reason(tmp_path):
    completed = run_loopcheck("--output-format", "json", "-", cwd=tmp_path, input=HOOKED, text=True)
    (found,) = json.loads(completed.stdout)  # standard input, no project
    assert found["code"] == "LCK304" and found["fix"] is None
    assert "no fix: `http` is public; modules importing it would need changing too" in found["message"]


# -- a public global in a module no loop reaches -----------------------------------------------

# A module no loop reaches, whose other names other modules import (fides's ctl_session.py).
SESSIONS = """\
import asyncio

POOL_LOCK = asyncio.Lock()


async def warm():
    async with POOL_LOCK:
        await asyncio.sleep(0)


def get_session():
    return object()
"""


def unreached_project(tmp_path: Path, *importers: str, runner: bool = True) -> Path:
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "sessions.py").write_text(SESSIONS)
    if runner:  # a loop of the project, which reaches nothing of app/sessions.py
        (root / "app" / "runner.py").write_text("import asyncio\n\n\ndef main():\n    asyncio.run(asyncio.sleep(0))\n")
    for number, importer in enumerate(importers):
        (root / "app" / f"user{number}.py").write_text(importer)
    return root


def pool_lock_fix(root: Path, *args: str) -> dict | None:
    completed = run_loopcheck("--output-format", "json", *args, cwd=root, text=True)
    (found,) = [d for d in json.loads(completed.stdout) if d["code"] == "LCK101"]
    return found["fix"]


@pytest.mark.parametrize("runner", [True, False], ids=["a loop elsewhere", "no loop"])
def test_a_public_name_in_a_module_no_loop_reaches_is_proven_unimported(tmp_path, runner):
    root = unreached_project(tmp_path, "from app.sessions import get_session\n", runner=runner)
    for args in ((".",), ("app/sessions.py",)):
        fix = pool_lock_fix(root, *args)
        assert fix is not None and fix["message"].endswith("(no module of the project imports `POOL_LOCK`)"), args


def test_a_public_name_a_module_imports_from_a_module_no_loop_reaches_gets_the_proxy(tmp_path):
    root = unreached_project(tmp_path, "from app import sessions\n\n\nasync def f():\n    await sessions.POOL_LOCK.acquire()\n")
    fix = pool_lock_fix(root, ".")
    assert fix is not None and "keep `POOL_LOCK` importable as a proxy" in fix["message"]
