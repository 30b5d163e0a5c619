from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from loopcheck.analysis import Held, Holder
from loopcheck.analysis.loop_uses import LoopUse, Use, of_kind, sole_argument
from loopcheck.analysis.tree import descendants
from loopcheck.engine.diagnostics import FixProposal, NoFix, Safety, SafeWhen
from loopcheck.engine.rule import Invalid, Rule, RuleDocs, Valid
from loopcheck.fixes.lifecycle import (
    RUN_NAMES,
    RUN_WITH_FACTORY_NAMES,
    RUNNER_NAMES,
    LifecycleRewrite,
    removed_comments,
)
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.loops.wording import (
    beyond_runs,
    callers_note,
    executor_wait_reason,
    helper_parameters,
    refused_by_asyncio_run,
    unproven_note,
)

# A fix's safety, its title's note on why it is unsafe, and the helper parameters that would make
# it safe where every caller passes a coroutine.
Verdict = tuple[Safety, str, tuple[tuple[str, str], ...]]

# nest_asyncio's asyncio.run() reuses a running loop, and asyncio.Runner refuses to start in one.
REENTRANT_NOTE = " (unsafe: the module applies nest_asyncio, under which the new run may not get a loop of its own)"
LEFT_OPEN_NOTE = " (unsafe: the loop was left open, and asyncio.run() closes it)"
LEFT_CURRENT_NOTE = (
    " (unsafe: the thread is then left with no current loop, where the closed loop stayed current;"
    " an asyncio.set_event_loop(None) beside its close makes this safe)"
)


