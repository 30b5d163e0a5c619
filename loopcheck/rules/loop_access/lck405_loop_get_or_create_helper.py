from __future__ import annotations

from loopcheck.engine.rule import Invalid, Rule, RuleDocs, Valid
from loopcheck.prefilter.starts import Start, Where


class LoopGetOrCreateHelper(Rule):
    code = "LCK405"
    name = "loop-get-or-create-helper"
    summary = "helper hands out the current loop, or a new one it sets and never closes"
    fix_kind = "none"
    instead = "run coroutines with asyncio.run() and use asyncio.get_running_loop() inside them"
    starts_from = (Start(calls=("loop.new",), where=(Where.FUNCTION,), also_calls=("loop.set",)),)

    docs = RuleDocs(
        tier_reason=(
            "Each thread that calls the helper gets a loop nobody closes, and objects made on it fail "
            "under any other loop (`attached to a different loop`)."
        ),
        what_it_does="""\
Finds helpers that hand an event loop out for reuse: they return the thread's current (or
running) loop, or else a new loop they make current and never close, as in

```python
def always_get_an_event_loop():
    try:
        return asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        return loop
```

The finding is at the helper, since every caller inherits the problem.""",
        why_is_this_bad="""\
The helper survives "no current loop", which is why it is written (often as the fix for Python
3.14, where `get_event_loop()` raises). But each thread that calls it gets a loop of its own that
nobody closes: thread pools and scheduler threads leak one per thread (`ResourceWarning: unclosed
event loop`). Callers then run coroutines on it with `run_until_complete()`, so every object made
along the way (clients, locks, futures) is bound to that thread's loop and breaks when used from
another thread or after `asyncio.run()` (`attached to a different loop`), and pending tasks are
never cancelled. In a coroutine the helper returns the running loop, so the same call means a
different loop depending on who calls it.""",
        example="""\
import asyncio


def get_loop():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        return loop""",
        use_instead="""\
Do not hand loops out. Synchronous callers run their coroutine with `asyncio.run()` (one loop,
closed at the end); coroutines use `asyncio.get_running_loop()`. A worker that deliberately keeps
one loop for its whole life should hold an `asyncio.Runner` it closes at shutdown (see LCK202).""",
        fix_safety="""\
No fix: every caller has to change, and how depends on what it does with the loop.""",
        affected_versions="""\
All supported versions (measured on 3.10 to 3.13: the loop made in a worker thread is left
unclosed). From 3.14 the `get_event_loop()` form falls into the `except` branch in every thread
without a running loop, so it makes even more loops.""",
        references=(
            "https://docs.python.org/3/library/asyncio-runner.html#asyncio.run",
            "https://docs.python.org/3/library/asyncio-eventloop.html#asyncio.get_running_loop",
        ),
    )
    invalid = (
        Invalid(
            docs.example + "\n",
            message=(
                "4:5 `get_loop()` hands out the current loop, or a new one it makes current and "
                "never closes: each thread that calls it keeps a loop of its own, never closed, "
                "and what is created on it is bound to it; run coroutines with asyncio.run() and "
                "use asyncio.get_running_loop() inside them"
            ),
        ),
        Invalid(
            "import asyncio\ndef get_loop():\n    loop = asyncio.get_event_loop()\n"
            "    if loop.is_closed():\n"
            "        loop = asyncio.new_event_loop()\n        asyncio.set_event_loop(loop)\n"
            "    return loop\n",
            message=(
                "2:5 `get_loop()` hands out the current loop, or a new one it makes current and "
                "never closes: each thread that calls it keeps a loop of its own, never closed, "
                "and what is created on it is bound to it; run coroutines with asyncio.run() and "
                "use asyncio.get_running_loop() inside them"
            ),
        ),
    )
    valid = (
        Valid("import asyncio\ndef run(coro):\n    return asyncio.run(coro)\n"),
        # A factory of fresh loops is not a get-or-create helper (and its caller closes them).
        Valid(
            "import asyncio\ndef make_loop():\n    loop = asyncio.new_event_loop()\n    return loop\n",
        ),
    )

    def check(self) -> None:
        for function in self.analysis.current_or_new.helpers():
            self.report(
                function.name,
                f"`{function.name.value}()` hands out the current loop, or a new one it makes "
                "current and never closes: each thread that calls it keeps a loop of its own, "
                "never closed, and what is created on it is bound to it; run coroutines with "
                "asyncio.run() and use asyncio.get_running_loop() inside them",
            )
