from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Held, Holder
from loopcheck.analysis.holders import LAZY_HOLDERS, lazy_global_getter
from loopcheck.analysis.tree import Site, all_params
from loopcheck.data.catalogue import Client
from loopcheck.engine.diagnostics import FixProposal, NoFix
from loopcheck.engine.rule import Invalid, RuleDocs, Valid
from loopcheck.fixes.getter import sole_initial_none
from loopcheck.fixes.per_loop import hidden_reason
from loopcheck.fixes.per_loop_client import ClientFixes, unfixable
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.clients.base import LIBRARY_FIX_SAFETY, ClientRule
from loopcheck.rules.wording import GETTER_ONLY, kept_in_words


class LazilyKeptClient(ClientRule):
    code = "LCK303"
    name = "lazily-kept-async-client"
    summary = "async client created on first use and kept for every later event loop"
    fix_kind = "sometimes unsafe"
    instead = "keep one client per event loop, closed when that loop ends"
    starts_from = (Start(calls=("clients",), where=(Where.FUNCTION, Where.COROUTINE), kept=True),)

    docs = RuleDocs(
        tier_reason=(
            "Every loop after the first gets the client the first one made and fails with `Event loop is "
            "closed` or `attached to a different loop`."
        ),
        what_it_does="""\
Finds async clients (see LCK301 for the catalogue) created lazily and kept for the life of the
process: the singleton getter (`global _client; if _client is None: _client = Client()`, in a plain
function or a coroutine), a `functools.lru_cache`/`cache` factory (`@lru_cache def get_client():
return httpx.AsyncClient()`), a class attribute or a registry filled on first use
(`cls._client = ...`, `_clients[name] = ...`). Worker start-up hooks are LCK304's, and instances
shared by the process LCK305's.""",
        why_is_this_bad="""\
Creating the client on first use looks like the cure for a module-level client (LCK301), but it
is still kept for the whole process: the first event loop that asks makes it, and every later
loop gets the same one. A global `redis.asyncio` client reused by every `asyncio.run()` of a
Celery worker failed exactly so: `Event loop is closed` on the second task. A function cache
around a client factory is a known open bug in major frameworks for the same reason.""",
        example="""\
import functools

import httpx


@functools.lru_cache
def get_http():
    return httpx.AsyncClient(timeout=10)


async def fetch(url):
    return (await get_http().get(url)).text""",
        use_instead="""\
Keep one client per event loop, closed when that loop ends. For the two getter shapes the fix
rewrites the getter itself, which keeps its name, so callers do not change:

```python
import asyncio

_get_http_by_loop = {}


def get_http():
    loop = asyncio.get_running_loop()
    # Forget the clients of closed loops: they hold their loop, so nothing else would free it.
    for stale in [other for other in list(_get_http_by_loop) if other.is_closed()]:
        _get_http_by_loop.pop(stale, None)
    if loop not in _get_http_by_loop:
        client = httpx.AsyncClient(timeout=10)
        _get_http_by_loop[loop] = client, loop.create_task(_close_get_http(client))
    return _get_http_by_loop[loop][0]
```

(simplified: the generated getter also closes each loop's client when that loop ends, however it
ends, with the closers LCK301's fix writes, `_close_get_http` and `_close_get_http_now`). In a
web application, create the client in the lifespan handler instead.""",
        fix_safety="""\
Unsafe, and offered only for the `lru_cache`/`cache` factory without arguments and for the
singleton getter (`global name` / `if name is None: name = Client()` / `return name`, with `name =
None` at module level and no other use of the global, which is private: a leading underscore and
not listed in `__all__`, since the fix removes it; a plain function or a coroutine), when every
call of the getter is in a coroutine of this module: the getter then needs a running loop. Each loop gets its own client,
so connection pools are no longer shared. Other shapes get no fix, and the message says why. The
getter becomes the
per-loop accessor of LCK301 and keeps its name: a client is closed when its loop shuts down under
asyncio.run() or asyncio.Runner, and that of a loop closed by hand at the latest on the next call
from another loop (see LCK301).""" + LIBRARY_FIX_SAFETY,
        affected_versions="""\
All supported versions (see LCK301).""",
        references=(
            "https://github.com/langchain-ai/langchain/issues/35783",
            "https://github.com/redis/redis-py/issues/2838",
        ),
    )
    invalid = (
        Invalid(
            "import httpx, functools\n@functools.lru_cache\ndef get_http():\n"
            "    return httpx.AsyncClient()\n",
            message=(
                "4:12 httpx.AsyncClient created on first use and kept in the cache of `get_http()` "
                "serves every later event loop too: it binds to the first event loop that uses it, "
                "and under any other loop it fails with 'Event loop is closed'; no fix: nothing in "
                "this module calls `get_http()`"
            ),
        ),
        Invalid(
            "import redis.asyncio as redis\n_client = None\nasync def client():\n    global _client\n"
            "    if _client is None:\n        _client = redis.Redis()\n    return _client\n",
            message=(
                "6:19 redis.asyncio.Redis created on first use and kept in the module global "
                "`_client` serves every later event loop too: it binds to the first event loop "
                "that uses it, and under any other loop it fails with 'Event loop is closed'; no "
                "fix: nothing in this module calls `client()`"
            ),
        ),
        Invalid(
            "import functools\n"
            "import httpx\n"
            "@functools.cache\n"
            "def get_http():\n"
            "    return httpx.AsyncClient()\n"
            "async def fetch(url):\n"
            "    return (await get_http().get(url)).text\n",
            message=(
                "5:12 httpx.AsyncClient created on first use and kept in the cache of `get_http()` serves "
                "every later event loop too: it binds to the first event loop that uses it, and under any "
                "other loop it fails with 'Event loop is closed'"
            ),
            fix=(
                "import asyncio\n"
                "import threading\n"
                "\n"
                "import httpx\n"
                "_get_http_by_loop = {}\n"
                "def get_http():\n"
                '    """The running loop\'s httpx.AsyncClient: made on first use, closed when its loop ends."""\n'
                "    loop = asyncio.get_running_loop()\n"
                "    # Forget the clients of closed loops (they hold their loop, so nothing else would free it),\n"
                "    # and close those of loops closed by hand, whose closer never ran: on a loop of their own in\n"
                "    # a thread, waited for (a task on this loop is lost if it, too, is closed by hand).\n"
                "    for stale in [other for other in list(_get_http_by_loop) if other.is_closed()]:\n"
                "        entry = _get_http_by_loop.pop(stale, None)  # None: another thread's loop took it\n"
                "        if entry is not None and entry[1].ag_frame is not None:\n"
                "            closing = threading.Thread(target=asyncio.run, args=(_close_get_http_now(entry[1]),))\n"
                "            closing.start()\n"
                "            closing.join()\n"
                "    if loop not in _get_http_by_loop:\n"
                "        client = httpx.AsyncClient()\n"
                "        closer = _close_get_http(loop, client)\n"
                "        try:\n"
                "            closer.asend(None).send(None)  # to its `yield`: now the loop's shutdown closes it\n"
                "        except StopIteration:\n"
                "            pass\n"
                "        _get_http_by_loop[loop] = client, closer\n"
                "    return _get_http_by_loop[loop][0]\n"
                "\n"
                "\n"
                "async def _close_get_http(loop, client):\n"
                '    """Suspended until the loop shuts down its async generators, then closes the client."""\n'
                "    try:\n"
                "        yield\n"
                "    finally:\n"
                "        try:\n"
                "            await client.aclose()\n"
                "        except Exception:\n"
                "            if not loop.is_closed():\n"
                "                raise  # else its connections went with the loop, closed by hand\n"
                "\n"
                "\n"
                "async def _close_get_http_now(closer):\n"
                '    """Closes the client of a loop closed by hand (its async generators never shut down)."""\n'
                "    await closer.aclose()\n"
                "\n"
                "\n"
                "async def fetch(url):\n"
                "    return (await get_http().get(url)).text\n"
            ),
            safety="unsafe",
        ),
        # The fix removes the global, which __all__ offers to other modules.
        Invalid(
            "import httpx\n__all__ = ['_http']\n_http = None\ndef get_http():\n    global _http\n"
            "    if _http is None:\n        _http = httpx.AsyncClient()\n    return _http\n"
            "async def fetch(url):\n    return await get_http().get(url)\n",
            message=(
                "7:17 httpx.AsyncClient created on first use and kept in the module global `_http` "
                "serves every later event loop too: it binds to the first event loop that uses it, "
                "and under any other loop it fails with 'Event loop is closed'; no fix: `_http` is "
                "public (listed in `__all__`); modules importing it would need changing too"
            ),
        ),
    )
    valid = (
        Valid(
            "import httpx\nasync def fetch(url):\n    client = httpx.AsyncClient()\n"
            "    try:\n        return await client.get(url)\n    finally:\n"
            "        await client.aclose()\n",
        ),
        Valid(
            "import httpx, functools\n@functools.lru_cache\ndef get_http():\n    return httpx.Client()\n",
        ),
    )

    def matches(self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder) -> bool:
        return holder.kind in LAZY_HOLDERS and not holder.per_loop and not self.in_worker_hook(creation)

    def message_for(self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder) -> str:
        return (
            f"{client.display} created on first use and kept in {kept_in_words(holder)} serves "
            f"every later event loop too: {self.consequence(client)}"
        )

    def fix_for(
        self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder
    ) -> FixProposal | NoFix:
        function = site.owner
        tree = self.analysis.tree
        if holder.kind not in (Held.FUNCTION_CACHE, Held.MODULE_GLOBAL):
            return NoFix("the fix rewrites only an `lru_cache` factory or a getter of a module global")
        if not isinstance(function, cst.FunctionDef) or not tree.is_top_level(function):
            return NoFix("the function that makes it is not defined at the module's top level")
        declined = unfixable(client, creation)
        if declined is not None:
            return declined
        hidden = self.analysis.names.free_variables(creation)
        if hidden:
            return NoFix(hidden_reason(hidden[0].value))
        name = function.name.value
        calls = list(self.analysis.holders.calls_of(function))
        if not calls:
            return NoFix(f"nothing in this module calls `{name}()`")
        if not all(tree.in_coroutine(c) for c in calls):
            # the getter will need a running loop
            return NoFix(f"`{name}()` is called outside coroutines, where no loop may be running")
        fixes = ClientFixes(self.context)
        if holder.kind is Held.FUNCTION_CACHE:
            if all_params(function.params):
                return NoFix(f"`{name}()` takes arguments, so it keeps a client per argument")
            return fixes.getter(client, creation, function, drop_decorators=True)
        if lazy_global_getter(function, creation) != holder.name:
            return NoFix(GETTER_ONLY)
        initial = sole_initial_none(tree, holder, function, self.analysis.exports)
        if isinstance(initial, NoFix):
            return initial
        return fixes.getter(client, creation, function, initial=initial)
