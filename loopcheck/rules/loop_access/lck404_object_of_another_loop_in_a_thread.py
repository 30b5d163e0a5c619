from __future__ import annotations

import libcst as cst

from loopcheck.analysis.thread_reach import ThreadedUse
from loopcheck.data.catalogue import Client
from loopcheck.engine.rule import Invalid, Rule, RuleDocs, Valid
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.wording import RUNS_WHERE


class ObjectOfAnotherLoopInAThread(Rule):
    code = "LCK404"
    name = "object-of-another-loop-in-a-thread"
    summary = "thread, executor or scheduler job uses an async client or primitive another loop owns"
    fix_kind = "none"
    instead = "give the job a client on its own loop, or hand the work to the owning loop"
    starts_from = tuple(
        Start(calls=(group,), where=(Where.MODULE, Where.CLASS))
        for group in ("clients", "primitives")
    )

    docs = RuleDocs(
        tier_reason=(
            "The job's own loop uses an object bound to another loop and fails (`attached to a different "
            "loop`, `Event loop is closed`), or touches that loop's connections from another thread."
        ),
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
        for use in self.analysis.thread_reach.threaded_uses:
            self.report(use.read, self.message(use))

    def message(self, use: ThreadedUse) -> str:
        shared, unit = use.shared, use.unit
        name = unit.name.value if isinstance(unit, cst.FunctionDef) else "this code"
        owners = self.analysis.thread_reach.application_users(shared.holder, unit)
        owner = (
            f"the application's loop (`{owners[0].name.value}` uses it there)"
            if owners
            else "the loop that used it first"
        )
        made = shared.made
        what = f"the {made.display} client" if isinstance(made, Client) else f"the asyncio.{made.name}"
        return (
            f"{what} `{shared.holder.name}` is used by `{name}`, which runs {RUNS_WHERE[use.context]}, on an "
            f"event loop of that thread; it belongs to {owner}, and from here it fails "
            f"with '{made.error}'"
        )
