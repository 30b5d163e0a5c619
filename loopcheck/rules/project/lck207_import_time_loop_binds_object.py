"""LCK207: an event loop run at import binds a module-level object that later loops use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.engine.rule import RuleDocs
from loopcheck.project.reach import closed_loop_error
from loopcheck.project.records import MODULE_CODE, LoopStart, ModuleSummary
from loopcheck.rules.project.base import (
    START_ONLY,
    ProjectExample,
    ProjectRule,
    holder_of,
    loops_of,
    name_loops,
    objects_of,
    reached_from,
    render_modules,
)

if TYPE_CHECKING:
    from loopcheck.data.catalogue import Catalogue
    from loopcheck.project.model import ProjectModel
    from loopcheck.project.reach import Reach

DB = '''\
import asyncio

from motor.motor_asyncio import AsyncIOMotorClient

client = AsyncIOMotorClient("mongodb://localhost")

loop = asyncio.new_event_loop()
loop.run_until_complete(client.admin.command("ping"))
loop.close()
'''

API = '''\
from app.db import client
from fastapi import FastAPI

app = FastAPI()


@app.get("/orders")
async def orders():
    return await client.shop.orders.find_one()
'''

MESSAGE = (
    "app/db.py:8:1 the event loop run here at import binds `client` (motor.motor_asyncio.AsyncIOMotorClient)"
    " to itself, and never runs it again; the async route handler 'orders' (the server's loop) uses it"
    " later, and fails with 'Event loop is closed'"
)


class ImportTimeLoopBindsObject(ProjectRule):
    code = "LCK207"
    name = "import-time-loop-binds-object"
    instead = "check or make the object in the application's start-up, on the loop that uses it"
    summary = "event loop run at import binds a module-level object that other event loops use later"
    docs = RuleDocs(
        tier_reason=(
            "Every use of the object on the application's loop fails with `attached to a different loop` "
            "or `Event loop is closed`."
        ),
        what_it_does="""\
Finds an event loop run by a module's top-level code (`loop = asyncio.new_event_loop();
loop.run_until_complete(client.admin.command("ping"))`, or `asyncio.run(...)` at import) that
uses an async client the process keeps (a module-level client), when the project model sees
another loop use that object later. It is reported at the call that runs the loop, naming the
objects and the loops that use them afterwards. A loop under `if __name__ == "__main__":`, or in
a top-level script, is the program's own loop, not one run at import: it is not reported.""",
        why_is_this_bad="""\
The object binds to the loop that first uses it: the import-time loop, which is closed, or never
runs again, before the application's own loop starts. Every later use, on the loop that serves
requests or runs tasks, fails with `attached to a different loop` or `Event loop is closed`.""",
        example=render_modules({"app/db.py": DB, "app/api.py": API}),
        use_instead="""\
Check the connection in the application's start-up (a lifespan handler, a worker start hook),
on the loop that uses the object afterwards, or make the object there.""",
        fix_safety="No fix: the loop and the later users are in different places of the program.",
        affected_versions="All supported versions (3.10-3.13).",
    )
    examples = (
        ProjectExample({"app/db.py": DB, "app/api.py": API}, (MESSAGE,)),
        # Nothing else uses the client: the import-time loop is its only loop.
        ProjectExample({"app/db.py": DB}),
    )

    def check(self, model: ProjectModel, reach: Reach, catalogue: Catalogue) -> Iterator[Diagnostic]:  # type: ignore[override]
        for summary in sorted(model.modules.values(), key=lambda s: s.path):
            # A top-level module outside any package (`main.py`, run as `python main.py`) runs
            # its loop as the program's own, not at the import of a module other loops use.
            if "." not in summary.module and not summary.is_package:
                continue
            code = summary.function(MODULE_CODE)
            for start in code.starts if code is not None else ():
                # Nor does a package module's `if __name__ == "__main__":` block (`python -m`).
                if not start.as_program:
                    yield from self._start(model, summary, start, reach, catalogue)

    def _start(
        self, model: ProjectModel, summary: ModuleSummary, start: LoopStart, reach: Reach, catalogue: Catalogue
    ) -> Iterator[Diagnostic]:
        """The objects the import-time loop uses (what it runs directly, and what the model sees
        it reach) that other loops use later."""
        used = {(o.module, o.holder.name): o for o, _ in reached_from(reach, summary.path, start.line)}
        known = {(o.module, o.holder.name): o for o in objects_of(reach)}
        for reference in start.runs:
            target = holder_of(model, summary.module, reference.dotted)
            if target is not None and (target.module, target.name) in known:
                used[target.module, target.name] = known[target.module, target.name]
        here = (summary.path, start.line)
        for key in sorted(used):
            reached = used[key]
            # Primitives bind only when they wait: LCK101 reports them, with these loops as evidence.
            if reached.holder.kind != "client":
                continue
            later = [c for c in reached.chains if (c.loop.location.path, c.loop.location.line) != here]
            if not later:
                continue
            loops = loops_of(later)
            one = len(loops) == 1
            message = (
                f"the event loop run here at import binds `{reached.holder.name}` ({reached.holder.what}) to"
                f" itself, and never runs it again; {name_loops(loops)} use{'s' if one else ''} it later,"
                f" and fail{'s' if one else ''} with '{closed_loop_error(catalogue, reached.holder)}'"
            )
            yield self.diagnostic(summary.path, start.line, start.column, START_ONLY, message, later)
