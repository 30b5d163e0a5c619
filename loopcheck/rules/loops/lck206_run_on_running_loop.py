from __future__ import annotations

from loopcheck.engine.rule import Invalid, Rule, RuleDocs, Valid
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.loops.wording import SAME_ON_EVERY_VERSION, run_name


class RunOnRunningLoop(Rule):
    code = "LCK206"
    name = "run-on-running-loop"
    summary = "run_until_complete() or asyncio.run() where a loop is known to be running"
    fix_kind = "none"
    instead = "await the coroutine, or run it with asyncio.run() in a worker thread"
    starts_from = (
        Start(calls=("loop.run",), methods=("run_until_complete",),
              where=(Where.MODULE, Where.CLASS, Where.DEFAULT, Where.FUNCTION), also_calls=("loop.running",)),
        Start(calls=("loop.run",), methods=("run_until_complete",),
              where=(Where.MODULE, Where.CLASS, Where.DEFAULT, Where.FUNCTION), also_methods=("is_running",)),
    )

    docs = RuleDocs(
        tier_reason=(
            "The call always fails when reached: a running loop cannot be re-entered (`RuntimeError: This "
            "event loop is already running`)."
        ),
        what_it_does="""\
Finds synchronous code that runs a coroutine where the code itself has just shown that an event
loop is running in this thread: `asyncio.get_running_loop().run_until_complete(...)`, a
`run_until_complete()` on a variable bound to `get_running_loop()`, or `run_until_complete()` /
`asyncio.run()` after a `get_running_loop()` call that succeeded (later in its `try` block, in its
`else`, or after a `try` whose `except RuntimeError` returns), or inside `if loop.is_running():`.""",
        why_is_this_bad="""\
A thread runs one event loop at a time, and a running loop cannot be re-entered. Once
`get_running_loop()` has returned, every one of these calls fails: `RuntimeError: This event loop
is already running` for the running loop, `Cannot run the event loop while another loop is
running` for a new one, `asyncio.run() cannot be called from a running event loop` for
`asyncio.run()`. The branch is dead code that crashes the day it is reached, usually when a
synchronous helper written for scripts is first called from async code.""",
        example="""\
import asyncio


def run_sync(coro):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    loop = asyncio.new_event_loop()
    return loop.run_until_complete(coro)""",
        use_instead="""\
Make the caller async and `await` the coroutine. Where a synchronous function really must wait
for a coroutine while a loop runs in its thread, run the coroutine in a worker thread, where
`asyncio.run()` can start a loop of its own:

```python
import concurrent.futures


def run_sync(coro):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
```

Objects bound to the running loop (clients, locks) must not be used by that coroutine: it runs
on the worker thread's loop.""",
        fix_safety="""\
No fix: the right change depends on the callers (make them async, or move the work to a thread).""",
        affected_versions=SAME_ON_EVERY_VERSION,
        references=(
            "https://docs.python.org/3/library/asyncio-eventloop.html#asyncio.get_running_loop",
            "https://docs.python.org/3/library/asyncio-dev.html#concurrency-and-multithreading",
        ),
    )
    invalid = (
        Invalid(
            "import asyncio\ndef wait(coro):\n"
            "    return asyncio.get_running_loop().run_until_complete(coro)\n",
            message=(
                "3:12 run_until_complete() on the running loop always fails with 'This event loop "
                "is already running'; make the caller async and await the coroutine"
            ),
        ),
        Invalid(
            "import asyncio\n"
            "def run_sync(coro):\n"
            "    try:\n"
            "        asyncio.get_running_loop()\n"
            "    except RuntimeError:\n"
            "        return asyncio.run(coro)\n"
            "    loop = asyncio.new_event_loop()\n"
            "    return loop.run_until_complete(coro)\n",
            message=(
                "8:12 run_until_complete() where a loop is known to be running in this thread "
                "(line 4) always fails: a running loop cannot be re-entered; make the caller async "
                "and await, or run the coroutine in a worker thread"
            ),
        ),
        Invalid(
            "import asyncio\n"
            "def run_sync(coro):\n"
            "    try:\n"
            "        asyncio.get_running_loop()\n"
            "        return asyncio.run(coro)\n"
            "    except RuntimeError:\n"
            "        return None\n",
            message=(
                "5:16 asyncio.run() where a loop is known to be running in this thread (line 4) "
                "always fails: a running loop cannot be re-entered; make the caller async and "
                "await, or run the coroutine in a worker thread"
            ),
        ),
        Invalid(
            "import asyncio\n"
            "def run_sync(coro):\n"
            "    loop = asyncio.get_event_loop()\n"
            "    if loop.is_running():\n"
            "        return loop.run_until_complete(coro)\n"
            "    return asyncio.run(coro)\n",
            message=(
                "5:16 run_until_complete() where a loop is known to be running in this thread "
                "(line 4) always fails: a running loop cannot be re-entered; make the caller async "
                "and await, or run the coroutine in a worker thread"
            ),
        ),
    )
    valid = (
        Valid(
            "import asyncio\n"
            "def run_sync(coro):\n"
            "    try:\n"
            "        asyncio.get_running_loop()\n"
            "    except RuntimeError:\n"
            "        return asyncio.run(coro)\n"
            "    raise RuntimeError('call this from synchronous code only')\n",
        ),
        Valid(
            "import asyncio\ndef schedule(callback):\n"
            "    asyncio.get_running_loop().call_soon(callback)\n",
        ),
    )

    def check(self) -> None:
        analysis = self.analysis
        api = analysis.catalogue.loop_api
        for call in analysis.loop_uses.run_calls(in_coroutine=False):  # in one: LCK204
            what = run_name(call, api)
            if analysis.loop_uses.on_running_loop(call):
                self.report(
                    call,
                    "run_until_complete() on the running loop always fails with 'This event loop "
                    "is already running'; make the caller async and await the coroutine",
                )
                continue
            shown = analysis.loop_uses.known_running(call) or analysis.loop_uses.inside_is_running(call)
            if shown is not None:
                self.report(
                    call,
                    f"{what} where a loop is known to be running in this thread (line "
                    f"{analysis.line_of(shown)}) always fails: a running loop cannot be "
                    "re-entered; make the caller async and await, or run the coroutine in a "
                    "worker thread",
                )
