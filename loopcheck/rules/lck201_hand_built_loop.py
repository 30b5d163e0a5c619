from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Held, Holder
from loopcheck.analysis.loop_uses import LoopUse, Use, of_kind, sole_argument
from loopcheck.candidates import FUNCTION, Start
from loopcheck.diagnostics import FixProposal, Safety
from loopcheck.fixes.lifecycle import RUN_NAMES, RUN_WITH_FACTORY_NAMES, RUNNER_NAMES, LifecycleRewrite
from loopcheck.rule import Rule, RuleDocs


class HandBuiltLoop(Rule):
    code = "LCK201"
    name = "hand-built-event-loop"
    summary = "event loop created, run and closed by hand; use asyncio.run()"
    fix_kind = "safe or unsafe"
    starts_from = (Start(calls=("loop.new",), where=(FUNCTION,)),)

    docs = RuleDocs(
        what_it_does="""\
Finds functions that build an event loop by hand to run one coroutine:
`new_event_loop()`, usually `set_event_loop()`, `run_until_complete()` and `close()`, in a
`try`/`finally` or not, or in `with contextlib.closing(asyncio.new_event_loop()) as loop:`. Each
binding of the loop variable is judged on its own: a name bound once to the current loop and
later to a new one, or to a new loop in each branch, is several loops.""",
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

`asyncio.run()` makes its loop the thread's current loop and, when it ends, leaves the thread with
no current loop at all. A function that builds a private loop without `set_event_loop()` leaves
its caller's current loop alone (a test session's loop, an application's loop), so the fix keeps
it alone too, with a runner built on `asyncio.new_event_loop` that never touches the current
loop:

```python
def sync_report(job_id):
    return asyncio.run(build_report(job_id), loop_factory=asyncio.new_event_loop)  # 3.12+


def sync_report(job_id):
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:  # 3.11
        return runner.run(build_report(job_id))
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
`run_until_complete()` call becomes `asyncio.run()` (for a loop made current with
`set_event_loop()`), or a runner with `loop_factory=asyncio.new_event_loop` (for a loop that never
was: `asyncio.run(..., loop_factory=...)` on Python 3.12 and newer, `asyncio.Runner` on 3.11, and
no fix where the code must run on 3.10, which has neither). Both additionally cancel tasks left
running. Unsafe when the function does not close the loop (later code may have relied on it
staying current), or when the argument is not visibly a coroutine call (`asyncio.run()` accepts
only coroutines). No fix when the loop is passed on, runs more than one coroutine, the variable
may also hold another loop at the same place, or the argument is a Future
(`asyncio.gather(...)`). The Python version is `target-version`, else the project's
`requires-python`, else the running interpreter's.""",
        affected_versions="""\
All supported versions (measured on 3.10 to 3.13: the same messages on each).
`asyncio.Runner` exists from 3.11, `asyncio.run(loop_factory=...)` from 3.12.""",
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
        # Bound twice: the second binding is a loop of its own.
        "import asyncio\n"
        "def run(job):\n"
        "    loop = asyncio.get_event_loop()\n"
        "    loop.call_soon(print)\n"
        "    loop = asyncio.new_event_loop()\n"
        "    asyncio.set_event_loop(loop)\n"
        "    return loop.run_until_complete(job())\n",
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

    def check(self) -> None:
        analysis = self.analysis
        tree = analysis.tree
        for call in analysis.names.calls_to(analysis.catalogue.loop_api.new_loop):
            function = tree.enclosing_function(call)
            if not isinstance(function, cst.FunctionDef) or function.asynchronous is not None:
                continue  # module level runs once; inside a coroutine LCK204 reports the run
            holder = analysis.holders.of(call)
            if holder.kind is not Held.LOCAL or not isinstance(holder.target, cst.Name):
                continue  # kept beyond the call (LCK202), or handed on
            others = self.other_bindings(holder)
            if any(self.binds_current_loop(b) for b in others):
                continue  # "the current loop, or a new one": LCK203
            if any(not self.binds_new_loop(b) for b in others):
                continue  # `if loop is None: loop = new_event_loop()`: the caller may own the loop
            if any(tree.precedes(other, call) for other in others):
                continue  # one lifecycle with several creations: reported at the first
            uses = analysis.loop_uses.uses_of(holder.reads)
            if of_kind(uses, Use.SERVE, Use.ESCAPE):
                continue  # a long-lived loop, or one whose lifetime is managed elsewhere
            runs = of_kind(uses, Use.RUN)
            if not runs or any(analysis.loop_uses.known_running(r.node) for r in runs):
                continue  # no run, or a run where a loop already runs (LCK206)
            self.report(call, self.message(holder, uses), self.fix(function, holder, uses, others))

    def other_bindings(self, holder: Holder) -> set[cst.CSTNode]:
        """The other bindings of the variable that its reads may see."""
        flow = self.analysis.flow
        seen: set[cst.CSTNode] = set()
        for read in holder.reads:
            if isinstance(read, cst.Name):
                seen |= flow.reaching(read)
        seen.discard(holder.target)  # type: ignore[arg-type]
        return seen

    def bound_value(self, binding: cst.CSTNode) -> cst.BaseExpression | None:
        return self.analysis.holders.value_bound_by(binding)

    def binds_current_loop(self, binding: cst.CSTNode) -> bool:
        value = self.bound_value(binding)
        return value is not None and self.analysis.names.calls(value, self.analysis.catalogue.loop_api.current_loop)

    def binds_new_loop(self, binding: cst.CSTNode) -> bool:
        value = self.bound_value(binding)
        return value is not None and self.analysis.names.calls(value, self.analysis.catalogue.loop_api.new_loop)

    def closed(self, holder: Holder, uses: list[LoopUse]) -> bool:
        return bool(of_kind(uses, Use.TEARDOWN)) or isinstance(holder.store, cst.WithItem)

    def message(self, holder: Holder, uses: list[LoopUse]) -> str:
        lifecycle = "created, run and closed" if self.closed(holder, uses) else "created and run"
        return (
            f"event loop `{holder.name}` {lifecycle} by hand; asyncio.run() does this and also "
            "cancels leftover tasks, finalises async generators and closes the loop"
        )

    def fix(
        self, function: cst.FunctionDef, holder: Holder, uses: list[LoopUse], others: set[cst.CSTNode]
    ) -> FixProposal | None:
        runs = of_kind(uses, Use.RUN)
        if len(runs) != 1 or of_kind(uses, Use.OTHER) or others:
            return None
        run_call = runs[0].node
        assert isinstance(run_call, cst.Call)
        loop_uses = self.analysis.loop_uses
        argument = sole_argument(run_call)
        if argument is None or not loop_uses.asyncio_run_accepts(run_call):
            return None
        closed = self.closed(holder, uses)
        safety = Safety.SAFE if closed and loop_uses.coroutine_argument(argument) else Safety.UNSAFE
        made_current = bool(of_kind(uses, Use.SET_CURRENT))
        teardown = [use.node for use in of_kind(uses, Use.TEARDOWN, Use.SET_CURRENT)]
        if made_current:
            def build() -> tuple:
                rewrite = LifecycleRewrite(self.context)
                rewrite.run_with_asyncio_run(run_call)
                rewrite.retire_binding(holder)
                rewrite.statements.delete_all([*teardown, *loop_uses.set_current_none_statements(function)])
                return rewrite.build()

            return self.propose(safety, "Run the coroutine with asyncio.run()", build, RUN_NAMES)
        if self.context.supports((3, 12)):
            def build() -> tuple:
                rewrite = LifecycleRewrite(self.context)
                rewrite.run_with_asyncio_run(run_call, loop_factory=True)
                rewrite.retire_binding(holder)
                rewrite.statements.delete_all(teardown)
                return rewrite.build()

            return self.propose(
                safety,
                "Run the coroutine with asyncio.run(loop_factory=asyncio.new_event_loop)",
                build,
                RUN_WITH_FACTORY_NAMES,
            )
        if self.context.supports((3, 11)):
            return self.runner_fix(function, holder, run_call, teardown, safety)
        return None  # Python 3.10 has no runner that leaves the current loop alone

    def runner_fix(
        self,
        function: cst.FunctionDef,
        holder: Holder,
        run_call: cst.Call,
        teardown: list[cst.CSTNode],
        safety: Safety,
    ) -> FixProposal | None:
        """``with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:`` around the
        statements that use the loop (3.11, where asyncio.run() has no loop_factory)."""
        tree = self.analysis.tree
        runner = self.fresh_local(function, "runner")
        if isinstance(holder.store, cst.WithItem):
            statement = tree.parents[holder.store]
            assert isinstance(statement, cst.With)

            def build_with() -> tuple:
                rewrite = LifecycleRewrite(self.context)
                rewrite.builder.replace(holder.store, rewrite.runner_with_item(runner))
                rewrite.builder.drop_imports_used_by(holder.store)
                rewrite.run_in_runner(run_call, runner)
                rewrite.statements.delete_all(teardown)
                return rewrite.build()

            return self.propose(safety, "Run the coroutine in an asyncio.Runner", build_with, RUNNER_NAMES)
        line = tree.parents.get(holder.store)
        block = tree.parents.get(line) if line is not None else None
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1 or not isinstance(
            block, cst.IndentedBlock
        ):
            return None
        statements = list(block.body)
        start = next(i for i, s in enumerate(statements) if s is line)
        last = start
        for read in holder.reads:
            if not tree.within(read, block):
                return None
            index = next(i for i, s in enumerate(statements) if tree.within(read, s))
            last = max(last, index)
        if last == start:
            return None

        def build() -> tuple:
            rewrite = LifecycleRewrite(self.context)
            rewrite.run_in_runner(run_call, runner)
            rewrite.statements.delete_all(teardown)
            rewrite.wrap_in_runner(line, statements[last], runner)
            return rewrite.build()

        return self.propose(safety, "Run the coroutine in an asyncio.Runner", build, RUNNER_NAMES)

    def fresh_local(self, function: cst.FunctionDef, wanted: str) -> str:
        scope = self.analysis.scopes.get(function.body.body[0]) if function.body.body else None
        name, number = wanted, 1
        while scope is not None and name in scope:
            number += 1
            name = f"{wanted}_{number}"
        return name
