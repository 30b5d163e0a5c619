"""One module's summary (loopcheck/project/summary.py): one small source per shape, asserting the
exact records the project model reads."""

from __future__ import annotations

import json
import os
import pickle
import textwrap
from pathlib import Path

import pytest

from loopcheck.data.catalogue import Catalogue, CatalogueError, context_runs, loop_starts, served_routes, tomllib
from loopcheck.project.records import MODULE_CODE, Class, Holder, LoopStart, ModuleSummary, Reference
from loopcheck.project.store import SummaryStore, decode, encode
from loopcheck.project.summary import summarise

CORPUS = Path(os.environ.get("LOOPCHECK_CORPUS", Path.home() / ".cache/loopcheck-corpus")) / "src"


def summary(source: str, module: str = "app.m", is_package: bool = False) -> ModuleSummary:
    return summarise(textwrap.dedent(source), module, "m.py", is_package, Catalogue.load())


def function(source: str, name: str, **kwargs):
    found = summary(source, **kwargs).function(name)
    assert found is not None, name
    return found


# -- imports ------------------------------------------------------------------------------------

IMPORTS = """
import os.path
import redis.asyncio as aioredis
from asyncio import Lock as L, Event
from . import sibling
from .clients import redis_client as rc
from ..core import settings
from .. import top
from ... import above_the_root
from .star import *
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from heavy import Thing
try:
    import ujson as json
except ImportError:
    import json

def late():
    from app.lazy import thing
"""


def test_imports_of_a_module_resolve_relative_names_against_its_package():
    found = summary(IMPORTS, module="app.services.m")
    assert found.imports == (
        ("os", "os"),
        ("aioredis", "redis.asyncio"),
        ("L", "asyncio.Lock"),
        ("Event", "asyncio.Event"),
        ("sibling", "app.services.sibling"),
        ("rc", "app.services.clients.redis_client"),
        ("settings", "app.core.settings"),
        ("top", "app.top"),
        ("TYPE_CHECKING", "typing.TYPE_CHECKING"),
        ("json", "ujson"),  # the first binding of the try: the preferred module
        ("thing", "app.lazy.thing"),  # a function's import is recorded module-wide
    )
    assert found.star_imports == ("app.services.star",)


def test_imports_of_a_package_resolve_relative_names_against_the_package_itself():
    found = summary("from . import x\nfrom .q import r\nfrom .. import up\n", module="app.services", is_package=True)
    assert found.imports == (("x", "app.services.x"), ("r", "app.services.q.r"), ("up", "app.up"))


# -- holders ------------------------------------------------------------------------------------

HOLDERS = """
import asyncio
import httpx as hx
from functools import lru_cache, cache
from asyncpg import create_pool
from playwright.async_api import async_playwright

lock = asyncio.Lock()
client: hx.AsyncClient = hx.AsyncClient()
task = asyncio.ensure_future(asyncio.sleep(1))
loop = asyncio.new_event_loop()
background = loop.create_task(asyncio.sleep(1))
wrapped = Wrapper(asyncio.Lock())
_client = None
_pools = {}

class Manager:
    pool = asyncio.Semaphore(3)
    _registry: dict = {}

    def __init__(self):
        self.session = hx.AsyncClient()

    async def connect(self):
        self.db = await create_pool("dsn")
        self.browser = await async_playwright().start()

    @classmethod
    def register(cls, name):
        cls._registry[name] = hx.AsyncClient()

def get_client():
    global _client
    if _client is None:
        _client = hx.AsyncClient()
    return _client

async def pool_for(key):
    _pools[key] = await create_pool(key)

def add(key):
    _pools.setdefault(key, hx.AsyncClient())

@lru_cache(maxsize=None)
def cached_client():
    return hx.AsyncClient()

@cache
def cached_lock():
    made = asyncio.Lock()
    return made
"""


def test_each_way_of_keeping_a_loop_bound_object_is_a_holder_at_its_creation():
    """In source order of the creations: the order is the same in every process."""
    assert summary(HOLDERS).holders == (
        Holder("lock", "primitive", "asyncio.Lock", "global", 8, 7),
        Holder("client", "client", "httpx.AsyncClient", "global", 9, 25),
        Holder("task", "future", "asyncio.Task", "global", 10, 7),
        Holder("loop", "loop", "asyncio.new_event_loop", "global", 11, 7),
        Holder("background", "future", "asyncio.Task", "global", 12, 13),
        Holder("Manager.pool", "primitive", "asyncio.Semaphore", "class-attribute", 18, 11),
        Holder("Manager.session", "client", "httpx.AsyncClient", "instance-attribute", 22, 23),
        Holder("Manager.db", "client", "asyncpg.Pool", "instance-attribute", 25, 24),
        Holder("Manager.browser", "client", "Playwright", "instance-attribute", 26, 29),
        Holder("Manager._registry", "client", "httpx.AsyncClient", "registry", 30, 30),
        Holder("_client", "client", "httpx.AsyncClient", "lazy-global", 35, 18),
        Holder("_pools", "client", "asyncpg.Pool", "registry", 39, 24),
        Holder("cached_client", "client", "httpx.AsyncClient", "cached", 46, 11),
        Holder("cached_lock", "primitive", "asyncio.Lock", "cached", 50, 11),
    )


