"""The catalogue's ``confined-by`` and ``argument-fix`` facts (data/clients.toml), and the loop binding of the clients
checked against a PostgreSQL server, checked against the real library on every supported
interpreter found on the machine, installed from the registry as the runtime tests install theirs
(tests/runtime_deps.py)."""

from __future__ import annotations

import os
import subprocess

import pytest

from loopcheck.data.catalogue import Catalogue
from tests import servers
from tests.helpers import interpreters
from tests.runtime_deps import deps_dir

MOTOR = ("motor>=3.3",)
SQLALCHEMY = ("sqlalchemy[asyncio]>=2.0", "asyncpg>=0.29")
PSYCOPG = ("psycopg[binary]>=3.2", "psycopg-pool>=3.2")

# Motor runs each operation with run_in_executor on the loop get_io_loop() returns; the default
# keeps the first loop it looked up. start_session() reaches that executor without a server.
MOTOR_SCRIPT = """
import asyncio

from motor.motor_asyncio import AsyncIOMotorClient


async def use(client):
    session = await client.start_session()
    await session.end_session()


def second_run(client):
    try:
        for _ in range(2):
            asyncio.run(use(client))
    except RuntimeError as error:
        return str(error)
    finally:
        client.close()
    return "clean"


def client():
    return AsyncIOMotorClient("mongodb://127.0.0.1:1", connect=False, serverSelectionTimeoutMS=100)


overridden = client()
overridden.{attribute} = {value}
print(second_run(client()))
print(second_run(overridden))
"""