class HandBuiltLoop(Rule):
    code = "LCK201"
    name = "hand-built-event-loop"
    summary = "event loop created, run and closed by hand; use asyncio.run()"
    fix_kind = "safe or unsafe"
    instead = "run a coroutine with asyncio.run() in place of the loop, or hold an asyncio.Runner (3.11+)"
    starts_from = (Start(calls=("loop.new",), where=(Where.FUNCTION,)),)

    docs = RuleDocs(
        tier_reason=(
            "Closing the loop by hand destroys the tasks still running (`Task was destroyed but it is "
            "pending!`), skips async generators' `finally` blocks, and leaves a closed loop current, so "
            "the thread's next `get_event_loop()` returns a loop that raises `RuntimeError: Event loop is "
            "closed`."
        ),
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
running. Safe needs the argument to be provably a coroutine: a call of an `async def` the module
defines (or `self.method()` of an async method of the class), since `asyncio.run()` accepts only
coroutines. Unsafe, with the title saying why, when it is anything else (a parameter, a call of
a parameter, an imported function, a client's method, which may return a Future as Motor's do);
a helper's parameter (`def run(coro): ... loop.run_until_complete(coro)`) is safe again where
the project model shows every caller of the helper passes a call of an `async def` and nothing
passes the helper on;
when the function does not close the loop (later code may have relied on it staying current), when
a loop made current is not unset with `asyncio.set_event_loop(None)` beside its close
(`asyncio.run()` leaves the thread with no current loop, where the original left its closed loop
current for a later `get_event_loop()` to return), or when the module applies `nest_asyncio` (its `asyncio.run()` reuses a running loop, and
`asyncio.Runner` refuses to start in one). No fix, with the reason in the message, when the fix could change what a working program does:
the loop runs more than once (in a `for` or `while` loop, a comprehension or a nested function:
a fresh loop per run would end the tasks an earlier run left running); the `with` that closes it
also enters other context managers; the loop was made current and the argument, or other code
that runs while it is current (not the body of a function defined there, which runs when it is
called: a nested `async def` the loop runs runs on the loop either way), calls anything but a
coroutine function of the module or a plain builtin (`asyncio.Future()` there would belong to another loop once `set_event_loop()` is gone
and `asyncio.run()` makes its loop current only when it starts); or the coroutine reaches
`run_in_executor(None, ...)` or `asyncio.to_thread()` in the module (`asyncio.run()` and the
runner wait for the default executor's threads when they end, where `loop.close()` did not: a
job left running would make the program hang). Nor, again with the reason in the message, when
the function runs the loop more than once (run the coroutines from one coroutine, or keep an
`asyncio.Runner`, as above), the loop is passed on or used outside the run, the variable may also
hold another loop at the same place, or the argument is a Future (`asyncio.gather(...)`).
The Python version is the file's own: the nearest `target-version`, `requires-python` or
`python_requires` above it, else the oldest Python loopcheck supports.""",
        affected_versions="""\
All supported versions (measured on 3.10 to 3.13: the same messages on each).
`asyncio.Runner` exists from 3.11, `asyncio.run(loop_factory=...)` from 3.12.""",
        references=(
            "https://docs.python.org/3/library/asyncio-runner.html#asyncio.run",
            "https://docs.python.org/3/library/asyncio-runner.html#asyncio.Runner",
        ),
    )
    invalid = (
        Invalid(
            "import asyncio\n"
            "def run(job):\n"
            "    loop = asyncio.new_event_loop()\n"
            "    asyncio.set_event_loop(loop)\n"
            "    try:\n"
            "        return loop.run_until_complete(job())\n"
            "    finally:\n"
            "        loop.close()\n",
            message=(
                "3:12 event loop `loop` created, run and closed by hand; asyncio.run() does this "
                "and also cancels leftover tasks, finalises async generators and closes the loop"
            ),
            fix=(
                "import asyncio\n"
                "def run(job):\n"
                "    return asyncio.run(job())\n"
            ),
            safety="unsafe",
        ),
        Invalid(
            "from asyncio import new_event_loop\n"
            "def run(job):\n"
            "    loop = new_event_loop()\n"
            "    result = loop.run_until_complete(job(loop))\n"
            "    loop.close()\n"
            "    return result\n",
            message=(
                "3:12 event loop `loop` created, run and closed by hand; asyncio.run() does this "
                "and also cancels leftover tasks, finalises async generators and closes the loop; "
                "no fix: the loop is passed on to other code, which may keep using it"
            ),
        ),
        # Bound twice: the second binding is a loop of its own.
        Invalid(
            "import asyncio\n"
            "def run(job):\n"
            "    loop = asyncio.get_event_loop()\n"
            "    loop.call_soon(print)\n"
            "    loop = asyncio.new_event_loop()\n"
            "    asyncio.set_event_loop(loop)\n"
            "    return loop.run_until_complete(job())\n",
            message=(
                "5:12 event loop `loop` created and run by hand; asyncio.run() does this and also "
                "cancels leftover tasks, finalises async generators and closes the loop"
            ),
            fix=(
                "import asyncio\n"
                "def run(job):\n"
                "    loop = asyncio.get_event_loop()\n"
                "    loop.call_soon(print)\n"
                "    return asyncio.run(job())\n"
            ),
            safety="unsafe",
        ),
        # A coroutine of the module, on a loop closed and unset here: nothing else can tell.
        Invalid(
            "import asyncio\n"
            "async def job():\n"
            "    await asyncio.sleep(0)\n"
            "def run():\n"
            "    loop = asyncio.new_event_loop()\n"
            "    asyncio.set_event_loop(loop)\n"
            "    try:\n"
            "        return loop.run_until_complete(job())\n"
            "    finally:\n"
            "        loop.close()\n"
            "        asyncio.set_event_loop(None)\n",
            message=(
                "5:12 event loop `loop` created, run and closed by hand; asyncio.run() does this and also "
                "cancels leftover tasks, finalises async generators and closes the loop"
            ),
            fix=(
                "import asyncio\n"
                "async def job():\n"
                "    await asyncio.sleep(0)\n"
                "def run():\n"
                "    return asyncio.run(job())\n"
            ),
            safety="safe",
        ),
    )
    valid = (
        Valid("import asyncio\ndef run(job):\n    return asyncio.run(job())\n"),
        # A pytest fixture: the loop is handed to the tests and closed after them.
        Valid(
            "import asyncio, pytest\n"
            "@pytest.fixture\n"
            "def event_loop():\n"
            "    loop = asyncio.new_event_loop()\n"
            "    loop.run_until_complete(setup())\n"
            "    yield loop\n"
            "    loop.close()\n",
        ),
        # A server that runs forever on its own loop.
        Valid(
            "import asyncio\n"
            "def serve():\n"
            "    loop = asyncio.new_event_loop()\n"
            "    loop.run_until_complete(start())\n"
            "    loop.run_forever()\n",
        ),
    )

    def check(self) -> None:
        analysis = self.analysis
        tree = analysis.tree
        # Module level runs once; inside a coroutine LCK204 reports the run.
        for call, function in analysis.loop_uses.new_loops_in_synchronous_defs():
            holder = analysis.holders.of(call)
            if holder.kind is not Held.LOCAL or not isinstance(holder.target, cst.Name):
                continue  # kept beyond the call (LCK202), or handed on
            others = analysis.loop_uses.other_bindings(holder)
            api = analysis.catalogue.loop_api
            if any(analysis.loop_uses.binds_call(b, api.current_loop) for b in others):
                continue  # "the current loop, or a new one": LCK203
            if any(not analysis.loop_uses.binds_call(b, api.new_loop) for b in others):
                continue  # `if loop is None: loop = new_event_loop()`: the caller may own the loop
            if any(tree.precedes(other, call) for other in others):
                continue  # one lifecycle with several creations: reported at the first
            uses = analysis.loop_uses.uses_of(holder.reads)
            if of_kind(uses, Use.SERVE, Use.ESCAPE):
                continue  # a long-lived loop, or one whose lifetime is managed elsewhere
            runs = of_kind(uses, Use.RUN)
            if not runs or any(analysis.loop_uses.known_running(r.node) for r in runs):
                continue  # no run, or a run where a loop already runs (LCK206)
            self.report(call, self.message(holder, uses), self.fix(function, call, holder, uses, others))

    def closed(self, holder: Holder, uses: list[LoopUse]) -> bool:
        return bool(of_kind(uses, Use.TEARDOWN)) or isinstance(holder.store, cst.WithItem)

    def message(self, holder: Holder, uses: list[LoopUse]) -> str:
        lifecycle = "created, run and closed" if self.closed(holder, uses) else "created and run"
        if self.leftover_runs(uses):
            return (
                f"event loop `{holder.name}` {lifecycle} by hand, its leftover tasks cancelled and "
                "gathered by hand too: asyncio.run() does all of this in one call"
            )
        return (
            f"event loop `{holder.name}` {lifecycle} by hand; asyncio.run() does this and also "
            "cancels leftover tasks, finalises async generators and closes the loop"
        )

    def leftover_runs(self, uses: list[LoopUse]) -> list[LoopUse]:
        """The runs that gather the tasks the work left on the loop (a teardown written by hand)."""
        gathers = self.analysis.loop_uses.gathers_leftover_tasks
        return [use for use in of_kind(uses, Use.RUN) if isinstance(use.node, cst.Call) and gathers(use.node)]

    def fixable_run(self, holder: Holder, uses: list[LoopUse], others: set[cst.CSTNode]) -> cst.Call | NoFix:
        """The one run a fix would rewrite, when the loop's uses allow one at all; else why not."""
        runs = of_kind(uses, Use.RUN)
        leftover = self.leftover_runs(uses)
        if leftover and len(runs) - len(leftover) == 1:
            return NoFix(
                "it also cancels and gathers the loop's leftover tasks by hand, a teardown the fix does not rewrite"
            )
        if len(runs) != 1:
            work = len(runs) - len(leftover)
            return NoFix(f"it runs {work} coroutines that may share its objects; run them from one coroutine")
        other = of_kind(uses, Use.OTHER)
        if other:
            return NoFix(beyond_runs(self.analysis, other[0]))
        if others:
            return NoFix(f"`{holder.name}` may also hold another loop where it is run")
        run_call = runs[0].node
        assert isinstance(run_call, cst.Call)
        refused = refused_by_asyncio_run(self.analysis, run_call)
        return run_call if refused is None else NoFix(refused)

    def declined(self, creation: cst.Call, holder: Holder, uses: list[LoopUse], run_call: cst.Call) -> str | None:
        """Why a rewrite that looks possible would change what a working program does."""
        analysis = self.analysis
        code = analysis.module.code_for_node
        argument = sole_argument(run_call)
        assert argument is not None
        repeated = self.repeated_by(run_call, creation)
        if isinstance(repeated, (cst.For, cst.While, cst.BaseComp)):
            # A fresh loop per run would end the tasks an earlier run left running.
            return "the loop runs once per iteration of a loop"
        if repeated is not None:
            return "the loop runs in a nested function that may be called more than once"
        made_current = bool(of_kind(uses, Use.SET_CURRENT))
        statement = analysis.tree.parents.get(holder.store) if isinstance(holder.store, cst.WithItem) else None
        if (
            isinstance(statement, cst.With)
            and len(statement.items) > 1
            and (made_current or self.context.supports((3, 12)))
        ):
            return "the `with` statement also enters other context managers"
        coroutines = analysis.coroutines
        if made_current:
            early = coroutines.loop_dependent_call(argument)
            if early is not None:
                return f"`{code(early)}` in the argument would run before asyncio.run() makes its loop current"
            reader = self.reader_while_current(holder, uses, run_call)
            if reader is not None:
                return f"`{code(reader)}` runs while the loop is current and may use it, unlike after the fix"
        return executor_wait_reason(analysis, [argument])

    def reader_while_current(self, holder: Holder, uses: list[LoopUse], run_call: cst.Call) -> cst.Call | None:
        """A call that runs while the original's loop is current, outside the run (from the
        first ``set_event_loop()`` to the end of the loop's lifecycle), and may consult it."""
        tree = self.analysis.tree
        sets = [use.node for use in of_kind(uses, Use.SET_CURRENT)]
        teardown = [use.node for use in of_kind(uses, Use.TEARDOWN)]
        statement = tree.parents.get(holder.store) if isinstance(holder.store, cst.WithItem) else None
        ends = [statement] if statement is not None else [*teardown, run_call]
        start = min(sets, key=self.analysis.names.index_order)
        end = max(ends, key=self.analysis.names.index_order)
        function = tree.enclosing_function(run_call)
        assert function is not None
        # What the fix deletes does not run afterwards; set_event_loop(None) goes too.
        skip = [*sets, *teardown, run_call, *self.analysis.loop_uses.set_current_none_statements(function)]
        between = [
            node
            for node in descendants(function.body, cst.Call)
            if tree.precedes(start, node)
            and (tree.precedes(node, end) or tree.within(node, end))
            and not tree.within(node, *skip)
            and tree.enclosing_function(node) is function  # a nested def's body runs when called
        ]
        return self.analysis.coroutines.first_loop_dependent(between)

    def repeated_by(self, run_call: cst.Call, creation: cst.Call) -> cst.CSTNode | None:
        """The loop statement, comprehension or nested function between the loop's creation and
        its run: what may run it more than once."""
        for _, up in self.analysis.tree.ancestors(run_call):
            if self.analysis.tree.within(creation, up):
                return None
            if isinstance(up, (cst.For, cst.While, cst.BaseComp, cst.FunctionDef, cst.Lambda)):
                return up
        return None

    def fix(
        self,
        function: cst.FunctionDef,
        creation: cst.Call,
        holder: Holder,
        uses: list[LoopUse],
        others: set[cst.CSTNode],
    ) -> FixProposal | NoFix:
        run_call = self.fixable_run(holder, uses, others)
        if isinstance(run_call, NoFix):
            return run_call
        declined = self.declined(creation, holder, uses, run_call)
        if declined is not None:
            return NoFix(declined)
        made_current = bool(of_kind(uses, Use.SET_CURRENT))
        # asyncio.run() leaves the thread with no current loop; a loop made current and never
        # unset stays the current one, closed, for later get_event_loop() calls to find.
        unsets = self.analysis.loop_uses.own_unsets(function, uses)
        verdict = self.safety(holder, uses, run_call, left_current=made_current and not unsets)
        teardown = [use.node for use in of_kind(uses, Use.TEARDOWN, Use.SET_CURRENT)]
        if made_current:
            return self.asyncio_run_fix(run_call, holder, [*teardown, *unsets], verdict, loop_factory=False)
        if self.context.supports((3, 12)):
            return self.asyncio_run_fix(run_call, holder, teardown, verdict, loop_factory=True)
        if self.context.supports((3, 11)):
            return self.runner_fix(function, holder, run_call, teardown, verdict)
        major, minor = self.context.oldest_python
        return NoFix(
            f"the code must run on Python {major}.{minor}, which has no runner that leaves the current"
            " loop alone (asyncio.Runner is 3.11+: see target-version)"
        )

    def safety(self, holder: Holder, uses: list[LoopUse], run_call: cst.Call, left_current: bool) -> Verdict:
        """Safe when the argument is provably a coroutine, the loop is closed, nothing patches
        asyncio for re-entry and no closed loop is left current; else unsafe, with the title's
        note saying why, and the helper's parameter the argument is when the project model can
        still prove it (every caller passes a coroutine: :class:`SafeWhen`)."""
        argument = sole_argument(run_call)
        assert argument is not None
        proven = self.analysis.coroutines.proven(argument)
        reentrant = self.analysis.loop_uses.reentry_patched()
        closed = self.closed(holder, uses)
        otherwise_safe = closed and not reentrant and not left_current
        safety = Safety.SAFE if otherwise_safe and proven else Safety.UNSAFE
        parameters = helper_parameters(self.analysis, [argument]) if otherwise_safe and not proven else ()
        why = (
            (callers_note(parameters) if parameters else unproven_note(self.analysis, [argument]))
            or (REENTRANT_NOTE if reentrant else "")
            or ("" if closed else LEFT_OPEN_NOTE)
            or (LEFT_CURRENT_NOTE if left_current else "")
        )
        return safety, why, parameters

    def offer(self, verdict: Verdict, title: str, build: Callable[[], tuple], names: frozenset[str]) -> FixProposal:
        """The fix with ``title``, unsafe with the verdict's note, or safe where the project model
        proves what the note doubts."""
        safety, why, parameters = verdict
        safe_when = SafeWhen(parameters, title) if parameters else None
        return self.propose(safety, f"{title}{why}", build, names, safe_when)

    def asyncio_run_fix(
        self,
        run_call: cst.Call,
        holder: Holder,
        deleted: list[cst.CSTNode],
        verdict: Verdict,
        loop_factory: bool,
    ) -> FixProposal:
        """``asyncio.run()`` (with ``loop_factory=asyncio.new_event_loop`` where the loop was
        never made current: 3.12+) in place of the run, the loop's binding and ``deleted``."""

        def build() -> tuple:
            rewrite = LifecycleRewrite(self.context)
            rewrite.run_with_asyncio_run(run_call, loop_factory=loop_factory)
            rewrite.retire(holder, deleted)
            return rewrite.build()

        removes = removed_comments(self.context, holder, deleted)
        if loop_factory:
            title = "Run the coroutine with asyncio.run(loop_factory=asyncio.new_event_loop)"
            return self.offer(verdict, f"{title}{removes}", build, RUN_WITH_FACTORY_NAMES)
        return self.offer(verdict, f"Run the coroutine with asyncio.run(){removes}", build, RUN_NAMES)

    def runner_fix(
        self,
        function: cst.FunctionDef,
        holder: Holder,
        run_call: cst.Call,
        teardown: list[cst.CSTNode],
        verdict: Verdict,
    ) -> FixProposal | NoFix:
        """``with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:`` around the
        statements that use the loop (3.11, where asyncio.run() has no loop_factory)."""
        tree = self.analysis.tree
        runner = self.context.naming.fresh_local_name("runner", function)
        if isinstance(holder.store, cst.WithItem):
            statement = tree.parents[holder.store]
            assert isinstance(statement, cst.With)

            def build_with() -> tuple:
                rewrite = LifecycleRewrite(self.context)
                rewrite.builder.replace(holder.store, rewrite.runner_with_item(runner, holder.store))
                rewrite.builder.drop_imports_used_by(holder.store)
                rewrite.run_in_runner(run_call, runner)
                rewrite.retire(None, teardown)
                return rewrite.build()

            title = f"Run the coroutine in an asyncio.Runner{removed_comments(self.context, None, teardown)}"
            return self.offer(verdict, title, build_with, RUNNER_NAMES)
        line = tree.parents.get(holder.store)
        block = tree.parents.get(line) if line is not None else None
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1 or not isinstance(
            block, cst.IndentedBlock
        ):
            return NoFix("the loop is not created on a line of its own, which the runner's `with` needs")
        statements = list(block.body)
        start = next(i for i, s in enumerate(statements) if s is line)
        last = start
        for read in holder.reads:
            if not tree.within(read, block):
                return NoFix("the loop is used outside the block that creates it")
            index = next(i for i, s in enumerate(statements) if tree.within(read, s))
            last = max(last, index)
        if last == start:
            return NoFix("the loop is used only on the line that creates it")

        def build() -> tuple:
            rewrite = LifecycleRewrite(self.context)
            rewrite.run_in_runner(run_call, runner)
            rewrite.retire(None, teardown)
            rewrite.wrap_in_runner(line, statements[last], runner)
            return rewrite.build()

        title = f"Run the coroutine in an asyncio.Runner{removed_comments(self.context, None, teardown)}"
        return self.offer(verdict, title, build, RUNNER_NAMES)