def test_module_level_instances_are_the_calls_that_keep_no_loop_bound_object():
    found = summary(HOLDERS + "redis_client = RedisClient(url)\nservice = app.Service()\nname = 'x'\n")
    assert found.instances == (("wrapped", "Wrapper"), ("redis_client", "RedisClient"), ("service", "app.Service"))


def test_an_attribute_set_on_cls_in_a_class_method_is_a_class_attribute():
    found = summary(
        "import asyncio\nclass Pool:\n    @classmethod\n    def get(cls):\n        cls.lock = asyncio.Lock()\n"
        "    @staticmethod\n    def make(other):\n        other.lock = asyncio.Lock()\n"
    )
    assert found.holders == (Holder("Pool.lock", "primitive", "asyncio.Lock", "class-attribute", 5, 19),)


def test_a_creation_handed_on_by_an_expression_or_a_call_is_kept_by_its_holder():
    found = summary(
        "import asyncio, contextlib, httpx\n_client = None\n"
        "def get():\n    global _client\n    _client = _client or httpx.AsyncClient()\n    return _client\n"
        "loop = contextlib.closing(asyncio.new_event_loop())\nlock = asyncio.Lock() if True else None\n"
    )
    assert found.holders == (
        Holder("_client", "client", "httpx.AsyncClient", "lazy-global", 5, 25),
        Holder("loop", "loop", "asyncio.new_event_loop", "global", 7, 26),
        Holder("lock", "primitive", "asyncio.Lock", "global", 8, 7),
    )


def test_a_registry_is_filled_by_its_store_methods():
    found = summary(
        "import asyncio\nimport httpx\n_clients = {}\n_locks = []\n"
        "def add(k):\n    _clients.setdefault(k, httpx.AsyncClient())\n    _locks.append(asyncio.Lock())\n"
    )
    assert found.holders == (
        Holder("_clients", "client", "httpx.AsyncClient", "registry", 6, 27),
        Holder("_locks", "primitive", "asyncio.Lock", "registry", 7, 18),
    )


def test_a_local_variable_named_like_a_container_is_no_registry():
    found = summary("import asyncio\n_locks = {}\ndef f(k):\n    _locks = {}\n    _locks[k] = asyncio.Lock()\n")
    assert found.holders == ()


def test_a_client_made_through_a_module_level_session_is_a_holder():
    found = summary("import aioboto3\nsession = aioboto3.Session()\ns3 = session.client('s3')\n")
    assert found.holders == (Holder("s3", "client", "aioboto3 client", "global", 3, 5),)
    assert found.instances == (("session", "aioboto3.Session"),)


# -- functions, references, classes ------------------------------------------------------------

NESTING = """
import helpers
from app import db

class Outer:
    class Inner:
        def method(self, x):
            return self.pool.acquire(x)

    async def run(self, *args, key=None, **options):
        def inner(item):
            local = item
            return helpers.run_async(local, db.engine, self.name)
        return inner

def outer(flag):
    values = [v for v in range(3)]
    print(values, flag, missing_global)
    return len(values)

if __name__ == "__main__":
    outer(True)
"""


def test_functions_are_named_within_the_module_and_keep_their_parameters():
    found = summary(NESTING)
    assert [(f.name, f.is_async, f.line, f.parameters) for f in found.functions] == [
        (MODULE_CODE, False, 1, ()),
        ("Outer.Inner.method", False, 7, ("self", "x")),
        ("Outer.run", True, 10, ("self", "args", "key", "options")),
        ("Outer.run.inner", False, 11, ("item",)),
        ("outer", False, 16, ("flag",)),
    ]
    assert found.classes == (Class("Outer", (), ("run",), 5), Class("Outer.Inner", (), ("method",), 6))


def test_static_and_class_methods_say_how_calls_bind_their_parameters():
    found = summary(
        """
        import builtins

        class C:
            def plain(self, x): ...
            @staticmethod
            def static(x): ...
            @builtins.classmethod
            def made(cls, x): ...
            def __init_subclass__(cls): ...

        def function(x): ...
        """
    )
    assert [(f.name, f.binding) for f in found.functions[1:]] == [
        ("C.plain", ""), ("C.static", "static"), ("C.made", "class"), ("C.__init_subclass__", ""), ("function", ""),
    ]


def test_references_are_calls_and_reads_of_names_not_bound_in_the_function():
    found = summary(NESTING)
    assert found.function("Outer.Inner.method").references == (Reference("self.pool.acquire", 8, 19),)
    assert found.function("Outer.run.inner").references == (
        Reference("helpers.run_async", 13, 19),
        Reference("db.engine", 13, 44, called=False),
        Reference("self.name", 13, 55, called=False),
    )
    assert found.function("outer").references == (Reference("missing_global", 18, 24, called=False),)
    assert found.function(MODULE_CODE).references == (Reference("outer", 22, 4, as_program=True),)  # under __main__


NESTED_FUNCTIONS = """
import asyncio

def task(value):
    async def run():
        return await work(value)

    def helper():
        return run

    helper()
    asyncio.run(run())
    local = 1
    return local
"""


def test_a_function_defined_in_a_function_is_kept_as_a_reference_to_it():
    found = summary(NESTED_FUNCTIONS)
    assert found.function("task").references == (
        Reference("helper", 11, 4),
        Reference("asyncio.run", 12, 4, uses=(("run",),)),
        Reference("run", 12, 16),
    )
    assert found.function("task.helper").references == (Reference("run", 9, 15, called=False),)
    assert found.function("task").starts[0].runs == (Reference("run", 12, 16),)


