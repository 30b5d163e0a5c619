from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Held, Holder
from loopcheck.analysis.tree import Site
from loopcheck.data.catalogue import Client
from loopcheck.engine.rule import Invalid, RuleDocs, Valid
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.clients.base import ClientRule
from loopcheck.rules.wording import held_in

KEPT = (
    Held.MODULE_GLOBAL,
    Held.CLASS_ATTRIBUTE,
    Held.SINGLETON_ATTRIBUTE,
    Held.MODULE_CONTAINER,
    Held.CLASS_CONTAINER,
    Held.FUNCTION_CACHE,
)


class WorkerHookClient(ClientRule):
    code = "LCK304"
    name = "worker-hook-async-client"
    summary = "async client created in a worker start-up hook and kept for the tasks"
    fix_kind = "none"
    instead = "create the client inside the task's loop (`async with`), or once per event loop"
    starts_from = (
        Start(calls=("clients",), where=(Where.FUNCTION, Where.COROUTINE), kept=True),
        Start(calls=("clients",), where=(Where.FUNCTION, Where.COROUTINE), on_shared_instance=True),
    )

    docs = RuleDocs(
        tier_reason=(
            "Each task's loop uses a client of the start-up hook's loop, which is gone: `Event loop is "
            "closed` or `attached to a different loop`."
        ),
        what_it_does="""\
Finds async clients (see LCK301 for the catalogue) created in a worker or process start-up hook
(Celery's `worker_process_init`, `worker_init`, `celeryd_init`, `worker_ready`, ... connected with
`.connect(...)` or as decorators), or in code it calls, and kept in a global or attribute for the
tasks to use.""",
        why_is_this_bad="""\
A start-up hook runs once per worker process, before any task, under a loop of its own (an
`asyncio.run(init())`) or none. Each task then runs its coroutine with `asyncio.run()`, a new loop
every time, and reaches for the client the hook made: it belongs to the hook's loop, which is
gone, and fails with `Event loop is closed`, `... is bound to a different event loop` (the Neo4j
driver) or `attached to a different loop`. This is how a RAG service's Neo4j driver, created in
`worker_process_init`, failed in every task.""",
        example="""\
import asyncio

from celery.signals import worker_process_init
from neo4j import AsyncGraphDatabase

driver = None


@worker_process_init.connect
def init_worker(**kwargs):
    global driver
    driver = AsyncGraphDatabase.driver("neo4j://localhost", auth=("neo4j", "secret"))""",
        use_instead="""\
Create the client inside the task's loop, and close it there. Either per task:

```python
@app.task
def index_document(doc_id):
    asyncio.run(index(doc_id))


async def index(doc_id):
    async with AsyncGraphDatabase.driver(URI, auth=AUTH) as driver:
        ...
```

or once per loop with a per-loop factory (see LCK301), so that every task's loop gets its own
driver. Keep in the start-up hook only what belongs to no loop (configuration, a synchronous
client).""",
        fix_safety="""\
No fix: the hook and the tasks are usually in different modules, and how long a client should
live is a design choice (per task, per loop).""",
        affected_versions="""\
All supported versions (see LCK301).""",
        references=(
            "https://docs.celeryq.dev/en/stable/userguide/signals.html#worker-process-init",
            "https://github.com/neo4j/neo4j-python-driver/issues/1095",
        ),
    )
    invalid = (
        Invalid(
            docs.example + "\n",
            message=(
                "12:14 neo4j.AsyncDriver created in the worker start-up hook `init_worker` and "
                "kept in the module global `driver` for the tasks: each task runs its own event "
                "loop, and it binds to the first event loop that uses it, and under any other loop "
                "it fails with 'is bound to a different event loop'"
            ),
        ),
        Invalid(
            "from celery.signals import worker_process_init\nimport httpx\n"
            "class Services:\n    def __init__(self):\n        self.http = None\n"
            "    def connect(self):\n        self.http = httpx.AsyncClient()\n"
            "services = Services()\n"
            "@worker_process_init.connect\ndef init_worker(**kwargs):\n    services.connect()\n",
            message=(
                "7:21 httpx.AsyncClient created in the worker start-up hook `connect` and kept in "
                "`Services.http` for the tasks: each task runs its own event loop, and it binds to "
                "the first event loop that uses it, and under any other loop it fails with 'Event "
                "loop is closed'"
            ),
        ),
    )
    valid = (
        Valid(
            "from celery.signals import worker_process_init\nimport httpx\nclient = None\n"
            "@worker_process_init.connect\ndef init_worker(**kwargs):\n    global client\n"
            "    client = httpx.Client()\n",
        ),
    )

    def matches(self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder) -> bool:
        return holder.kind in KEPT and self.in_worker_hook(creation)

    def message_for(self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder) -> str:
        contexts = self.analysis.contexts
        unit = contexts.unit_of(creation)
        hook = unit.name.value if isinstance(unit, cst.FunctionDef) else "the hook"
        return (
            f"{client.display} created in the worker start-up hook `{hook}` and kept in "
            f"{held_in(holder)} for the tasks: each task runs its own event loop, and "
            f"{self.consequence(client)}"
        )
