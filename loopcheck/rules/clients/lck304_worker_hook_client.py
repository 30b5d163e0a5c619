from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Held, Holder
from loopcheck.analysis.holders import SingletonAttribute, SingletonRegistry
from loopcheck.analysis.tree import Site
from loopcheck.data.catalogue import Client
from loopcheck.engine.diagnostics import FixProposal, NoFix, Withheld
from loopcheck.engine.rule import Invalid, RuleDocs, Valid
from loopcheck.fixes.getter import none_line
from loopcheck.fixes.per_loop import (
    UNUSED,
    PerLoopFixes,
    initial_none_reason,
    lone_store,
    public_reason,
    rebound_reason,
    unfollowed_reason,
)
from loopcheck.fixes.per_loop_client import ClientFixes, HookStore
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.clients.base import ClientRule
from loopcheck.rules.wording import NO_LOOP_THERE, held_in

# A global a hook sets, and the per-loop factory the fix makes of it (the last invalid example).
HOOKED_GLOBAL = """\
import httpx
from celery.signals import worker_process_init

_http = None


@worker_process_init.connect
def open_http(**kwargs):
    global _http
    _http = httpx.AsyncClient()


async def fetch(url):
    return await _http.get(url)
"""
FIXED_HOOKED_GLOBAL = """\
import asyncio
import threading

import httpx

_http_by_loop = {}


def _get_http():
    \"\"\"The running loop's httpx.AsyncClient: made on first use, closed when its loop ends.\"\"\"
    loop = asyncio.get_running_loop()
    # Forget the clients of closed loops (they hold their loop, so nothing else would free it),
    # and close those of loops closed by hand, whose closer never ran: on a loop of their own in
    # a thread, waited for (a task on this loop is lost if it, too, is closed by hand).
    for stale in [other for other in list(_http_by_loop) if other.is_closed()]:
        entry = _http_by_loop.pop(stale, None)  # None: another thread's loop took it
        if entry is not None and entry[1].ag_frame is not None:
            closing = threading.Thread(target=asyncio.run, args=(_close_http_now(entry[1]),))
            closing.start()
            closing.join()
    if loop not in _http_by_loop:
        client = httpx.AsyncClient()
        closer = _close_http(loop, client)
        try:
            closer.asend(None).send(None)  # to its `yield`: now the loop's shutdown closes it
        except StopIteration:
            pass
        _http_by_loop[loop] = client, closer
    return _http_by_loop[loop][0]


async def _close_http(loop, client):
    \"\"\"Suspended until the loop shuts down its async generators, then closes the client.\"\"\"
    try:
        yield
    finally:
        try:
            await client.aclose()
        except Exception:
            if not loop.is_closed():
                raise  # else its connections went with the loop, closed by hand


async def _close_http_now(closer):
    \"\"\"Closes the client of a loop closed by hand (its async generators never shut down).\"\"\"
    await closer.aclose()


async def fetch(url):
    return await _get_http().get(url)
"""

