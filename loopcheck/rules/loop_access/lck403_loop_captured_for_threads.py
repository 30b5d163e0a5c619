from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Runs
from loopcheck.engine.rule import Invalid, Rule, RuleDocs, Valid
from loopcheck.prefilter.starts import Start
from loopcheck.rules.wording import RUNS_WHERE, held_in


class LoopCapturedForThreads(Rule):
    code = "LCK403"
    name = "loop-captured-outside-the-application"
    summary = "loop captured outside the running application, then handed work from other threads"
    fix_kind = "none"
    instead = "capture the loop where the application starts, and hand that one out"
    starts_from = (
        Start(calls=("loop.new", "loop.current"), also_calls=("loop.threadsafe",)),
        Start(calls=("loop.new", "loop.current"), also_methods=("call_soon_threadsafe",)),
    )

    docs = RuleDocs(
        tier_reason=(
            "The captured loop never runs, so coroutines sent to it never start and `future.result()` "
            "waits forever."
        ),
        what_it_does="""\
Finds an event loop captured where the application does not run (at import time, under
`__main__`, in a thread or a worker hook), kept in a module global or an attribute, and later
handed work from other threads with `asyncio.run_coroutine_threadsafe(coro, loop)` or
`loop.call_soon_threadsafe(...)`, when this module never runs that loop itself.""",
        why_is_this_bad="""\
`main_loop = asyncio.get_event_loop()` at import returns (or, before 3.12, silently creates) the
thread's current loop at that moment. The application then runs on another one: `asyncio.run()`
always makes a new loop, and so do uvicorn, Celery's async integrations and most servers. The
captured loop is never run, so a coroutine sent to it with `run_coroutine_threadsafe()` never
starts, and `future.result()` waits forever (or until its timeout); callbacks given to
`call_soon_threadsafe()` never fire. This is how a stock application's scheduler jobs silently
stopped delivering their updates.""",
        example="""\
import asyncio

main_loop = asyncio.get_event_loop()


def on_price(symbol, price):  # called from the broker's thread
    asyncio.run_coroutine_threadsafe(publish(symbol, price), main_loop)""",
        use_instead="""\
Capture the loop the application runs on, where it starts, and hand that one out:

```python
main_loop = None


@asynccontextmanager
async def lifespan(app):
    global main_loop
    main_loop = asyncio.get_running_loop()
    yield


app = FastAPI(lifespan=lifespan)
```

In a script, do it at the top of the coroutine given to `asyncio.run()` (`main()`). A loop that
must serve other threads on purpose is created together with the thread that runs it
(`threading.Thread(target=loop.run_forever)`), which this rule does not report.""",
        fix_safety="""\
No fix: the place where the application starts is not in this module, or not for a tool to
choose.""",
        affected_versions="""\
All supported versions (measured on 3.10 to 3.13: the future never completes). From 3.12 the
import-time `get_event_loop()` also warns, and from 3.14 it raises (LCK402).""",
        references=(
            "https://docs.python.org/3/library/asyncio-task.html#asyncio.run_coroutine_threadsafe",
            "https://docs.python.org/3/library/asyncio-dev.html#concurrency-and-multithreading",
        ),
    )
    invalid = (
        Invalid(
            "import asyncio\nmain_loop = asyncio.get_event_loop()\ndef on_message(m):\n"
            "    asyncio.run_coroutine_threadsafe(handle(m), main_loop)\n",
            message=(
                "2:13 event loop captured at import time and kept in the module global `main_loop` "
                "is handed work from other threads (line 4), but the application runs on a loop of "
                "its own (asyncio.run() and servers make one): that work never runs and its future "
                "never completes; capture asyncio.get_running_loop() where the application starts"
            ),
        ),
        Invalid(
            "import asyncio\nloop = asyncio.new_event_loop()\ndef notify():\n"
            "    loop.call_soon_threadsafe(print, 'hi')\n",
            message=(
                "2:8 event loop captured at import time and kept in the module global `loop` is "
                "handed work from other threads (line 4), but the application runs on a loop of "
                "its own (asyncio.run() and servers make one): that work never runs and its future "
                "never completes; capture asyncio.get_running_loop() where the application starts"
            ),
        ),
    )
    valid = (
        Valid(
            "import asyncio, threading\n_loop = asyncio.new_event_loop()\n"
            "threading.Thread(target=_loop.run_forever, daemon=True).start()\n"
            "def submit(coro):\n    return asyncio.run_coroutine_threadsafe(coro, _loop).result()\n",
        ),
        Valid(
            "import asyncio\nmain_loop = None\nasync def main():\n    global main_loop\n"
            "    main_loop = asyncio.get_running_loop()\n"
            "def on_message(m):\n    asyncio.run_coroutine_threadsafe(handle(m), main_loop)\n",
        ),
        Valid("import asyncio\ndef notify(loop):\n    loop.call_soon_threadsafe(print, 'hi')\n"),
    )

    def check(self) -> None:
        for captured in self.analysis.thread_reach.captured_loops_handed_work:
            holder, creation, uses = captured.holder, captured.creation, captured.handoffs
            lines = ", ".join(str(self.analysis.line_of(use)) for use in uses)
            where = self.where(creation)
            self.report(
                creation,
                f"event loop captured {where} and kept in {held_in(holder)} is handed work from "
                f"other threads (line{'s' if len(uses) > 1 else ''} {lines}), but the "
                "application runs on a loop of its own (asyncio.run() and servers make one): "
                "that work never runs and its future never completes; capture "
                "asyncio.get_running_loop() where the application starts",
            )

    def where(self, creation: cst.Call) -> str:
        contexts = self.analysis.contexts
        unit = contexts.unit_of(creation)
        known = sorted(RUNS_WHERE[c] for c in contexts.of(unit) if c is not Runs.UNKNOWN)
        if isinstance(unit, cst.FunctionDef):
            return f"in `{unit.name.value}` ({', '.join(known)})"
        return known[0] if known else "outside the application"
