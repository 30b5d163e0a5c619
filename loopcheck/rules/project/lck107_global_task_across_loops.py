"""LCK107: a Task or Future kept in a module global and awaited under another event loop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.engine.rule import RuleDocs
from loopcheck.rules.project.base import (
    START_ONLY,
    ProjectExample,
    ProjectRule,
    loops_of,
    name_loops,
    render_modules,
    shared,
)

if TYPE_CHECKING:
    from loopcheck.data.catalogue import Catalogue
    from loopcheck.project.model import ProjectModel
    from loopcheck.project.reach import Reach

TOKENS = '''\
import asyncio

_refresh = None


async def refresh_token():
    await asyncio.sleep(1)


async def start_refresh():
    global _refresh
    if _refresh is None or _refresh.done():
        _refresh = asyncio.ensure_future(refresh_token())


async def current_token():
    return await _refresh
'''

WARM = '''\
import asyncio

from app.tokens import start_refresh
from celery import shared_task

_worker_loop = asyncio.new_event_loop()


@shared_task
def warm_up():
    _worker_loop.run_until_complete(start_refresh())
'''

SYNC = '''\
import asyncio

from app.tokens import current_token
from celery import shared_task


@shared_task
def sync_orders():
    return asyncio.run(current_token())
'''

MESSAGE = (
    "app/tokens.py:13:20 task kept in the module global `_refresh` outlives the loop that made it:"
    " the Celery task 'sync_orders' (asyncio.run: a new event loop per call) and the Celery task"
    " 'warm_up' (run_until_complete: the loop it is called on) await it under different loops, and a"
    " loop that awaits another loop's pending task fails with 'got Future attached to a different loop'"
)


class GlobalTaskAcrossLoops(ProjectRule):
    code = "LCK107"
    name = "global-task-across-loops"
    instead = "keep the task per event loop, or await the work directly in each call"
    summary = "task or future kept in a module global and awaited by another event loop"
    docs = RuleDocs(
        tier_reason=(
            "Awaiting the task under another loop, after the loop that made it stopped, raises "
            "`RuntimeError: ... attached to a different loop`."
        ),
        what_it_does="""\
Finds a Task or Future made on first use and kept in a module global (`global _refresh;
_refresh = asyncio.ensure_future(...)`) that the project model sees reached by two different
event loops: one loop awaits the task the other made. (A task made at import is LCK106's; an `asyncio.Future()` kept lazily,
LCK104's.)""",
        why_is_this_bad="""\
A task belongs to the loop that made it. When that loop stops before the task ends (a kept loop
between two calls) the task stays pending, and awaiting it under another loop fails with
`got Future <Task pending ...> attached to a different loop`. (A loop made and closed per call
alone is not enough: it finishes or cancels the task before the next call.)""",
        example=render_modules({"app/tokens.py": TOKENS, "app/warm.py": WARM, "app/sync.py": SYNC}),
        use_instead="""\
Keep the task per loop (a dict keyed by `asyncio.get_running_loop()`), or await the work
directly in each call.""",
        fix_safety="No fix: whether the task may be shared depends on who else awaits it.",
        affected_versions="All supported versions (3.10-3.13).",
    )
    examples = (
        ProjectExample({"app/tokens.py": TOKENS, "app/warm.py": WARM, "app/sync.py": SYNC}, (MESSAGE,)),
        # One loop only: the worker's kept loop starts the refresh and awaits it.
        ProjectExample({
            "app/tokens.py": TOKENS,
            "app/warm.py": WARM.replace("from app.tokens import start_refresh", "from app.tokens import current_token, start_refresh")
            + "\n\n@shared_task\ndef sync_orders():\n    return _worker_loop.run_until_complete(current_token())\n",
        }),
    )

    def check(self, model: ProjectModel, reach: Reach, catalogue: Catalogue) -> Iterator[Diagnostic]:  # type: ignore[override]
        for reached in shared(reach, ("lazy-global",)):
            holder = reached.holder
            if holder.kind != "future" or holder.what in catalogue.primitives:
                continue  # asyncio.Future() kept lazily is LCK104's
            loops = loops_of(reached.chains)
            if len(loops) < 2:
                continue  # one loop per call only: it finishes or cancels the task before the next
            message = (
                f"task kept in the module global `{holder.name}` outlives the loop that made it:"
                f" {name_loops(loops)} await it under different loops, and a loop that awaits another"
                " loop's pending task fails with 'got Future attached to a different loop'"
            )
            yield self.diagnostic(reached.path, holder.line, holder.column, START_ONLY, message, reached.chains)
