"""Objects made or kept so that no second event loop ever meets them: the catalogue's
``confined-by`` facts (an async engine with ``poolclass=NullPool``, a Motor client whose
``get_io_loop`` is ``asyncio.get_running_loop``) and globals every loop's stop function sets back
to None. The summary notes them on the holder, the reach judges them confined."""

from __future__ import annotations

import textwrap

import pytest

from loopcheck.data.catalogue import Catalogue, CatalogueError, client_confinements, tomllib
from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.project.evidence import attach
from loopcheck.project.model import ProjectModel
from loopcheck.project.reach import CONFINED, SHARED, compute_reach
from loopcheck.project.records import Function, Holder, LoopStart, ModuleSummary, Reference
from loopcheck.project.summary import summarise

CATALOGUE = Catalogue.load()
NULLPOOL_WHY = "no connection is kept from one event loop for the next"
MOTOR_WHY = "each operation runs on the event loop that awaits it"


def holders(source: str) -> dict[str, Holder]:
    summary = summarise(textwrap.dedent(source), "app.m", "m.py", False, CATALOGUE)
    return {holder.name: holder for holder in summary.holders}


def cleanups(source: str, name: str) -> tuple[str, ...]:
    function = summarise(textwrap.dedent(source), "app.m", "m.py", False, CATALOGUE).function(name)
    assert function is not None, name
    return function.cleanups


# -- the catalogue --------------------------------------------------------------------------------


def test_the_catalogue_confines_the_async_engine_by_its_pool_and_motor_by_its_loop_lookup():
    (engine,) = CATALOGUE.clients["sqlalchemy.ext.asyncio.create_async_engine"][0].confined_by
    assert (engine.argument, engine.attribute, engine.why) == ("poolclass", None, NULLPOOL_WHY)
    assert "sqlalchemy.pool.NullPool" in engine.values and "sqlalchemy.NullPool" in engine.values
    (motor,) = CATALOGUE.clients["motor.motor_asyncio.AsyncIOMotorClient"][0].confined_by
    assert (motor.argument, motor.attribute, motor.values) == (None, "get_io_loop", {"asyncio.get_running_loop"})
    assert CATALOGUE.clients["redis.asyncio.Redis"][0].confined_by == ()


BAD_CONFINEMENTS = [
    ("confined-by = 1\n", "c: must be a list of tables"),
    (
        '[[confined-by]]\nargument = "poolclass"\nattribute = "x"\nvalues = ["a.B"]\nwhy = "w"\n',
        "c #1: needs exactly one of 'argument' and 'attribute'",
    ),
    ('[[confined-by]]\nvalues = ["a.B"]\nwhy = "w"\n', "c #1: needs exactly one of 'argument' and 'attribute'"),
    ('[[confined-by]]\nargument = "poolclass"\nvalues = []\nwhy = "w"\n', "c #1: needs 'values' (not empty) and 'why'"),
    ('[[confined-by]]\nargument = "poolclass"\nvalues = ["a.B"]\n', "c #1: needs 'values' (not empty) and 'why'"),
    ('[[confined-by]]\nargument = "poolclass"\nvalues = "a.B"\nwhy = "w"\n', "c #1: key 'values' must be a list"),
    ('[[confined-by]]\nargument = 1\nvalues = ["a.B"]\nwhy = "w"\n', "c #1: key 'argument' must be a string"),
    ('[[confined-by]]\nkeyword = "poolclass"\nvalues = ["a.B"]\nwhy = "w"\n', "c #1: unknown key 'keyword'"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFINEMENTS, ids=[m for _, m in BAD_CONFINEMENTS])
def test_a_wrong_confined_by_entry_is_refused_when_the_catalogue_loads(text, message):
    with pytest.raises(CatalogueError) as raised:
        client_confinements(tomllib.loads(text)["confined-by"], "c")
    assert str(raised.value).startswith(message), str(raised.value)


# -- the summary ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy.ext.asyncio import create_async_engine\nfrom sqlalchemy.pool import NullPool\n"
        "engine = create_async_engine(URL, poolclass=NullPool)\n",
        "import sqlalchemy\nfrom sqlalchemy.ext.asyncio import create_async_engine\n"
        "engine = create_async_engine(URL, echo=True, poolclass=sqlalchemy.NullPool)\n",
        "from sqlalchemy import pool\nfrom sqlalchemy.ext import asyncio as sa\n"
        "engine = sa.create_async_engine(URL, poolclass=pool.NullPool)\n",
    ],
)
def test_an_engine_made_with_null_pool_is_noted_confined(source):
    found = holders(source)["engine"]
    assert found.confined_by.endswith(f"NullPool ({NULLPOOL_WHY})")
    assert found.confined_by.startswith("poolclass=")


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy.ext.asyncio import create_async_engine\nengine = create_async_engine(URL)\n",
        "from sqlalchemy.ext.asyncio import create_async_engine\nfrom sqlalchemy.pool import QueuePool\n"
        "engine = create_async_engine(URL, poolclass=QueuePool)\n",
        # a NullPool of another library is not SQLAlchemy's
        "from sqlalchemy.ext.asyncio import create_async_engine\nfrom mypools import NullPool\n"
        "engine = create_async_engine(URL, poolclass=NullPool)\n",
        # the argument of another client
        "import redis.asyncio as aioredis\nfrom sqlalchemy.pool import NullPool\n"
        "client = aioredis.Redis(poolclass=NullPool)\n",
    ],
)
def test_an_engine_with_a_pool_is_not_noted_confined(source):
    assert [h.confined_by for h in holders(source).values()] == [""]