def run(python: str, requirements: tuple[str, ...], arguments: list[str]) -> list[str]:
    """The lines ``python`` prints running ``arguments`` with ``requirements`` installed."""
    version = next(v for v, p in interpreters().items() if p == python)
    completed = subprocess.run(
        [python, "-X", "dev", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(deps_dir(python, version, requirements))},
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.splitlines()


def test_motor_with_its_loop_lookup_set_to_the_running_loop_serves_every_loop(python):
    (confinement,) = Catalogue.load().clients["motor.motor_asyncio.AsyncIOMotorClient"][0].confined_by
    (value,) = confinement.values
    script = MOTOR_SCRIPT.format(attribute=confinement.attribute, value=value)
    # the default client fails under the second loop; the confined one does not
    assert run(python, MOTOR, ["-W", "error::ResourceWarning", "-c", script]) == ["Event loop is closed", "clean"]


# An engine's pooled asyncpg connection waits on futures of the loop that opened it; NullPool
# opens one per checkout. The catalogue's values are imported by their qualified names.
SQLALCHEMY_SCRIPT = """
import asyncio
import importlib
import sys

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

url, argument, *values = sys.argv[1:]
pools = {{getattr(importlib.import_module(v.rpartition(".")[0]), v.rpartition(".")[2]) for v in values}}
assert len(pools) == 1, pools


async def query(engine):
    async with engine.connect() as connection:
        return (await connection.execute(text("select 1"))).scalar()


def second_run(engine):
    try:
        for _ in range(2):
            asyncio.run(query(engine))
    except RuntimeError as error:
        return "attached to a different loop" if "attached to a different loop" in str(error) else str(error)
    return "clean"


print(second_run(create_async_engine(url)))
print(second_run(create_async_engine(url, **{{argument: pools.pop()}})))
"""


@pytest.fixture(scope="module")
def postgresql_url():
    try:
        with servers.postgresql() as url:
            yield url
    except LookupError as missing:
        pytest.skip(f"needs a PostgreSQL server: {missing}")


def test_an_async_engine_with_null_pool_serves_every_loop(python, postgresql_url):
    (confinement,) = Catalogue.load().clients["sqlalchemy.ext.asyncio.create_async_engine"][0].confined_by
    script = SQLALCHEMY_SCRIPT.format()
    arguments = ["-c", script, postgresql_url, confinement.argument, *sorted(confinement.values)]
    # the default pool fails under the second loop; NullPool does not
    assert run(python, SQLALCHEMY, arguments) == ["attached to a different loop", "clean"]


# A psycopg client made (or first opened) under one asyncio.run() and used under the next. Each
# way of using it runs twice: under two loops, then twice under one loop (which must be clean, so
# that the error is the second loop's). The constructor is imported by its catalogued name.
PSYCOPG_SCRIPT = """
import asyncio
import importlib
import sys

url, constructor, use = sys.argv[1:]
owner, _, name = constructor.rpartition(".")
if owner.endswith("AsyncConnection"):  # a class method: psycopg.AsyncConnection.connect
    module, _, cls = owner.rpartition(".")
    make = getattr(getattr(importlib.import_module(module), cls), name)
else:
    make = getattr(importlib.import_module(owner), name)
box = {}


async def client():
    if "client" not in box:
        if use == "connection":
            box["client"] = await make(url)
        else:
            box["client"] = make(url, open=False, min_size=0, max_size=3, timeout=2)
            await box["client"].open()
    return box["client"]


async def hold_three_at_once(first):
    # one connection under the first loop; three held together under the next, which the pool
    # must open
    pool, held = await client(), []

    async def take(count):
        async with pool.connection() as connection:
            held.append(connection)
            while len(held) < count:
                await asyncio.sleep(0.01)
            await connection.execute("select 1")

    count = 1 if first else 3
    await asyncio.gather(*(take(count) for _ in range(count)))


async def three_queries_at_once(first):
    target = await client()
    if use == "connection":
        queries = [target.execute("select pg_sleep(0.1)") for _ in range(3)]
    else:
        async def query():
            async with target.connection() as connection:
                await connection.execute("select pg_sleep(0.1)")
        queries = [query() for _ in range(3)]
    await asyncio.gather(*queries)


step = hold_three_at_once if use == "grow" else three_queries_at_once


async def both():
    await step(True)
    await step(False)


def outcome(runs):
    box.clear()
    try:
        runs()
    except Exception as error:
        return str(error)
    return "clean"


print(outcome(lambda: (asyncio.run(step(True)), asyncio.run(step(False)))))
print(outcome(lambda: asyncio.run(both())))
"""


@pytest.mark.parametrize(
    ("constructor", "use"),
    [
        ("psycopg_pool.AsyncConnectionPool", "grow"),
        ("psycopg_pool.AsyncNullConnectionPool", "null-pool"),
        ("psycopg.AsyncConnection.connect", "connection"),
    ],
)
def test_psycopg_clients_fail_under_a_second_loop_with_the_catalogued_error(python, postgresql_url, constructor, use):
    (client,) = Catalogue.load().clients[constructor]
    url = postgresql_url.replace("postgresql+asyncpg://", "postgresql://")
    second_loop, one_loop = run(python, PSYCOPG, ["-c", PSYCOPG_SCRIPT, url, constructor, use])
    # the script's pools wait 2 s for a connection, not the default 30 s the catalogue quotes
    assert client.error.replace("after 30.00 sec", "after 2.00 sec") in second_loop and one_loop == "clean", (second_loop, one_loop)


# The catalogue's argument-fix of the async engine (poolclass=NullPool) is declined where the call
# passes an option NullPool refuses: create_async_engine() raises TypeError for exactly those of
# the queue pool; the options every pool takes are accepted. No connection is opened.
POOL_OPTIONS_SCRIPT = """
import sys

from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

VALUES = {"pool_size": 5, "max_overflow": 1, "pool_timeout": 3, "pool_use_lifo": True, "pool_pre_ping": True,
          "pool_recycle": 3600, "echo_pool": True}
for option in sys.argv[1:]:
    try:
        create_async_engine("postgresql+asyncpg://app@127.0.0.1/app", poolclass=NullPool, **{option: VALUES[option]})
    except TypeError:
        print(option, "refused")
    else:
        print(option, "accepted")
"""
# aiosqlite runs each connection in a thread of its own and binds none to a loop: the default pool
# of a file database serves every asyncio.run(); under NullPool an in-memory database is a new,
# empty one per checkout (the table made by one is gone for the next).
SQLITE_SCRIPT = """
import asyncio
import os
import sys

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool


async def query(engine):
    async with engine.connect() as connection:
        return (await connection.execute(text("select 1"))).scalar()


async def make_then_count(engine):
    async with engine.begin() as connection:
        await connection.execute(text("create table t (x int)"))
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text("select count(*) from t"))).scalar()
    except Exception as error:
        return type(error).__name__
    finally:
        await engine.dispose()


engine = create_async_engine("sqlite+aiosqlite:///" + os.path.join(sys.argv[1], "app.db"))
print([asyncio.run(query(engine)) for _ in range(3)])
asyncio.run(engine.dispose())
print(asyncio.run(make_then_count(create_async_engine("sqlite+aiosqlite:///:memory:"))))
print(asyncio.run(make_then_count(create_async_engine("sqlite+aiosqlite:///:memory:", poolclass=NullPool))))
"""
AIOSQLITE = ("sqlalchemy[asyncio]>=2.0", "aiosqlite>=0.19")


def test_the_async_engine_fix_is_declined_for_the_options_null_pool_refuses(python):
    fix = Catalogue.load().clients["sqlalchemy.ext.asyncio.create_async_engine"][0].argument_fix
    refused = sorted(fix.declined_by - {fix.argument, "pool"})
    taken = ["pool_pre_ping", "pool_recycle", "echo_pool"]
    lines = run(python, SQLALCHEMY, ["-c", POOL_OPTIONS_SCRIPT, *refused, *taken])
    assert lines == [f"{o} refused" for o in refused] + [f"{o} accepted" for o in taken]


def test_the_async_engine_fix_is_declined_for_sqlite_which_binds_no_loop(python, tmp_path):
    fix = Catalogue.load().clients["sqlalchemy.ext.asyncio.create_async_engine"][0].argument_fix
    assert fix.declined_urls == {"sqlite"}
    # a file database under three loops; an in-memory one with the default pool, then NullPool
    assert run(python, AIOSQLITE, ["-c", SQLITE_SCRIPT, str(tmp_path)]) == ["[1, 1, 1]", "0", "OperationalError"]
