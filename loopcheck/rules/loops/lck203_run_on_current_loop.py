from __future__ import annotations

import libcst as cst

from loopcheck.analysis.loop_uses import RunningBranch, Use, of_kind, sole_argument
from loopcheck.engine.diagnostics import FixProposal, NoFix, Safety, SafeWhen
from loopcheck.engine.rule import Invalid, Rule, RuleDocs, Valid
from loopcheck.fixes.lifecycle import (
    RUN_NAMES,
    RUN_UNLESS_RUNNING_NAMES,
    asyncio_run_instead,
    asyncio_run_unless_running,
    loop_statements,
    removed_comments,
)
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.loops.wording import (
    beyond_runs,
    callers_note,
    callers_reason,
    executor_wait_reason,
    helper_parameters,
    refused_by_asyncio_run,
    shared_by_runs_reason,
    unproven_note,
    unproven_reason,
)

# `run = asyncio.get_event_loop().run_until_complete`: the alias would name a loop that is gone.
ALIASED = "its `run_until_complete` is kept in a variable and called from there"


# What the examples whose loop comes from asyncio.get_event_loop() in a plain function report.
GET_EVENT_LOOP_IN_SYNC_CODE = (
    "3:12 run_until_complete() on asyncio.get_event_loop() (through `loop`) in synchronous code: there is no"
    " current loop in worker threads or after asyncio.run(); use asyncio.run()"
)