PASSED_ARGUMENTS = """
from app.loop import run_async
import functools


async def generate(n):
    return n


def task(n, rest, options):
    run_async(generate(n))
    run_async(coro=generate(n), timeout=n)
    run_async(*rest)
    run_async(generate(n), **options)
    functools.partial(run_async)
    logger.info(n)
"""


def test_what_each_call_passes_is_kept_where_a_use_passes_a_call():
    found = {r.dotted: r for r in summary(PASSED_ARGUMENTS).function("task").references}
    assert found["run_async"].uses == (
        ("generate",),
        ("coro=generate", "timeout="),
        ("*",),
        ("generate", "**"),
        None,  # named without being called: handed on
    )
    assert found["logger.info"].uses == found["generate"].uses == ()  # no use passes a call


# -- contexts -----------------------------------------------------------------------------------

CONTEXTS = """
import threading
from functools import partial
from concurrent.futures import ThreadPoolExecutor
from celery import Celery
from fastapi import FastAPI, APIRouter
from aiohttp import web

celery_app = Celery("x")
app = FastAPI(lifespan=lifespan)
router = APIRouter()
routes = web.RouteTableDef()
pool = ThreadPoolExecutor()

@celery_app.task(bind=True)
def send(self, to):
    pass

def target():
    pass

def job():
    pass

class Worker(threading.Thread):
    def run(self):
        pass

    def start_jobs(self):
        threading.Thread(target=self.run).start()
        pool.submit(job)

@app.get("/")
async def index():
    pass

@router.post("/items")
async def create():
    pass

@routes.get("/health")
async def health(request):
    pass

@app.get("/sync")
def sync_index():
    pass

async def lifespan(app):
    yield

def later(delay):
    pass

def from_lambda():
    pass

threading.Thread(target=target).start()
threading.Timer(5, partial(later, 1)).start()
loop.run_in_executor(None, lambda: from_lambda())
"""


def test_the_contexts_seeds_and_served_routes_put_functions_in():
    found = summary(CONTEXTS)
    assert {f.name: f.contexts for f in found.functions if f.contexts} == {
        "send": ("celery-task",),
        "target": ("thread",),
        "job": ("executor",),
        "Worker.run": ("thread",),
        "index": ("server",),
        "create": ("server",),
        "health": ("server",),
        "sync_index": ("executor",),
        "lifespan": ("lifespan",),
        "later": ("thread",),
        "from_lambda": ("executor",),
    }


ROUTE_LISTS = """
from fastapi import FastAPI, APIRouter
from starlette.applications import Starlette
from starlette.routing import Mount, Route, WebSocketRoute

async def events(request):
    pass

async def feed(websocket):
    pass

async def raw(scope, receive, send):
    pass

async def added(request):
    pass

async def api(request):
    pass

async def routed(request):
    pass

def sync_page(request):
    pass

async def elsewhere(request):
    pass

routes = [
    Route("/events", events),
    Route("/page", endpoint=sync_page),
    WebSocketRoute("/ws", feed),
    Mount("/raw", app=raw),
]
app = Starlette(routes=routes)
app.add_route("/added", added)
fast = FastAPI()
fast.add_api_route("/api", api)
router = APIRouter()
router.add_route("/routed", endpoint=routed)
thing = object()
thing.add_route("/x", elsewhere)
"""


def test_route_lists_and_route_methods_put_async_endpoints_on_the_server():
    found = summary(ROUTE_LISTS)
    assert {f.name: f.contexts for f in found.functions if f.contexts} == {
        "events": ("server",),
        "feed": ("server",),
        "raw": ("server",),
        "added": ("server",),
        "api": ("server",),
        "routed": ("server",),
    }


DEPENDENCIES = """
from typing import Annotated

from fastapi import Depends, FastAPI, Security

from app import db

app = FastAPI()

async def get_session():
    yield None

async def current_user():
    return None

def settings():
    return {}

@app.get("/")
async def index(session=Depends(get_session), user: Annotated[object, Security(current_user)] = None,
                conf=Depends(settings), other=Depends(db.get_db)):
    pass
"""


def test_fastapi_dependencies_run_on_the_server_s_loop():
    found = summary(DEPENDENCIES)
    assert {f.name: f.contexts for f in found.functions if f.contexts} == {
        "get_session": ("fastapi-dependency",),
        "current_user": ("fastapi-dependency",),
        "settings": ("executor",),
        "index": ("server",),
    }
    assert found.handed == (("db.get_db", "fastapi-dependency"),)


LAZY_INSTANCES = """
from app.engine import Engine

_engine = None
_cache = None
_other = None


def get_engine():
    global _engine
    if _engine is None:
        _engine = Engine()
    return _engine


def warm():
    global _cache, _other
    _cache = dict()
    _other = None


class Holder:
    def get(self):
        global _other
        _other = Engine()
        return _other
"""


def test_globals_bound_to_a_call_on_first_use_are_lazy_instances_with_their_getter():
    assert summary(LAZY_INSTANCES).lazy_instances == (
        ("_engine", "Engine", "get_engine"),
        ("_cache", "dict", ""),
        ("_other", "Engine", ""),  # a method is not a getter the model follows
    )


