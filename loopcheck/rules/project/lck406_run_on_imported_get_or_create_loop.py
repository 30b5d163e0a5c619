"""LCK406: run_until_complete() on the loop a get-or-create helper of another module hands out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.engine.rule import RuleDocs
from loopcheck.project.records import Function, LoopStart, ModuleSummary
from loopcheck.rules.project.base import (
    ProjectExample,
    ProjectRule,
    qualified,
    reached_from,
    render_modules,
)

if TYPE_CHECKING:
    from loopcheck.data.catalogue import Catalogue, LoopApi
    from loopcheck.project.model import ProjectModel, Target
    from loopcheck.project.reach import Reach

RUN_METHOD = "run_until_complete"

UTILS = '''\
import asyncio


def always_get_an_event_loop():
    try:
        return asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        return loop
'''

CLIENT = '''\
import httpx

from app import utils

http = httpx.AsyncClient()


async def fetch(url):
    return await http.get(url)


def fetch_sync(url):
    loop = utils.always_get_an_event_loop()
    return loop.run_until_complete(fetch(url))
'''

MESSAGE = (
    "app/client.py:14:12 run_until_complete() on the loop app.utils.always_get_an_event_loop() hands out:"
    " this thread's current loop, or a new one it makes current and never closes; that loop reaches"
    " `http` (httpx.AsyncClient) of app.client, which other loops may reach too"
)


class RunOnImportedGetOrCreateLoop(ProjectRule):
    code = "LCK406"
    name = "run-on-imported-get-or-create-loop"
    instead = "write asyncio.run(coro) with the objects made inside it, or keep one asyncio.Runner"
    summary = "loop handed out by a get-or-create helper of another module, then run with run_until_complete()"
    docs = RuleDocs(
        tier_reason=(
            "Objects used under the helper's loop bind to whichever loop that is and fail under the next "
            "(`attached to a different loop`)."
        ),
        what_it_does="""\
Finds `loop.run_until_complete(...)` on a loop returned by a helper defined in another module
that gets the thread's current loop or makes a new one and sets it as current
(`loop = utils.always_get_an_event_loop()`), which the per-file rules cannot follow. It says what
the helper does and names the loop-bound objects the project model sees that loop reach.""",
        why_is_this_bad="""\
Which loop runs the coroutine depends on the thread and on what ran before: the main thread's
loop, a loop some earlier call made and left current, or a fresh one that is never closed (one
per thread). Objects used under it bind to whichever loop that is, and fail under the next
(`attached to a different loop`); and `asyncio.get_event_loop()` with no current loop warns
(`DeprecationWarning: There is no current event loop`, 3.12 and 3.13).""",
        example=render_modules({"app/utils.py": UTILS, "app/client.py": CLIENT}),
        use_instead="""\
`asyncio.run(coro)` in synchronous code (one loop, made and closed per call), with the objects
it uses made inside it; or one loop kept on purpose (an `asyncio.Runner`) that everything runs on.""",
        fix_safety="No fix: the helper is in another module, and its other callers may rely on the loop it keeps.",
        affected_versions="All supported versions (3.10-3.13).",
    )
    examples = (
        ProjectExample({"app/utils.py": UTILS, "app/client.py": CLIENT}, (MESSAGE,)),
        # The helper is in the same module: LCK405 reports it there.
        ProjectExample({"app/client.py": UTILS.replace("import asyncio\n", "import asyncio\nimport httpx\n")
                        + CLIENT.replace("import httpx\n\nfrom app import utils\n", "")
                        .replace("utils.always_get_an_event_loop()", "always_get_an_event_loop()")}),
        # A loop made and closed per call.
        ProjectExample({"app/utils.py": UTILS, "app/client.py": CLIENT.replace(
            "    loop = utils.always_get_an_event_loop()\n    return loop.run_until_complete(fetch(url))",
            "    return asyncio.run(fetch(url))").replace("import httpx\n", "import asyncio\n\nimport httpx\n")}),
    )

    def check(self, model: ProjectModel, reach: Reach, catalogue: Catalogue) -> Iterator[Diagnostic]:  # type: ignore[override]
        for summary in sorted(model.modules.values(), key=lambda s: s.path):
            for function in summary.functions:
                for start in function.starts:
                    if start.entry != RUN_METHOD:
                        continue
                    helper = self._helper(model, summary, function, start, catalogue.loop_api)
                    if helper is not None:
                        yield self._finding(summary, start, helper, reach)

    def _helper(
        self, model: ProjectModel, summary: ModuleSummary, function: Function, start: LoopStart, api: LoopApi
    ) -> tuple[Target, bool] | None:
        """The get-or-create helper of another module the loop ``start`` runs on comes from:
        written in the call (``helper().run_until_complete``), or the last call before it in
        the function that resolves to one (``loop = helper()``); with whether it makes its new loop
        current."""
        if start.loop is not None and start.loop.endswith("()"):
            candidates = [start.loop[:-2]]
        else:
            before = [r for r in function.references if r.called and (r.line, r.column) < (start.line, start.column)]
            candidates = [r.dotted for r in reversed(before)]
        for dotted in candidates:
            target = model.resolve(summary.module, dotted)
            if target is not None and target.kind == "function" and target.module != summary.module:
                kind = get_or_create(model.modules[target.module], target.name, api)
                return None if kind is None else (target, kind)
        return None

    def _finding(self, summary: ModuleSummary, start: LoopStart, helper: tuple[Target, bool], reach: Reach) -> Diagnostic:
        target, sets_current = helper
        reached = reached_from(reach, summary.path, start.line)
        objects = ", ".join(f"`{o.holder.name}` ({o.holder.what}) of {o.module}" for o, _ in reached)
        reaches = (
            f"that loop reaches {objects}, which other loops may reach too"
            if reached
            else "no loop-bound object the project keeps is seen reaching it"
        )
        message = (
            f"run_until_complete() on the loop {target.module}.{target.name}() hands out: this thread's current"
            f" loop, or a new one it {'makes current and ' if sets_current else ''}never closes; {reaches}"
        )
        width = len(f"{start.loop}.{RUN_METHOD}" if start.loop else RUN_METHOD)
        return self.diagnostic(summary.path, start.line, start.column, width, message, [c for _, c in reached])


def get_or_create(summary: ModuleSummary, name: str, api: LoopApi) -> bool | None:
    """Whether function ``name`` of ``summary``'s module looks the current (or running) loop up
    and, failing that, makes a new loop (the idiom LCK405 reports where it is defined): whether it
    makes that loop current; None when it is not such a helper."""
    function = summary.function(name)
    if function is None:
        return None
    calls = {qualified(summary, r.dotted) for r in function.references if r.called}
    if not calls & (api.current_loop | api.running_loop) or not calls & api.new_loop:
        return None
    return bool(calls & api.set_loop)
