from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Held, Holder
from loopcheck.analysis.tree import Site
from loopcheck.data.catalogue import Client
from loopcheck.engine.diagnostics import FixProposal, NoFix
from loopcheck.engine.rule import Invalid, RuleDocs, Valid
from loopcheck.fixes.per_loop import UNUSED, PerLoopFixes, lone_store, only_written_there
from loopcheck.fixes.per_loop_client import ClientFixes
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.clients.base import LIBRARY_FIX_SAFETY, ClientRule
from loopcheck.rules.wording import NO_LOOP_THERE

# The per-loop accessor the fix makes of the last invalid example's class attribute.
FIXED_API = """\
import asyncio
import threading

import httpx
class Api:
    async def get(self, url):
        return await _get_api_http().get(url)


_api_http_by_loop = {}


def _get_api_http():
    \"\"\"The running loop's httpx.AsyncClient: made on first use, closed when its loop ends.\"\"\"
    loop = asyncio.get_running_loop()
    # Forget the clients of closed loops (they hold their loop, so nothing else would free it),
    # and close those of loops closed by hand, whose closer never ran: on a loop of their own in
    # a thread, waited for (a task on this loop is lost if it, too, is closed by hand).
    for stale in [other for other in list(_api_http_by_loop) if other.is_closed()]:
        entry = _api_http_by_loop.pop(stale, None)  # None: another thread's loop took it
        if entry is not None and entry[1].ag_frame is not None:
            closing = threading.Thread(target=asyncio.run, args=(_close_api_http_now(entry[1]),))
            closing.start()
            closing.join()
    if loop not in _api_http_by_loop:
        client = httpx.AsyncClient()
        closer = _close_api_http(loop, client)
        try:
            closer.asend(None).send(None)  # to its `yield`: now the loop's shutdown closes it
        except StopIteration:
            pass
        _api_http_by_loop[loop] = client, closer
    return _api_http_by_loop[loop][0]


async def _close_api_http(loop, client):
    \"\"\"Suspended until the loop shuts down its async generators, then closes the client.\"\"\"
    try:
        yield
    finally:
        try:
            await client.aclose()
        except Exception:
            if not loop.is_closed():
                raise  # else its connections went with the loop, closed by hand


async def _close_api_http_now(closer):
    \"\"\"Closes the client of a loop closed by hand (its async generators never shut down).\"\"\"
    await closer.aclose()
"""


