"""Building the project model: which modules are summarised (the entry modules when it is built,
the others when a name resolves into them), the summaries cache, and that no user code is ever
imported or run."""

from __future__ import annotations

import ast
import json
import os
import sys
import types
import warnings
from pathlib import Path

import pytest

from loopcheck.data.catalogue import Catalogue
from loopcheck.project.model import ProjectModel, Target, build_model
from loopcheck.project.reach import compute_reach
from loopcheck.project.records import MODULE_CODE, Class, Function, ModuleSummary
from loopcheck.project.selection import Flags, SeedTest, absolute, import_specs
from loopcheck.run import cache as results_cache
from loopcheck.run import sources
from tests.helpers import write

CATALOGUE = Catalogue.load()

TASKS = """\
import asyncio
from celery import Celery
from app import service
from app.helpers import run_async

app = Celery()


@app.task
def sync():
    run_async(service.publish())
"""
HELPERS = "import asyncio\n\n\ndef run_async(coro):\n    return asyncio.run(coro)\n"
SERVICE = "from app.clients import client\n\n\nasync def publish():\n    await client.acquire()\n"
CLIENT = "import asyncio\n\nclient = asyncio.Lock()\n"
# Imports the object's module, but no loop or context reaches it.
REPORTS = "from app.clients import client\n\n\ndef report():\n    return client\n"
# On no path at all.
TEXTS = "def title(text):\n    return text.title()\n"


