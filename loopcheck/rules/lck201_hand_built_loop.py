from __future__ import annotations

import libcst as cst

from loopcheck.analysis import declared_global, enclosing_function
from loopcheck.catalogue import loop_api
from loopcheck.diagnostics import Fix, Safety
from loopcheck.loops import (
    LifecycleRewrite,
    LocalLoop,
    LoopUse,
    Use,
    assigned_values,
    asyncio_run_accepts,
    calls_one_of,
    closing_binding,
    coroutine_argument,
    local_binding,
    of_kind,
    sole_argument,
    uses_of,
)
from loopcheck.rule import Rule, RuleDocs


class HandBuiltLoop(Rule):
    code = "LCK201"
    name = "hand-built-event-loop"
    summary = "event loop created, run and closed by hand; use asyncio.run()"
    fix_kind = "safe or unsafe"

    docs = RuleDocs(
        what_it_does="""\
Finds functions that build an event loop by hand to run one coroutine:
`new_event_loop()`, usually `set_event_loop()`, `run_until_complete()` and `close()`, in a
`try`/`finally` or not, or in `with contextlib.closing(asyncio.new_event_loop()) as loop:`.""",
        why_is_this_bad="""\
`asyncio.run()` does the same job completely; the hand-written version skips the parts that are
easy to forget. Tasks the coroutine started and left running are never cancelled: closing the loop
destroys them mid-flight (`Task was destroyed but it is pending!`, and `coroutine ignored
GeneratorExit` when their cleanup awaits). Async generators are never finalised, so their
`finally` blocks do not run. And a loop closed but left as the current loop makes the next
`asyncio.get_event_loop()` in the thread fail with `RuntimeError: Event loop is closed`. In a
Celery task, a scheduler job or a thread this runs once per call, so the leaks add up.""",
        example="""\
import asyncio


def sync_report(job_id):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(build_report(job_id))
    finally:
        loop.close()""",
        use_instead="""\
```python
def sync_report(job_id):
    return asyncio.run(build_report(job_id))
```

When one function runs several coroutines that must share the loop (they use the same client or
lock), run them from one coroutine, or keep the loop in an `asyncio.Runner` (3.11+):

```python
with asyncio.Runner() as runner:
    runner.run(connect())
    runner.run(work())
```""",
        fix_safety="""\
Safe when the loop stays inside the function, is closed there, and runs one coroutine call: the
statements that only create, set, shut down and close the loop are removed and the
`run_until_complete()` call becomes `asyncio.run()`. `asyncio.run()` additionally cancels tasks
left running and unsets the current loop at the end. Unsafe when the function does not close the
loop (later code may have relied on it staying current), or when the argument is not visibly a
coroutine call (`asyncio.run()` accepts only coroutines). No fix when the loop is passed on,
runs more than one coroutine, or when the argument is a Future (`asyncio.gather(...)`).""",
        affected_versions="""\
All supported versions (measured on 3.10 to 3.13: the same messages on each).""",
        references=(
            "https://docs.python.org/3/library/asyncio-runner.html#asyncio.run",
            "https://docs.python.org/3/library/asyncio-runner.html#asyncio.Runner",
        ),
    )
    invalid = (
        "import asyncio\n"
        "def run(job):\n"
        "    loop = asyncio.new_event_loop()\n"
        "    asyncio.set_event_loop(loop)\n"
        "    try:\n"
        "        return loop.run_until_complete(job())\n"
        "    finally:\n"
        "        loop.close()\n",
        "from asyncio import new_event_loop\n"
        "def run(job):\n"
        "    loop = new_event_loop()\n"
        "    result = loop.run_until_complete(job(loop))\n"
        "    loop.close()\n"
        "    return result\n",
    )
    valid = (
        "import asyncio\ndef run(job):\n    return asyncio.run(job())\n",
        # A pytest fixture: the loop is handed to the tests and closed after them.
        "import asyncio, pytest\n"
        "@pytest.fixture\n"
        "def event_loop():\n"
        "    loop = asyncio.new_event_loop()\n"
        "    loop.run_until_complete(setup())\n"
        "    yield loop\n"
        "    loop.close()\n",
        # A server that runs forever on its own loop.
        "import asyncio\n"
        "def serve():\n"
        "    loop = asyncio.new_event_loop()\n"
        "    loop.run_until_complete(start())\n"
        "    loop.run_forever()\n",
    )

    def visit_Call(self, node: cst.Call) -> None:
        if not calls_one_of(self, node, loop_api().new_loop):
            return
        function = enclosing_function(self, node)
        if not isinstance(function, cst.FunctionDef) or function.asynchronous is not None:
            return  # module level runs once; inside a coroutine LCK204 reports the run
        local = local_binding(self, node) or closing_binding(self, node)
        if local is None or local.name in declared_global(function):
            return  # a loop kept beyond the call: LCK202
        if local.bindings > 1 and self.falls_back_from_current_loop(local):
            return  # "the current loop, or a new one": LCK203
        if local.bindings > 1 and self.also_given(local):
            return  # `if loop is None: loop = new_event_loop()`: the caller may own the loop
        uses = uses_of(self, local.refs)
        if of_kind(uses, Use.SERVE, Use.ESCAPE):
            return  # a long-lived loop, or one whose lifetime is managed elsewhere
        runs = of_kind(uses, Use.RUN)
        if not runs:
            return
        self.report(node, self.message(local, uses), self.fix(function, local, uses))

    def closed(self, local: LocalLoop, uses: list[LoopUse]) -> bool:
        return bool(of_kind(uses, Use.TEARDOWN)) or isinstance(local.binding, cst.With)

    def bound_values(self, local: LocalLoop) -> list[cst.BaseExpression | None]:
        return assigned_values(self, local.target)

    def falls_back_from_current_loop(self, local: LocalLoop) -> bool:
        current = loop_api().current_loop
        return any(
            value is not None and calls_one_of(self, value, current)
            for value in self.bound_values(local)
        )

    def also_given(self, local: LocalLoop) -> bool:
        """The variable can also hold a loop from elsewhere: a parameter, a factory's result."""
        new_loop = loop_api().new_loop
        return any(
            value is None or not calls_one_of(self, value, new_loop)
            for value in self.bound_values(local)
        )

    def message(self, local: LocalLoop, uses: list[LoopUse]) -> str:
        lifecycle = "created, run and closed" if self.closed(local, uses) else "created and run"
        return (
            f"event loop `{local.name}` {lifecycle} by hand; asyncio.run() does this and also "
            "cancels leftover tasks, finalises async generators and closes the loop"
        )

    def fix(self, function: cst.FunctionDef, local: LocalLoop, uses: list[LoopUse]) -> Fix | None:
        runs = of_kind(uses, Use.RUN)
        if len(runs) != 1 or of_kind(uses, Use.OTHER) or local.bindings != 1:
            return None
        run_call = runs[0].node
        assert isinstance(run_call, cst.Call)
        argument = sole_argument(run_call)
        if argument is None or not asyncio_run_accepts(self, run_call):
            return None
        is_coroutine = coroutine_argument(self, argument)
        closed = self.closed(local, uses)
        safety = Safety.SAFE if closed and is_coroutine else Safety.UNSAFE

        rewrite = LifecycleRewrite(self)
        rewrite.run_with_asyncio_run(run_call)
        rewrite.retire_binding(local)
        rewrite.delete_all(use.node for use in of_kind(uses, Use.TEARDOWN, Use.SET_CURRENT))
        rewrite.delete_set_current_none(function)
        return rewrite.build(safety, "Run the coroutine with asyncio.run()")
