from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Holder
from loopcheck.analysis.holders import SingletonAttribute, SingletonRegistry
from loopcheck.analysis.tree import Site
from loopcheck.data.catalogue import Client
from loopcheck.engine.diagnostics import FixProposal, NoFix
from loopcheck.engine.rule import Invalid, RuleDocs, Valid
from loopcheck.fixes.per_loop_client import ClientFixes
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.clients.base import LIBRARY_FIX_SAFETY, ClientRule
from loopcheck.rules.wording import NO_LOOP_THERE, held_in, shared_instance

# The loop-aware holder the fix makes of the last invalid example.
FIXED_STORE = """\
import asyncio
import threading

import redis.asyncio as redis
class Store:
    def __init__(self):
        self._client_by_loop = {}

    @property
    def _client(self):
        \"\"\"The running loop's redis.asyncio.Redis: made on first use, closed when its loop ends.\"\"\"
        loop = asyncio.get_running_loop()
        # Forget the clients of closed loops (they hold their loop, so nothing else would free it),
        # and close those of loops closed by hand, whose closer never ran: on a loop of their own in
        # a thread, waited for (a task on this loop is lost if it, too, is closed by hand).
        for stale in [other for other in list(self._client_by_loop) if other.is_closed()]:
            entry = self._client_by_loop.pop(stale, None)  # None: another thread's loop took it
            if entry is not None and entry[1].ag_frame is not None:
                closing = threading.Thread(target=asyncio.run, args=(_close_client_now(entry[1]),))
                closing.start()
                closing.join()
        if loop not in self._client_by_loop:
            client = redis.from_url('redis://localhost')
            closer = _close_client(loop, client)
            try:
                closer.asend(None).send(None)  # to its `yield`: now the loop's shutdown closes it
            except StopIteration:
                pass
            self._client_by_loop[loop] = client, closer
        return self._client_by_loop[loop][0]
    async def get(self, key):
        return await self._client.get(key)


async def _close_client(loop, client):
    \"\"\"Suspended until the loop shuts down its async generators, then closes the client.\"\"\"
    try:
        yield
    finally:
        try:
            await client.aclose()
        except Exception:
            if not loop.is_closed():
                raise  # else its connections went with the loop, closed by hand


async def _close_client_now(closer):
    \"\"\"Closes the client of a loop closed by hand (its async generators never shut down).\"\"\"
    await closer.aclose()


store = Store()
"""


class SingletonClient(ClientRule):
    code = "LCK305"
    name = "singleton-async-client"
    summary = "async client kept by an instance the whole process shares"
    fix_kind = "unsafe"
    instead = "create the instance per task or per event loop, started and stopped on that loop"
    starts_from = (
        Start(calls=("clients",), where=(Where.FUNCTION, Where.COROUTINE), on_shared_instance=True),
    )

    docs = RuleDocs(
        tier_reason=(
            "Every loop after the first uses a client of a dead loop: `Event loop is closed` or `attached "
            "to a different loop`."
        ),
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
```

Or let the instance rebuild its client when the running loop changes, as the incident authors did
by hand. For a client made by a plain call in `__init__`, the fix does this: the attribute
becomes a property keeping one client per running loop, made on first use under that loop and
closed when that loop ends, so every `self._client` and `redis_client._client` stays as it is:

```python
class RedisClient:
    def __init__(self):
        self._client_by_loop = {}

    @property
    def _client(self):
        \"\"\"The running loop's redis.asyncio.Redis: made on first use, closed when its loop ends.\"\"\"
        ...  # the per-loop accessor of LCK301's fix, keeping its clients in self._client_by_loop
```""",
        fix_safety="""\
Unsafe: it changes when the client is made and closed. Each event loop gets a client of its own,
made on first use under that loop (no longer when the instance is made), so connection pools are
not shared and state set on one client is not carried over; each is closed when its loop ends,
however it ends: at the loop's shutdown under asyncio.run() or asyncio.Runner, and, for a loop
closed by hand, on the next access from another loop (see LCK301, which generates the same
accessor). Offered when one plain statement of a method of the class stores the client in the
attribute, nothing else writes the attribute, every read of it in this module is inside a
coroutine (the property needs a running loop), the constructor uses no variable of the method
but `self` and parameters the method keeps in an attribute written nowhere else (`self._url =
url`: the property reads `self._url`, so a later change of that attribute from outside this
module changes the next loop's client), and the catalogue knows how to close the client. There is no fix, and the message
says why, for a client made by an awaited call (`await async_playwright().start()`: a property
cannot wait), an attribute assigned elsewhere too (`self.client = None` first), a class with
`__slots__`, or a client kept in a registry.""" + LIBRARY_FIX_SAFETY,
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
                "context or browser has been closed'; no fix: the client is made by an awaited "
                "call, which a property cannot wait for"
            ),
        ),
        Invalid(
            "import httpx\nclass Api:\n    def __init__(self):\n"
            "        self.http = httpx.AsyncClient()\napi = Api()\n",
            message=(
                "4:21 httpx.AsyncClient kept in `Api.http` of the module-level instance `api`, "
                "which every event loop of the process shares: it binds to the first event loop "
                "that uses it, and under any other loop it fails with 'Event loop is closed'; no "
                "fix: nothing in this module uses it"
            ),
        ),
        Invalid(
            "import redis.asyncio as redis\n"
            "class Store:\n"
            "    def __init__(self):\n"
            "        self._client = redis.from_url('redis://localhost')\n"
            "    async def get(self, key):\n"
            "        return await self._client.get(key)\n"
            "store = Store()\n",
            message=(
                "4:24 redis.asyncio.Redis kept in `Store._client` of the module-level instance "
                "`store`, which every event loop of the process shares: it binds to the first "
                "event loop that uses it, and under any other loop it fails with 'Event loop is "
                "closed'"
            ),
            fix=FIXED_STORE,
            safety="unsafe",
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

    def fix_for(
        self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder
    ) -> FixProposal | NoFix:
        tree = self.analysis.tree
        if not all(tree.in_coroutine(read) for read in holder.reads):
            return NoFix(NO_LOOP_THERE)
        assert isinstance(site.owner, cst.FunctionDef)
        return ClientFixes(self.context).holder(client, creation, holder, site.owner)

    def message_for(self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder) -> str:
        assert isinstance(holder, (SingletonAttribute, SingletonRegistry))
        return (
            f"{client.display} kept in {held_in(holder)} of {shared_instance(holder.singleton)}, "
            f"which every event loop of the process shares: {self.consequence(client)}"
        )
