from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Held, Holder
from loopcheck.analysis.contexts import Runs
from loopcheck.analysis.kept_loops import KeptLoop, Obstacle
from loopcheck.analysis.loop_uses import LoopUse, Use, of_kind, sole_argument
from loopcheck.engine.diagnostics import FixProposal, NoFix, Safety, SafeWhen
from loopcheck.engine.rule import Invalid, Rule, RuleDocs, Valid
from loopcheck.fixes.lifecycle import RUN_NAMES, asyncio_run_instead, loop_statements, removed_comments
from loopcheck.prefilter.starts import Start
from loopcheck.rules.loops.wording import (
    SAME_ON_EVERY_VERSION,
    beyond_runs,
    callers_note,
    executor_wait_reason,
    helper_parameters,
    refused_by_asyncio_run,
    unproven_note,
)
from loopcheck.rules.wording import RUNS_WHERE, held_in


class PersistentLoop(Rule):
    code = "LCK202"
    name = "persistent-event-loop"
    summary = "event loop kept in a global or class attribute and reused by run_until_complete()"
    fix_kind = "unsafe"
    instead = "keep one asyncio.Runner for the worker's life, or asyncio.run() per call with per-loop objects"
    starts_from = (Start(calls=("loop.new", "loop.current"), also_methods=("run_until_complete",)),)

    docs = RuleDocs(
        tier_reason=(
            "Two threads running the kept loop at once raise `RuntimeError: This event loop is already "
            "running`, and objects made on it fail under any other loop."
        ),
        what_it_does="""\
Finds event loops created once and kept for reuse: in a module global (the `_worker_loop` with
its `get_worker_loop()` getter), a class attribute (`cls._loop`, built lazily or in the class
body), an attribute (`self._loop`) of an instance the whole process shares (a module-level
instance, a global singleton, a cached factory's instance; see LCK105), or a closure variable
(`nonlocal loop` in a scheduler job), and the `run_until_complete()` calls that reuse them, directly, through a getter (one that
builds the loop or only returns it), a local copy, or `_worker_loop or
asyncio.get_event_loop()`. The loop and each of its uses are reported. A loop closed after each
run by the function that runs it is not reused and not reported; a stale loop closed before the
next one is made is. Neither is a loop an ordinary object owns, or borrows, for its own life (made
or taken in `__init__`, `__enter__` or `start()`, closed in `close()` or `__exit__`), as
`asyncio.Runner` does: each instance has its own loop.""",
        why_is_this_bad="""\
A loop kept for the life of the process belongs to the thread that runs it. As soon as two
threads need it at once (a threaded Celery pool, APScheduler jobs, a `ThreadPoolExecutor`), the
second fails with `RuntimeError: This event loop is already running`. Every object created on it
(clients, locks, futures) is bound to it, so code that also uses `asyncio.run()` somewhere mixes
objects of two loops (`attached to a different loop`). Tasks left over by one call keep running,
or stay pending, into the next one, and the loop is never properly shut down.""",
        example="""\
import asyncio

_worker_loop = None


def get_worker_loop():
    global _worker_loop
    if _worker_loop is None or _worker_loop.is_closed():
        _worker_loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_worker_loop)
    return _worker_loop


@app.task
def generate_roadmap(user_id):
    return get_worker_loop().run_until_complete(build_roadmap(user_id))""",
        use_instead="""\
Run each call in its own loop:

```python
@app.task
def generate_roadmap(user_id):
    return asyncio.run(build_roadmap(user_id))
```

Loop-bound objects (clients, locks) must then be created inside the coroutine, or per loop (see
LCK101 and LCK3xx). A worker that deliberately keeps one loop for its whole life should hold an
`asyncio.Runner` (3.11+), which sets the loop up and shuts it down properly, use it from one
thread only, and create every loop-bound object on that loop:

```python
runner = asyncio.Runner()  # closed in the worker's shutdown hook: runner.close()

@app.task
def generate_roadmap(user_id):
    return runner.run(build_roadmap(user_id))
```""",
        fix_safety="""\
Unsafe: each use becomes `asyncio.run()`, so every call gets a fresh loop that is closed
afterwards, and objects the calls used to share through the loop (clients, locks, background
tasks) no longer carry over. `asyncio.run()` also leaves the thread with no current loop when it
returns, where the original left its loop (set with `set_event_loop()`) or the caller's loop
current: a later `asyncio.get_event_loop()` in that thread raises `RuntimeError: There is no
current event loop` (measured on 3.10 to 3.13). The getter, the global or attribute and the code
that created, set and closed the loop are removed when nothing else in the file uses them (a
getter imported by another module would break). No fix (the message says
why) when the loop is used for anything other
than running, setting and closing, or when the argument is not visibly a coroutine call: a Future
(`asyncio.gather(...)`) or a variable that may hold one, which `asyncio.run()` refuses. A helper that
runs its own parameter (`def run_async(coro): return get_worker_loop().run_until_complete(coro)`,
the Celery roadmap incident) gets `return asyncio.run(coro)`: unsafe, its title saying that a caller
passing a Future or another awaitable would fail with 'a coroutine was expected', unless the
project model shows that every caller of the helper passes a call of an `async def` there (never
passed on, never given unpacked arguments), that no other module imports the getter or the global
the fix deletes, and that no object only this loop uses is reached by what it runs (then there is
no fix at all, the message names the object): then it is safe, and only the
thread's current loop after the call differs (above), which only code that calls
`asyncio.get_event_loop()` outside a coroutine can see, and loopcheck reports that code. When an
argument is a call but not provably a coroutine (a call of anything but an `async def` of the
module), the fix's title says that it may return a Future. No fix, with the reason in the message,
when a coroutine it runs reaches `run_in_executor(None, ...)` or `asyncio.to_thread()` in the
module: `asyncio.run()` waits for the default executor's threads when it ends, so a job left
running there would make a program that exits today hang.""",
        affected_versions=SAME_ON_EVERY_VERSION,
        references=(
            "https://docs.python.org/3/library/asyncio-runner.html#asyncio.Runner",
            "https://docs.python.org/3/library/asyncio-dev.html#concurrency-and-multithreading",
        ),
    )
    invalid = (
        Invalid(
            "import asyncio\n"
            "_loop = asyncio.new_event_loop()\n"
            "def task(x):\n"
            "    return _loop.run_until_complete(work(x))\n",
            message=(
                "2:9 event loop kept in the global `_loop` and reused by run_until_complete() "
                "(line 4): a second thread fails with 'This event loop is already running'; run "
                "each call with asyncio.run()",
                "4:12 run_until_complete() reuses the event loop kept in the global `_loop`; use "
                "asyncio.run()",
            ),
            fix=(
                "import asyncio\n"
                "def task(x):\n"
                "    return asyncio.run(work(x))\n"
            ),
            safety="unsafe",
        ),
        Invalid(
            "import asyncio\n"
            "class Worker:\n"
            "    def __init__(self):\n"
            "        self.loop = asyncio.new_event_loop()\n"
            "    def run(self, x):\n"
            "        return self.loop.run_until_complete(work(x))\n"
            "worker = Worker()\n",
            message=(
                "4:21 event loop kept in `Worker.loop` and reused by run_until_complete() (line "
                "6): a second thread fails with 'This event loop is already running'; run each "
                "call with asyncio.run()",
                "6:16 run_until_complete() reuses the event loop kept in `Worker.loop`; use "
                "asyncio.run()",
            ),
            fix=(
                "import asyncio\n"
                "class Worker:\n"
                "    def __init__(self):\n"
                "        pass\n"
                "    def run(self, x):\n"
                "        return asyncio.run(work(x))\n"
                "worker = Worker()\n"
            ),
            safety="unsafe",
        ),
        Invalid(
            "import asyncio\n"
            "def make_job():\n"
            "    loop = None\n"
            "    def job():\n"
            "        nonlocal loop\n"
            "        if loop is None:\n"
            "            loop = asyncio.new_event_loop()\n"
            "        return loop.run_until_complete(refresh())\n"
            "    return job\n",
            message=(
                "7:20 event loop kept in the closure variable `loop` and reused by "
                "run_until_complete() (line 8): a second thread fails with 'This event loop is "
                "already running'; run each call with asyncio.run()",
                "8:16 run_until_complete() reuses the event loop kept in the closure variable "
                "`loop`; use asyncio.run()",
            ),
            fix=(
                "import asyncio\n"
                "def make_job():\n"
                "    def job():\n"
                "        return asyncio.run(refresh())\n"
                "    return job\n"
            ),
            safety="unsafe",
        ),
    )
    valid = (
        # A dedicated loop thread: the loop runs forever, work is handed to it thread-safely.
        Valid(
            "import asyncio, threading\n"
            "_loop = asyncio.new_event_loop()\n"
            "threading.Thread(target=_loop.run_forever, daemon=True).start()\n"
            "def submit(coro):\n"
            "    return asyncio.run_coroutine_threadsafe(coro, _loop).result()\n",
        ),
        Valid("import asyncio\ndef task(x):\n    return asyncio.run(work(x))\n"),
        # An object that owns its loop for its own life, like asyncio.Runner.
        Valid(
            "import asyncio\n"
            "class Session:\n"
            "    def __enter__(self):\n"
            "        self._loop = asyncio.new_event_loop()\n"
            "        return self\n"
            "    def call(self, coro):\n"
            "        return self._loop.run_until_complete(coro)\n"
            "    def __exit__(self, *exc):\n"
            "        self._loop.close()\n",
        ),
    )

    def check(self) -> None:
        for call, found in self.analysis.kept_loops.found:
            holder, uses = found.holder, found.uses
            runs = of_kind(uses, Use.RUN)
            tree = self.analysis.tree
            if of_kind(uses, Use.SERVE) or not any(tree.enclosing_function(r.node) for r in runs):
                continue  # a long-lived server loop, or a script's one run at module level
            if self.analysis.kept_loops.closed_after_each_run(found):
                continue  # each run closes the loop afterwards: the loop is not reused
            # asyncio.run() would wait for a job the coroutine left in the default executor.
            arguments = [arg for use in runs if isinstance(use.node, cst.Call) and (arg := sole_argument(use.node))]
            reason = executor_wait_reason(self.analysis, arguments)
            fix = self.fix(found, uses) if reason is None else NoFix(reason)
            lines = ", ".join(str(self.analysis.line_of(use.node)) for use in runs)
            self.report(
                call,
                f"event loop kept in {self.label(holder)} and reused by run_until_complete() "
                f"(line{'s' if len(runs) > 1 else ''} {lines}){self.where(runs)}: {self.second_thread(runs)} "
                f"fails with 'This event loop is already running'; run each call with asyncio.run()",
                fix,
            )
            for use in runs:
                self.report(
                    use.node,
                    f"run_until_complete() reuses the event loop kept in {self.label(holder)}; "
                    "use asyncio.run()",
                    fix,
                )

    def label(self, holder: Holder) -> str:
        return held_in(holder, module_global="the global")

    def where(self, runs: list[LoopUse]) -> str:
        """Which threaded context runs the loop, where the analysis knows it."""
        runner = self.analysis.thread_reach.task_per_thread_runner([run.node for run in runs])
        if runner is None:
            return ""
        unit, context = runner
        return f", by `{unit.name.value}`, which runs {RUNS_WHERE[context]}"

    def second_thread(self, runs: list[LoopUse]) -> str:
        """Who runs the loop while it runs: a Celery worker's tasks share a thread only in a
        prefork process, where one kept loop alone never meets itself (two kept loops that reach
        one object do: the project model's evidence says so)."""
        runner = self.analysis.thread_reach.task_per_thread_runner([run.node for run in runs])
        if runner is not None and runner[1] is Runs.CELERY_TASK:
            return "under `--pool threads` a second task"
        return "a second thread"

    def unfollowable(self, found: KeptLoop) -> str | None:
        """Why the fix cannot follow the loop's holder, in words; None when it can."""
        label, getter = self.label(found.holder), found.getter
        return {
            None: None,
            Obstacle.ACCESSES_UNKNOWN: f"not every use of {label} can be found",
            Obstacle.GETTER_PASSED_ON: f"its getter `{getter}` is passed around or called with arguments",
            Obstacle.GETTER_EXPORTED: f"its getter `{getter}` is listed in `__all__`, and the fix removes it",
            Obstacle.OTHER_WRITE: f"{label} is also set to something other than a new loop or None",
        }[found.unfollowable]

    # -- the fix ---------------------------------------------------------------------------

    def removed_names(self, found: KeptLoop) -> tuple[str, ...]:
        """The module-level names the fix deletes (the global and its getters): another module
        that imports one would break."""
        tree = self.analysis.tree
        names = [
            node.name.value
            for node in found.retired
            if isinstance(node, cst.FunctionDef) and tree.enclosing_function(node) is None and tree.method_class(node) is None
        ]
        if found.holder.kind is Held.MODULE_GLOBAL:
            names.append(found.holder.name)
        return tuple(dict.fromkeys(names))

    def only_deleted(self, guard: cst.If, gone: list[cst.CSTNode]) -> bool:
        """Whether everything ``guard`` does is deleted by the fix anyway."""
        deleted = {id(node) for node in gone}
        return all(
            isinstance(line, cst.SimpleStatementLine)
            and all(id(small) in deleted for small in line.body)
            for line in guard.body.body
        )

    def fix(self, found: KeptLoop, uses: list[LoopUse]) -> FixProposal | NoFix:
        unfollowable = self.unfollowable(found)
        if unfollowable is not None:
            return NoFix(unfollowable)
        if of_kind(uses, Use.ESCAPE):
            return NoFix("the loop is handed on (returned or stored), so other code may use it")
        other = of_kind(uses, Use.OTHER)
        if other:
            return NoFix(beyond_runs(self.analysis, other[0]))
        teardowns = [use.node for use in of_kind(uses, Use.TEARDOWN, Use.SET_CURRENT)]
        gone = teardowns + found.retired
        if not all(self.only_deleted(guard, gone) for guard in found.guards):
            return NoFix("an `if` that tests the loop also does other work")
        runs = [use.node for use in of_kind(uses, Use.RUN) if isinstance(use.node, cst.Call)]
        for run in runs:
            refused = refused_by_asyncio_run(self.analysis, run, unknown=True)
            if refused is not None:
                return NoFix(refused)
        retired = [*found.retired, *found.guards]

        def build() -> tuple:
            return asyncio_run_instead(self.context, runs, retired, teardowns)

        arguments = [run.args[0].value for run in runs]
        title = f"Run each call with asyncio.run() and drop the loop in {self.label(found.holder)}"
        title += removed_comments(self.context, None, *loop_statements(self.analysis.tree, retired, teardowns))
        parameters = helper_parameters(self.analysis, arguments)
        if parameters:
            safe_when = SafeWhen(parameters, title, self.removed_names(found))
            return self.propose(Safety.UNSAFE, title + callers_note(parameters), build, RUN_NAMES, safe_when)
        return self.propose(Safety.UNSAFE, title + unproven_note(self.analysis, arguments), build, RUN_NAMES)
