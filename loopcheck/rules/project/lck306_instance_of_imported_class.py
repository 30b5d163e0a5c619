"""LCK306: a loop-bound object kept by a module-level instance of a class another module defines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from loopcheck.engine.diagnostics import Diagnostic, Fix, FixProposal, Granted, NoFix, Safety, declined
from loopcheck.engine.rule import RuleDocs
from loopcheck.project.reach import SHARED, ObjectReach
from loopcheck.project.records import Function, ModuleSummary
from loopcheck.project.uses import outside_use
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
    import libcst as cst

    from loopcheck.data.catalogue import Catalogue
    from loopcheck.project.model import ProjectModel
    from loopcheck.project.reach import Reach

# The methods that close an instance, in the order the fix looks for them: an `async def` of the
# class taking `self` alone.
CLOSE_METHODS = ("aclose", "close", "stop")
# The special methods a class may define that the per-loop proxy does without (the class makes
# its instances) or forwards (`async with`).
PROXIED_SPECIALS = frozenset({"__init__", "__aenter__", "__aexit__"})
# The facts of a granted fix (Granted.facts).
CLASS, CLOSE, ASYNC_WITH = "class", "close", "async-with"

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
NO_CLOSE = (
    "; no fix: `CookieBrowser` has no `async def close(self)` (nor `aclose`, `stop`) to close each event loop's"
    " instance with"
)
# The browser stopped by a method of its own: each loop's instance can be closed when its loop ends.
STOPPED_BROWSER = BROWSER + '''
    async def stop(self):
        await self.browser.close()
        await self.playwright.stop()
'''


class InstanceOfImportedClass(ProjectRule):
    code = "LCK306"
    name = "instance-of-imported-class-keeps-loop-object"
    fix_kind = "sometimes unsafe"
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
start/stop pair around one kept loop), or keep the instance per loop. The fix does the latter in
the instance's module, which keeps every use unchanged:

```python
_neo4j_connector_by_loop = {}


def _get_neo4j_connector():
    \"\"\"The running loop's app.graph.Neo4jConnector: made on first use, closed when its loop ends.\"\"\"
    ...  # LCK301's per-loop factory, closing each loop's instance with `await client.close()`


class _Neo4JConnectorPerLoop:
    ...  # attribute reads (and `async with`) go to _get_neo4j_connector()


_neo4j_connector = _Neo4JConnectorPerLoop()
```""",
        fix_safety="""\
Unsafe: it changes when the instance is made and closed. Each event loop gets an instance of its
own, made on first use under that loop (no longer at import: what its `__init__` does, or
raises, happens then), so no state is carried from one loop's instance to another's; each is
closed with the class's own `async def close(self)` (or `aclose`, `stop`) when its loop ends, as
LCK301's per-loop factory closes a client. The name stays, bound to a proxy that forwards
attribute reads (and `async with`, where the class is an async context manager) to the running
loop's instance, so the module's code and the modules importing it are left as they are, and the
class's module is not touched; `isinstance(name, Class)` becomes false, and setting an attribute
on it fails. The fix is built where the instance is made, by `--fix --unsafe-fixes` (and
`--diff`), from what the project model shows of the class; a check without them reads the file
too, so it shows the fix, or why there is none, as `--fix` decides (JSON and SARIF give its
edits). There is no fix, and the message says
why, when the class has no such close method (closing each loop's instance could not be left to
the loop's end), derives from another class or defines special methods the proxy would not
forward (`__call__`, `__iter__`...), when code reads the instance outside a coroutine (here or in
a module importing it: no loop runs there to pick an instance by), when a module of the project
importing its module could not be read or parsed (its uses are not known), when the name is
bound again, or when the call reads a variable the per-loop factory cannot see. The class's module could
instead keep one client per loop in the attribute (LCK305's loop-aware holder), but only for a
client made by a plain call from `self` alone; the per-loop instance also covers one made by an
awaited call (`await async_playwright().start()`).""",
        affected_versions="All supported versions (3.10-3.13).",
    )
    examples = (
        ProjectExample({"app/browser.py": BROWSER, "app/crawl.py": CRAWL}, (MESSAGE + NO_CLOSE,)),
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
        # A class that stops what it keeps: the fix makes the instance one per loop.
        ProjectExample({"app/browser.py": STOPPED_BROWSER, "app/crawl.py": CRAWL}, (MESSAGE,)),
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
                found = self.diagnostic(summary.path, where[0], where[1], len(callee) + 2, message, chains)
                granted = _granted(model, reached.module, cls, summary, instance, callee)
                if isinstance(granted, NoFix):
                    yield replace(found, message=declined(message, granted.reason))
                else:
                    title = instance_title(instance, f"{reached.module}.{cls}", granted.fact(CLOSE) or "")
                    yield replace(found, fix=Fix(Safety.UNSAFE, title), granted=granted)

    def fix_in_file(self, granted: Granted) -> tuple[cst.CSTNode, FixProposal | NoFix] | None:
        # The fix builders (and LibCST) are imported where a file is fixed, not by the project stage.
        from loopcheck.fixes.per_loop import NOT_ALONE
        from loopcheck.fixes.per_loop_instance import instance_statement, per_loop_instance

        found = instance_statement(self.context, granted.name, granted.callee)
        if found is None or not isinstance(found, tuple):
            return found and (found, NoFix(NOT_ALONE))
        line, call = found
        cls, close = granted.fact(CLASS), granted.fact(CLOSE)
        assert cls is not None and close is not None
        title = instance_title(granted.name, cls, close)
        async_with = bool(granted.fact(ASYNC_WITH))
        return call, per_loop_instance(self.context, line, call, granted.name, cls, close, async_with, title)


def instance_title(name: str, cls: str, close: str) -> str:
    """The fix's title (shown before the file is fixed: it names nothing the fix generates)."""
    short = cls.rpartition(".")[2]
    return (
        f"Make one `{short}` per event loop, on first use under that loop, closed with its `{close}()` when"
        f" the loop ends, and keep `{name}` as a proxy to the running loop's (its uses and importers are"
        f" left as they are; `isinstance({name}, {short})` becomes false)"
    )


def _granted(
    model: ProjectModel, module: str, cls: str, summary: ModuleSummary, instance: str, callee: str
) -> Granted | NoFix:
    """What the fix of ``instance`` (made in ``summary``'s module by calling ``callee``), of the
    class ``cls`` of ``module``, needs of the class; or why the model shows it cannot be fixed."""
    defined = model.summary(module)
    record = next((c for c in defined.classes if c.name == cls), None) if defined is not None else None
    if defined is None or record is None:
        return NoFix(f"the project model does not see `{cls}` defined in {module}")
    bases = [base for base in record.bases if base != "object"]
    if bases:
        return NoFix(
            f"`{cls}` derives from `{bases[0]}`, whose methods a proxy for its instances would have to know"
        )
    specials = [m for m in record.methods if m.startswith("__") and m.endswith("__") and m not in PROXIED_SPECIALS]
    special = specials[0] if specials else None
    if special is not None:
        return NoFix(f"`{cls}` defines `{special}`, which a proxy for its instances would not forward")
    close = next((name for name in CLOSE_METHODS if _closes(defined.function(f"{cls}.{name}"))), None)
    if close is None:
        return NoFix(
            f"`{cls}` has no `async def close(self)` (nor `aclose`, `stop`) to close each event loop's instance with"
        )
    outside = outside_use(model, summary.module, instance)
    if outside is not None:
        return NoFix(outside.reason("no loop runs to pick an instance by"))
    async_with = "yes" if {"__aenter__", "__aexit__"} <= set(record.methods) else ""
    return Granted(instance, callee, ((CLASS, f"{module}.{cls}"), (CLOSE, close), (ASYNC_WITH, async_with)))


def _closes(method: Function | None) -> bool:
    return method is not None and method.is_async and method.parameters == ("self",)
