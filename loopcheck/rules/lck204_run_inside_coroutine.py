from __future__ import annotations

import libcst as cst

from loopcheck.analysis import ancestors, in_coroutine
from loopcheck.catalogue import loop_api
from loopcheck.diagnostics import Fix, Safety
from loopcheck.loops import (
    LifecycleRewrite,
    LocalLoop,
    Use,
    assigned_values,
    calls_one_of,
    in_try_body,
    local_binding,
    method_call,
    of_kind,
    plain_operand,
    sole_argument,
    uses_of,
)
from loopcheck.rule import Rule, RuleDocs


class RunInsideCoroutine(Rule):
    code = "LCK204"
    name = "run-inside-coroutine"
    summary = "asyncio.run() or run_until_complete() inside a coroutine; await it instead"
    fix_kind = "safe or unsafe"

    docs = RuleDocs(
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
module applies `nest_asyncio` (which makes re-entrant runs work, see LCK205). No fix for calls
with more arguments, inside generator expressions, or with an argument that needs parentheses.""",
        affected_versions="""\
All supported versions (measured on 3.10 to 3.13: the same messages on each).""",
        references=("https://docs.python.org/3/library/asyncio-runner.html#asyncio.run",),
    )
    invalid = (
        "import asyncio\nasync def handle(r):\n    return asyncio.run(load(r))\n",
        "import asyncio\n"
        "async def handle(r):\n"
        "    loop = asyncio.get_event_loop()\n"
        "    return loop.run_until_complete(load(r))\n",
    )
    valid = (
        "import asyncio\nasync def handle(r):\n    return await load(r)\n",
        "import asyncio\n"
        "async def handle(r):\n"
        "    def blocking():\n"
        "        return asyncio.run(load(r))\n"
        "    return await asyncio.to_thread(blocking)\n",
        "import asyncio\nif __name__ == '__main__':\n    asyncio.run(main())\n",
    )

    def visit_Call(self, node: cst.Call) -> None:
        api = loop_api()
        is_run = calls_one_of(self, node, api.run)
        if not (is_run or method_call(node, (api.run_method,))) or not in_coroutine(self, node):
            return
        what = "asyncio.run()" if is_run else "run_until_complete()"
        message = (
            f"{what} inside a coroutine always fails: the thread's loop is already running; "
            "await the coroutine instead"
        )
        self.report(node, message, self.fix(node))

    def fix(self, call: cst.Call) -> Fix | None:
        local = self.receiver_local(call)
        runs = [call]
        teardown: list[cst.CSTNode] = []
        if local is not None:
            uses = uses_of(self, local.refs)
            if local.bindings == 1 and not of_kind(uses, Use.OTHER, Use.SERVE, Use.ESCAPE):
                # The loop exists only for these calls: all of them become awaits, and it goes.
                runs = [use.node for use in of_kind(uses, Use.RUN) if isinstance(use.node, cst.Call)]
                teardown = [use.node for use in of_kind(uses, Use.TEARDOWN, Use.SET_CURRENT)]
            else:
                local = None
        if not all(self.awaitable(run) for run in runs):
            return None
        rewrite = LifecycleRewrite(self)
        for run in runs:
            rewrite.await_instead(run)
            rewrite.builder.drop_imports_used_by(run.func)
        if local is not None:
            rewrite.retire_binding(local)
            rewrite.delete_all(teardown)
        risky = any(in_try_body(self, run) for run in runs) or "nest_asyncio" in self.context.source
        return rewrite.build(
            Safety.UNSAFE if risky else Safety.SAFE, "Await the coroutine instead"
        )

    def receiver_local(self, call: cst.Call) -> LocalLoop | None:
        """The local loop a ``loop.run_until_complete()`` runs on, when a loop call made it."""
        receiver = call.func.value if isinstance(call.func, cst.Attribute) else None
        if not isinstance(receiver, cst.Name):
            return None
        api = loop_api()
        loop_calls = api.new_loop | api.current_loop | api.running_loop
        for value in assigned_values(self, receiver):
            if value is not None and calls_one_of(self, value, loop_calls):
                return local_binding(self, value)
        return None

    def awaitable(self, call: cst.Call) -> bool:
        argument = sole_argument(call)
        if argument is None or not plain_operand(argument):
            return False
        return not any(isinstance(up, cst.GeneratorExp) for _, up in ancestors(self, call))