FLASK_VIEWS = """
from fastapi import FastAPI
from flask import Blueprint, Flask

app = Flask("app")
bp = Blueprint("bp", __name__)

@app.route("/")
async def index():
    pass

@bp.get("/x")
async def in_blueprint():
    pass

def serve():
    @app.route("/", methods=["POST"])
    async def handle_request():
        pass

def make_api():
    app = FastAPI()

    @app.get("/")
    async def served():
        pass
"""


def test_a_flask_async_view_is_a_new_loop_per_request_never_the_servers_loop():
    found = summary(FLASK_VIEWS)
    starts = {f.name: [(s.entry, s.lifetime, s.runs, s.line) for s in f.starts] for f in found.functions if f.starts}
    assert starts == {
        "index": [("Flask async view", "per-call", (), 8)],
        "in_blueprint": [("Flask async view", "per-call", (), 12)],
        "serve.handle_request": [("Flask async view", "per-call", (), 17)],
    }
    assert {f.name: f.contexts for f in found.functions if f.contexts} == {"make_api.served": ("server",)}


def test_a_served_decorator_on_an_unknown_receiver_is_no_route():
    found = summary("import x\nthing = x.Thing()\n@thing.get('/')\nasync def index():\n    pass\n")
    assert found.function("index").contexts == ()


# -- loop starts --------------------------------------------------------------------------------

STARTS = """
import asyncio
import anyio
from asgiref.sync import async_to_sync

_worker_loop = asyncio.new_event_loop()

def run_main():
    asyncio.run(main())

def run_given(coro):
    return asyncio.run(coro)

def helper(coro):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()

def current():
    loop = asyncio.get_event_loop()
    loop.run_until_complete(work())

def kept():
    return _worker_loop.run_until_complete(asyncio.gather(a(), b()))

def from_helper():
    get_worker_loop().run_until_complete(work())

def threadsafe(self):
    asyncio.run_coroutine_threadsafe(work(), self.loop)
    loop = self._other_loop
    loop.run_until_complete(loop.create_task(other()))

def with_runner():
    with asyncio.Runner() as runner:
        runner.run(work())

def sync_wrapper(x):
    return async_to_sync(fetch)(x)

def with_anyio():
    anyio.run(main)

loop = asyncio.new_event_loop()
loop.run_until_complete(main())
"""


def start(name: str) -> tuple[LoopStart, ...]:
    return function(STARTS, name).starts


def test_asyncio_run_is_a_fresh_loop_per_call_running_the_callee():
    assert start("run_main") == (LoopStart("asyncio.run", "per-call", None, (Reference("main", 9, 16),), 9, 4),)


def test_a_parameter_passed_to_asyncio_run_is_followed_to_callers():
    assert start("run_given") == (
        LoopStart("asyncio.run", "per-call", None, (Reference("coro", 12, 23, called=False),), 12, 11),
    )


def test_a_new_event_loop_helper_runs_each_call_on_a_fresh_loop():
    assert start("helper") == (
        LoopStart("run_until_complete", "per-call", None, (Reference("coro", 17, 39, called=False),), 17, 15, loop_line=15),
    )


def test_run_until_complete_on_the_current_loop_keeps_that_loop():
    assert start("current") == (
        LoopStart("run_until_complete", "kept", "asyncio.get_event_loop()", (Reference("work", 23, 28),), 23, 4, loop_line=22),
    )


def test_a_kept_loop_is_named_as_written_and_gather_runs_each_coroutine():
    assert start("kept") == (
        LoopStart("run_until_complete", "kept", "_worker_loop", (Reference("a", 26, 58), Reference("b", 26, 63)), 26, 11),
    )
    assert start("from_helper") == (
        LoopStart("run_until_complete", "kept", "get_worker_loop()", (Reference("work", 29, 41),), 29, 4),
    )
    assert start("threadsafe") == (
        LoopStart("run_coroutine_threadsafe", "kept", "self.loop", (Reference("work", 32, 37),), 32, 4),
        LoopStart("run_until_complete", "kept", "self._other_loop", (Reference("other", 34, 45),), 34, 4, loop_line=33),
    )


def test_a_runner_made_in_the_function_is_a_fresh_loop_per_call():
    assert start("with_runner") == (
        LoopStart("Runner.run", "per-call", None, (Reference("work", 38, 19),), 38, 8, loop_line=37),
    )


def test_callable_starts_run_the_function_they_are_given():
    assert start("sync_wrapper") == (
        LoopStart("async_to_sync", "per-call", None, (Reference("fetch", 41, 25),), 41, 11),
    )
    assert start("with_anyio") == (LoopStart("anyio.run", "per-call", None, (Reference("main", 44, 14),), 44, 4),)


def test_a_loop_made_at_module_level_is_kept_under_its_global_name():
    assert start(MODULE_CODE) == (LoopStart("run_until_complete", "kept", "loop", (Reference("main", 47, 24),), 47, 0),)


REPEATED = """
import asyncio

def once(items):
    task("once")
    for item in check(items):
        task(item)
    else:
        after()
    while pending():
        asyncio.run(work())
    [handle(x) for x in source() if keep(x)]
    return {key(x): value(x) for x in source()}

def nested():
    for item in items:
        def inner():
            inner_call()
        lam = lambda: in_lambda()
    outside()

async def iterated():
    async for item in stream():
        await handle(item)
"""


