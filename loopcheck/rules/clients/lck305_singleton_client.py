from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Holder
from loopcheck.analysis.holders import SingletonAttribute, SingletonRegistry
from loopcheck.analysis.tree import Site
from loopcheck.data.catalogue import Client
from loopcheck.engine.rule import Invalid, RuleDocs, Valid
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.clients.base import ClientRule
from loopcheck.rules.wording import held_in, shared_instance


class SingletonClient(ClientRule):
    code = "LCK305"
    name = "singleton-async-client"
    summary = "async client kept by an instance the whole process shares"
    fix_kind = "none"
    instead = "create the instance per task or per event loop, started and stopped on that loop"
    starts_from = (
        Start(calls=("clients",), where=(Where.FUNCTION, Where.COROUTINE), on_shared_instance=True),
    )

    docs = RuleDocs(
        what_it_does="""\
Finds async clients (see LCK301 for the catalogue) kept on `self` by a method (`__init__`, or an
`async def initialize()` run later) of a class whose one instance the whole process shares: a
module-level instance, a global singleton made by a getter, an instance cached by
`functools.lru_cache`, a class-level `_instance`.""",
        why_is_this_bad="""\
The shared instance outlives every loop, and so does its client. When `__init__` makes it, it is
made at import; when an async `initialize()` makes it, it belongs to whichever loop called that
first. Every other loop (the next Celery task's `asyncio.run()`, a scheduler job, a test) then
uses a client of a dead loop: `Event loop is closed`, `attached to a different loop`, or, for a
Playwright browser started by the first task, `Target page, context or browser has been
closed` and a browser process nobody stops. This is how a crawler's global browser wrapper broke
every task after the first.""",
        example="""\
from playwright.async_api import async_playwright


class CookieBrowser:
    def __init__(self):
        self.playwright = None

    async def initialize(self):
        self.playwright = await async_playwright().start()


cookie_browser = CookieBrowser()""",
        use_instead="""\
Make the instance per loop or per task: create it inside the coroutine that uses it, as an async
context manager that starts the client in `__aenter__` and stops it in `__aexit__`, or keep one
instance per event loop (a per-loop factory, see LCK301) instead of a module-level one:

```python
class CookieBrowser:
    async def __aenter__(self):
        self.playwright = await async_playwright().start()
        self.browser = await self.playwright.chromium.launch()
        return self

    async def __aexit__(self, *exc):
        await self.browser.close()
        await self.playwright.stop()


async def crawl(url):
    async with CookieBrowser() as browser:
        ...
```""",
        fix_safety="""\
No fix: where the instance is made and who uses it decide the right lifetime.""",
        affected_versions="""\
All supported versions (see LCK301).""",
        references=("https://github.com/microsoft/playwright-python/issues/2115",),
    )
    invalid = (
        Invalid(
            docs.example + "\n",
            message=(
                "9:33 Playwright kept in `CookieBrowser.playwright` of the module-level instance "
                "`cookie_browser`, which every event loop of the process shares: it belongs to the "
                "loop it was created under, and under any other loop it fails with 'Target page, "
                "context or browser has been closed'"
            ),
        ),
        Invalid(
            "import httpx\nclass Api:\n    def __init__(self):\n"
            "        self.http = httpx.AsyncClient()\napi = Api()\n",
            message=(
                "4:21 httpx.AsyncClient kept in `Api.http` of the module-level instance `api`, "
                "which every event loop of the process shares: it binds to the first event loop "
                "that uses it, and under any other loop it fails with 'Event loop is closed'"
            ),
        ),
    )
    valid = (
        Valid(
            "import httpx\nclass Api:\n    def __init__(self):\n        self.http = httpx.AsyncClient()\n"
            "async def handler():\n    api = Api()\n",
        ),
    )

    def matches(self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder) -> bool:
        return (
            isinstance(holder, (SingletonAttribute, SingletonRegistry))
            and not holder.per_loop
            and not self.in_worker_hook(creation)
        )

    def message_for(self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder) -> str:
        assert isinstance(holder, (SingletonAttribute, SingletonRegistry))
        return (
            f"{client.display} kept in {held_in(holder)} of {shared_instance(holder.singleton)}, "
            f"which every event loop of the process shares: {self.consequence(client)}"
        )
