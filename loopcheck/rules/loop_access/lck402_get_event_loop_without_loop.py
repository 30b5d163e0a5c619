from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Runs
from loopcheck.analysis.contexts import Code
from loopcheck.engine.rule import Invalid, Rule, RuleDocs, Valid
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.wording import RUNS_WHERE

# Where a thread has no current event loop unless the code set one.
NO_CURRENT_LOOP = (
    Runs.THREAD,
    Runs.EXECUTOR,
    Runs.SCHEDULER_JOB,
    Runs.CELERY_TASK,
    Runs.DRAMATIQ_ACTOR,
    Runs.WORKER_HOOK,
    Runs.IMPORT,
    Runs.MAIN,
)


class GetEventLoopWithoutLoop(Rule):
    code = "LCK402"
    name = "get-event-loop-without-current-loop"
    summary = "asyncio.get_event_loop() in synchronous code that can run with no current loop"
    fix_kind = "none"
    instead = "run coroutines with asyncio.run() and use asyncio.get_running_loop() inside them"
    starts_from = (
        Start(calls=("loop.current",), where=(Where.MODULE, Where.CLASS, Where.DEFAULT, Where.FUNCTION), in_known_context=True),
    )

    docs = RuleDocs(
        tier_reason=(
            "In a thread without a current loop the call raises `RuntimeError: There is no current event "
            "loop` (Python 3.10 to 3.13), and from 3.14 it raises in the main thread too."
        ),
        what_it_does="""\
Finds `asyncio.get_event_loop()` in synchronous code that runs where the thread may have no
current event loop: at import time or under `if __name__ == "__main__":`, in a thread target, an
executor job (`submit`, `run_in_executor`, `asyncio.to_thread`, a plain `def` FastAPI endpoint), a
scheduler job (APScheduler, `schedule`), a Celery task or worker hook, a dramatiq actor, and the
functions of the module they call. Calls whose loop runs a coroutine with `run_until_complete()` are LCK203's, and
calls inside a `try` that catches the `RuntimeError` are left alone.""",
        why_is_this_bad="""\
`get_event_loop()` only works where a loop is current. In a worker thread there is none: it
raises `RuntimeError: There is no current event loop in thread 'ThreadPoolExecutor-0_0'` (3.10 to
3.13). In the main thread it used to create one, which is why such code "works" in a script:
that now warns (`DeprecationWarning: There is no current event loop`, 3.12 and 3.13), fails after
an `asyncio.run()` anywhere in the same thread, and raises everywhere from Python 3.14, where
`get_event_loop()` no longer creates a loop. Code that works on a developer's machine breaks in a
thread pool, a scheduler, a Celery worker, or on upgrade.""",
        example="""\
import asyncio
import threading


def poll_prices():
    loop = asyncio.get_event_loop()
    loop.call_soon(print, "polling")


threading.Thread(target=poll_prices).start()""",
        use_instead="""\
Do not look the loop up where none may exist. Run coroutines with `asyncio.run()`; inside them,
use `asyncio.get_running_loop()`. Code that must reach the application's loop from another
thread should be handed that loop, captured where the application starts:

```python
async def main():
    loop = asyncio.get_running_loop()
    threading.Thread(target=poll_prices, args=(loop,)).start()


def poll_prices(loop):
    loop.call_soon_threadsafe(print, "polling")
```""",
        fix_safety="""\
No fix: which loop the code meant (the application's, or one of its own) is for a person to say.""",
        affected_versions="""\
All supported versions, differently: in a thread without a loop it raises on 3.10 to 3.13
(measured); in the main thread it creates a loop on 3.10 and 3.11, warns `DeprecationWarning:
There is no current event loop` and creates one on 3.12 and 3.13 (measured), and raises
`RuntimeError` on 3.14 (the 3.14 documentation: "Raises a RuntimeError if there is no current
event loop"; 3.14 was not available to measure).""",
        references=(
            "https://docs.python.org/3/library/asyncio-eventloop.html#asyncio.get_event_loop",
            "https://github.com/python/cpython/pull/126354",
        ),
    )
    invalid = (
        Invalid(
            "import asyncio\nloop = asyncio.get_event_loop()\n",
            message=(
                "2:8 asyncio.get_event_loop() at import time, where the thread may have no current "
                "loop: it raises there (3.10-3.13 in worker threads, everywhere from 3.14) and "
                "warns in the main thread on 3.12-3.13; use asyncio.run(), or pass the running "
                "loop in"
            ),
        ),
        Invalid(
            "import asyncio, threading\ndef work():\n    asyncio.get_event_loop().call_soon(print)\n"
            "threading.Thread(target=work).start()\n",
            message=(
                "3:5 asyncio.get_event_loop() in `work`, which runs in a thread, where the thread "
                "may have no current loop: it raises there (3.10-3.13 in worker threads, "
                "everywhere from 3.14) and warns in the main thread on 3.12-3.13; use "
                "asyncio.run(), or pass the running loop in"
            ),
        ),
        Invalid(
            "import asyncio\nfrom celery import shared_task\n@shared_task\ndef task():\n"
            "    helper()\ndef helper():\n    return asyncio.get_event_loop().time()\n",
            message=(
                "7:12 asyncio.get_event_loop() in `helper`, which runs as a Celery task, where the "
                "thread may have no current loop: it raises there (3.10-3.13 in worker threads, "
                "everywhere from 3.14) and warns in the main thread on 3.12-3.13; use "
                "asyncio.run(), or pass the running loop in"
            ),
        ),
    )
    valid = (
        Valid("import asyncio\nasync def main():\n    loop = asyncio.get_running_loop()\n"),
        Valid("import asyncio\ndef helper():\n    return asyncio.get_event_loop()\n"),
        Valid(
            "import asyncio\ntry:\n    loop = asyncio.get_event_loop()\nexcept RuntimeError:\n"
            "    loop = None\n",
        ),
    )

    def check(self) -> None:
        analysis = self.analysis
        contexts = analysis.contexts
        for call in analysis.loop_uses.current_loop_calls(in_coroutine=False):  # in one: LCK401
            unit = contexts.unit_of(call)
            risky = [c for c in contexts.of(unit) if c in NO_CURRENT_LOOP]
            uses = analysis.loop_uses
            # A loop that runs a coroutine here (LCK202, LCK203) or is handed work from other
            # threads (LCK403): those rules say more.
            if not risky or uses.caught_without_loop(call) or uses.runs_or_is_handed_work(call):
                continue
            self.report(call, self.message(unit, risky))

    def message(self, unit: Code, risky: list[Runs]) -> str:
        if isinstance(unit, cst.FunctionDef):
            where = f"in `{unit.name.value}`, which runs {RUNS_WHERE[risky[0]]}"
        else:
            where = RUNS_WHERE[risky[0]]
        return (
            f"asyncio.get_event_loop() {where}, where the thread may have no current loop: it "
            "raises there (3.10-3.13 in worker threads, everywhere from 3.14) and warns in the "
            "main thread on 3.12-3.13; use asyncio.run(), or pass the running loop in"
        )