def _stand_in(text: str, module: str, path: str, is_package: bool, catalogue: Catalogue) -> ModuleSummary:
    """A minimal summary (imports, functions, classes) made with ``ast``, as the model's
    summariser does."""
    tree = ast.parse(text)
    imports, stars = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports += [(alias.asname or alias.name.partition(".")[0], alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = absolute((node.level, node.module or ""), module, is_package) or ""
            for alias in node.names:
                if alias.name == "*":
                    stars.append(source)
                else:
                    imports.append((alias.asname or alias.name, f"{source}.{alias.name}"))
    functions = tuple(
        Function(node.name, isinstance(node, ast.AsyncFunctionDef), node.lineno, node.col_offset)
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    )
    classes = tuple(Class(node.name, (), (), node.lineno) for node in tree.body if isinstance(node, ast.ClassDef))
    return ModuleSummary(module, path, is_package, tuple(imports), tuple(stars), functions, classes, (), ())


@pytest.fixture
def summarised(monkeypatch):
    """The modules the model summarises, in order (the summariser, or a stand-in until there
    is one, is wrapped to record them)."""
    try:
        from loopcheck.project.summary import summarise
    except ImportError:
        summarise = _stand_in
    calls: list[str] = []

    def recording(text, module, path, is_package, catalogue):
        calls.append(module)
        return summarise(text, module, path, is_package, catalogue)

    monkeypatch.setitem(sys.modules, "loopcheck.project.summary", types.SimpleNamespace(summarise=recording))
    return calls


@pytest.fixture
def trusted_stats(monkeypatch):
    """Every stat goes into the index (a stat in the tick of a change is otherwise left out)."""
    monkeypatch.setattr(results_cache, "RACY_MARGIN_NS", 0)
    monkeypatch.setattr(results_cache, "COARSE_RACY_MARGIN_NS", 0)


def project(root: Path) -> dict[str, Path]:
    write(root / "pyproject.toml", "[project]\nname = 'app'\n")
    files = {"app": write(root / "app" / "__init__.py", "")}
    for name, text in {
        "tasks": TASKS,
        "helpers": HELPERS,
        "service": SERVICE,
        "clients": CLIENT,
        "reports": REPORTS,
        "texts": TEXTS,
    }.items():
        files[name] = write(root / "app" / f"{name}.py", text)
    return files


def walked(files: list[str], catalogue: Catalogue = CATALOGUE, cache: Path | None = None) -> ProjectModel:
    """The model of ``files``, after the reach has walked it (the modules it loaded)."""
    built = build_model(files, catalogue, cache)
    compute_reach(built, catalogue)
    return built


# -- which modules are summarised -------------------------------------------------------------


def test_the_entry_modules_are_summarised_and_the_others_when_the_walk_reaches_them(tmp_path, summarised):
    files = project(tmp_path)
    built = build_model([str(files["service"])], CATALOGUE)
    # The loop-start helper: the entry module, summarised at once.
    assert set(built.modules) == built.entry_modules() == {"app.helpers"}
    assert summarised == ["app.helpers"]
    compute_reach(built, CATALOGUE)
    # The task calling the helper (it imports the helper's module) -> service -> clients (the
    # object), reached through two modules; reports, which no loop reaches, only because it
    # imports the public `client` (its fix must know whether to keep it importable). Not texts
    # (nothing calls it, it imports nothing): never summarised.
    assert set(built.modules) == {"app.tasks", "app.service", "app.clients", "app.helpers", "app.reports"}
    assert sorted(summarised) == sorted(built.modules)
    assert {"app.reports", "app.texts", "app"} <= built.listed
    assert built.by_path[str(files["service"])].module == "app.service"  # the path as given


def test_a_module_no_call_reaches_is_never_summarised_nor_cached(tmp_path, summarised):
    files = project(tmp_path)
    cache = tmp_path / "cache"
    # Checked, and it makes an object; but no loop's calls resolve into it, and it keeps the
    # object in no global (a module that may is summarised for the importers of its global).
    write(files["reports"], "import asyncio\n\n\ndef other():\n    return asyncio.Lock()\n")
    built = walked([str(files["reports"]), str(files["texts"])], cache=cache)
    assert not {"app.reports", "app.texts"} & set(built.modules)
    assert not {"app.reports", "app.texts"} & set(summarised)
    stored = {json.loads(entry.read_text())[0] for entry in cache.glob("summaries/*/??/*.json")}
    assert stored == {"app.tasks", "app.helpers", "app.service", "app.clients"}
    # A module is summarised once, however many names resolve into it.
    assert built.resolve("app.tasks", "service.publish") == Target("function", "app.service", "publish")
    assert summarised.count("app.service") == 1


def test_a_module_that_may_start_a_loop_or_serve_on_a_server_loop_is_an_entry_module(tmp_path, summarised):
    files = project(tmp_path)
    write(files["texts"], "import asyncio\n\n\ndef title(text):\n    return asyncio.run(text)\n")
    routes = "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/')\nasync def root():\n    return 1\n"
    write(files["reports"], routes)
    entries = build_model([str(files["tasks"])], CATALOGUE).entry_modules()
    assert {"app.texts", "app.reports"} <= entries
    assert "app.tasks" not in entries  # a Celery task runs no loop by itself


def test_hidden_directories_virtual_environments_and_excluded_directories_are_not_listed(tmp_path):
    from loopcheck.project.model import _project_files
    from loopcheck.project.roots import find_roots
    from loopcheck.settings.config import Settings

    files = project(tmp_path)
    for directory in (".tox/py311", ".hidden", "env", "build", "node_modules", "generated"):
        write(tmp_path / directory / "app" / "clients.py", CLIENT)
    write(tmp_path / "env" / "pyvenv.cfg", "")
    settings = Settings(root=tmp_path, extend_exclude=("generated",))
    listed = _project_files([str(files["tasks"])], find_roots([str(files["tasks"])]), settings, ())
    assert sorted(listed) == sorted(str(path) for path in files.values())
    assert listed[0] == str(files["tasks"])  # the checked files first


def test_without_a_loop_or_a_context_only_a_global_object_and_its_importers_are_summarised(tmp_path, summarised):
    files = project(tmp_path)
    write(files["tasks"], "from app import service\n")
    write(files["helpers"], "def run_async(coro):\n    return coro\n")
    built = walked([str(files["service"])])
    # The fix of clients's public `client` needs to know who imports it, even where no loop is.
    assert set(built.modules) == set(summarised) == {"app.clients", "app.service", "app.reports"}
    write(files["clients"], "import asyncio\n\n\ndef make():\n    return asyncio.Lock()\n")
    summarised.clear()
    built = walked([str(files["service"])])
    assert (set(built.modules), summarised) == (set(), [])


def test_relative_imports_and_star_imports_load_the_modules_they_name(tmp_path, summarised):
    files = project(tmp_path)
    write(files["service"], "from . import clients\nfrom .clients import *\n")
    built = build_model([str(files["tasks"])], CATALOGUE)
    assert built.resolve("app.tasks", "service.client") == Target("holder", "app.clients", "client")
    assert {"app.service", "app.clients"} <= set(built.modules)
    write(files["service"], "from .texts import title\n")  # names nothing the task uses
    built = build_model([str(files["tasks"])], CATALOGUE)
    assert built.resolve("app.tasks", "service.client") is None
    assert "app.clients" not in built.modules and "app.texts" not in built.modules


def test_import_lines_as_the_selection_reads_them():
    text = "import a.b as c, d\nfrom .x import (y,\n    z as w)\nfrom .. import q\nfrom e import *\n  import f  # in a function\n"
    assert import_specs(text) == [(0, "a.b"), (0, "d"), (1, "x.y"), (1, "x.z"), (2, "q"), (0, "e"), (0, "f")]
    assert absolute((1, "x.y"), "pkg.sub.mod", False) == "pkg.sub.x.y"
    assert absolute((1, "x"), "pkg", True) == "pkg.x"
    assert absolute((2, "q"), "pkg.mod", False) is None  # above the top package


def test_an_import_inside_a_parenthesised_list_is_part_of_it():
    text = "from x import (a,\nimport b)\nimport c; import d\nx = 1; import e\n"
    assert import_specs(text) == [(0, "x.a"), (0, "x.import"), (0, "x.b"), (0, "c")]


def test_a_seed_named_without_its_module_is_not_one():
    seeds = SeedTest(CATALOGUE)
    assert seeds.flags("import fastapi\napp = fastapi.FastAPI()\n").serves
    assert not seeds.flags("app = FastAPI()\n").serves  # some other FastAPI
    assert seeds.flags("from anyio import run\nrun(main)\n").starts
    assert not seeds.flags("from runners import run\nrun(main)\n").starts


@pytest.mark.parametrize(
    "text",
    [
        "import asyncio\n\nlock = asyncio.Lock()\n",
        "from asyncio import Lock\n\nif True:\n    lock = Lock()\n",  # a module-level block
        "import httpx\n\nclient = None\n\n\ndef hook():\n    global client\n    client = httpx.AsyncClient()\n",
        "import redis.asyncio as aioredis\n\nredis_client = aioredis.from_url(\n    'redis://'\n)\n",
    ],
    ids=["module level", "module-level block", "global a hook sets", "call over lines"],
)
def test_a_module_that_may_keep_an_object_in_a_global_is_flagged(text):
    assert SeedTest(CATALOGUE).flags(text).objects
    assert not SeedTest(CATALOGUE).flags(text).entry  # loaded for its importers, not walked from


@pytest.mark.parametrize(
    "text",
    [
        "import asyncio\n\n\nasync def f():\n    lock = asyncio.Lock()\n",
        "import asyncio\n\n\nclass C:\n    def __init__(self):\n        self.lock = asyncio.Lock()\n",
        "import asyncio\n\n\n@decorated\ndef f():\n    return asyncio.Lock()\n",
        "from locks import Lock\n\nlock = Lock()\n",  # not asyncio's
        "import asyncio\n\nlock = asyncio.Locked()\nunlock = asyncio.Lock\n",  # no call of it
    ],
    ids=["in a coroutine", "in a method", "in a decorated function", "another package", "no call"],
)
def test_a_module_that_makes_objects_only_in_functions_is_not_flagged(text):
    assert not SeedTest(CATALOGUE).flags(text).objects


def test_the_stat_index_keeps_every_flag_and_takes_no_entry_of_the_earlier_shape():
    from loopcheck.project.store import _index_entry, _known

    entry = [1, 2, 3, 4, 5, "key", [[0, "asyncio"]], [False, False, True, True]]
    assert _index_entry(entry) and _known(entry).flags == Flags(False, False, configures=True, objects=True)
    assert not _index_entry([*entry[:7], [False, False]])  # starts and serves only: a miss


def test_a_seed_is_a_whole_word():
    seeds = SeedTest(CATALOGUE)
    assert seeds.flags("import asyncio\nasyncio.run(main())\n").starts
    assert not seeds.flags("import asyncio\nrerun(main())\n").starts
    assert not seeds.flags("import asyncio\n_run(main())\n").starts
    assert seeds.flags("import fastapi\napp = fastapi.FastAPI ()\n").serves
    assert not seeds.flags("import fastapi\napp = MyFastAPI()\n").serves
    assert not seeds.flags("import fastapi\napp = éFastAPI()\n").serves  # a word character too


def test_a_route_decorator_serves_only_where_it_starts_a_line():
    seeds = SeedTest(CATALOGUE)
    assert seeds.flags("@app.get('/')\nasync def root(): ...\n").serves
    assert seeds.flags("class A:\n\t @ router . post('/')\n    async def f(self): ...\n").serves
    assert not seeds.flags("x = a @app.get\n").serves  # a matrix product
    assert not seeds.flags("# see @app.get\n").serves
    assert not seeds.flags("@app.getter\ndef f(): ...\n").serves


def test_the_model_parses_without_warnings(tmp_path):
    write(tmp_path / "pyproject.toml", "")
    write(tmp_path / "app" / "__init__.py", "")
    tasks = write(tmp_path / "app" / "tasks.py", 'import asyncio\n\nDIGITS = "\\d+"\n\n\ndef main():\n    asyncio.run(go())\n')
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        assert set(build_model([str(tasks)], CATALOGUE).modules) == {"app.tasks"}
    assert shown == []


# -- no user code runs ------------------------------------------------------------------------


def test_the_model_never_imports_or_runs_the_code_it_describes(tmp_path, summarised):
    marker = tmp_path / "ran"
    write(tmp_path / "pyproject.toml", "")
    write(tmp_path / "evil" / "__init__.py", f"open({str(marker)!r}, 'w').write('imported')\n")
    write(tmp_path / "evil" / "boom.py", "raise RuntimeError('imported')\nimport asyncio\nlock = asyncio.Lock()\n")
    write(tmp_path / "evil" / "leave.py", "import sys\nsys.exit(3)\n")
    tasks = write(
        tmp_path / "evil" / "tasks.py",
        "import asyncio, sys\nfrom evil import boom, leave\nsys.exit(4)\n\n\ndef job():\n    asyncio.run(boom.lock.acquire())\n",
    )
    built = walked([str(tasks)])
    assert {"evil.tasks", "evil.boom"} <= set(built.modules)  # they were read
    assert not marker.exists()
    assert not any(name == "evil" or name.startswith("evil.") for name in sys.modules)


def test_files_that_cannot_be_read_or_parsed_are_left_out(tmp_path, summarised):
    files = project(tmp_path)
    write(tmp_path / "app" / "latin.py", b"import asyncio\nlock = asyncio.Lock()  # \xe9\n")  # not UTF-8
    write(tmp_path / "app" / "nul.py", b"import asyncio\x00\n")
    write(tmp_path / "app" / "broken.py", "import asyncio\nlock = asyncio.Lock(\n")
    write(files["service"], SERVICE + "    latin.lock, nul.lock, broken.lock\n\nfrom app import latin, nul, broken\n")
    built = walked([str(files["tasks"])])
    assert "app.broken" in summarised  # it was tried
    assert not {"app.latin", "app.nul", "app.broken"} & set(built.modules)
    assert {"app.tasks", "app.service", "app.clients"} <= set(built.modules)


# -- the summaries cache ----------------------------------------------------------------------


def test_a_warm_run_reads_and_parses_no_unchanged_file(tmp_path, summarised, trusted_stats, monkeypatch):
    files = project(tmp_path / "p")
    cache = tmp_path / "cache"
    cold = walked([str(files["tasks"])], cache=cache)
    assert summarised
    reads: list[str] = []
    original = sources.read_source
    monkeypatch.setattr(sources, "read_source", lambda path, *a: reads.append(path) or original(path, *a))
    summarised.clear()
    warm = walked([str(files["tasks"])], cache=cache)
    assert (summarised, reads) == ([], [])
    assert warm.modules == cold.modules
    # One file changed: only it is read and summarised again.
    write(files["service"], SERVICE + "\n\nasync def more():\n    await client.acquire()\n")
    again = walked([str(files["tasks"])], cache=cache)
    assert summarised == ["app.service"] and reads == [str(files["service"])] * 2  # listed, then summarised
    assert [f.name for f in again.modules["app.service"].functions if f.name != MODULE_CODE] == ["publish", "more"]
    # Touched, not changed: read and hashed again, its summary taken from the cache.
    reads.clear()
    summarised.clear()
    os.utime(files["clients"], ns=(1, 1))
    walked([str(files["tasks"])], cache=cache)
    assert (summarised, reads) == ([], [str(files["clients"])])


def test_damaged_cache_files_are_misses_rebuilt_without_an_error(tmp_path, summarised, trusted_stats):
    files = project(tmp_path / "p")
    cache = tmp_path / "cache"
    cold = walked([str(files["tasks"])], cache=cache)
    entries = sorted(cache.glob("summaries/*/??/*.json"))
    (index,) = cache.glob("summaries/*/index.json")
    assert len(entries) == len(cold.modules) == 5  # reports: it imports the public `client`
    for entry, broken in zip(entries, [b"", b"{not json", b"[" * 100_000, b"[]"]):
        entry.write_bytes(broken)
    # The summary of another module, stored under this one's key.
    stored = json.loads(entries[4].read_text())
    stored[0] = "elsewhere"
    entries[4].write_text(json.dumps(stored))
    index.write_text(json.dumps({str(files["tasks"].resolve()): [1, 2, 3], "x": "y"}))
    summarised.clear()
    rebuilt = walked([str(files["tasks"])], cache=cache)
    assert rebuilt.modules == cold.modules
    assert sorted(summarised) == sorted(cold.modules)
    # Rewritten: the next run takes them from the cache.
    summarised.clear()
    assert walked([str(files["tasks"])], cache=cache).modules == cold.modules
    assert summarised == []


def test_a_summary_file_of_the_wrong_shape_is_never_taken(tmp_path, summarised):
    from loopcheck.project.store import decode, encode

    files = project(tmp_path)
    summary = walked([str(files["tasks"])]).modules["app.tasks"]
    data = encode(summary)
    assert decode(json.loads(json.dumps(data)), ModuleSummary) == summary
    wrong = json.loads(json.dumps(data))
    wrong[2] = "yes"  # is_package must be a bool
    assert decode(wrong, ModuleSummary) is None
    assert decode(data[:-1], ModuleSummary) is None
    assert decode({"__reduce__": "os.system"}, ModuleSummary) is None


def test_without_a_cache_directory_nothing_is_written(tmp_path, summarised, monkeypatch):
    files = project(tmp_path / "p")
    monkeypatch.chdir(tmp_path)
    build_model([str(files["tasks"])], CATALOGUE, None)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["p"]
    assert not list((tmp_path / "p").rglob("*cache*"))


def test_a_read_only_cache_directory_turns_the_cache_off(tmp_path, summarised):
    files = project(tmp_path / "p")
    cache = write(tmp_path / "cache", "a file where the directory should be")
    built = walked([str(files["tasks"])], cache=cache)
    assert "app.clients" in built.modules


# -- names resolved across modules ------------------------------------------------------------


def summary(module: str, **fields) -> ModuleSummary:
    empty = {"imports": (), "star_imports": (), "functions": (), "classes": (), "holders": (), "instances": ()}
    return ModuleSummary(module, **{"path": f"{module}.py", "is_package": False, **empty, **fields})


def function(name: str) -> Function:
    return Function(name, False, 1, 0)


def test_a_submodule_imported_from_its_package():
    built = ProjectModel(
        [
            summary("pkg", is_package=True),
            summary("pkg.clients", functions=(function("connect"),)),
            summary("main", imports=(("clients", "pkg.clients"),)),
        ]
    )
    assert built.resolve("main", "clients") == Target("module", "pkg.clients")
    assert built.resolve("main", "clients.connect") == Target("function", "pkg.clients", "connect")


def test_a_name_a_package_re_exports():
    built = ProjectModel(
        [
            summary("pkg", is_package=True, imports=(("connect", "pkg._impl.connect"),)),
            summary("pkg._impl", functions=(function("connect"),)),
            summary("main", imports=(("pkg", "pkg"), ("c", "pkg.connect"))),
        ]
    )
    assert built.resolve("main", "pkg.connect") == Target("function", "pkg._impl", "connect")
    assert built.resolve("main", "c") == Target("function", "pkg._impl", "connect")


def test_a_star_import_of_a_project_module():
    built = ProjectModel(
        [
            summary("helpers", functions=(function("run_async"), function("_private"))),
            summary("pkg", is_package=True, star_imports=("helpers",)),
            summary("main", star_imports=("pkg",), functions=(function("own"),)),
        ]
    )
    assert built.resolve("main", "run_async") == Target("function", "helpers", "run_async")
    assert built.resolve("main", "own") == Target("function", "main", "own")
    assert built.resolve("main", "_private") is None  # a star import leaves out private names
    assert built.resolve("main", "missing") is None


def test_names_bound_to_themselves_end():
    built = ProjectModel(
        [
            summary("a", instances=(("client", "client"),), star_imports=("b",)),
            summary("b", star_imports=("a",), imports=(("x", "b.x"),)),
        ]
    )
    assert built.resolve("a", "client") == Target("instance", "a", "client", None)
    assert built.resolve("a", "nothing") is None
    assert built.resolve("b", "x") is None


def test_an_instance_named_like_the_factory_it_was_made_by():
    built = ProjectModel(
        [
            summary("factory", classes=(Class("Client", (), (), 1),)),
            summary("a", imports=(("Client", "factory.Client"),), instances=(("Client", "Client"),)),
        ]
    )
    assert built.resolve("a", "Client") == Target("instance", "a", "Client", Target("class", "factory", "Client"))


def test_an_import_of_another_project_checked_in_the_same_run_is_not_followed(tmp_path, summarised):
    # Two projects side by side (the first has no marker: its top package is the project).
    write(tmp_path / "one" / "worker" / "__init__.py", "")
    job = write(
        tmp_path / "one" / "worker" / "job.py", "import asyncio\nfrom lib import pool\nasyncio.run(pool.get())\n"
    )
    write(tmp_path / "two" / "pyproject.toml", "")
    write(tmp_path / "two" / "lib" / "__init__.py", "")
    pool = write(tmp_path / "two" / "lib" / "pool.py", CLIENT)
    texts = write(tmp_path / "two" / "lib" / "texts.py", "from lib import pool\n")
    built = build_model([str(job), str(pool), str(texts)], CATALOGUE)
    assert built.importers("lib.pool") == {"lib.texts"}
    assert set(built.modules) == {"worker.job"}  # the entry module only
    # The same packages in one repository: the task's import reaches the pool.
    (tmp_path / "one" / ".git").mkdir()
    write(tmp_path / "one" / "lib" / "__init__.py", "")
    write(tmp_path / "one" / "lib" / "pool.py", CLIENT)
    assert build_model([str(job)], CATALOGUE).importers("lib.pool") == {"worker.job"}


def test_a_folder_a_project_module_imports_is_a_namespace_package_of_the_model(tmp_path, summarised):
    files = project(tmp_path)
    write(tmp_path / "jobs" / "nightly.py", CLIENT)
    write(tmp_path / "scripts" / "once.py", TEXTS)
    write(files["service"], SERVICE + "    await nightly.client.acquire()\n\nfrom jobs import nightly\n")
    built = walked([str(files["tasks"])])
    assert {"jobs.nightly", "once"} <= built.listed  # scripts/ is imported by nobody
    assert "jobs.nightly" in built.modules and "once" not in built.modules


def test_a_dotted_import_whose_package_is_not_summarised():
    built = ProjectModel([summary("a.b.c", functions=(function("f"),)), summary("main", imports=(("a", "a"),))])
    assert built.resolve("main", "a.b.c.f") == Target("function", "a.b.c", "f")
    assert built.resolve("main", "a.b.c") == Target("module", "a.b.c")
    assert built.resolve("main", "a.x.f") is None


def test_clients_the_configuration_adds_key_the_summaries_and_the_seeds(tmp_path, summarised, trusted_stats):
    files = project(tmp_path / "p")
    write(files["clients"], "from vendor import Pool\n\nclient = Pool()\n")
    cache = tmp_path / "cache"
    without = walked([str(files["tasks"])], cache=cache).modules["app.clients"]
    assert without.holders == ()
    with_pool = Catalogue.load(("vendor.Pool",))
    assert [h.name for h in walked([str(files["tasks"])], with_pool, cache).modules["app.clients"].holders] == ["client"]
    summarised.clear()
    assert walked([str(files["tasks"])], cache=cache).modules["app.clients"] == without
    assert summarised == []  # both kept side by side


def test_a_text_given_for_a_file_replaces_the_file_on_disk_and_is_never_cached(tmp_path, summarised):
    files = project(tmp_path / "p")
    cache = tmp_path / "cache"
    from_disk = build_model([str(files["tasks"])], CATALOGUE).summary("app.tasks")
    buffer = TASKS + "\n\ndef extra():\n    run_async(service.publish())\n"
    texts = {os.path.abspath(files["tasks"]): buffer, os.path.abspath(files["texts"]): "import asyncio\nasyncio.run(f())\n"}
    built = build_model([str(files["tasks"])], CATALOGUE, cache, texts=texts)
    given = built.summary("app.tasks")
    assert given is not None and from_disk is not None
    assert given != from_disk and "extra" in [f.name for f in given.functions]
    assert "app.texts" in built.entry_modules()  # its flags are the given text's
    stored = {json.loads(entry.read_text())[0] for entry in cache.glob("summaries/*/??/*.json")}
    assert stored == {"app.helpers"}


def test_the_callers_of_a_helper_that_runs_its_parameter_are_loaded_from_the_modules_importing_it(tmp_path, summarised):
    files = project(tmp_path)
    write(files["tasks"], "from celery import Celery\nfrom app import service\n\napp = Celery()\n\n\n@app.task\ndef sync():\n    service.sync_publish()\n")
    write(files["service"], SERVICE + "\n\ndef sync_publish():\n    run_async(publish())\n\nfrom app.helpers import run_async\n")
    built = build_model([str(files["tasks"])], CATALOGUE)
    assert "app.service" not in built.entry_modules()
    reach = compute_reach(built, CATALOGUE)
    (client,) = [o for o in reach.objects if o.holder.name == "client"]
    # Not through reports, which imports the object's module, not the helper's (it is loaded for
    # the public object's fix, which asks what other modules import).
    assert [chain.through for chain in client.chains] == [("service.publish",)]