class RunOnCurrentLoop(Rule):
    code = "LCK203"
    name = "run-until-complete-on-current-loop"
    summary = "asyncio.get_event_loop().run_until_complete() in synchronous code; use asyncio.run()"
    fix_kind = "unsafe"
    instead = "run a coroutine with asyncio.run(), or hold an asyncio.Runner where one loop is kept on purpose"
    starts_from = (
        Start(calls=("loop.current",), where=(Where.MODULE, Where.CLASS, Where.DEFAULT, Where.FUNCTION),
              also_methods=("run_until_complete",)),
    )

    docs = RuleDocs(
        tier_reason=(
            "In a thread without a current loop (a thread pool, a scheduler, after an `asyncio.run()`) "
            "`get_event_loop()` raises `RuntimeError: There is no current event loop`, and from Python "
            "3.14 it raises in the main thread too."
        ),
        what_it_does="""\
Finds synchronous code that runs a coroutine with
`asyncio.get_event_loop().run_until_complete(...)`, directly or through a local variable,
including the "current loop, or a new one" helpers (`try: get_event_loop() except RuntimeError:
new_event_loop()` and `if loop.is_closed(): new_event_loop()`). Not reported: code in a module or
function that applies `nest_asyncio` (or `nest_asyncio2`), which re-enters the current loop on
purpose (LCK205 reports the patch), and code that only shuts the thread's existing loop down
(`run_until_complete()` of a coroutine that only awaits `loop.shutdown_asyncgens()`, then
`loop.close()`), which `asyncio.run()` cannot replace.""",
        why_is_this_bad="""\
`get_event_loop()` does not make a loop for you anywhere but the main thread, and even there only
until a loop has been set or unset once. In a worker thread (a thread pool, a scheduler job, a
threaded Celery pool) it raises `RuntimeError: There is no current event loop in thread ...`;
after an `asyncio.run()` anywhere in the same thread it raises the same error in the main thread;
after another helper closed the loop it returns that closed loop (`Event loop is closed`). Where it
does work, every call shares one loop that is never closed, so loop-bound objects from one call
leak into the next. Python 3.12 and 3.13 warn (`DeprecationWarning: There is no current event
loop`) when the call has to create the loop, and from 3.14 it raises `RuntimeError` whenever no
loop is current, in the main thread too.

The "current loop, or a new one" helper (`try: loop = get_event_loop() except RuntimeError: loop =
new_event_loop(); set_event_loop(loop)`) survives the missing loop, but each thread that runs it
keeps a loop of its own that is never closed, and every object bound to that loop outlives it.""",
        example="""\
import asyncio


def fetch_prices(symbols):
    loop = asyncio.get_event_loop()
    return loop.run_until_complete(download(symbols))""",
        use_instead="""\
```python
def fetch_prices(symbols):
    return asyncio.run(download(symbols))
```

`asyncio.run()` works in any thread that is not already running a loop, and cleans up after
itself. Code that deliberately keeps one loop for its whole life should hold an
`asyncio.Runner` (3.11+) instead (see LCK202).""",
        fix_safety="""\
Unsafe: `asyncio.run()` closes its loop after each call, where the original kept reusing the
thread's current loop, so objects bound to that loop (clients, locks, tasks) no longer carry over
from one call to the next. It also takes the thread's current loop away: when it returns, no loop
is current, so a caller that had set one up (an application, IPython, a test session) and later
calls `asyncio.get_event_loop()` in the same thread gets `RuntimeError: There is no current event
loop in thread 'MainThread'` (measured on 3.10 to 3.13), where the original left its loop current.
The local holding the loop is removed when running coroutines was its only use. No fix (the message says
why) when the
argument is not visibly a coroutine call: a Future (`asyncio.gather(...)`) or a variable that may
hold one, which `run_until_complete()` takes and `asyncio.run()` refuses; nor when the local
is used for anything else; nor when two runs call methods of one object (`client.start()`, then
`client.close()` after it fails): what the first binds to its loop, the second could not use on
a loop of its own (run them from one coroutine). A helper that runs its own parameter (`def run_async(coro): return
asyncio.get_event_loop().run_until_complete(coro)`) gets `return asyncio.run(coro)`: unsafe, its
title saying that a caller passing a Future or another awaitable would fail with 'a coroutine was
expected', unless the project model shows that every caller of the helper passes a call of an
`async def` there (never passed on, never given unpacked arguments): then it is safe, and only the
thread's current loop after the call differs (above), which only code that calls
`asyncio.get_event_loop()` outside a coroutine can see, and loopcheck reports that code. When the argument is a call but not provably a coroutine (a call of
anything but an `async def` of the module), the fix's title says that it may return a Future.
No fix, with the reason in the message, when the coroutine reaches `run_in_executor(None, ...)` or
`asyncio.to_thread()` in the module: `asyncio.run()` waits for the default executor's threads when
it ends, so a job left running there would make a program that exits today hang.

A helper that makes a task when the loop is already running (`if loop.is_running(): return
loop.create_task(coro) else: return loop.run_until_complete(coro)`, also with
`asyncio.ensure_future(coro)` or `asyncio.ensure_future(coro, loop=loop)`, both branches
assigning one name, the test negated (`if not loop.is_running():`, the run first), or no `else`
where the `if` returns and the statement after it returns the other call) gets `try: loop =
asyncio.get_running_loop() except RuntimeError: return asyncio.run(coro)`, then the task as
before: `get_event_loop()` returns a running loop exactly when `get_running_loop()` succeeds
(measured on 3.10 to 3.13), so that branch is unchanged, `loop=loop` included: it names the
same running loop (`ensure_future()`'s `loop` parameter is not deprecated, and with the running
loop it makes the same task as without it, measured on 3.9 to 3.13). Unsafe, never safe: where
no loop runs, each call gets a new loop instead of the thread's current loop kept from call to
call (objects bound to it no longer carry over), no loop is current afterwards, and a Future
passed as the argument would fail. Only that shape: anything else that uses the loop (closing
it, another method, passing it on), a task of another loop or coroutine, an `elif`, or an
assignment in an `if` without `else` (the run would follow it) keeps no fix.""",
        affected_versions="""\
All supported versions: in a non-main thread the call fails on 3.10 to 3.13 alike; 3.12 and
3.13 also warn in the main thread when no loop is set; from 3.14 (documented in its changelog, not
measured here) the call raises in the main thread as well.""",
        references=(
            "https://docs.python.org/3/library/asyncio-eventloop.html#asyncio.get_event_loop",
            "https://docs.python.org/3/library/asyncio-runner.html#asyncio.run",
        ),
    )
    invalid = (
        Invalid(
            "import asyncio\n"
            "def fetch(symbols):\n"
            "    return asyncio.get_event_loop().run_until_complete(download(symbols))\n",
            message=(
                "3:12 run_until_complete() on asyncio.get_event_loop() in synchronous code: there "
                "is no current loop in worker threads or after asyncio.run(); use asyncio.run()"
            ),
            fix=(
                "import asyncio\n"
                "def fetch(symbols):\n"
                "    return asyncio.run(download(symbols))\n"
            ),
            safety="unsafe",
        ),
        Invalid(
            "import asyncio\n"
            "def fetch(symbols):\n"
            "    loop = asyncio.get_event_loop()\n"
            "    return loop.run_until_complete(download(symbols))\n",
            message=GET_EVENT_LOOP_IN_SYNC_CODE,
            fix=(
                "import asyncio\n"
                "def fetch(symbols):\n"
                "    return asyncio.run(download(symbols))\n"
            ),
            safety="unsafe",
        ),
        Invalid(
            "import asyncio\n"
            "def run_async(coro):\n"
            "    loop = asyncio.get_event_loop()\n"
            "    if loop.is_running():\n"
            "        return loop.create_task(coro)\n"
            "    else:\n"
            "        return loop.run_until_complete(coro)\n",
            message=GET_EVENT_LOOP_IN_SYNC_CODE,
            fix=(
                "import asyncio\n"
                "def run_async(coro):\n"
                "    try:\n"
                "        loop = asyncio.get_running_loop()\n"
                "    except RuntimeError:\n"
                "        return asyncio.run(coro)\n"
                "    return loop.create_task(coro)\n"
            ),
            safety="unsafe",
        ),
    )
    valid = (
        Valid("import asyncio\ndef fetch(symbols):\n    return asyncio.run(download(symbols))\n"),
        Valid(
            "import asyncio\n"
            "def schedule(callback):\n"
            "    asyncio.get_event_loop().call_soon(callback)\n",
        ),
        # Shutting down the thread's existing loop.
        Valid(
            "import asyncio\n"
            "def close_current_loop():\n"
            "    loop = asyncio.get_event_loop()\n"
            "    async def close_loop():\n"
            "        await loop.shutdown_asyncgens()\n"
            "    loop.run_until_complete(close_loop())\n"
            "    loop.close()\n",
        ),
    )

    def check(self) -> None:
        analysis = self.analysis
        uses_of = analysis.loop_uses
        for call in uses_of.current_loop_calls(in_coroutine=False):
            if uses_of.reentry_allowed(call):
                continue
            direct = uses_of.classify(call)
            if direct.kind is Use.RUN and not uses_of.runs_teardown(direct.node):  # type: ignore[arg-type]
                run_call = direct.node
                assert isinstance(run_call, cst.Call)
                self.report_run(call, self.message(), [run_call], uses_of.loop_set_up(call))
                continue
            if uses_of.aliased_runs(call):  # `run = asyncio.get_event_loop().run_until_complete`
                self.report(call, self.message(), NoFix(ALIASED))
                continue
            holder = analysis.holders.of(call)
            if not analysis.kept_loops.run_in_place(holder) or holder.value is not call:
                continue
            # `try: loop = get_event_loop() except RuntimeError: loop = new_event_loop() ...`
            fallback = analysis.current_or_new.fallback(holder)
            if fallback is not None:
                refs = analysis.current_or_new.references(holder, fallback)
            else:
                refs = holder.reads
            uses = uses_of.uses_of(refs)
            runs = [use.node for use in of_kind(uses, Use.RUN) if isinstance(use.node, cst.Call)]
            runs += [alias_run for ref in refs for alias_run in uses_of.aliased_runs(ref)]
            if of_kind(uses, Use.SERVE, Use.ESCAPE) or all(uses_of.runs_teardown(run) for run in runs):
                continue  # no runs, or only ones that shut the thread's existing loop down
            exclusive = analysis.flow.sole_binding_of(holder.reads, holder.target)  # type: ignore[arg-type]
            other = of_kind(uses, Use.OTHER)
            # `if loop.is_running(): <a task> else: <the run>`
            branch = uses_of.running_branch(uses) if other else None
            declined = None
            if other and branch is None:
                declined = NoFix(beyond_runs(analysis, other[0]))
            elif not exclusive and fallback is None:
                declined = NoFix(f"`{holder.name}` may also hold another loop where it is run")
            elif (shared := uses_of.shared_receiver(runs)) is not None:
                declined = NoFix(shared_by_runs_reason(shared))
            retired: list[cst.CSTNode] = [
                holder.store,  # type: ignore[list-item]
                *(use.node for use in of_kind(uses, Use.TEARDOWN, Use.SET_CURRENT)),
            ]
            if fallback is not None:
                retired.append(fallback)
            retired.extend(uses_of.loop_set_up(call))
            message = self.fallback_message(holder.name) if fallback is not None else self.message(holder.name)
            if declined is None:
                self.report_run(call, message, runs, retired, branch)
            else:
                self.report(call, message, declined)

    def report_run(
        self,
        call: cst.Call,
        message: str,
        runs: list[cst.Call],
        retired: list[cst.CSTNode],
        branch: RunningBranch | None = None,
    ) -> None:
        """The finding with its fix, or with the reason there is none where asyncio.run() would
        wait for a job the coroutine left in the default executor (the program would hang).
        ``branch``: the ``is_running()`` branch the runs are in."""
        arguments = [arg for run in runs if (arg := sole_argument(run)) is not None]
        reason = executor_wait_reason(self.analysis, arguments)
        if reason is not None:
            self.report(call, message, NoFix(reason))
        elif branch is not None:
            self.report(call, message, self.fix_unless_running(branch, retired))
        else:
            self.report(call, message, self.fix(runs, retired))

    def fix_unless_running(self, found: RunningBranch, retired: list[cst.CSTNode]) -> FixProposal | NoFix:
        """The task stays for a running loop; otherwise asyncio.run() runs the coroutine on a
        loop of its own. Never safe: the kept loop no longer carries over from call to call."""
        analysis = self.analysis
        refused = refused_by_asyncio_run(analysis, found.run, unknown=True)
        if refused is not None:
            return NoFix(refused)

        def build() -> tuple:
            return asyncio_run_unless_running(self.context, found, retired)

        argument = found.run.args[0].value
        removes = removed_comments(self.context, None, *loop_statements(analysis.tree, retired))
        title = (
            "Run the coroutine with asyncio.run() where no loop is running; a running loop still gets "
            f"the task{removes} (unsafe: each such call runs on a new loop instead of the thread's "
            "current loop kept from call to call, and leaves no loop current"
        )
        parameters = helper_parameters(analysis, [argument])
        argument_reason = callers_reason(parameters) if parameters else unproven_reason(analysis, [argument])
        if argument_reason:
            title += f"; {argument_reason}"
        return self.propose(Safety.UNSAFE, title + ")", build, RUN_UNLESS_RUNNING_NAMES)

    def message(self, name: str | None = None) -> str:
        through = f" (through `{name}`)" if name else ""
        return (
            f"run_until_complete() on asyncio.get_event_loop(){through} in synchronous code: "
            "there is no current loop in worker threads or after asyncio.run(); "
            "use asyncio.run()"
        )

    def fallback_message(self, name: str | None) -> str:
        return (
            f"run_until_complete() on the current loop or a new one (through `{name}`): each "
            "thread that runs this keeps a loop that is never closed, and the objects bound to "
            "it outlive it; use asyncio.run()"
        )

    def fix(self, runs: list[cst.Call], retired: list[cst.CSTNode]) -> FixProposal | NoFix:
        """Every run becomes asyncio.run(); what only held, set up or tore down the loop
        (``retired``) goes."""
        analysis = self.analysis
        for run_call in runs:
            refused = refused_by_asyncio_run(analysis, run_call, unknown=True)
            if refused is not None:
                return NoFix(refused)

        def build() -> tuple:
            return asyncio_run_instead(self.context, runs, retired)

        arguments = [run_call.args[0].value for run_call in runs]
        removes = removed_comments(self.context, None, *loop_statements(analysis.tree, retired))
        title = f"Run the coroutine with asyncio.run(){removes}"
        parameters = helper_parameters(analysis, arguments)
        if parameters:
            safe_when = SafeWhen(parameters, title)
            return self.propose(Safety.UNSAFE, title + callers_note(parameters), build, RUN_NAMES, safe_when)
        return self.propose(Safety.UNSAFE, title + unproven_note(analysis, arguments), build, RUN_NAMES)
