from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.analysis.loop_uses import (
    Use,
    of_kind,
    plain_operand,
    sole_argument,
)
from loopcheck.engine.diagnostics import FixProposal, NoFix, Safety
from loopcheck.engine.rule import Invalid, Rule, RuleDocs, Valid
from loopcheck.fixes.lifecycle import LifecycleRewrite, removed_comments
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.loops.wording import SAME_ON_EVERY_VERSION, run_name

if TYPE_CHECKING:
    from loopcheck.analysis import Holder


class RunInsideCoroutine(Rule):
    code = "LCK204"
    name = "run-inside-coroutine"
    summary = "asyncio.run() or run_until_complete() inside a coroutine; await it instead"
    fix_kind = "safe or unsafe"
    instead = "make the caller async and await the coroutine"
    starts_from = (
        Start(calls=("loop.run",), where=(Where.COROUTINE,)),
        Start(methods=("run_until_complete",), where=(Where.COROUTINE,)),
    )

    docs = RuleDocs(
        tier_reason=(
            "The call always fails when reached: `RuntimeError: asyncio.run() cannot be called from a "
            "running event loop` (or `This event loop is already running`)."
        ),
        what_it_does="""\
Finds `asyncio.run(x)` and `loop.run_until_complete(x)` called from the body of an `async def`.""",
        why_is_this_bad="""\
The coroutine is already running on a loop, and a thread runs one loop at a time. The call always
fails: `RuntimeError: asyncio.run() cannot be called from a running event loop`, `This event loop
is already running`, or, for a second loop, `Cannot run the event loop while another loop is
running`. The coroutine passed in is never awaited. Such code usually comes from a synchronous
helper that was later called from async code.""",
        example="""\
import asyncio


async def handle(request):
    user = asyncio.run(load_user(request.user_id))
    return render(user)""",
        use_instead="""\
```python
async def handle(request):
    user = await load_user(request.user_id)
    return render(user)
```

If the work must run on a different loop (it uses a client bound to that loop), hand it over with
`asyncio.run_coroutine_threadsafe(coro, other_loop)` and await `asyncio.wrap_future(...)` of the
result.""",
        fix_safety="""\
Safe: the call can never have succeeded on a standard event loop, and `await x` is what it was
meant to do. A loop the coroutine created, fetched or closed only for that call goes too. Unsafe
when the call sits in a `try` block (the `RuntimeError` may have been caught on purpose) or the
module applies `nest_asyncio` (which makes re-entrant runs work, see LCK205). No fix (the
message says why) for calls with more arguments, inside generator expressions, or with an argument
that needs parentheses. Like every safe fix, it assumes the coroutine runs on an event loop: one driven by hand with
`send()`, where no loop runs, could call `asyncio.run()`, and the awaited code then finds none.""",
        affected_versions=SAME_ON_EVERY_VERSION,
        references=("https://docs.python.org/3/library/asyncio-runner.html#asyncio.run",),
    )
    invalid = (
        Invalid(
            "import asyncio\nasync def handle(r):\n    return asyncio.run(load(r))\n",
            message=(
                "3:12 asyncio.run() inside a coroutine always fails: the thread's loop is already "
                "running; await the coroutine instead"
            ),
            fix=(
                "async def handle(r):\n"
                "    return await load(r)\n"
            ),
            safety="safe",
        ),
        Invalid(
            "import asyncio\n"
            "async def handle(r):\n"
            "    loop = asyncio.get_event_loop()\n"
            "    return loop.run_until_complete(load(r))\n",
            message=(
                "4:12 run_until_complete() inside a coroutine always fails: the thread's loop is "
                "already running; await the coroutine instead"
            ),
            fix=(
                "async def handle(r):\n"
                "    return await load(r)\n"
            ),
            safety="safe",
        ),
        # In a try block: the RuntimeError the call always raised may have been caught on purpose.
        Invalid(
            "import asyncio\n"
            "async def handle(user_id):\n"
            "    try:\n"
            "        return asyncio.run(load_user(user_id))\n"
            "    except RuntimeError:\n"
            "        return None\n",
            message=(
                "4:16 asyncio.run() inside a coroutine always fails: the thread's loop is already "
                "running; await the coroutine instead"
            ),
            fix=(
                "async def handle(user_id):\n"
                "    try:\n"
                "        return await load_user(user_id)\n"
                "    except RuntimeError:\n"
                "        return None\n"
            ),
            safety="unsafe",
        ),
    )
    valid = (
        Valid("import asyncio\nasync def handle(r):\n    return await load(r)\n"),
        Valid(
            "import asyncio\n"
            "async def handle(r):\n"
            "    def blocking():\n"
            "        return asyncio.run(load(r))\n"
            "    return await asyncio.to_thread(blocking)\n",
        ),
        Valid("import asyncio\nif __name__ == '__main__':\n    asyncio.run(main())\n"),
    )

    def check(self) -> None:
        analysis = self.analysis
        api = analysis.catalogue.loop_api
        for call in analysis.loop_uses.run_calls(in_coroutine=True):
            what = run_name(call, api)
            message = (
                f"{what} inside a coroutine always fails: the thread's loop is already running; "
                "await the coroutine instead"
            )
            self.report(call, message, self.fix(call))

    def fix(self, call: cst.Call) -> FixProposal | NoFix:
        holder = self.analysis.loop_uses.receiver_loop(call)
        runs = [call]
        teardown: list[cst.CSTNode] = []
        analysis = self.analysis
        if holder is not None:
            uses = analysis.loop_uses.uses_of(holder.reads)
            exclusive = analysis.flow.sole_binding_of(holder.reads, holder.target)  # type: ignore[arg-type]
            if exclusive and not of_kind(uses, Use.OTHER, Use.SERVE, Use.ESCAPE):
                # The loop exists only for these calls: all of them become awaits, and it goes.
                runs = [use.node for use in of_kind(uses, Use.RUN) if isinstance(use.node, cst.Call)]
                teardown = [use.node for use in of_kind(uses, Use.TEARDOWN, Use.SET_CURRENT)]
            else:
                holder = None
        for run in runs:
            reason = self.not_awaitable(run)
            if reason is not None:
                return NoFix(reason)
        risky = any(analysis.tree.in_try_body(run) for run in runs) or "nest_asyncio" in self.context.source

        def build() -> tuple:
            rewrite = LifecycleRewrite(self.context)
            for run in runs:
                rewrite.await_instead(run)
            rewrite.retire(holder, teardown)
            return rewrite.build()

        title = self.title(runs, holder) + removed_comments(self.context, holder, teardown)
        return self.propose(Safety.UNSAFE if risky else Safety.SAFE, title, build)

    def title(self, runs: list[cst.Call], holder: Holder | None) -> str:
        """``Await the coroutine instead of calling run_until_complete()``, and the loop that
        goes with it."""
        api = self.analysis.catalogue.loop_api
        called = sorted({run_name(run, api) for run in runs})
        title = f"Await the coroutine instead of calling {' and '.join(called)}"
        return title if holder is None else f"{title}, and drop the loop `{holder.name}`"

    def not_awaitable(self, call: cst.Call) -> str | None:
        """Why ``await`` cannot simply take the call's place; None when it can."""
        argument = sole_argument(call)
        if argument is None:
            return "the call has arguments besides the coroutine"
        if not plain_operand(argument):
            return "the argument would need parentheses after `await`"
        if self.analysis.tree.in_generator_expression(call):
            return "`await` in a generator expression would make it an async generator"
        return None