def test_a_motor_client_whose_loop_lookup_is_the_running_loop_is_noted_confined():
    found = holders(
        """
        import asyncio
        from motor.motor_asyncio import AsyncIOMotorClient

        client = AsyncIOMotorClient(URL)
        client.get_io_loop = asyncio.get_running_loop

        _lazy = None

        def get_lazy():
            global _lazy
            if _lazy is None:
                _lazy = AsyncIOMotorClient(URL)
                _lazy.get_io_loop = asyncio.get_running_loop
            return _lazy
        """
    )
    assert found["client"].confined_by == f"client.get_io_loop = asyncio.get_running_loop ({MOTOR_WHY})"
    assert found["_lazy"].confined_by == f"_lazy.get_io_loop = asyncio.get_running_loop ({MOTOR_WHY})"


@pytest.mark.parametrize(
    "source",
    [
        "client = AsyncIOMotorClient(URL)\nclient.get_io_loop = asyncio.get_event_loop\n",
        "client = AsyncIOMotorClient(URL)\nclient.io_loop = asyncio.get_running_loop\n",
        "client = AsyncIOMotorClient(URL)\ndef f(client):\n    client.get_io_loop = asyncio.get_running_loop\n",
        "client = AsyncIOMotorClient(URL)\nother = AsyncIOMotorClient(URL)\n"
        "other.get_io_loop = asyncio.get_running_loop\n",
        "client = aioredis.Redis()\nclient.get_io_loop = asyncio.get_running_loop\n",
    ],
)
def test_a_motor_client_with_its_own_loop_lookup_is_not_noted_confined(source):
    imports = "import asyncio\nimport redis.asyncio as aioredis\nfrom motor.motor_asyncio import AsyncIOMotorClient\n"
    assert holders(imports + source)["client"].confined_by == ""


START_STOP = """
import redis.asyncio as aioredis

_client = None
_other = None

async def start():
    global _client, _other
    if _client is None:
        _client = aioredis.Redis()
    _other = aioredis.Redis()

async def stop():
    global _client
    await _client.aclose()
    _client = None

def forget():
    _other = None  # a local, not the global
"""


def test_a_function_setting_a_global_back_to_none_is_noted_as_clearing_it():
    found = holders(START_STOP)
    assert found["_client"].cleared_by == ("stop",)
    assert found["_other"].cleared_by == ()


def test_calls_that_run_however_the_work_ends_are_cleanups():
    source = """
        import contextlib

        async def task():
            await clients.start()
            try:
                await work()
            except ValueError:
                await report()
            finally:
                await clients.stop()
            await after()

        @contextlib.asynccontextmanager
        async def lifespan(app):
            await clients.start()
            yield
            await clients.stop()

        async def stream():
            yield 1
            await not_an_exit()
        """
    assert cleanups(source, "task") == ("clients.stop",)
    assert cleanups(source, "lifespan") == ("clients.stop",)
    assert cleanups(source, "stream") == ()


# -- the reach ------------------------------------------------------------------------------------


