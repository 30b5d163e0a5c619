from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Holder
from loopcheck.analysis.tree import Site
from loopcheck.data.catalogue import Client
from loopcheck.engine.rule import Invalid, RuleDocs, Valid
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.clients.base import ClientRule


class ClassAttributeClient(ClientRule):
    code = "LCK302"
    name = "class-attribute-async-client"
    summary = "async client created as a class attribute"
    fix_kind = "none"
    instead = "give each instance its client, created inside the loop that uses it"
    starts_from = (Start(calls=("clients",), where=(Where.CLASS,)),)

    docs = RuleDocs(
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

or keep one per event loop with a per-loop factory, as LCK301's fix generates.""",
        fix_safety="""\
No fix: who creates the instances, and under which loop, decides where the client belongs.""",
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
                "under any other loop it fails with 'Event loop is closed'"
            ),
        ),
    )
    valid = (
        Valid(
            "import httpx\nclass Api:\n    def __init__(self, http):\n        self.http = http\n",
        ),
        Valid("import httpx\nclass Api:\n    http = httpx.Client()\n"),
    )

    def message_for(self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder) -> str:
        assert isinstance(site.owner, cst.ClassDef)
        return (
            f"{client.display} created as a class attribute of {site.owner.name.value} is shared "
            f"by every instance and every event loop: {self.consequence(client)}"
        )
