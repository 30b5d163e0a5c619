from __future__ import annotations

import libcst as cst

from loopcheck.engine.diagnostics import FixProposal, Safety
from loopcheck.engine.rule import Invalid, Rule, RuleDocs, Valid
from loopcheck.fixes.builder import FixBuilder
from loopcheck.prefilter.starts import Start, Where


class GetEventLoopInCoroutine(Rule):
    code = "LCK401"
    name = "get-event-loop-in-coroutine"
    summary = "asyncio.get_event_loop() inside a coroutine; use asyncio.get_running_loop()"
    fix_kind = "safe"
    instead = "call asyncio.get_running_loop()"
    starts_from = (Start(calls=("loop.current",), where=(Where.COROUTINE,)),)
    tier = "modernisation"
    runtime_failure = False

    docs = RuleDocs(
        tier_reason=(
            "Inside a coroutine `get_event_loop()` returns the running loop, exactly as "
            "`get_running_loop()` does, on every supported Python (3.10 to 3.13 measured, no warning); "
            "the finding is about intent and about code that may move, never a failure."
        ),
        what_it_does="""\
Finds `asyncio.get_event_loop()` called in the body of an `async def`: on its own, as an argument
(`asyncio.all_tasks(asyncio.get_event_loop())`), or before `.run_in_executor(...)`,
`.create_future()`, `.time()` and the like.""",
        why_is_this_bad="""\
Inside a coroutine there is always a running loop, and `get_event_loop()` returns it, so the code
works today. But `get_event_loop()` means something else everywhere else (the thread's current
loop, created on demand in the main thread until 3.12, an error from 3.14), so the same line moved
into a helper, a callback or a thread silently changes meaning, and readers cannot tell which loop
it wants. `asyncio.get_running_loop()` says it: the loop running this coroutine, or a clear
`RuntimeError: no running event loop` where there is none. The asyncio documentation recommends it
in coroutines and callbacks since Python 3.7.""",
        example="""\
import asyncio


async def resize(image):
    loop = asyncio.get_event_loop()
    return await loop.run_in_executor(None, image.resize, (64, 64))""",
        use_instead="""\
```python
async def resize(image):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, image.resize, (64, 64))
```""",
        fix_safety="""\
Safe: in the body of a coroutine both calls return the running loop. Only calls in the
coroutine's own body are rewritten, not in functions nested in it, which may run elsewhere. A call
written `asyncio.get_event_loop()` (or `aio.`) becomes `asyncio.get_running_loop()` through the same
name, wherever asyncio was imported (a function's own `import asyncio` too), when only imports of
asyncio bind that name. Otherwise the fix names `get_running_loop` the way the module already
imports asyncio, unless something else in the module binds that name too (`from compat import asyncio`, a parameter called `asyncio`): then
it imports `get_running_loop` under a name the module does not use. Where a star import from
another module could rebind any new name, there is no fix. Like every safe fix, it assumes the
coroutine runs on an event loop: a coroutine driven by hand with `send()`, where no loop runs,
gets the thread's current loop from `get_event_loop()` and an error from `get_running_loop()`.""",
        affected_versions="""\
All supported versions behave the same inside a coroutine (measured on 3.10 to 3.13); the
difference is outside one, where 3.12 and 3.13 warn and 3.14 raises (see LCK402).""",
        references=(
            "https://docs.python.org/3/library/asyncio-eventloop.html#asyncio.get_running_loop",
            "https://docs.python.org/3/library/asyncio-eventloop.html#asyncio.get_event_loop",
        ),
    )
    invalid = (
        Invalid(
            "import asyncio\nasync def later(cb):\n    asyncio.get_event_loop().call_later(1, cb)\n",
            message=(
                "3:5 asyncio.get_event_loop() inside a coroutine returns the running loop; "
                "asyncio.get_running_loop() says so, and fails clearly where no loop runs"
            ),
            fix=(
                "import asyncio\n"
                "async def later(cb):\n"
                "    asyncio.get_running_loop().call_later(1, cb)\n"
            ),
            safety="safe",
        ),
        Invalid(
            "import asyncio\nasync def pending():\n"
            "    return asyncio.all_tasks(asyncio.get_event_loop())\n",
            message=(
                "3:30 asyncio.get_event_loop() inside a coroutine returns the running loop; "
                "asyncio.get_running_loop() says so, and fails clearly where no loop runs"
            ),
            fix=(
                "import asyncio\n"
                "async def pending():\n"
                "    return asyncio.all_tasks(asyncio.get_running_loop())\n"
            ),
            safety="safe",
        ),
        Invalid(
            "from asyncio import get_event_loop\nasync def now():\n    return get_event_loop().time()\n",
            message=(
                "3:12 asyncio.get_event_loop() inside a coroutine returns the running loop; "
                "asyncio.get_running_loop() says so, and fails clearly where no loop runs"
            ),
            fix=(
                "import asyncio\n"
                "\n"
                "\n"
                "async def now():\n"
                "    return asyncio.get_running_loop().time()\n"
            ),
            safety="safe",
        ),
        Invalid(
            "async def resize(image):\n    import asyncio\n\n"
            "    loop = asyncio.get_event_loop()\n"
            "    return await loop.run_in_executor(None, image.resize, (64, 64))\n",
            message=(
                "4:12 asyncio.get_event_loop() inside a coroutine returns the running loop; "
                "asyncio.get_running_loop() says so, and fails clearly where no loop runs"
            ),
            fix=(
                "async def resize(image):\n    import asyncio\n\n"
                "    loop = asyncio.get_running_loop()\n"
                "    return await loop.run_in_executor(None, image.resize, (64, 64))\n"
            ),
            safety="safe",
        ),
    )
    valid = (
        Valid("import asyncio\nasync def now():\n    return asyncio.get_running_loop().time()\n"),
        Valid(
            "import asyncio\nasync def outer():\n    def callback():\n"
            "        return asyncio.get_event_loop()\n"
            "    return callback\n",
        ),
    )

    def check(self) -> None:
        analysis = self.analysis
        for call in analysis.loop_uses.current_loop_calls(in_coroutine=True):
            if not call.args:
                self.report(
                    call,
                    "asyncio.get_event_loop() inside a coroutine returns the running loop; "
                    "asyncio.get_running_loop() says so, and fails clearly where no loop runs",
                    self.fix(call),
                )

    def fix(self, call: cst.Call) -> FixProposal:
        title = "Replace asyncio.get_event_loop() with asyncio.get_running_loop()"
        if self._through_the_module(call.func):
            # `asyncio.get_event_loop()`: the name that reads the module here reads it for the
            # new call too, wherever it was imported (a function's own `import asyncio` as well);
            # a module-level import would only duplicate it.
            def rename() -> tuple:
                builder = FixBuilder(self.context)
                new_func = call.func.with_changes(attr=cst.Name("get_running_loop"))  # type: ignore[attr-defined]
                return builder.replace(call.func, new_func).build()

            return self.propose(Safety.SAFE, title, rename)

        def build() -> tuple:
            builder = FixBuilder(self.context)
            builder.replace(call.func, builder.expression("asyncio.get_running_loop"))
            builder.drop_imports_used_by(call.func)
            return builder.build()

        return self.propose(Safety.SAFE, title, build, ("asyncio.get_running_loop",))

    def _through_the_module(self, func: cst.BaseExpression) -> bool:
        """Whether ``func`` is ``<name>.get_event_loop`` with ``<name>`` bound, everywhere in the
        module, only by imports of asyncio (``import asyncio``, ``import asyncio as aio``)."""
        return (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.attr.value == "get_event_loop"
            and self.analysis.bindings.only_imports_of(func.value.value, "asyncio")
        )