def test_a_use_in_a_loop_body_or_a_comprehension_is_repeated():
    found = summary(REPEATED)
    repeated = {r.dotted: r.repeated for r in found.function("once").references}
    assert repeated == {
        # `task` is called once and in a loop: the reference is repeated.
        "task": True, "check": False, "after": False, "pending": True, "asyncio.run": True, "work": True,
        "handle": True, "source": False, "keep": True, "key": True, "value": True,
    }
    assert found.function("once").references[0] == Reference("task", 5, 4, repeated=True)
    (start,) = found.function("once").starts
    assert start.repeated and start.loop_line is None
    # A function defined in a loop body is its own code: its body runs once per call of it.
    assert [r.repeated for r in found.function("nested.inner").references] == [False]
    assert {r.dotted: r.repeated for r in found.function("nested").references} == {
        "items": False, "in_lambda": True, "outside": False,
    }
    assert {r.dotted: r.repeated for r in found.function("iterated").references} == {"stream": False, "handle": True}


def test_the_summaries_cache_reads_the_loop_fields_and_rebuilds_entries_written_without_them(tmp_path):
    found = summary(REPEATED + STARTS)
    data = json.loads(json.dumps(encode(found)))
    assert decode(data, ModuleSummary) == found
    store = SummaryStore(tmp_path)
    store.store("key", found)
    assert store.load("key", found.module, found.path, found.is_package) == found
    # An entry from before `repeated` and `loop_line`: not the shape of a summary, so a miss.
    for function_data in data[5]:
        function_data[5] = [reference[:4] for reference in function_data[5]]
        function_data[6] = [[*start[:3], [r[:4] for r in start[3]], *start[4:6]] for start in function_data[6]]
    assert decode(data, ModuleSummary) is None
    (entry,) = (tmp_path / "summaries").rglob("*/*.json")
    entry.write_text(json.dumps(data))
    assert store.load("key", found.module, found.path, found.is_package) is None


def test_the_stat_index_forgets_the_files_that_are_gone(tmp_path):
    from loopcheck.project.selection import Flags
    from loopcheck.project.store import Known

    files = {name: tmp_path / f"{name}.py" for name in ("kept", "gone", "elsewhere")}
    store = SummaryStore(tmp_path / "cache")
    for path in files.values():
        path.write_text("x = 1\n")
        info = os.stat(path)
        identity = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_dev, info.st_ino)
        # Read well after the file's last change: a stat the index trusts.
        store.remember(str(path), identity, info.st_ctime_ns + 10**10, Known("key", (), Flags(False, False)))
    store.save_index(map(str, files.values()))
    assert set(SummaryStore(tmp_path / "cache").index) == {str(path) for path in files.values()}
    files["gone"].unlink()
    # A run that lists only ``kept``: ``elsewhere`` (another project's, say) is still on disk.
    SummaryStore(tmp_path / "cache").save_index([str(files["kept"])])
    assert set(SummaryStore(tmp_path / "cache").index) == {str(files["kept"]), str(files["elsewhere"])}


def _remember_all(store, paths, flags=None):
    """Remember each file as read well after its last change (a stat the index trusts)."""
    from loopcheck.project.selection import Flags
    from loopcheck.project.store import Known

    for path in paths:
        info = os.stat(path)
        identity = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_dev, info.st_ino)
        known = Known(f"key of {path.name}", ((0, "asyncio"), (1, "sibling")), flags or Flags(True, False))
        store.remember(str(path), identity, info.st_ctime_ns + 10**10, known)


def _indexed(root: Path) -> list[Path]:
    """Forty files, remembered in the stat index under ``root / "cache"``."""
    files = [root / f"m{n}.py" for n in range(40)]
    for path in files:
        path.write_text("x = 1\n")
    store = SummaryStore(root / "cache")
    _remember_all(store, files)
    store.save_index(map(str, files))
    return files


def test_a_few_changed_files_are_appended_to_the_journal_and_read_back(tmp_path):
    from loopcheck.project import store as stores

    files = _indexed(tmp_path)
    directory = tmp_path / "cache" / "summaries" / SummaryStore(None).base[:16]
    index = (directory / "index.json").read_bytes()
    assert list(directory.glob("*.journal")) == []
    # One file changed: the index stays as it is, one line goes into its journal.
    files[3].write_text("x = 2\n")
    second = SummaryStore(tmp_path / "cache")
    _remember_all(second, files[3:4])
    second.save_index(map(str, files))
    assert (directory / "index.json").read_bytes() == index
    (journal,) = directory.glob("*.journal")
    assert len(journal.read_bytes().splitlines()) == 1
    read = SummaryStore(tmp_path / "cache")
    assert read.unchanged(str(files[3])) is not None and read.unchanged(str(files[4])) is not None
    assert read.unchanged(str(files[3])).specs == ((0, "asyncio"), (1, "sibling"))
    # A file deleted: its entry leaves through the journal too.
    files[5].unlink()
    SummaryStore(tmp_path / "cache").save_index(map(str, files[:5]))
    assert str(files[5]) not in SummaryStore(tmp_path / "cache").index
    # Past its share of the index's size, the journal is folded into a new index and removed.
    for round_ in range(int(1 / stores.COMPACT_SHARE) + 1):
        files[3].write_text(f"x = {round_}\n" * (round_ + 2))
        again = SummaryStore(tmp_path / "cache")
        _remember_all(again, files[:5])
        again.save_index(map(str, files[:5]))
    assert (directory / "index.json").read_bytes() != index
    assert not journal.exists()
    final = SummaryStore(tmp_path / "cache")
    assert set(final.index) == set(map(str, files)) - {str(files[5])}
    assert final.unchanged(str(files[3])) is not None


