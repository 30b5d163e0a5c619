from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Held, Holder
from loopcheck.analysis.tree import Site
from loopcheck.data.catalogue import Client
from loopcheck.engine.diagnostics import FixProposal, NoFix, Withheld
from loopcheck.engine.rule import Invalid, RuleDocs, Valid
from loopcheck.fixes.per_loop import (
    UNUSED,
    hidden_reason,
    lone_store,
    only_written_there,
    public_reason,
)
from loopcheck.fixes.per_loop_client import ClientFixes
from loopcheck.fixes.public_names import public_fixes
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.clients.base import ClientRule
from loopcheck.rules.wording import NO_LOOP_THERE, NOT_TOP_LEVEL

# How many names module code may give a session factory one after another
# (``async_session = Session``) for the factory's users to be followed through them.
MAX_ALIASES = 3


class ModuleLevelClient(ClientRule):
    code = "LCK301"
    name = "module-level-async-client"
    summary = "async client created at module level"
    fix_kind = "unsafe"
    instead = "create the client in the lifespan handler, per task, or once per event loop"
    starts_from = (Start(calls=("clients",), where=(Where.MODULE,)),)

    docs = RuleDocs(
        tier_reason=(
            "After the first loop ends, the client fails under the next one (`Event loop is closed`, "
            "`attached to a different loop`) or leaks the dead loop's connections."
        ),
        what_it_does="""\
Finds async clients created at module level: `aiohttp.ClientSession`, `httpx.AsyncClient`,
`redis.asyncio` clients and pools, `pymongo.AsyncMongoClient`, Motor, the Neo4j async driver,
asyncpg pools, SQLAlchemy async engines, `openai.AsyncOpenAI`, `anthropic.AsyncAnthropic`,
`AsyncElasticsearch`, aiokafka producers and consumers, `grpc.aio` channels, aiobotocore and aioboto3
clients, Playwright (the catalogue is `loopcheck/data/clients.toml`; `extra-clients` adds more).""",
        why_is_this_bad="""\
An async client owns connections, a pool, a transport or background tasks, and all of them belong
to an event loop: the one it was created under, or the first one that used it. A module-level
client is shared by every loop of the process: the next `asyncio.run()`, Celery task, scheduler
job, worker thread or test. The first loop works; after it ends, the client is used under another
one and fails with `RuntimeError: Event loop is closed`, `... attached to a different loop` or
`... is bound to a different event loop`, depending on the library, or leaks connections of the
dead loop. The maintainers of httpx, redis-py, aiohttp, the Neo4j driver, SQLAlchemy and the
OpenAI SDK all give the same answer: do not share a client across loops.""",
        example="""\
import redis.asyncio as redis

_redis = redis.from_url("redis://localhost")


async def remember(key, value):
    await _redis.set(key, value)""",
        use_instead="""\
Create the client where the loop runs. Which design fits depends on the program:

- **A web application** (one loop for its life): create it in the lifespan handler and close it
  there, keeping it on `app.state` or passing it by dependency injection.
- **Code run by several loops** (Celery tasks with `asyncio.run()`, scheduler jobs, tests): one
  client per loop. The fix generates a per-loop factory that closes each loop's client when that
  loop shuts down (see "Fix safety" for how, and for loops closed by hand):

```python
import asyncio
import threading

import redis.asyncio as redis

_redis_by_loop = {}


def _get_redis():
    \"\"\"The running loop's redis.asyncio.Redis: made on first use, closed when its loop ends.\"\"\"
    loop = asyncio.get_running_loop()
    # Forget the clients of closed loops (they hold their loop, so nothing else would free it),
    # and close those of loops closed by hand, whose closer never ran: on a loop of their own in
    # a thread, waited for (a task on this loop is lost if it, too, is closed by hand).
    for stale in [other for other in list(_redis_by_loop) if other.is_closed()]:
        entry = _redis_by_loop.pop(stale, None)  # None: another thread's loop took it
        if entry is not None and entry[1].ag_frame is not None:
            closing = threading.Thread(target=asyncio.run, args=(_close_redis_now(entry[1]),))
            closing.start()
            closing.join()
    if loop not in _redis_by_loop:
        client = redis.from_url("redis://localhost")
        closer = _close_redis(loop, client)
        try:
            closer.asend(None).send(None)  # to its `yield`: now the loop's shutdown closes it
        except StopIteration:
            pass
        _redis_by_loop[loop] = client, closer
    return _redis_by_loop[loop][0]


async def _close_redis(loop, client):
    \"\"\"Suspended until the loop shuts down its async generators, then closes the client.\"\"\"
    try:
        yield
    finally:
        try:
            await client.aclose()
        except Exception:
            if not loop.is_closed():
                raise  # else its connections went with the loop, closed by hand


async def _close_redis_now(closer):
    \"\"\"Closes the client of a loop closed by hand (its async generators never shut down).\"\"\"
    await closer.aclose()
```

- **A client used by one coroutine**: open it there, `async with httpx.AsyncClient() as client:`,
  one per call. The fix does this when a single coroutine uses the client.""",
        fix_safety="""\
Unsafe: every loop (or every call) gets a client of its own, so connection pools are no longer
shared, and state set on the client (headers, cookies) is not carried over. Offered for a client
bound once, by a line of its own, whose every read is in a coroutine of this module and whose
constructor uses only module-level names; and only for clients the catalogue knows how to close.
Otherwise there is no fix, the message says why, and this page says what to write instead.
A public name (no leading underscore, or listed in `__all__`) may be imported by other modules,
which would keep the shared client: the file alone gets no fix for it. With the project model,
where no module of the project imports it (by name, as a module's attribute, by `import *` or
through a package's re-export), it gets the fix a private name gets (the proof covers the
project's modules, not code outside them); where one does, or `__all__` lists it (the
module's declared interface, which code outside the project may import), the per-loop factory
comes with a proxy that keeps the name, whose attributes and `async with` go to the running
loop's client, so the importers stay as they are (`isinstance()` sees the proxy, not the client, and code that
replaces the module's attribute, such as a test's monkeypatch, no longer reaches the module's own
uses, which call the factory). There is no fix, and the message says why,
where a module importing the name uses it outside coroutines (a plain function, import-time
code, a lambda or class body: no loop runs there, and the proxy would raise `RuntimeError`), and
where a module of the project that imports the name's module could not be read or parsed (newer
syntax than the Python running loopcheck, say): its uses are not known, so neither fix is
offered then.
A SQLAlchemy async engine gets the fix SQLAlchemy itself advises for an engine several event
loops share ("Using multiple asyncio event loops" in its asyncio documentation): `poolclass=NullPool`
added to the `create_async_engine(...)` call, with `from sqlalchemy.pool import NullPool`. It is
unsafe too: each checkout then opens a new connection, which its release closes, under every loop
(no pooling). But the engine, its name, an `async_sessionmaker(engine)` and every module
importing it stay as they are, so it is offered for a public name too, and wherever the engine is
kept (a class attribute, a cached getter, an instance: LCK302, LCK303, LCK305). It is declined,
with the reason, where the call already chooses its pool (`poolclass=`, `pool=`) or sets an option
NullPool refuses (`pool_size`, `max_overflow`, `pool_timeout`, `pool_use_lifo`: the call raises
TypeError), where its keyword arguments come from `**options`, and for a literal SQLite URL
(aiosqlite's connections are bound to no loop, and an in-memory database would be a new, empty
one per checkout). The engine then gets SQLAlchemy's other answer, an engine that no two loops
share: the per-loop accessor below, which makes each loop's engine with the call as written (its
pool's options kept: pooling stays, within each loop) and disposes it (`await engine.dispose()`)
when that loop ends; an engine whose loop was closed by hand is disposed with `close=False`, which
leaves its connections, bound to that loop, to be collected (closing them would fail, and
SQLAlchemy would log it). A private engine gets it from the file alone, a public one with the project
model (see above). A session factory made at import with the engine
(`Session = async_sessionmaker(engine)`, or `sessionmaker(engine, class_=AsyncSession)`: the
catalogue's `kept-by`) keeps what it was given, so there the name stays, as a proxy to the running
loop's engine, and the factory is left as it is: each session asks the proxy for its engine when
it is made, under the loop that uses it. A session made where no loop runs would fail ("no running
event loop"), so the fix requires that only coroutines of the module use the factory (what other
modules do with it is not checked). Any other read at import rules the per-loop engine out, and
so does a pool object given to the call (`pool=`), which every loop's engine would share; the
message then says both reasons. An engine made with `NullPool` is not reported. SQLAlchemy's advice to call
`await engine.dispose()` before one engine is used on another loop is not offered as a rewrite of
the tasks: it is right only where no two loops use the engine at once (no thread, no server loop
beside the tasks) and the dispose runs however each task's coroutine ends, which a rewrite of one
module cannot know; the per-loop engine disposes each loop's own whenever that loop ends.
The per-loop accessor keeps one client per running loop, made on first use under that loop, and
closes it when that loop ends, however it ends. It starts no task: it registers an async
generator with the loop, which `loop.shutdown_asyncgens()` closes; asyncio.run() and
asyncio.Runner call that after cancelling the loop's tasks and before closing it, and the
generator then closes the client on its loop (so a graceful shutdown that waits for every other
task does not wait for it). A loop closed by hand (`loop.run_until_complete(...)` then
`loop.close()`, without `loop.shutdown_asyncgens()`) logs nothing; its client is closed on the
next access, from any other loop: on a loop of its own in a short-lived thread, which the access
waits for, so no task is left pending on a loop that may itself be closed by hand (a task there
would be "destroyed but it is pending"); a loop that shut down as asyncio.run() does costs no
thread. Closing may fail, since the client's connections
belonged to the closed loop: that failure is silent, and the connections' sockets close when
they are collected. The client of the last loop closed by hand is closed by no later access: an
application that closes its loops by hand should call `loop.shutdown_asyncgens()` before
`loop.close()`, or use asyncio.run(). Each access forgets the clients of closed loops, which
frees those loops.""",
        affected_versions="""\
All supported versions (measured on 3.10 to 3.13 with the clients' current releases against real
local servers). The error text depends on the library and its version.""",
        references=(
            "https://github.com/encode/httpx/discussions/2473",
            "https://github.com/redis/redis-py/issues/2838",
            "https://github.com/openai/openai-python/issues/1777",
            "https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#using-multiple-asyncio-event-loops",
        ),
    )
    invalid = (
        Invalid(
            "import httpx\nclient = httpx.AsyncClient()\n",
            message=(
                "2:10 httpx.AsyncClient created at module level is shared by every event loop: it "
                "binds to the first event loop that uses it, and under any other loop it fails "
                "with 'Event loop is closed'; no fix: `client` is public; modules importing it "
                "would need changing too"
            ),
        ),
        Invalid(
            "import redis.asyncio as aioredis\n_redis = aioredis.from_url('redis://localhost')\n",
            message=(
                "2:10 redis.asyncio.Redis created at module level is shared by every event loop: "
                "it binds to the first event loop that uses it, and under any other loop it fails "
                "with 'Event loop is closed'; no fix: nothing in this module uses it"
            ),
        ),
        Invalid(
            "from openai import AsyncOpenAI\nllm = AsyncOpenAI()\n",
            message=(
                "2:7 openai.AsyncOpenAI created at module level is shared by every event loop: it "
                "binds to the first event loop that uses it, and under any other loop it fails "
                "with 'Event loop is closed'; with openai 1 and 2 that is the first attempt's cause, "
                "raised as 'Connection error.', and the request is retried on a new connection, which "
                "works while max_retries allows a retry, after a back-off; no fix: `llm` is public; "
                "modules importing it would need changing too"
            ),
        ),
        # A private name that __all__ lists is imported elsewhere too.
        Invalid(
            "import httpx\n\n__all__ = ['_client']\n_client = httpx.AsyncClient()\n\n\n"
            "async def fetch(url):\n    return await _client.get(url)\n",
            message=(
                "4:11 httpx.AsyncClient created at module level is shared by every event loop: it "
                "binds to the first event loop that uses it, and under any other loop it fails "
                "with 'Event loop is closed'; no fix: `_client` is public (listed in `__all__`); "
                "modules importing it would need changing too"
            ),
        ),
        Invalid(
            "import redis.asyncio as redis\n"
            '_redis = redis.from_url("redis://localhost")\n'
            "async def remember(key, value):\n"
            "    await _redis.set(key, value)\n",
            message=(
                "2:10 redis.asyncio.Redis created at module level is shared by every event loop: it binds "
                "to the first event loop that uses it, and under any other loop it fails with 'Event loop "
                "is closed'"
            ),
            fix=(
                "import redis.asyncio as redis\n"
                "async def remember(key, value):\n"
                '    async with redis.from_url("redis://localhost") as _redis:\n'
                "        await _redis.set(key, value)\n"
            ),
            safety="unsafe",
        ),
        Invalid(
            "from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine\n\n"
            'engine = create_async_engine("postgresql+asyncpg://app@db/app")\n'
            "Session = async_sessionmaker(engine)\n",
            message=(
                "3:10 sqlalchemy.ext.asyncio.AsyncEngine created at module level is shared by every "
                "event loop: it binds to the first event loop that uses it, and under any other loop "
                "it fails with 'attached to a different loop'"
            ),
            fix=(
                "from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine\n"
                "from sqlalchemy.pool import NullPool\n\n"
                'engine = create_async_engine("postgresql+asyncpg://app@db/app", poolclass=NullPool)\n'
                "Session = async_sessionmaker(engine)\n"
            ),
            safety="unsafe",
        ),
        Invalid(
            "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
            'engine = create_async_engine("postgresql+asyncpg://app@db/app", pool_size=20)\n',
            message=(
                "3:10 sqlalchemy.ext.asyncio.AsyncEngine created at module level is shared by every "
                "event loop: it binds to the first event loop that uses it, and under any other loop "
                "it fails with 'attached to a different loop'; no fix: it is made with `pool_size=20`, "
                "which configures what `poolclass=NullPool` would replace, and it cannot be made per "
                "event loop: `engine` is public; modules importing it would need changing too"
            ),
        ),
    )
    valid = (
        Valid("import httpx\nclient = httpx.Client()\n"),
        Valid(
            "from sqlalchemy.ext.asyncio import create_async_engine\nfrom sqlalchemy.pool import NullPool\n\n"
            'engine = create_async_engine("postgresql+asyncpg://app@db/app", poolclass=NullPool)\n'
        ),
        # A synchronous engine belongs to no event loop.
        Valid('from sqlalchemy import create_engine\n\nengine = create_engine("postgresql://app@db/app")\n'),
        Valid(
            "import httpx\nasync def fetch(url):\n    async with httpx.AsyncClient() as client:\n"
            "        return await client.get(url)\n",
        ),
        Valid("import httpx\nif __name__ == '__main__':\n    client = httpx.AsyncClient()\n"),
    )

    def message_for(self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder) -> str:
        return (
            f"{client.display} created at module level is shared by every event loop: "
            f"{self.consequence(client)}"
        )

    def fix_for(
        self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder
    ) -> FixProposal | NoFix | Withheld[FixProposal]:
        tree = self.analysis.tree
        line = lone_store(tree, creation, holder, Held.MODULE_GLOBAL)
        if isinstance(line, NoFix):
            return line
        assert holder.name is not None
        # A public name keeps its fix for the project model to offer (see public_names).
        public = public_reason(holder.name, self.analysis.exports)
        kept = self.kept_at_import(holder, client)
        declined = self.not_per_loop(creation, holder, line, kept)
        if declined is not None:
            return public or declined
        followed = {id(read) for read, _ in kept}
        references = [r for r in holder.reads if id(r) not in followed]
        fixes = ClientFixes(self.context)
        if kept:
            return self.followed_by_proxy(fixes, creation, client, holder, line, references, kept[0][1], public)
        users = {id(tree.enclosing_function(r)): tree.enclosing_function(r) for r in references}
        per_call = None
        if len(users) == 1:
            (user,) = users.values()
            assert isinstance(user, cst.FunctionDef)
            per_call = fixes.per_call(client, creation, holder.name, line, user)
        if public is None and per_call is not None:
            return per_call
        factory = fixes.factory(client, creation, holder.name, line, references)
        if isinstance(factory, NoFix):
            return factory if public is None else public_fixes(public, holder.name, per_call)
        if public is None:
            return factory.proposal
        return fixes.public(public, holder.name, client, per_call or factory.proposal, factory)

    def kept_at_import(self, holder: Holder, client: Client) -> list[tuple[cst.CSTNode, str]]:
        """The reads of the client by module code that make a session factory of it (a call the
        catalogue says keeps it for later, ``kept-by``, assigned to a module global only
        coroutines of this module use), each with how the title names that call
        (``async_sessionmaker(engine)``)."""
        found = []
        tree, names = self.analysis.tree, self.analysis.names
        for read in holder.reads:
            arg = tree.parents.get(read)
            call = tree.parents.get(arg) if isinstance(arg, cst.Arg) and not arg.star else None
            if (
                isinstance(call, cst.Call)
                and names.calls(call, client.kept_by)
                and tree.enclosing_function(read) is None
                and self.used_in_coroutines_only(call)
            ):
                found.append((read, f"{self.context.module.code_for_node(call.func)}({holder.name})"))
        return found

    def used_in_coroutines_only(self, call: cst.Call) -> bool:
        """Whether ``call``'s value is a module global's (``Session = ...``) that only coroutines
        read, themselves or through other names module code gives it (``async_session =
        Session``): a session made anywhere else may be made with no loop running, when the
        proxy would have no engine to give it."""
        target = self.global_assigned(call)
        return target is not None and self.read_in_coroutines_only(target, MAX_ALIASES)

    def global_assigned(self, value: cst.BaseExpression) -> cst.Name | None:
        """The module global a top-level statement assigns ``value`` to, alone (``name = value``,
        ``name: T = value``); None for any other place."""
        tree = self.analysis.tree
        assign = tree.parents.get(value)
        if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
            target = assign.targets[0].target
        elif isinstance(assign, cst.AnnAssign) and assign.value is value:
            target = assign.target
        else:
            return None
        if not isinstance(target, cst.Name) or not tree.is_top_level(tree.parents.get(assign)):
            return None
        return target

    def read_in_coroutines_only(self, target: cst.Name, aliases: int) -> bool:
        tree = self.analysis.tree
        for access in self.analysis.holders.name_accesses(target):
            if access is target or tree.in_coroutine(access):
                continue
            alias = self.global_assigned(access) if aliases else None  # type: ignore[arg-type]
            if alias is None or not self.read_in_coroutines_only(alias, aliases - 1):
                return False
        return True

    def followed_by_proxy(
        self,
        fixes: ClientFixes,
        creation: cst.BaseExpression,
        client: Client,
        holder: Holder,
        line: cst.SimpleStatementLine,
        references: list[cst.CSTNode],
        follower: str,
        public: NoFix | None,
    ) -> FixProposal | NoFix | Withheld[FixProposal]:
        """The per-loop factory where code made at import keeps the client (a session factory
        given the engine): the name stays, as a proxy to the running loop's client, which that
        code then follows; the coroutines' reads call the factory."""
        assert holder.name is not None
        factory = fixes.factory(client, creation, holder.name, line, references)
        if isinstance(factory, NoFix):
            return public or factory
        proxied = fixes.proxied(factory, client, holder.name, follower)
        return proxied if public is None else Withheld((holder.name,), public.reason, proxied, proxied)

    def not_per_loop(
        self,
        creation: cst.BaseExpression,
        holder: Holder,
        line: cst.SimpleStatementLine,
        kept: list[tuple[cst.CSTNode, str]],
    ) -> NoFix | None:
        """Why the client cannot be made per loop (or per call) where it is used; None if it
        can. The reads ``kept`` by a session factory made at import follow a proxy."""
        declined = only_written_there(holder)
        if declined is not None:
            return declined
        if not self.analysis.tree.is_top_level(line):
            return NoFix(NOT_TOP_LEVEL)
        hidden = self.analysis.names.free_variables(creation)
        if hidden:
            return NoFix(hidden_reason(hidden[0].value))
        references = holder.reads
        if not references:
            return NoFix(UNUSED)
        followed = {id(read) for read, _ in kept}
        if not all(self.analysis.tree.in_coroutine(r) for r in references if id(r) not in followed):
            return NoFix(NO_LOOP_THERE)
        return None
