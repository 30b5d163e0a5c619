"""LCK306: a loop-bound object kept by a module-level instance of a class another module defines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.engine.rule import RuleDocs
from loopcheck.project.reach import SHARED, ObjectReach
from loopcheck.rules.project.base import (
    ProjectExample,
    ProjectRule,
    loops_of,
    module_call,
    name_loops,
    render_modules,
    shared,
)

if TYPE_CHECKING:
    from loopcheck.data.catalogue import Catalogue
    from loopcheck.project.model import ProjectModel
    from loopcheck.project.reach import Reach

BROWSER = '''\
from playwright.async_api import async_playwright


class CookieBrowser:
    def __init__(self):
        self.browser = None

    async def start(self):
        self.playwright = await async_playwright().start()
        self.browser = await self.playwright.chromium.launch()
'''

CRAWL = '''\
import asyncio

from app.browser import CookieBrowser
from celery import shared_task

cookie_browser = CookieBrowser()


@shared_task
def crawl(url):
    return asyncio.run(fetch(url))


async def fetch(url):
    await cookie_browser.start()
'''

MESSAGE = (
    "app/crawl.py:6:18 `cookie_browser`, a module-level instance of app.browser.CookieBrowser, keeps"
    " Playwright in `playwright`, which the Celery task 'crawl' (asyncio.run: a new event loop per call)"
    " reaches: it belongs to the first loop that uses it, and under another it fails with 'Target page,"
    " context or browser has been closed'"
)


class InstanceOfImportedClass(ProjectRule):
    code = "LCK306"
    name = "instance-of-imported-class-keeps-loop-object"
    instead = "make the object inside the loop that uses it, or keep the instance per loop"
    summary = "module-level instance of a class from another module keeps a loop-bound object that several event loops reach"
    docs = RuleDocs(
        tier_reason=(
            "The next loop that reaches the instance's object fails with `Event loop is closed` or "
            "`attached to a different loop`."
        ),
        what_it_does="""\
Finds a module-level instance (`cookie_browser = CookieBrowser()`) of a class defined in another
module whose methods keep a loop-bound object in an attribute (`self.playwright = await
async_playwright().start()`), when the project model sees more than one event loop reach that
object through that instance (calling its methods, by its own name or imported), or a loop made
anew on each call (a Celery task's `asyncio.run()`); an instance no loop is seen using is not
reported with it. It is reported where
the instance is made, naming the attribute, the class's module and the loops, with a call chain
for each loop.""",
        why_is_this_bad="""\
The instance lives as long as the process, so the object in its attribute does too; the object
belongs to the loop it was made or first used on. The next loop that reaches it fails
(`Target page, context or browser has been closed`, `Event loop is closed`, `attached to a
different loop`). Each file alone looks fine: the class's
module never makes an instance, and the module that does never sees the loop-bound attribute.""",
        example=render_modules({"app/browser.py": BROWSER, "app/crawl.py": CRAWL}),
        use_instead="""\
Make the object inside the loop that uses it and close it there (an `async with` per task, or a
start/stop pair around one kept loop), or keep the instance per loop.""",
        fix_safety="No fix: the instance and the class are in different modules.",
        affected_versions="All supported versions (3.10-3.13).",
    )
    examples = (
        ProjectExample({"app/browser.py": BROWSER, "app/crawl.py": CRAWL}, (MESSAGE,)),
        # One loop only: the same instance under the server's loop.
        ProjectExample({
            "app/browser.py": BROWSER,
            "app/crawl.py": CRAWL.replace("from celery import shared_task\n", "")
            .replace("@shared_task\ndef crawl(url):\n    return asyncio.run(fetch(url))\n\n\n", ""),
        }),
        # Made per call: nothing is kept at module level.
        ProjectExample({
            "app/browser.py": BROWSER,
            "app/crawl.py": CRAWL.replace("cookie_browser = CookieBrowser()\n\n\n", "")
            .replace("    await cookie_browser.start()", "    await CookieBrowser().start()"),
        }),
    )

    def check(self, model: ProjectModel, reach: Reach, catalogue: Catalogue) -> Iterator[Diagnostic]:  # type: ignore[override]
        for reached in shared(reach, ("instance-attribute",)):
            cls, _, attribute = reached.holder.name.rpartition(".")
            if cls:
                yield from self._instances(model, reached, cls, attribute)

    def _instances(
        self, model: ProjectModel, reached: ObjectReach, cls: str, attribute: str
    ) -> Iterator[Diagnostic]:
        """The module-level instances of ``cls`` in other modules (an instance in the class's
        own module is LCK105's and LCK305's) whose own object loops share: those the reach of
        the attribute judges shared on that instance (when the reach tells instances apart)."""
        on_instance = {(i.module, i.name): i for i in reached.instances}
        for summary in sorted(model.modules.values(), key=lambda s: s.path):
            if summary.module == reached.module:
                continue
            for instance, callee in summary.instances:
                target = model.resolve(summary.module, callee)
                if target is None or (target.kind, target.module, target.name) != ("class", reached.module, cls):
                    continue
                where = module_call(summary, callee)
                own = on_instance.get((summary.module, instance))
                if where is None or (own is not None and own.verdict != SHARED):
                    continue
                chains = reached.chains if own is None else own.chains
                loops = name_loops(loops_of(chains))
                message = (
                    f"`{instance}`, a module-level instance of {reached.module}.{cls}, keeps"
                    f" {reached.holder.what} in `{attribute}`, which {loops} reach"
                    f"{'es' if len(loops_of(chains)) == 1 else ''}: it belongs to the first loop"
                    f" that uses it, and under another it fails with '{reached.error}'"
                )
                yield self.diagnostic(summary.path, where[0], where[1], len(callee) + 2, message, chains)