class ClassAttributeClient(ClientRule):
    code = "LCK302"
    name = "class-attribute-async-client"
    summary = "async client created as a class attribute"
    fix_kind = "unsafe"
    instead = "give each instance its client, created inside the loop that uses it"
    starts_from = (Start(calls=("clients",), where=(Where.CLASS,)),)

    docs = RuleDocs(
        tier_reason=(
            "Every instance shares the client, which fails under any loop but the first (`Event loop is "
            "closed`, `attached to a different loop`)."
        ),
        what_it_does="""\
Finds async clients (see LCK301 for the catalogue) created in a class body: one client, made at
import time, shared by every instance of the class and every event loop of the process.""",
        why_is_this_bad="""\
The class body runs once, at import. Every instance then uses the same client under every loop:
the first loop that uses it owns its connections, and any other loop (the next `asyncio.run()`,
Celery task, scheduler job, test) fails with `Event loop is closed` or `attached to a different
loop`, or leaks the dead loop's connections.""",
        example="""\
import httpx


class WeatherApi:
    http = httpx.AsyncClient(base_url="https://api.example.com")

    async def today(self, city):
        return (await self.http.get(f"/today/{city}")).json()""",
        use_instead="""\
Give each instance its client, created when the instance is (inside the loop that uses it), and
close it with the instance:

```python
class WeatherApi:
    def __init__(self, http: httpx.AsyncClient):
        self.http = http


async def main():
    async with httpx.AsyncClient(base_url="https://api.example.com") as http:
        api = WeatherApi(http)
        ...
```

or keep one per event loop with a per-loop factory shared by all instances, which the fix
generates: the class-body line becomes LCK301's per-loop accessor, placed after the class, and
every read of the attribute in this module (`self.http`, `cls.http`, `WeatherApi.http`) a call
of it (`_get_weather_api_http()`); callers of the class's methods do not change.""",
        fix_safety="""\
Unsafe: it changes when clients are made and closed. Each event loop gets a client of its own,
made on first use under that loop rather than at import, so connection pools are not shared
across loops and state set on one client is not carried over; each is closed when its loop
ends, however it ends (at the loop's shutdown under asyncio.run() or asyncio.Runner; for a loop
closed by hand, on the next access from another loop: see LCK301). Offered when one line of the
class body, of its own, makes the client, nothing else assigns the attribute, every read of it
in this module is inside a coroutine (the accessor needs a running loop), its constructor uses
only module-level names that keep their value, the class is at the module's top level and keeps
a statement once the line is gone, and the catalogue knows how to close the client. Otherwise
there is no fix and the message says why.""" + LIBRARY_FIX_SAFETY,
        affected_versions="""\
All supported versions (see LCK301).""",
        references=("https://github.com/encode/httpx/discussions/2473",),
    )
    invalid = (
        Invalid(
            "import httpx\nclass Api:\n    http = httpx.AsyncClient()\n",
            message=(
                "3:12 httpx.AsyncClient created as a class attribute of Api is shared by every "
                "instance and every event loop: it binds to the first event loop that uses it, and "
                "under any other loop it fails with 'Event loop is closed'; no fix: nothing in "
                "this module uses it"
            ),
        ),
        Invalid(
            "import httpx\nclass Api:\n    http = httpx.AsyncClient()\n"
            "    async def get(self, url):\n        return await self.http.get(url)\n",
            message=(
                "3:12 httpx.AsyncClient created as a class attribute of Api is shared by every "
                "instance and every event loop: it binds to the first event loop that uses it, and "
                "under any other loop it fails with 'Event loop is closed'"
            ),
            fix=FIXED_API,
            safety="unsafe",
        ),
    )
    valid = (
        Valid(
            "import httpx\nclass Api:\n    def __init__(self, http):\n        self.http = http\n",
        ),
        Valid("import httpx\nclass Api:\n    http = httpx.Client()\n"),
    )

    def fix_for(
        self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder
    ) -> FixProposal | NoFix:
        class_def = site.owner
        assert isinstance(class_def, cst.ClassDef)
        tree = self.analysis.tree
        line = lone_store(tree, creation, holder, Held.CLASS_ATTRIBUTE)
        if isinstance(line, NoFix):
            return line
        declined = only_written_there(holder)
        if declined is not None:
            return declined
        if tree.parents.get(tree.parents.get(line)) is not class_def:
            return NoFix(f"it is created in a block of the body of `{class_def.name.value}`")
        references = holder.reads
        if not references:
            return NoFix(UNUSED)
        if not all(tree.in_coroutine(r) for r in references):
            return NoFix(NO_LOOP_THERE)
        if not tree.is_top_level(class_def):
            return NoFix(f"`{class_def.name.value}` is not defined at the module's top level")
        if len(class_def.body.body) < 2:
            return NoFix(f"moving it out would leave the body of `{class_def.name.value}` empty")
        reason = PerLoopFixes(self.context).cannot_move(creation)  # type: ignore[arg-type]
        if reason is not None:
            return NoFix(reason)
        assert holder.name is not None
        name = f"{class_def.name.value}_{holder.name}"
        return ClientFixes(self.context).factory(client, creation, name, class_def, references, moved=line)

    def message_for(self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder) -> str:
        assert isinstance(site.owner, cst.ClassDef)
        return (
            f"{client.display} created as a class attribute of {site.owner.name.value} is shared "
            f"by every instance and every event loop: {self.consequence(client)}"
        )
