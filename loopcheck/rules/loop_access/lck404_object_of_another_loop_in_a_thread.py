from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from loopcheck.analysis import Held, Holder, Runs
from loopcheck.analysis.contexts import Code, Unit
from loopcheck.analysis.loop_uses import method_call
from loopcheck.prefilter.starts import Start, Where
from loopcheck.engine.rule import Invalid, Rule, RuleDocs, Valid

# Code that runs in a thread of its own, where a loop it starts is not the application's.
THREADED = (Runs.THREAD, Runs.EXECUTOR, Runs.SCHEDULER_JOB)
# Where loop-bound objects are shared by every loop of the process.
SHARED = (Held.MODULE_GLOBAL, Held.CLASS_ATTRIBUTE, Held.SINGLETON_ATTRIBUTE)


@dataclass(frozen=True)
class Shared:
    """A loop-bound object the whole process shares."""

    holder: Holder
    what: str  # "the redis.asyncio.Redis client", "the asyncio.Lock"
    error: str


class ObjectOfAnotherLoopInAThread(Rule):
    code = "LCK404"
    name = "object-of-another-loop-in-a-thread"
    summary = "thread, executor or scheduler job uses an async client or primitive another loop owns"
    fix_kind = "none"
    starts_from = tuple(
        Start(calls=(group,), where=(Where.MODULE, Where.CLASS))
        for group in ("clients", "primitives")
    )

    docs = RuleDocs(
        what_it_does="""\
Finds code that runs in a thread of its own (a `threading.Thread` target, an executor job, a
scheduler job, and what they call in the module) and uses, on an event loop of that thread, an
async client or asyncio primitive created at import and shared by the process: the loop of the
application, or of whichever code used it first, owns that object.""",
        why_is_this_bad="""\
A job in a worker thread cannot share the application's event loop: to run a coroutine it starts
one of its own (`asyncio.run()`, or a loop built by hand), and everything it does there must
belong to that loop. A client made at import binds to the first loop that uses it, usually the
web application's; the job then uses it under its own loop and fails (`attached to a different
loop`, `is bound to a different event loop`, `Event loop is closed`), or, worse, talks to the
other loop's connections from another thread. This is how a trading application's Motor client,
created on the FastAPI loop, failed in a helper that ran the insert on a thread's own loop, and how
a stock application's APScheduler jobs broke on the application's Redis client.""",
        example="""\
import asyncio

import redis.asyncio as redis
from apscheduler.schedulers.background import BackgroundScheduler

cache = redis.from_url("redis://localhost")  # used by the web handlers too
scheduler = BackgroundScheduler()


def refresh_quotes():
    asyncio.run(store_quotes())


async def store_quotes():
    await cache.set("quotes", "...")


scheduler.add_job(refresh_quotes, "interval", seconds=10)""",
        use_instead="""\
Give the job its own client, created on its own loop and closed there:

```python
async def store_quotes():
    async with redis.from_url("redis://localhost") as cache:
        await cache.set("quotes", "...")
```

or keep one client per loop (the per-loop factory of LCK301). When the job must act on the
application's loop (its clients, its state), do not start a loop: hand the coroutine to the
application's loop with `asyncio.run_coroutine_threadsafe(coro, app_loop)`, the loop captured
where the application starts (see LCK403), or schedule the job with an asyncio scheduler
(`AsyncIOScheduler`) that runs coroutines on that loop.""",
        fix_safety="""\
No fix: whether the job needs its own client or the application's loop is a design choice.""",
        affected_versions="""\
All supported versions (measured on 3.10 to 3.13 against a real redis-server).""",
        references=(
            "https://docs.python.org/3/library/asyncio-dev.html#concurrency-and-multithreading",
            "https://apscheduler.readthedocs.io/en/3.x/modules/schedulers/asyncio.html",
        ),
    )
    invalid = (
        Invalid(
            docs.example + "\n",
            message=(
                "15:11 the redis.asyncio.Redis client `cache` is used by `store_quotes`, which "
                "runs as a scheduler job, on an event loop of that thread; it belongs to the loop "
                "that used it first, and from here it fails with 'Event loop is closed'"
            ),
        ),
        Invalid(
            "import asyncio, threading\nlock = asyncio.Lock()\n"
            "def worker():\n    asyncio.run(guarded())\n"
            "async def guarded():\n    async with lock:\n        pass\n"
            "threading.Thread(target=worker).start()\n",
            message=(
                "6:16 the asyncio.Lock `lock` is used by `guarded`, which runs in a thread, on an "
                "event loop of that thread; it belongs to the loop that used it first, and from "
                "here it fails with 'is bound to a different event loop'"
            ),
        ),
    )
    valid = (
        Valid(
            "import asyncio, threading\nimport redis.asyncio as redis\n"
            "def job():\n    asyncio.run(store())\n"
            "async def store():\n    async with redis.from_url('redis://localhost') as cache:\n"
            "        await cache.set('k', 'v')\n"
            "threading.Thread(target=job).start()\n",
        ),
    )

    def check(self) -> None:
        for shared in self.shared_objects():
            reported: set[int] = set()
            for read in self.reads(shared.holder):
                unit = self.analysis.contexts.unit_of(read)
                contexts = self.analysis.contexts.of(unit)
                threaded = [c for c in THREADED if c in contexts]
                if not threaded or id(unit) in reported or not self.on_a_loop(read, unit):
                    continue
                reported.add(id(unit))
                self.report(read, self.message(shared, unit, threaded[0]))

    def shared_objects(self) -> list[Shared]:
        analysis = self.analysis
        found: list[Shared] = []
        for creation, client in analysis.client_creations:
            holder = analysis.holders.of(creation)
            if holder.kind in SHARED and analysis.tree.enclosing_function(creation) is None:
                found.append(Shared(holder, f"the {client.display} client", client.error))
        for call, primitive in analysis.primitive_creations:
            holder = analysis.holders.of(call)
            if holder.kind in SHARED and analysis.tree.enclosing_function(call) is None:
                found.append(Shared(holder, f"the asyncio.{primitive.name}", primitive.error))
        return found

    def reads(self, holder: Holder) -> list[cst.CSTNode]:
        """The holder's reads, and the reads of module globals derived from it (``db =
        client.trading``: a part of the client is the client's)."""
        found = list(holder.reads)
        holders = self.analysis.holders
        for read in holder.reads:
            if self.analysis.tree.enclosing_function(read) is not None:
                continue
            part = read
            while isinstance(self.analysis.tree.parents.get(part), (cst.Attribute, cst.Subscript)):
                part = self.analysis.tree.parents[part]
            derived = holders.of(part)  # type: ignore[arg-type]
            if part is not read and derived.kind is Held.MODULE_GLOBAL and derived.followable:
                found.extend(derived.reads)
        return found

    def on_a_loop(self, read: cst.CSTNode, unit: Code) -> bool:
        """The read runs under an event loop of the thread: in a coroutine, or inside the
        coroutine handed to ``run_until_complete()``/``asyncio.run()``."""
        if self.analysis.tree.is_coroutine_function(unit):  # type: ignore[arg-type]
            return True
        api = self.analysis.catalogue.loop_api
        for _, up in self.analysis.tree.ancestors(read):
            if up is unit:
                break
            if isinstance(up, cst.Call) and (
                method_call(up, (api.run_method,)) or self.analysis.names.calls(up, api.run)
            ):
                return True
        return False

    def message(self, shared: Shared, unit: Code, context: Runs) -> str:
        name = unit.name.value if isinstance(unit, cst.FunctionDef) else "this code"
        owners = self.application_users(shared, unit)
        owner = (
            f"the application's loop (`{owners[0]}` uses it there)"
            if owners
            else "the loop that used it first"
        )
        return (
            f"{shared.what} `{shared.holder.name}` is used by `{name}`, which runs {context.description}, on an "
            f"event loop of that thread; it belongs to {owner}, and from here it fails "
            f"with '{shared.error}'"
        )

    def application_users(self, shared: Shared, unit: Code) -> list[str]:
        """Coroutines using the object outside the threaded code: the application's."""
        contexts = self.analysis.contexts
        found = []
        for read in self.reads(shared.holder):
            other = contexts.unit_of(read)
            if (
                other is not unit
                and not isinstance(other, Unit)
                and self.analysis.tree.is_coroutine_function(other)
                and not contexts.of(other) & set(THREADED)
                and isinstance(other, cst.FunctionDef)
            ):
                found.append(other.name.value)
        return found
