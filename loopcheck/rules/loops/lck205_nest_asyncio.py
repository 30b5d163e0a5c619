from __future__ import annotations

from loopcheck.engine.rule import Invalid, Rule, RuleDocs, Valid
from loopcheck.prefilter.starts import Start


class NestAsyncio(Rule):
    code = "LCK205"
    name = "nest-asyncio"
    summary = "nest_asyncio.apply() makes event loops re-entrant and hides loop misuse"
    fix_kind = "none"
    instead = "make the chain async and await it; run blocking parts with asyncio.to_thread()"
    starts_from = (Start(calls=("loop.nest",)),)

    docs = RuleDocs(
        tier_reason=(
            "A nested run that needs what its caller holds hangs the program, and `asyncio.run()` reuses "
            "the current loop, so loop-bound objects carry over between runs."
        ),
        what_it_does="""\
Finds calls of `nest_asyncio.apply()`, and of `nest_asyncio2.apply()` (the maintained fork,
which patches asyncio the same way).""",
        why_is_this_bad="""\
`nest_asyncio` patches asyncio so that `run_until_complete()` and `asyncio.run()` work inside a
running loop. It hides the design problem (synchronous code in the middle of async code, LCK204)
instead of solving it, and changes asyncio for the whole process:

- a nested run blocks the coroutine that started it while the rest of the loop keeps going, so a
  nested call that needs something the caller holds (a lock, a connection, a queue item) waits
  forever: the program hangs, and no timeout of the outer code can end it;
- `asyncio.run()` no longer gives a fresh loop: it reuses and never closes the current one
  (measured on 3.10 to 3.13), so loop-bound objects carry over between runs that should be
  independent;
- it patches private asyncio internals and does not work with other loop implementations
  (uvloop).""",
        example="""\
import asyncio

import nest_asyncio

nest_asyncio.apply()


def refresh_token_sync():
    return asyncio.run(refresh_token())


async def handle(request):
    token = refresh_token_sync()
    ...""",
        use_instead="""\
Make the chain async and await it (see LCK204):

```python
async def handle(request):
    token = await refresh_token()
    ...
```

Where synchronous code really must call async code while a loop runs in this thread, run the
synchronous part in a worker thread (`await asyncio.to_thread(sync_part)`), where it can start its
own loop with `asyncio.run()`. In Jupyter, use top-level `await` instead.""",
        fix_safety="""\
No fix: removing the patch breaks every nested run the program relies on. Fix those first (LCK204
rewrites `asyncio.run()` inside coroutines into `await`), then delete the call and the import.""",
        affected_versions="""\
All supported versions (the hang and the reused loop are measured with nest_asyncio 1.6 on 3.10
to 3.13).""",
        references=(
            "https://github.com/erdewit/nest_asyncio",
            "https://docs.python.org/3/library/asyncio-task.html#asyncio.to_thread",
        ),
    )
    invalid = (
        Invalid(
            "import nest_asyncio\nnest_asyncio.apply()\n",
            message=(
                "2:1 nest_asyncio.apply() patches asyncio so loops can be re-entered: nested runs "
                "can deadlock and asyncio.run() stops giving a fresh loop; make the caller async "
                "and await instead"
            ),
        ),
        Invalid(
            "from nest_asyncio import apply\napply(loop)\n",
            message=(
                "2:1 nest_asyncio.apply() patches asyncio so loops can be re-entered: nested runs "
                "can deadlock and asyncio.run() stops giving a fresh loop; make the caller async "
                "and await instead"
            ),
        ),
        Invalid(
            "import nest_asyncio2\nnest_asyncio2.apply()\n",
            message=(
                "2:1 nest_asyncio2.apply() patches asyncio so loops can be re-entered: nested runs "
                "can deadlock and asyncio.run() stops giving a fresh loop; make the caller async "
                "and await instead"
            ),
        ),
    )
    valid = (
        Valid("def apply():\n    pass\napply()\n  # nest_asyncio\n"),
    )

    def check(self) -> None:
        names = self.analysis.names
        for node in names.calls_to(self.analysis.catalogue.loop_api.nest):
            patch = min(names.qualified(node.func) & self.analysis.catalogue.loop_api.nest)
            self.report(
                node,
                f"{patch}() patches asyncio so loops can be re-entered: nested runs can "
                "deadlock and asyncio.run() stops giving a fresh loop; make the caller async and "
                "await instead",
            )