def ref(dotted: str, line: int) -> Reference:
    return Reference(dotted, line, 4, True)


def task(module: str, runs: str, *, cleanups: tuple[str, ...] = (), around_the_run: tuple[str, ...] = ()):
    """A Celery task module running ``runs`` on asyncio.run() per task; ``cleanups``: what
    ``runs`` calls however its work ends, ``around_the_run``: what the task calls so."""
    start = LoopStart("asyncio.run", "per-call", None, (ref(runs, 3),), 3, 11)
    functions = (
        Function("job", False, 2, 0, ("celery-task",), (ref(runs, 3),), (start,), (), around_the_run),
        Function("work", True, 5, 0, (), (ref("clients.start", 6), ref("clients.use", 7), ref("clients.stop", 8)), (),
                 (), cleanups),
    )
    return ModuleSummary(module, f"/p/{module}.py", False, (("clients", "app.clients"),), (), functions, (), (), ())


def clients(holder: Holder) -> ModuleSummary:
    functions = (
        Function("start", True, 2, 0, (), (ref("_client", 3),)),
        Function("use", True, 5, 0, (), (ref("_client.get", 6),)),
        Function("stop", True, 8, 0, (), (ref("_client.aclose", 9),)),
    )
    return ModuleSummary("app.clients", "/p/app/clients.py", False, (), (), functions, (), (holder,), ())


def verdict(*modules: ModuleSummary) -> tuple[str, str]:
    reach = compute_reach(ProjectModel(modules), CATALOGUE)
    found = next(o for o in reach.objects if o.holder.name == "_client")
    return found.verdict, found.why


def evidence(*modules: ModuleSummary) -> list[str]:
    """The evidence of a finding at the holder's line, confined objects kept."""
    diagnostic = Diagnostic("/p/app/clients.py", 3, 11, 3, 20, "LCK303", "redis.asyncio.Redis kept in a global")
    (kept,) = attach([diagnostic], compute_reach(ProjectModel(modules), CATALOGUE), keep_confined=True)
    return [e.message.rpartition("; ")[2] for e in kept.evidence]


CLIENT = Holder("_client", "client", "redis.asyncio.Redis", "lazy-global", 3, 10)
ENGINE = Holder("_client", "client", "sqlalchemy.ext.asyncio.AsyncEngine", "global", 3, 10, "poolclass=NullPool (x)")
CLEARED = Holder("_client", "client", "redis.asyncio.Redis", "lazy-global", 3, 10, "", ("stop",))
STOPS = ("clients.stop",)


def test_an_object_made_confined_is_confined_whichever_loops_reach_it():
    tasks = (task("app.a", "work"), task("app.b", "work"))
    assert verdict(clients(ENGINE), *tasks) == (CONFINED, "poolclass=NullPool (x)")
    assert verdict(clients(CLIENT), *tasks)[0] == SHARED


def test_a_global_every_loop_clears_however_its_work_ends_is_confined():
    both = (task("app.a", "work", cleanups=STOPS), task("app.b", "work", cleanups=STOPS))
    assert verdict(clients(CLEARED), *both) == (
        CONFINED,
        "every loop that reaches it calls clients.stop, which sets it back to None",
    )
    # a finally: around the asyncio.run() of the task
    around = task("app.b", "work", around_the_run=STOPS)
    assert verdict(clients(CLEARED), task("app.a", "work", cleanups=STOPS), around)[0] == CONFINED
    # one loop calls stop() only when its work succeeds: the next loop may meet its client
    assert verdict(clients(CLEARED), task("app.a", "work", cleanups=STOPS), task("app.b", "work"))[0] == SHARED
    # nothing in the module sets the global back to None: stop() does not make a new one
    assert verdict(clients(CLIENT), *both)[0] == SHARED


def test_the_evidence_of_an_object_made_confined_says_how():
    assert evidence(clients(ENGINE), task("app.a", "work"), task("app.b", "work")) == [
        "poolclass=NullPool (x): harmless in this program"
    ] * 2
    served = Function("route", True, 2, 0, ("server",), (ref("clients.use", 3),))
    imports = (("clients", "app.clients"),)
    views = ModuleSummary("app.views", "/p/app/views.py", False, imports, (), (served,), (), (), ())
    assert evidence(clients(CLIENT), views) == ["the only loop that uses it: harmless in this program"]