def test_a_journal_line_cut_short_or_of_another_shape_is_a_miss(tmp_path):
    files = _indexed(tmp_path)
    files[1].write_text("x = 2\n")
    files[2].write_text("x = 3\n")
    for path in files[1:3]:
        changed = SummaryStore(tmp_path / "cache")
        _remember_all(changed, [path])
        changed.save_index(map(str, files))
    (journal,) = (tmp_path / "cache").rglob("*.journal")
    first, second = journal.read_bytes().splitlines()
    # The second line cut short, then a line of another shape: skipped, their files unknown.
    journal.write_bytes(first + b"\n" + second[: len(second) // 2] + b"\n" + b'{"%s": [1, 2]}\n' % str(files[4]).encode())
    read = SummaryStore(tmp_path / "cache")
    assert read.unchanged(str(files[1])) is not None
    assert read.unchanged(str(files[2])) is None  # its old entry has the old stat
    assert str(files[4]) not in read.index
    assert read.unchanged(str(files[5])) is not None


@pytest.mark.parametrize(
    "text",
    ["import a.b as c, d\n", "from .. import (a,\n b)\n", "from . .x import y\n", "from ...pkg.mod import *\n", "x = 1\n"],
)
def test_import_lines_come_back_from_the_stat_index_as_they_were_found(tmp_path, text):
    from loopcheck.project.selection import Flags, import_specs
    from loopcheck.project.store import Known

    path = tmp_path / "m.py"
    path.write_text(text)
    info = os.stat(path)
    identity = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_dev, info.st_ino)
    store = SummaryStore(tmp_path / "cache")
    specs = tuple(import_specs(text))
    store.remember(str(path), identity, info.st_ctime_ns + 10**10, Known("key", specs, Flags(False, False)))
    store.save_index([str(path)])
    known = SummaryStore(tmp_path / "cache").unchanged(str(path))
    assert known is not None and known.specs == specs


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs fifos")
@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_a_journal_of_another_kind_is_never_waited_for_nor_an_error(tmp_path, kind):
    files = _indexed(tmp_path)
    directory = tmp_path / "cache" / "summaries" / SummaryStore(None).base[:16]
    journal = directory / f"{json.loads((directory / 'index.json').read_text())['journal']}.journal"
    os.mkfifo(journal) if kind == "fifo" else journal.mkdir()
    files[1].write_text("x = 2\n")
    store = SummaryStore(tmp_path / "cache")  # reads the index, not the fifo
    assert store.unchanged(str(files[2])) is not None
    _remember_all(store, files[1:2])
    store.save_index(map(str, files))  # cannot append: the cache is off for the rest of the run
    assert not store.usable


def test_every_seed_flag_survives_the_stat_index(tmp_path):
    """A file that sets the Celery worker pool is an entry module on a warm run too."""
    from loopcheck.project.selection import Flags

    path = tmp_path / "celeryconfig.py"
    path.write_text('worker_pool = "threads"\n')
    store = SummaryStore(tmp_path / "cache")
    _remember_all(store, [path], Flags(False, False, True))
    store.save_index([str(path)])
    known = SummaryStore(tmp_path / "cache").unchanged(str(path))
    assert known is not None and known.flags == Flags(False, False, True) and known.flags.entry


# -- input --------------------------------------------------------------------------------------


def test_text_the_parser_rejects_raises_syntax_error_for_the_caller_to_skip():
    with pytest.raises(SyntaxError):
        summary("def f(:\n")


def test_a_summary_pickles_and_compares_equal():
    found = summary(HOLDERS + STARTS + CONTEXTS)
    assert pickle.loads(pickle.dumps(found)) == found


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}: run ../shared/bench/corpus.sh first")
def test_corpus_files_are_summarised_without_crashing():
    """A short sample of the pinned benchmark corpus (benchmarks/summaries.py summarises it all);
    reported as skipped, with the reason, where the corpus is absent."""
    files = sorted(CORPUS.rglob("*.py"))[::150][:30]
    summarised = 0
    for path in files:
        try:
            text = path.read_text("utf-8")
            summarise(text, path.stem, str(path), path.name == "__init__.py", Catalogue.load())
        except (SyntaxError, ValueError, UnicodeDecodeError):
            continue
        summarised += 1
    assert summarised >= 20


# -- the served routes and the contexts' table as data -------------------------------------------

BAD_ENTRIES = [
    ('[[served]]\ndecorator-methods = ["get"]\n', "entries.toml: [[served]] #1: unknown key 'decorator-methods'"),
    (
        '[[served]]\nreceiver = ["fastapi.FastAPI"]\n',
        "entries.toml: [[served]] #1: needs 'decorator-method', 'call' or 'method'",
    ),
    (
        '[[served]]\ncall = ["starlette.routing.Route"]\n',
        "entries.toml: [[served]] #1: a 'call' or 'method' needs the endpoint's 'position' or 'keyword'",
    ),
    (
        '[[served]]\ndecorator-method = ["get"]\nexcept-receiver = "flask.Flask"\n',
        "entries.toml: [[served]] #1: key 'except-receiver'",
    ),
    (
        '[[served]]\nmethod = ["add_route"]\nendpoint-position = 1\n',
        "entries.toml: [[served]] #1: unknown key 'endpoint-position'",
    ),
    ('served = 1\n', "entries.toml: served must be an array of tables"),
]