# The holders the fix rewrites.
HOLDERS_FIXED = (
    "the fix rewrites a module global set on a line of its own, or an attribute of a shared instance"
)

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
    fix_kind = "unsafe"
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
Unsafe: it changes when the client is made and closed. For a module global the hook sets on a
line of its own (`global client` / `client = X(...)`, with `client = None` at the module's top
level), the fix is LCK301's per-loop factory: the `client = None` line becomes the factory
(`_get_client()`), every read of the global becomes a call of it, and the hook's two lines go
(the hook too, when it made only that and is connected by a decorator). Each event loop (each
task's `asyncio.run()`) then gets a client of its own, made on first use under that loop, not
once per worker process when the hook runs, so no connection pool outlives a task's loop and
state set on one client is not carried over; each is closed when its loop ends, however it ends.
For a client a method the hook calls keeps on a shared instance, the fix is LCK305's loop-aware
holder (the attribute becomes a property keeping one client per loop). Offered where every read
is inside a coroutine (the factory needs a running loop), the constructor reads only module
globals bound before it, and the catalogue knows how to close the client. A public global (no
leading underscore, or listed in `__all__`) may be imported by other modules: the file alone gets
no fix for it; with the project model it gets the same fix where no module of the project imports
it, and where one does, the factory with a proxy that keeps the name importable, as LCK301's
public clients do (and, as theirs, no fix where an importer uses the name outside coroutines or
could not be read). No fix, and the message says why, for a global without its `= None` line or
assigned elsewhere too, a hook left empty that something else calls (it is connected by
`.connect(hook)`), or a client made inside a block of the hook.""",
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
                "it fails with 'is bound to a different event loop'; no fix: `driver` is public; "
                "modules importing it would need changing too"
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
                "loop is closed'; no fix: `http` is assigned elsewhere too"
            ),
        ),
        Invalid(
            HOOKED_GLOBAL,
            message=(
                "10:13 httpx.AsyncClient created in the worker start-up hook `open_http` and kept in "
                "the module global `_http` for the tasks: each task runs its own event loop, and it "
                "binds to the first event loop that uses it, and under any other loop it fails with "
                "'Event loop is closed'"
            ),
            fix=FIXED_HOOKED_GLOBAL,
            safety="unsafe",
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

    def fix_for(
        self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder
    ) -> FixProposal | NoFix | Withheld[FixProposal] | None:
        tree = self.analysis.tree
        if isinstance(holder, (SingletonAttribute, SingletonRegistry)):
            # A method the hook calls keeps it on a shared instance: the loop-aware holder.
            if not all(tree.in_coroutine(read) for read in holder.reads):
                return NoFix(NO_LOOP_THERE)
            assert isinstance(site.owner, cst.FunctionDef)
            return ClientFixes(self.context).holder(client, creation, holder, site.owner)
        if holder.kind is not Held.MODULE_GLOBAL:
            return NoFix(HOLDERS_FIXED)
        line = lone_store(tree, creation, holder, Held.MODULE_GLOBAL)
        if isinstance(line, NoFix):
            return line
        hook = site.owner
        if not isinstance(hook, cst.FunctionDef) or tree.parents.get(line) is not hook.body:
            return NoFix("it is not made by a statement of the hook's own body")
        assert holder.name is not None
        initial = self.initial_line(holder)
        if isinstance(initial, NoFix):
            return initial
        # A public name keeps its fix for the project model to offer (see public_names).
        public = public_reason(holder.name, self.analysis.exports)
        store = HookStore(hook, line, holder.name)
        declined = self.not_per_loop(creation, holder, store)
        if declined is not None:
            return public or declined
        fixes = ClientFixes(self.context)
        found = fixes.factory(client, creation, holder.name, initial, holder.reads, hook=store)
        if isinstance(found, NoFix):
            return public or found
        return found.proposal if public is None else fixes.public(public, holder.name, client, found.proposal, found)

    def not_per_loop(self, creation: cst.BaseExpression, holder: Holder, store: HookStore) -> NoFix | None:
        """Why the per-loop factory cannot take the hook's global over; None if it can."""
        declined = store.declined(self.analysis)
        if declined is not None:
            return declined
        if not holder.reads:
            return NoFix(UNUSED)
        if not all(self.analysis.tree.in_coroutine(read) for read in holder.reads):
            return NoFix(NO_LOOP_THERE)
        reason = PerLoopFixes(self.context).cannot_move(creation)  # type: ignore[arg-type]
        return None if reason is None else NoFix(reason)

    @staticmethod
    def initial_line(holder: Holder) -> cst.SimpleStatementLine | NoFix:
        """The global's ``name = None`` line at the module's top level, which the per-loop
        factory takes over, when that line and the hook's store are its only writes."""
        tree = holder.analysis.tree
        if not holder.followable:
            return NoFix(unfollowed_reason(holder.name))
        others = [write for write in holder.writes if write is not holder.target]
        if len(others) != 1:
            return NoFix(rebound_reason(holder.name) if others else initial_none_reason(holder.name))
        line = none_line(tree, others[0])
        if line is None or not tree.is_top_level(line):
            return NoFix(initial_none_reason(holder.name))
        return line

    def message_for(self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder) -> str:
        contexts = self.analysis.contexts
        unit = contexts.unit_of(creation)
        hook = unit.name.value if isinstance(unit, cst.FunctionDef) else "the hook"
        return (
            f"{client.display} created in the worker start-up hook `{hook}` and kept in "
            f"{held_in(holder)} for the tasks: each task runs its own event loop, and "
            f"{self.consequence(client)}"
        )
