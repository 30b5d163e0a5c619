from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.metadata import GlobalScope

from loopcheck.analysis import enclosing_function, in_coroutine
from loopcheck.catalogue import loop_api
from loopcheck.diagnostics import Fix, Safety
from loopcheck.loops import (
    LifecycleRewrite,
    LocalLoop,
    Use,
    calls_one_of,
    classify_use,
    asyncio_run_accepts,
    get_or_create,
    local_binding,
    of_kind,
    uses_of,
    within,
)
from loopcheck.rule import Rule, RuleDocs


class RunOnCurrentLoop(Rule):
    code = "LCK203"
    name = "run-until-complete-on-current-loop"
    summary = "asyncio.get_event_loop().run_until_complete() in synchronous code; use asyncio.run()"
    fix_kind = "unsafe"

    docs = RuleDocs(
        what_it_does="""\
Finds synchronous code that runs a coroutine with
`asyncio.get_event_loop().run_until_complete(...)`, directly or through a local variable.""",
        why_is_this_bad="""\
`get_event_loop()` does not make a loop for you anywhere but the main thread, and even there only
until a loop has been set or unset once. In a worker thread (a thread pool, a scheduler job, a
threaded Celery pool) it raises `RuntimeError: There is no current event loop in thread ...`;
after an `asyncio.run()` anywhere in the same thread it raises the same error in the main thread;
after another helper closed the loop it returns that closed loop (`Event loop is closed`). Where it
does work, every call shares one loop that is never closed, so loop-bound objects from one call
leak into the next. Python 3.12 and later warn (`DeprecationWarning: There is no current event
loop`) when the call has to create the loop.""",
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
from one call to the next. The local holding the loop is removed when running coroutines was its
only use. No fix when the argument is a Future (`asyncio.gather(...)`), which `asyncio.run()`
refuses, or when the local is used for anything else.""",
        affected_versions="""\
All supported versions: in a non-main thread the call fails on 3.10 to 3.13 alike; 3.12 and
3.13 also warn in the main thread when no loop is set.""",
        references=(
            "https://docs.python.org/3/library/asyncio-eventloop.html#asyncio.get_event_loop",
            "https://docs.python.org/3/library/asyncio-runner.html#asyncio.run",
        ),
    )
    invalid = (
        "import asyncio\n"
        "def fetch(symbols):\n"
        "    return asyncio.get_event_loop().run_until_complete(download(symbols))\n",
        "import asyncio\n"
        "def fetch(symbols):\n"
        "    loop = asyncio.get_event_loop()\n"
        "    return loop.run_until_complete(download(symbols))\n",
    )
    valid = (
        "import asyncio\ndef fetch(symbols):\n    return asyncio.run(download(symbols))\n",
        "import asyncio\n"
        "def schedule(callback):\n"
        "    asyncio.get_event_loop().call_soon(callback)\n",
    )

    def visit_Call(self, node: cst.Call) -> None:
        if not calls_one_of(self, node, loop_api().current_loop) or in_coroutine(self, node):
            return
        direct = classify_use(self, node)
        if direct.kind is Use.RUN:
            run_call = direct.node
            assert isinstance(run_call, cst.Call)
            self.report(node, self.message(), self.fix([run_call], self.loop_set_up(node)))
            return
        local = local_binding(self, node)
        if local is None or self.outlives_module_code(local):
            return
        # `try: loop = get_event_loop() except RuntimeError: loop = new_event_loop() ...`
        fallback = get_or_create(self, local)
        refs = [ref for ref in local.refs if fallback is None or not within(self, ref, fallback)]
        uses = uses_of(self, refs)
        runs = [use.node for use in of_kind(uses, Use.RUN) if isinstance(use.node, cst.Call)]
        if not runs or of_kind(uses, Use.SERVE, Use.ESCAPE):
            return
        fixable = not of_kind(uses, Use.OTHER) and (local.bindings == 1 or fallback is not None)
        retired = [local.binding, *(use.node for use in of_kind(uses, Use.TEARDOWN, Use.SET_CURRENT))]
        if fallback is not None:
            retired.append(fallback)
        retired.extend(self.loop_set_up(node))
        fix = self.fix(runs, retired) if fixable else None
        self.report(node, self.message(local.name), fix)

    def loop_set_up(self, current: cst.Call) -> list[cst.CSTNode]:
        """``asyncio.set_event_loop(asyncio.new_event_loop())`` statements that only prepared the
        loop ``current`` fetches: dead once asyncio.run() makes its own loop (kept when the
        function asks for the current loop anywhere else)."""
        function = enclosing_function(self, current)
        if not isinstance(function, cst.FunctionDef):
            return []
        api = loop_api()
        asks = [c for c in m.findall(function.body, m.Call()) if calls_one_of(self, c, api.current_loop)]
        if len(asks) != 1:
            return []
        return [
            statement
            for statement in m.findall(function.body, m.Expr(value=m.Call()))
            if isinstance(statement, cst.Expr)
            and calls_one_of(self, statement.value, api.set_loop)
            and isinstance(statement.value, cst.Call)
            and len(statement.value.args) == 1
            and calls_one_of(self, statement.value.args[0].value, api.new_loop)
        ]

    def outlives_module_code(self, local: LocalLoop) -> bool:
        """A module-level loop read from functions is a persistent loop: LCK202's business."""
        return isinstance(local.scope, GlobalScope) and any(
            enclosing_function(self, ref) is not None for ref in local.refs
        )

    def message(self, name: str | None = None) -> str:
        through = f" (through `{name}`)" if name else ""
        return (
            f"run_until_complete() on asyncio.get_event_loop(){through} in synchronous code: "
            "there is no current loop in worker threads or after asyncio.run(); "
            "use asyncio.run()"
        )

    def fix(
        self,
        runs: list[cst.Call],
        retired: list[cst.CSTNode],
    ) -> Fix | None:
        """Every run becomes asyncio.run(); what only held, set up or tore down the loop
        (``retired``) goes."""
        if not all(asyncio_run_accepts(self, run_call) for run_call in runs):
            return None
        rewrite = LifecycleRewrite(self)
        for run_call in runs:
            rewrite.run_with_asyncio_run(run_call)
            rewrite.builder.drop_imports_used_by(run_call.func)
        for node in retired:
            if not any(within(self, node, other) for other in retired if other is not node):
                rewrite.discard(node)
        return rewrite.build(Safety.UNSAFE, "Run the coroutine with asyncio.run()")