@pytest.mark.parametrize(("text", "message"), BAD_ENTRIES, ids=[m for _, m in BAD_ENTRIES])
def test_a_wrong_served_entry_is_refused_when_the_catalogue_loads(text, message):
    with pytest.raises(CatalogueError) as raised:
        served_routes(tomllib.loads(text))
    assert str(raised.value).startswith(message), str(raised.value)


START = '[[start]]\nname = "view"\nlifetime = "per-call"\ndescribe = "a new loop"\n'
BAD_STARTS = [
    (START, "entries.toml: [[start]] #1: needs 'call', 'method' or 'decorator-method'"),
    (START + 'decorator-method = ["route"]\n', "entries.toml: [[start]] #1: a 'decorator-method' needs a 'receiver'"),
    (
        START + 'decorator-methods = ["route"]\nreceiver = ["flask.Flask"]\n',
        "entries.toml: [[start]] #1: unknown key 'decorator-methods'",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_STARTS, ids=[m for _, m in BAD_STARTS])
def test_a_wrong_start_entry_is_refused_when_the_catalogue_loads(text, message):
    with pytest.raises(CatalogueError) as raised:
        loop_starts(tomllib.loads(text))
    assert str(raised.value).startswith(message), str(raised.value)


def test_entries_toml_says_how_the_server_context_runs_and_refuses_unknown_tables():
    data = tomllib.loads(Path(__file__).parent.parent.joinpath("loopcheck/data/entries.toml").read_text("utf-8"))
    assert context_runs(data)["server"].loop == "server"
    del data["context"]["server"]
    with pytest.raises(CatalogueError, match=r"no \[context.server\] table"):
        context_runs(data)
    with pytest.raises(CatalogueError, match="unknown table 'serve'"):
        loop_starts({"serve": []})


def test_a_store_into_a_registry_an_imported_class_keeps_is_held_under_the_name_written():
    found = summary(
        "import asyncpg\n"
        "from app.manager import ClientManager\n"
        "\n"
        "async def pool(name):\n"
        "    ClientManager._pools[name] = await asyncpg.create_pool(dsn=name)\n"
        "    local = {}\n"
        "    local[name] = await asyncpg.create_pool(dsn=name)\n"
    )
    assert found.holders == (Holder("ClientManager._pools", "client", "asyncpg.Pool", "registry", 5, 39),)


# -- methods of objects made by a call --------------------------------------------------------

MADE_BY_A_CALL = """
import redis.asyncio as aioredis
from app.tools import MCPTool, Runner, Other

def job(config):
    from app.tasks import Deferred
    tool = MCPTool(config)
    async def inner():
        await tool.discover()
    tool.setup()
    Deferred().start(inner)
    make = factory
    make.run()

class Agent:
    def __init__(self):
        self.runner = Runner()
        self.pool = aioredis.Redis()
        self.either = Runner()
        self.task = None

    def reset(self):
        self.either = Other()
        self.task = Runner()

    def go(self):
        self.runner.run(self.step)
        self.pool.get()
        self.either.run()
        self.task.stop()
        self.step()

    async def step(self):
        pass
"""


def test_a_method_of_an_object_a_call_made_reads_as_the_callees():
    found = summary(MADE_BY_A_CALL)
    # A local made by a call, used here or in a nested function, or the call itself: the method
    # on the callee. A local bound to a name is not followed.
    assert [r.dotted for r in found.function("job").references] == [
        "MCPTool", "MCPTool.setup", "Deferred.start", "Deferred", "inner", "factory",
    ]
    assert [r.dotted for r in found.function("job.inner").references] == ["MCPTool.discover"]
    # An attribute set on self to a call: the method on that callee; a holder stays as written,
    # and so does an attribute set to calls of two callees.
    assert [r.dotted for r in found.function("Agent.go").references] == [
        "Runner.run", "self.step", "self.pool.get", "self.either.run", "Runner.stop",
    ]
    assert found.holder("Agent.pool") is not None


DERIVED = """
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from app.db import Repository

engine = create_async_engine("postgresql+asyncpg://db/app")
session_factory = async_sessionmaker(engine, expire_on_commit=False)
bound = Repository(bind=engine)
settings = make_settings("x")

def later():
    local = async_sessionmaker(engine)
"""


def test_a_module_level_object_made_from_a_holder_is_derived_from_it():
    found = summary(DERIVED)
    assert [h.name for h in found.holders] == ["engine"]
    # Given the holder, as an argument or a keyword; a local or a call given no holder is not.
    assert found.derived == (("session_factory", "engine"), ("bound", "engine"))


def test_another_name_of_a_derived_object_or_a_holder_is_derived_from_the_holder():
    found = summary(
        DERIVED
        + "async_session: Callable[[], AsyncSession] = session_factory\n"
        + "db = engine\nsettings_too = settings\n"
        + "def later():\n    global late\n    late = session_factory\n"
    )
    assert found.derived == (
        ("session_factory", "engine"), ("bound", "engine"), ("async_session", "engine"), ("db", "engine")
    )


# -- pytest's event_loop fixture ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ('import pytest\n@pytest.fixture(scope="session")\ndef event_loop():\n    yield\n', "session"),
        ('import pytest_asyncio\n@pytest_asyncio.fixture(scope="module")\ndef event_loop():\n    yield\n', "module"),
        ("from pytest import fixture\n@fixture\ndef event_loop():\n    yield\n", "function"),
        ('import pytest\n@pytest.fixture(autouse=True, scope="package")\ndef event_loop():\n    yield\n', "package"),
        ('import pytest\n@pytest.fixture(scope="session", name="event_loop")\ndef loop():\n    yield\n', "session"),
        # named otherwise by its decorator: not the fixture
        ('import pytest\n@pytest.fixture(scope="session", name="spare_loop")\ndef event_loop():\n    yield\n', None),
        # Not the fixture: another name, no fixture decorator, a method, a nested function.
        ('import pytest\n@pytest.fixture(scope="session")\ndef loop():\n    yield\n', None),
        ("def event_loop():\n    yield\n", None),
        ('import pytest\nclass T:\n    @pytest.fixture(scope="session")\n    def event_loop(self):\n        yield\n', None),
        ('import pytest\ndef f():\n    @pytest.fixture(scope="session")\n    def event_loop():\n        yield\n', None),
    ],
)
def test_the_scope_of_a_modules_event_loop_fixture_is_recorded(text, scope):
    assert summary(text, module="tests.conftest").loop_fixture == scope


# -- routes on a receiver made by a class the seed does not name --------------------------------

ROUTED = """
from fastapi import APIRouter as Router
from app.routing import APIRouter
from app import routing

SYSTEM = APIRouter(prefix="/system")
OTHER = routing.Router()
plain = Router()

@SYSTEM.get("/a")
async def a():
    pass

@OTHER.post("/b")
async def b():
    pass

@SYSTEM.get("/c")
def c():
    pass

@plain.get("/d")
async def d():
    pass
"""


def test_a_route_on_a_receiver_of_another_class_is_recorded_for_the_reach():
    """``a`` and ``b`` may be routes (the class may derive from FastAPI's router): on the server's
    loop; ``c`` is no ``async def``: the server would run it in its thread pool; ``d``'s receiver
    is FastAPI's router, a route already."""
    found = summary(ROUTED)
    assert set(found.routed) == {
        ("a", "server", "APIRouter", "get"),
        ("b", "server", "routing.Router", "post"),
        ("c", "executor", "APIRouter", "get"),
    }
    assert found.function("d").contexts == ("server",)
    assert found.function("a").contexts == found.function("c").contexts == ()


@pytest.mark.parametrize(
    ("text", "pool"),
    [
        ('worker_pool = "threads"\n', "threads"),
        ('CELERY_WORKER_POOL = "solo"\n', "solo"),
        ('from app.celery import app\napp.conf.worker_pool = "gevent"\n', "gevent"),
        ('app.conf.update(broker_url="redis://", worker_pool="eventlet")\n', "eventlet"),
        ('import os\nif os.environ.get("X"):\n    worker_pool = "threads"\n', "threads"),
        ('worker_pool = "threads"\nworker_pool = "solo"\n', "solo"),  # the last one, as at import
        ('def configure(app):\n    app.conf.worker_pool = "threads"\n', None),  # not at import
        ("worker_pool = POOL\n", None),  # not a string: unknown
        ('app.worker_pool = "threads"\nsettings.update(worker_pool="solo")\n', None),  # not a conf
    ],
)
def test_the_celery_pool_a_module_sets_at_import_is_recorded(text, pool):
    assert summarise(text, "app.config", "/p/app/config.py", False, Catalogue.load()).celery_pool == pool


def test_a_summary_leaves_no_reference_cycle():
    """The walk keeps nothing that refers back to it: the module's tree is freed as soon as the
    summary is made, without waiting for the garbage collector (the model makes hundreds)."""
    import gc

    source = "import asyncio\nlock = asyncio.Lock()\nclass C:\n    def m(self):\n        return [x for x in lock]\n"
    gc.collect()
    gc.disable()
    try:
        summary(source)
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_summarys_function_is_the_first_of_its_name_and_its_index_is_neither_stored_nor_compared():
    """``ModuleSummary.function`` looks names up in an index made at the first call, not in a scan
    of ``functions`` each time: the first function of a name; the summary's data and equality
    stay those of its fields."""
    from loopcheck.project.records import Function

    class Scanned(tuple):  # counts the scans of the functions (the reach asks thousands a run)
        scans = 0

        def __iter__(self):
            Scanned.scans += 1
            return super().__iter__()

    first, second = Function("run", False, 1, 0), Function("run", True, 5, 0)
    found = ModuleSummary("app.m", "app/m.py", False, (), (), Scanned((first, second)), (), (), ())
    untouched = ModuleSummary("app.m", "app/m.py", False, (), (), (first, second), (), (), ())
    data = encode(found)
    Scanned.scans = 0
    assert found.function("run") is first and found.function("other") is None and found.function("run") is first
    assert Scanned.scans == 1
    assert encode(found) == data and found == untouched and hash(found) == hash(untouched)
    asked = ModuleSummary("app.m", "app/m.py", False, (), (), (first, second), (), (), ())
    assert asked.function("run") is first and pickle.loads(pickle.dumps(asked)) == untouched
