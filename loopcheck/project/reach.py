"""Which event loops reach which loop-bound objects: from every place a loop starts running code,
calls are followed across modules to the holders they use.

An object made once per process (a module global, a class attribute, an attribute of a
module-level instance, a lazily kept global) is *shared* when two different loops reach it, or
when a loop that is new on each call (``asyncio.run`` in a function that runs many times) reaches
it; *confined* when one loop only ever reaches it; *unreached* when no loop the model sees does.

The loops. Every :class:`~loopcheck.project.records.LoopStart` of every function (and of a
module's top-level code) is a loop, and so is every function an execution context runs on the
server's loop (a context whose ``loop`` is ``server`` in data/entries.toml):

- a ``per-call`` start (``asyncio.run``, ``anyio.run``, ``async_to_sync``, ``new_event_loop()``
  and ``run_until_complete()`` in one function) is a new loop each time it runs: its key is the
  start's site. It *repeats* when it sits in the body of a loop or comprehension of its function,
  or when the function holding it runs many times in one process: that
  function, or one of its callers up to :data:`MAX_CALLER_DEPTH` calls up, is run by a context
  that repeats (a Celery task, a thread, an executor or scheduler job), or the function is called
  from two or more places in the project (each call is another loop in the same process), or
  from a loop body or comprehension (``for name in names: task(name)``), or
  nothing in the project calls it (an API or an entry point: its callers are not seen, and may be
  many). Only what is known to run once does not repeat: top-level code (run once, at import), a
  function only a once-per-process context runs (a startup hook), and a function called from one
  place that runs once itself (a command line's ``main()`` called under ``__main__``): one loop,
  not shared by itself.
- a ``kept`` start (``_worker_loop.run_until_complete(...)``, ``run_coroutine_threadsafe(...,
  get_browser_loop())``) runs on the loop it names: its key is the holder that loop is kept in
  (``_worker_loop``; ``self.loop`` -> the instance attribute; ``get_worker_loop()`` -> the loop
  holder the getter, or a function it calls, reads; ``asyncio.get_event_loop()`` -> the thread's
  current loop, one loop for every such start, as a worker process runs them on its main
  thread), or the start's site when that cannot be resolved. A loop built in the call itself
  (``asyncio.new_event_loop().run_until_complete(...)``) is a new loop per call.
- a function run by a server context (``lifespan``; a route handler; an arq job, an ``async def``
  dramatiq actor, an AsyncIOScheduler job: the worker's or application's one loop) runs on the
  process's one loop: key ``server`` (a process serves or runs one worker, on one loop), with
  the kind of that process (below); one a
  ``per-call`` context runs (a pytest-asyncio test) runs on a loop of its own: its key is the
  function's site; one a ``per-module`` context runs (a test with ``loop_scope="module"``) on
  its module's loop, closed after the module's functions ran: key ``module:`` and the module.
  A function of another module handed to such a context (``ModuleSummary.handed``: Django's
  ``path("x/", views.index)``) is run by it as well.
- where the module of an ``asyncio.run()`` calls ``nest_asyncio.apply()``, that run is on the
  thread's current loop, left open: one loop, the key of ``get_event_loop()``'s.

The processes. A loop started in a test module runs in the test session, one under a module's
``if __name__ == "__main__":`` in that program, the rest in the application (:func:`process_of`).
The application's processes are told apart by kind (data/entries.toml's ``process``: a web
server's, a Celery worker's, a dramatiq or arq worker's) where every context that runs the
function starting the loop, or one of its callers, names the same kind
(:meth:`_Reacher.process_kind`): the loop's key then ends with ``@kind``, as each such process has
its own server loop, current loop and kept globals. Loops of different processes never meet an
object (each process has its own); a loop of no known kind may be in any of the application's,
and two loops with one key but for the kind are one loop (``Loop.key_in_any_process``).

What a loop runs: the start's ``runs`` references, resolved in the start's module. When one is a
parameter of the function holding the start (``def run_async(coro): return asyncio.run(coro)``),
the loop runs what the callers pass: for every caller of that helper, the ``async`` functions the
caller references (in a sync function, a coroutine function named there is all but always handed
to the runner), one loop per caller (a new loop per call, or the one kept loop), described and
judged by the caller's own contexts. The callers of such a caller, up to
:data:`MAX_HANDOVER_DEPTH` calls up, that hand it an ``async`` function by name (uncalled, on the
line of the call: ``task.start_task(self._run_task, job)``, where ``start_task`` keeps the callable
and schedules a coroutine that calls it) run that function on the same loop.

A loop kept in an instance attribute (``self.loop = asyncio.new_event_loop()``) is one loop per
instance: when its class may have more than one instance (no module-level instance, no singleton
method), an object it reaches is shared even when no other loop reaches it.

From there calls and reads are followed breadth first, through :meth:`ProjectModel.resolve`
(a bare name first among the functions nested in the function it is written in, or in those
around it: ``run`` in ``task`` is ``task.run``): functions, methods (``self.m``,
``redis_client.get`` on a module-level instance), classes called
(into their ``__init__``); a reference that resolves to a holder (``self.pool.acquire`` uses the
holder ``self.pool``) is recorded with the chain of steps that led there. A reference the project
does not define (a library, a dynamic call) ends its branch. Bounds: :data:`MAX_DEPTH` calls from
the start, :data:`MAX_VISITS` function visits per loop; each function is walked once per loop
(loops with one key are walked together), so a cycle of calls ends, and each function's
references are resolved once for all loops. Past a bound the walk stops: an object only reached
beyond it is unreached (its finding keeps its message, with a note that no loop was seen reaching
it). The work is the number of loop keys times the functions each reaches, at most
:data:`MAX_VISITS` (benchmarks/reach_scaling.py measures it).

What the walk sees. The model summarises only its entry modules up front (those whose text may
start a loop or run code on a server's loop); every other module is summarised the first time a
name resolves into it. The loops are found in the entry modules, and the walk, the holders and
their verdicts cover the modules loaded by then: a holder in a module no loop's calls resolve
into is never loaded, and its findings read as unreached (``Reach.loaded``). The callers of a
function (for "called from two places", the contexts above a function, the callers of a
``run_async(coro)`` helper) are looked for in its own module and in the modules whose import
lines name it, loaded for the question: a caller in any other module (one that reaches the
function through a package's re-export, say) is seen only when something else loaded it.
After the walk, the modules whose text may make a primitive or client are loaded, and so are
the importers of each that keeps one in a module global (``Reach.importers_known``): what they
import from it decides the fix of a public name there, reached by a loop or not.

Some objects are confined however many loops reach them (``ObjectReach.made_confined`` says
why): one made so that it keeps nothing for another loop (``Holder.confined_by``, from the
catalogue's ``confined-by``: an async engine with ``poolclass=NullPool``, a Motor client whose
``get_io_loop`` is ``asyncio.get_running_loop``), and a global that a function of its module sets
back to None (``Holder.cleared_by``) when every loop that reaches it calls such a function where
the call runs however the work ends (``Function.cleanups``: a ``finally:`` block around a task's
work or around the ``asyncio.run()`` itself, a lifespan's exit after its ``yield``) in a function
the loop's walk visits or in the one that starts the loop: each loop then makes its own. Loops
that would run at once (two threads between the start and the stop) are not told apart from
loops that follow one another.

An instance attribute (``Manager.pool`` set on ``self``) is made once per process only when its
class has a module-level instance or is a singleton (it defines ``__new__`` or one of
:data:`SINGLETON_METHODS`); otherwise each call may make its own instance, and the attribute is
never judged shared or confined (verdict unreached, with the chains that reach it kept).
Each module-level instance of such a class keeps an object of its own: the walk notes the
instance a chain goes through (the module-level instance a call or use names, ``browser.start()``
or ``crawl.browser.start()``, kept through the ``self.`` calls of its methods), and each instance
is judged on the chains through it and those whose instance is not known (a loop started inside a
method may be on any instance); an object made by a call where it is used (``connector =
Connector()``, ``self.db = Connector()``) is an instance of its own, on no module-level one:
``ObjectReach.instances``. The attribute's verdict is the worst
of theirs, with that instance's chains.

Where the walk of a kept loop visits a registry lookup it cannot follow (``Function.lookups``:
``return await self._registry[name].instance()`` in a module-level function or in a method of a
class kept for the process), the object handed back may be a client the kept loop alone keeps
alive: ``Reach.unfollowed`` names the lookup at each start of that loop, and the loop rules'
fixes are declined there (project/evidence.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import NamedTuple

from loopcheck.data.catalogue import CELERY_CONTEXT, DEFAULT_CELERY_POOL, SERVED_CONTEXT, Catalogue
from loopcheck.engine.diagnostics import STAR, Location
from loopcheck.project.model import ProjectModel, Target
from loopcheck.project.pytest_config import DEFAULT_TEST, TEST_CONTEXTS, PytestAsyncio, collects_tests, fixture_context
from loopcheck.project.records import MODULE_CODE, Function, Holder, LoopStart, ModuleSummary, Reference
from loopcheck.project.uses import outside_use, unread_importer

SHARED, CONFINED, UNREACHED = "shared", "confined", "unreached"
# How a module global keeps its object (``Holder.how``): bound at import, or set in a function.
GLOBAL_HOWS = ("global", "lazy-global")

# How many calls a chain may have from the loop's start to the use of an object.
MAX_DEPTH = 10
# How many functions one loop's walk visits at most.
MAX_VISITS = 5_000
# How many calls up the callers of a function are followed to find the contexts that run it.
MAX_CALLER_DEPTH = 10
# How many calls a loop getter (``get_worker_loop()``) is followed to the loop holder it returns.
MAX_GETTER_DEPTH = 3
# How many calls up from a loop-running helper an async function handed on by name is looked for.
MAX_HANDOVER_DEPTH = 3
# Methods that make a class a process-wide singleton (its instance attributes live as long).
SINGLETON_METHODS = frozenset({"__new__", "get_instance", "instance", "get_or_create", "singleton"})
# The context name a summary may give a function served on the server's loop, besides those
# data/entries.toml says run on the server loop.
SERVER = "server"
# The key of the loop ``asyncio.get_event_loop()`` returns outside a running loop: the one loop the
# thread keeps as its current loop (the main thread's, in a worker process).
CURRENT_LOOP = "current-loop"
# The prefix of the key of a loop kept in a holder: ``holder:module:name``.
HOLDER = "holder:"
# What a use or call through ``self`` is on: the instance its function was reached through.
SELF = object()
# After a class's name, the instances of it made by calls (``Connector()``), as opposed to its
# module-level instances: the instance key of a use on one (see _Reacher.made_by_a_call).
MADE = "()"
# ... and those a function makes and keeps in a local: one for each run of the function, which no
# other loop meets.
FRESH = "() in a local"
# What a holder that is not an instance attribute is on (its object is the same on every instance).
NOT_PER_INSTANCE = object()
# What :meth:`_Reacher.receivers` gives a function that uses no instance attribute and calls no method.
NO_RECEIVERS: tuple[tuple[object, ...], tuple[object, ...]] = ((), ())
# Between a loop's key and the kind of process it runs in (``server@web-server``).
PROCESS_KIND_MARK = "@"
# The loop starts nest_asyncio.apply() turns into runs on the thread's current loop (checked on
# 3.10-3.13: two asyncio.run() calls in one thread then share one loop, left open).
NESTED_RUNS = frozenset({"asyncio.run"})
# The failure when the catalogue has no error for an object.
DEFAULT_ERROR = "attached to a different loop"
# The process of loops started in test modules (pytest's default file names, their packages).
TESTS = "tests"
TEST_PACKAGES = frozenset({"test", "tests"})


def _fresh(instance: InstanceKey | None) -> bool:
    """Whether ``instance`` is one a function makes for each of its runs (:data:`FRESH`)."""
    return instance is not None and instance[1].endswith(FRESH)


def _kept_global(holder: Holder) -> bool:
    """Whether ``holder`` keeps a primitive or client in a module global (what the fixes of a
    public name replace)."""
    return holder.how in GLOBAL_HOWS and holder.kind in ("primitive", "client")


def _prefixes(dotted: str) -> list[str]:
    """``a.b.c``, ``a.b``, ``a``: the longest first."""
    parts = dotted.split(".")
    return [".".join(parts[:cut]) for cut in range(len(parts), 0, -1)]


def closed_loop_error(catalogue: Catalogue, holder: Holder) -> str:
    """What a client bound to a loop that was closed after its run meets under the next loop:
    the catalogue's error for it (or the default). ``holder.what`` is the call that made it, or
    the client's key or display name."""
    for client in catalogue.clients.get(holder.what, ()):
        return client.error
    for clients in catalogue.clients.values():
        for client in clients:
            if holder.what in (client.display, client.key):
                return client.error
    return DEFAULT_ERROR

FunctionKey = tuple[str, str]  # (module, qualified name in the module)
HolderKey = tuple[str, str]  # (module, the holder's name)
InstanceKey = tuple[str, str]  # (module, the global name of a module-level instance)
# What a function leads to: the holders it uses and the functions it calls, with a reference each.
Edges = tuple[tuple[tuple[HolderKey, Reference], ...], tuple[tuple[FunctionKey, Reference], ...]]


@dataclass(frozen=True)
class Loop:
    """One event loop as the model sees it. ``key``: two chains with the same key are on the same
    loop. ``lifetime``: ``per-call``, ``kept`` or ``server``. ``repeats``: a per-call loop that is
    started many times in one process. ``describe``: how evidence names it (``the Celery task
    'sync' (asyncio.run: a new event loop per call)``). ``location``: where it starts running code.
    ``named_at``: other (path, line)s that stand for this loop, where the loop rules report it:
    the line a local loop was made or looked up on, the creation of the holder a kept loop is in."""

    key: str
    lifetime: str
    repeats: bool
    describe: str
    location: Location
    named_at: tuple[tuple[str, int], ...] = ()
    # The process the loop runs in: the application's (""), the test session's (TESTS), or a
    # module's run as a program (``program:MODULE``). Loops of different processes never meet.
    process: str = ""
    # Who meets what a new loop per call left behind, when a Celery pool decides it (``under
    # the prefork pool (Celery's default), the next task of the same worker process``).
    fails: str = ""
    # Which kind of the application's processes runs it, when every context above its start
    # says (data/entries.toml's ``process``: ``web-server``, ``celery-worker``); its key then
    # ends with it, as each such process has its loop. "": any of the application's processes.
    process_kind: str = ""

    @property
    def key_in_any_process(self) -> str:
        """The key without its process kind: two loops of one process with this key are one loop
        (the server's, the loop kept in a global), whichever kind the model saw each in."""
        return self.key[: -len(PROCESS_KIND_MARK + self.process_kind)] if self.process_kind else self.key


@dataclass(frozen=True)
class Chain:
    """How ``loop`` reaches an object: the calls from the loop's start to the use, in order."""

    loop: Loop
    steps: tuple[Location, ...]
    # The functions the chain goes through, as ``module.function`` (``tasks.run_async``).
    through: tuple[str, ...] = ()


class Root(NamedTuple):
    """Where a loop starts running the project's code: ``function``, reached by ``steps`` from
    the start; ``instance``: the module-level instance it is a method of, when the start names
    one (``asyncio.run(browser.start())``)."""

    loop: Loop
    function: FunctionKey
    steps: tuple[Location, ...]
    instance: InstanceKey | None = None


@dataclass(frozen=True)
class InstanceReach:
    """The loops that reach an instance attribute through one module-level instance of its
    class (``module``.``name``): the chains that go through that instance, and those whose
    receiver the model does not know (they may be on any instance), with the verdict they give."""

    module: str
    name: str
    chains: tuple[Chain, ...]
    verdict: str
    why: str


@dataclass(frozen=True)
class ObjectReach:
    """The loops that reach one holder (one chain per loop), and the verdict with its reason.
    ``error``: what the object's misuse reads as, from the catalogue (its first line).
    ``made_confined``: for an object confined however many loops reach it (made so that it
    keeps nothing for another loop, or cleared by every loop that reaches it), the reason."""

    module: str
    path: str
    holder: Holder
    chains: tuple[Chain, ...]
    verdict: str
    why: str
    error: str = DEFAULT_ERROR
    made_confined: str = ""
    # For an asyncio primitive, when the error comes (the catalogue's words, after the error):
    # it binds to a loop only once a task waits on it.
    fails_once: str = ""
    # For an instance attribute of a class kept for the process, the reach of each module-level
    # instance of the class (and of each other instance a chain goes through), in the order of
    # the summaries: each instance keeps its own object, which only the loops that go through
    # it (or through an instance not known) reach. The verdict above is the worst of theirs.
    instances: tuple[InstanceReach, ...] = ()


@dataclass
class Reach:
    """The loops of a project and the holders they reach. ``objects``: every holder the model
    knows, with its verdict. ``loops``: every loop seen. ``starts``: by (path, line) of a loop's
    start (or of a line that names its loop: ``Loop.named_at``), the shared holders that loop
    reaches, and those a kept loop alone uses (:func:`keeps_confined`), each with one chain on
    that loop (the loop, not the start alone: starts with one key are one loop, walked
    together)."""

    objects: tuple[ObjectReach, ...]
    loops: tuple[Loop, ...]
    starts: dict[tuple[str, int], tuple[tuple[ObjectReach, Chain], ...]] = field(default_factory=dict)
    # How many places the model saw a loop start running code, those it could not follow included.
    loop_starts: int = 0
    # The real paths of the modules the model loaded (the entry modules and those the walk
    # resolved into); None: every module's holders are in ``objects``.
    loaded: frozenset[str] | None = None
    # The parameters a loop start runs (``def run_async(coro): ... run_until_complete(coro)``)
    # that every caller of their function gives a coroutine: (real path, function, parameter).
    coroutine_parameters: frozenset[tuple[str, str, str]] = frozenset()
    # For the modules of those parameters and of ``importers_known``, the names other modules
    # import from them (``*`` for a star import): (real path, name).
    imported_names: frozenset[tuple[str, str]] = frozenset()
    # The modules keeping a primitive or client in a module global, whose importers the model
    # loaded: the names they import from them are in ``imported_names`` too (real paths).
    importers_known: frozenset[str] = frozenset()
    # By (path, line) of a kept loop's start (or of a line that names its loop), a function its
    # walk visits that returns an object it looks up by a key in kept state the model cannot
    # follow (``Function.lookups``), as ``module.function``, with the call as written.
    unfollowed: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)
    # Of the modules of ``importers_known``, the globals whose per-loop fix cannot stand, each
    # with the first place that keeps it from standing (``uses.OutsideUse``): (real path, name,
    # place, unread). The name is ``*`` where an importer of the module could not be read: no
    # fix of its globals stands, the private name's included (that importer may import it).
    outside_uses: frozenset[tuple[str, str, str, bool]] = frozenset()

    @cached_property
    def unfollowed_at(self) -> dict[tuple[str, int], tuple[str, str]]:
        """``unfollowed`` by real path and line."""
        return {(real_path(path), line): found for (path, line), found in self.unfollowed.items()}

    @cached_property
    def objects_at(self) -> dict[tuple[str, int], list[ObjectReach]]:
        """The objects by (real path, creation line): where the per-file rules report them."""
        found: dict[tuple[str, int], list[ObjectReach]] = {}
        for reached in self.objects:
            found.setdefault((real_path(reached.path), reached.holder.line), []).append(reached)
        return found

    @cached_property
    def starts_at(self) -> dict[tuple[str, int], tuple[tuple[ObjectReach, Chain], ...]]:
        """``starts`` by real path and line."""
        return {(real_path(path), line): found for (path, line), found in self.starts.items()}

    @property
    def saw_loops(self) -> bool:
        return self.loop_starts > 0 or bool(self.loops)


# By ``Function.binding``, how many leading parameters of a method no call passes: a
# @staticmethod none, a @classmethod ``cls``, however it is called.
BOUND_PARAMETERS = {"static": 0, "class": 1}


def keeps_confined(reached: ObjectReach) -> bool:
    """Whether ``reached`` is confined by a kept loop that alone uses it in its process (a Lambda
    handler's module-level loop that keeps its engine's pool on it; a Celery worker's kept loop
    on an object the web server's loop uses in its own process): that loop turned into a new
    loop per call would share the object across loops."""
    return reached.verdict == CONFINED and not reached.made_confined and bool(kept_chains(reached))


def kept_chains(reached: ObjectReach) -> list[Chain]:
    """The chains of ``reached`` whose loop is kept."""
    return [chain for chain in reached.chains if chain.loop.lifetime == "kept"]


def real_path(path: str) -> str:
    """How the reach and the evidence compare paths (a file named two ways is one file)."""
    return os.path.realpath(os.path.abspath(path))


def loop_order(loop: Loop) -> tuple[str, int, int, str]:
    """Loops in the order of where they start, whichever way the run named their files."""
    return (real_path(loop.location.path), loop.location.line, loop.location.column, loop.key)


def in_process(loop: Loop, kind: str) -> Loop:
    """``loop`` run by a process of ``kind`` (a web server's, a Celery worker's): its key made
    that process's. A loop of the test session or of a program keeps its own."""
    if not kind or loop.process:
        return loop
    return replace(loop, key=f"{loop.key}{PROCESS_KIND_MARK}{kind}", process_kind=kind)


def process_of(module: str, as_program: bool) -> str:
    """The process a loop started in ``module`` runs in: a test module's is the test session
    (pytest's ``test_*.py``, ``*_test.py``, ``conftest.py``, or a ``tests`` package); a start
    under the module's ``if __name__ == "__main__":`` is that program's; else the application's."""
    *packages, name = module.split(".")
    if TEST_PACKAGES & set(packages) or name.startswith("test_") or name.endswith("_test") or name == "conftest":
        return TESTS
    return f"program:{module}" if as_program else ""


def is_test_function(key: tuple[str, str]) -> bool:
    """Whether function ``key`` is a test pytest collects (``test_*`` at the top of a test
    module, or a method of a ``Test*`` class there): the session runs it once (a parametrized
    test once per case: not told apart)."""
    module, name = key
    *owners, function = name.split(".")
    if process_of(module, False) != TESTS or not function.startswith("test"):
        return False
    return not owners or (len(owners) == 1 and owners[0].startswith("Test"))


def by_kind(chains: list[Chain]) -> list[list[Chain]]:
    """The chains of one process by the kind of process their loops run in (``Loop.process_kind``),
    a loop of no known kind in each group (it may run in any); one group when no kind is known."""
    kinds = sorted({chain.loop.process_kind for chain in chains} - {""})
    if not kinds:
        return [chains]
    return [[chain for chain in chains if chain.loop.process_kind in (kind, "")] for kind in kinds]


def _chain_order(chain: Chain) -> tuple[str, int, int, str]:
    return loop_order(chain.loop)


def first_per_loop(reached: Iterable[tuple[tuple[str, InstanceKey | None], Chain]]) -> tuple[Chain, ...]:
    """The first chain of each loop key among ``reached`` (by loop key and instance), in the
    order of where their loops start."""
    chains: dict[str, Chain] = {}
    for (loop_key, _instance), chain in reached:
        chains.setdefault(loop_key, chain)
    return tuple(sorted(chains.values(), key=_chain_order))


def compute_reach(model: ProjectModel, catalogue: Catalogue) -> Reach:
    """Every loop of ``model``, walked to the holders it reaches, and each holder's verdict."""
    return _Reacher(model, catalogue).run()


class _Reacher:
    def __init__(self, model: ProjectModel, catalogue: Catalogue) -> None:
        self.model = model
        self.catalogue = catalogue
        self.entries = {entry.name: entry for entry in catalogue.loop_starts}
        # The contexts whose `async def` functions run on a loop they provide (a server's, a
        # worker's, a new one per test): each such function is where a loop starts running code.
        self.pool, self.pool_fails = self.celery_pool()
        # How each context runs its functions, the Celery task's as the project's pool does.
        self.context_runs = catalogue.context_runs_under(self.pool)
        self.loop_contexts = {SERVER} | {c for c, runs in self.context_runs.items() if runs.runs_on_loop}
        # The contexts whose loop only an `async def` runs on (a Celery pool's): not a plain task.
        self.async_only = {CELERY_CONTEXT} - {c for c, r in catalogue.context_runs.items() if r.runs_on_loop}
        # Contexts other modules hand functions to (``ModuleSummary.handed``), by function.
        self.contexts_handed: dict[FunctionKey, tuple[str, ...]] = {}
        self._fixture_loops: dict[str, tuple[str, str] | None] = {}  # by test module (fixture_loop)
        self.functions: dict[FunctionKey, Function] = {}
        self.classes: dict[str, frozenset[str]] = {}
        # The references of every function by the last part of their name: a function's callers
        # are found among the references that end with its name, resolved only then.
        self.by_last: dict[str, list[tuple[FunctionKey, Reference]]] = {}
        self.imports: dict[str, dict[str, str]] = {}
        self._indexed = 0  # how many of the model's loaded modules are indexed above
        self.index_loaded()
        self._resolved: dict[tuple[str, str, str | None], Target | None] = {}
        self._callers: dict[FunctionKey, tuple[tuple[FunctionKey, Reference], ...]] = {}
        self._contexts: dict[FunctionKey, dict[str, FunctionKey]] = {}
        self._edges: dict[FunctionKey, Edges] = {}
        self._receivers: dict[tuple[FunctionKey, str], InstanceKey | None] = {}
        self._receivers_of: dict[FunctionKey, tuple[tuple[object, ...], tuple[object, ...]]] = {}
        # By instance attribute, the first chain of each loop on each instance (None: on no
        # instance known), as the walks found them.
        self.on_instances: dict[HolderKey, dict[tuple[str, InstanceKey | None], Chain]] = {}
        self._per_instance: dict[HolderKey, bool] = {}
        self._process_kinds: dict[FunctionKey, str] = {}
        # The module-level instances of each class (module, name), as :meth:`singletons` found them.
        self.kept_instances: dict[tuple[str, str], list[InstanceKey]] = {}
        self._classes_of: dict[FunctionKey, str | None] = {}
        # Holders a loop start uses with no call between (``run_until_complete(client.ping())``).
        self.direct: list[tuple[HolderKey, Loop, Chain, InstanceKey | None]] = []
        self._nest: dict[str, bool] = {}
        # The functions each loop's walk visited, by loop key.
        self.walked: dict[str, set[FunctionKey]] = {}
        self._cleanups: dict[FunctionKey, frozenset[FunctionKey]] = {}
        self._loop_cleanups: dict[str, frozenset[FunctionKey]] = {}
        # The functions that start each loop (or call the helper that does), by loop key.
        self.runners: dict[str, set[FunctionKey]] = {}

    def index_loaded(self) -> None:
        """Index the modules the model has loaded since the last call (the model loads a module
        the first time a name resolves into it; it only ever adds modules, in order)."""
        loaded = self.model.modules
        if len(loaded) == self._indexed:
            return
        for summary in list(loaded.values())[self._indexed :]:
            self.imports[summary.module] = dict(summary.imports)
            self.classes[summary.module] = frozenset(c.name for c in summary.classes)
            for function in summary.functions:
                key = (summary.module, function.name)
                self.functions[key] = function
                for reference in function.references:
                    self.by_last.setdefault(reference.dotted.rsplit(".", 1)[-1], []).append((key, reference))
        self._indexed = len(loaded)

    def celery_pool(self) -> tuple[str, str]:
        """The Celery pool the project's workers run: the configuration's, else the last one
        the summarised modules set (in module order), else Celery's default; and who meets an
        object a task's loop left behind under it, as evidence says it."""
        name, origin = self.catalogue.celery_pool, ""
        if name is None:
            stated = [(s.module, s.celery_pool) for s in self.model.modules.values() if s.celery_pool]
            known = [(module, pool) for module, pool in sorted(stated) if pool in self.catalogue.celery_pools]
            name, origin = (known[-1][1], f" ({known[-1][0]} sets it)") if known else (DEFAULT_CELERY_POOL, " (Celery's default)")
        return name, f"under the {name} pool{origin}, {self.catalogue.celery_pools[name].fails}"

    def load_importers(self, module: str) -> None:
        """Load the modules that import ``module``: a function's callers are in its own module
        or in those."""
        for importer in sorted(self.model.importers(module)):
            self.model.summary(importer)
        self.index_loaded()

    # Names

    def class_of(self, key: FunctionKey) -> str | None:
        """The class a method belongs to (the longest prefix of its name that is a class)."""
        if key not in self._classes_of:
            parts = key[1].split(".")
            classes = self.classes.get(key[0], frozenset())
            prefixes = (".".join(parts[:cut]) for cut in range(len(parts) - 1, 0, -1))
            self._classes_of[key] = next((prefix for prefix in prefixes if prefix in classes), None)
        return self._classes_of[key]

    def resolve(self, module: str, dotted: str, within: str | None) -> Target | None:
        memo = (module, dotted, within)
        if memo not in self._resolved:
            self._resolved[memo] = self.model.resolve(module, dotted, within)
            self.index_loaded()
        return self._resolved[memo]

    def resolve_in(self, key: FunctionKey, dotted: str, within: str | None) -> Target | None:
        """What ``dotted``, written in function ``key``, stands for: a function nested in it or in
        a function around it (``run`` in ``task`` is ``task.run``; innermost first, a class body
        between them hides nothing: a method does not see its class's names), else what the
        module's names make of it."""
        module, scope = key
        if "." not in dotted and scope != MODULE_CODE:
            classes = self.classes.get(module, frozenset())
            while scope:
                if scope not in classes and (module, f"{scope}.{dotted}") in self.functions:
                    return Target("function", module, f"{scope}.{dotted}")
                scope = scope.rpartition(".")[0]
        return self.resolve(module, dotted, within)

    def use(self, key: FunctionKey, reference: Reference) -> Target | None:
        """What ``reference`` in function ``key`` stands for; failing that, the holder a prefix of
        it names (``self.pool.acquire`` -> the holder ``self.pool``)."""
        within = self.class_of(key)
        target = self.resolve_in(key, reference.dotted, within)
        if target is not None:
            return target
        parts = reference.dotted.split(".")
        summary = self.model.modules[key[0]]
        for cut in range(len(parts), 1, -1):  # a store this module makes into an imported registry
            stored = summary.holder(".".join(parts[:cut]))
            if stored is not None and stored.how == "registry":
                return Target("holder", key[0], stored.name)
        for cut in range(len(parts) - 1, 0, -1):
            prefix = self.resolve(key[0], ".".join(parts[:cut]), within)
            if prefix is not None:
                return prefix if prefix.kind == "holder" else None
        return None

    def callee(self, key: FunctionKey, reference: Reference, target: Target) -> FunctionKey | None:
        """The function a reference runs: the function itself, or a called class's ``__init__``."""
        if target.kind == "function":
            return (target.module, target.name)
        if target.kind == "class" and reference.called:
            init = self.resolve(key[0], f"{reference.dotted}.__init__", self.class_of(key))
            if init is not None and init.kind == "function":
                return (init.module, init.name)
        return None

    def callers(self, key: FunctionKey) -> tuple[tuple[FunctionKey, Reference], ...]:
        """Every (function, reference) of the project that calls function ``key``."""
        if key not in self._callers:
            self.load_importers(key[0])
            found = []
            for caller, reference in self.by_last.get(key[1].rsplit(".", 1)[-1], ()):
                if not reference.called:
                    continue
                target = self.use(caller, reference)
                if target is not None and self.callee(caller, reference, target) == key:
                    found.append((caller, reference))
            self._callers[key] = tuple(found)
        return self._callers[key]

    def contexts(self, key: FunctionKey) -> dict[str, FunctionKey]:
        """The contexts that run function ``key``, its own or a caller's (up to
        :data:`MAX_CALLER_DEPTH` calls up), each with the nearest function it runs."""
        if key not in self._contexts:
            found: dict[str, FunctionKey] = {}
            seen = {key}
            level = [key]
            for _ in range(MAX_CALLER_DEPTH + 1):
                following = []
                for function in level:
                    for context in self.contexts_of(function):
                        found.setdefault(context, function)
                    for caller, _reference in self.callers(function):
                        if caller not in seen:
                            seen.add(caller)
                            following.append(caller)
                level = following
                if not level:
                    break
            self._contexts[key] = found
        return self._contexts[key]

    def contexts_of(self, key: FunctionKey) -> tuple[str, ...]:
        """The contexts function ``key`` runs in by its own module's seeds or by another's, and
        pytest-asyncio's for an ``async def`` test it runs unmarked (its ``auto`` mode)."""
        function = self.functions[key]
        found = function.contexts + self.contexts_handed.get(key, ())
        if function.is_async and not TEST_CONTEXTS & set(found) and is_test_function(key) and collects_tests(key[0]):
            configured = self.pytest_asyncio(key[0])
            if configured is not None and configured.auto:
                return (*found, DEFAULT_TEST)
        return found

    def pytest_asyncio(self, module: str) -> PytestAsyncio | None:
        """What the pytest configuration of ``module``'s project changes of pytest-asyncio's defaults."""
        return self.model.pytest_asyncio(self.model.modules[module].path)

    def loop_contexts_of(self, key: FunctionKey, function: Function) -> list[str]:
        """The contexts that run function ``key`` on a loop they provide (a Celery pool's loop
        runs only an ``async def`` task)."""
        return [
            c
            for c in self.contexts_of(key)
            if c in self.loop_contexts and (function.is_async or c not in self.async_only)
        ]

    def hand_over(self) -> None:
        """Resolve the functions the loaded modules hand to a context from another module
        (``path("x/", views.index)`` in urls.py): resolving loads their modules. Only an ``async
        def`` is awaited on the context's loop (a plain job of an AsyncIOScheduler runs in a
        thread, a plain view under async_to_sync's thread)."""
        for summary in list(self.model.modules.values()):
            for dotted, context in summary.handed:
                target = self.resolve(summary.module, dotted, None)
                if target is not None and target.kind == "function":
                    key = (target.module, target.name)
                    if self.functions[key].is_async and context not in self.contexts_of(key):
                        self.contexts_handed[key] = (*self.contexts_handed.get(key, ()), context)
            for name, context, written, method in summary.routed:
                key = (summary.module, name)
                if context not in self.contexts_of(key) and self.made_by_receiver(summary.module, written, context, method):
                    self.contexts_handed[key] = (*self.contexts_handed.get(key, ()), context)

    def made_by_receiver(self, module: str, written: str, context: str, method: str) -> bool:
        """Whether ``written`` in ``module`` is a class of the project that derives from a
        receiver of a seed of ``context`` whose decorator methods hold ``method``, and from none
        it excludes (``ModuleSummary.routed``: the project's own ``APIRouter``)."""
        target = self.resolve(module, written, None)
        if target is None or target.kind != "class":
            return False
        bases = self.outside_bases(target.module, target.name)
        seeds = self.catalogue.served if context == SERVED_CONTEXT else self.catalogue.context_seeds
        return any(
            seed.context == context and method in seed.decorator_methods
            and seed.receivers & bases and not seed.except_receivers & bases
            for seed in seeds
        )

    def outside_bases(self, module: str, cls: str, depth: int = 0) -> set[str]:
        """The bases of class ``cls`` of ``module`` that the project does not define, qualified,
        through those it does."""
        summary = self.model.summary(module)
        record = next((c for c in summary.classes if c.name == cls), None) if summary is not None else None
        found: set[str] = set()
        for written in record.bases if record is not None and depth < MAX_DEPTH else ():
            target = self.resolve(module, written, None)
            if target is not None and target.kind == "class":
                found |= self.outside_bases(target.module, target.name, depth + 1)
            elif target is None:
                self.index_loaded()  # ``module`` may have been loaded here, by self.model.summary
                found.add(self.qualify(module, written))
        return found

    # Loops

    def context_loop(self, key: FunctionKey, function: Function, context: str) -> Loop:
        """The loop an execution context runs function ``key`` on: the server's (or worker's) one
        loop, or a new loop for each function (a pytest-asyncio test)."""
        configured = self.pytest_asyncio(key[0]) if context == DEFAULT_TEST else None
        shared = configured.context() if configured is not None else None
        if context == DEFAULT_TEST and shared is None:
            shared = self.fixture_loop(key[0])
        if shared is not None:  # the project's tests share a loop by default
            context, which = shared
        runs = self.context_runs.get(context)
        who = runs.describe if runs is not None else "the server"
        if shared is None:
            which = runs.loop_describe if runs is not None else "the server's loop"
        location = self.site(key[0], function.line, function.column, f"{who} runs {key[1]}")
        describe = f"{who} '{key[1].rsplit('.', 1)[-1]}' ({which})"
        process = process_of(key[0], False)
        kind = runs.process if runs is not None else ""
        if runs is not None and runs.loop == "per-call":
            site = f"site:{location.path}:{location.line}:{location.column}"
            return in_process(Loop(site, "per-call", runs.repeats, describe, location, process=process), kind)
        if runs is not None and runs.loop == "per-module":  # closed after the module's functions
            return in_process(Loop(f"module:{key[0]}", "per-call", False, describe, location, process=process), kind)
        return in_process(Loop(SERVER, SERVER, False, describe, location, process=process), kind)

    def fixture_loop(self, module: str) -> tuple[str, str] | None:
        """The context and loop (in words) of the tests of ``module`` by the ``event_loop``
        fixture they get: the module's own, else that of the nearest ``conftest.py`` above it
        that defines one; None for a loop per test."""
        if module not in self._fixture_loops:
            summary = self.model.summary(module)
            directory = os.path.dirname(summary.path) if summary is not None else ""
            package = module.split(".")[:-1]
            found = None
            for name in (module, *(".".join([*package[:end], "conftest"]) for end in range(len(package), -1, -1))):
                conftest = self.model.summary(name)
                if conftest is None or conftest.loop_fixture is None:
                    continue
                above = os.path.dirname(conftest.path)
                if name == module or os.path.commonpath([above, directory]) == above:
                    found = fixture_context(conftest.loop_fixture, name)
                    break
            self._fixture_loops[module] = found
        return self._fixture_loops[module]

    def site(self, module: str, line: int, column: int, message: str) -> Location:
        return Location(self.model.modules[module].path, line, column + 1, message)

    def repeats(self, key: FunctionKey) -> bool:
        """Whether function ``key`` may run many times in one process (see the module docstring)."""
        return not self.runs_once(key, 0)

    def runs_once(self, key: FunctionKey, depth: int) -> bool:
        """Whether function ``key`` is known to run once per process: top-level code, a function
        only a once-per-process context runs (a startup hook), or one called from a single place
        that runs once itself (not from a loop body). A function nobody in the project calls may be
        called from anywhere (an API, a command's entry point): not known to run once."""
        if key[1] == MODULE_CODE or is_test_function(key):
            return True
        runs = self.context_runs
        own = [context for context in self.contexts_of(key) if context in runs]
        if any(runs[context].repeats for context in own) or depth > MAX_CALLER_DEPTH:
            return False
        found = self.callers(key)
        calls = {(caller, r.line, r.column) for caller, r in found}
        if not calls:
            return bool(own)
        if len(calls) > 1 or own or any(r.repeated for _caller, r in found):
            return False
        ((caller, _line, _column),) = calls
        return self.runs_once(caller, depth + 1)

    def who(self, key: FunctionKey) -> str:
        """How a description names the function a loop is started from."""
        module, name = key
        if name == MODULE_CODE:
            return f"the import of {module}"
        runs = self.context_runs
        for context, function in self.contexts(key).items():
            if context in runs:
                named = f"{runs[context].describe} '{function[1].rsplit('.', 1)[-1]}'"
                return named if function == key else f"{module}.{name}, called from {named}"
        return f"{module}.{name}"

    def describe(self, runner: FunctionKey, start: LoopStart, helper: FunctionKey | None, fresh: bool) -> str:
        """``the Celery task 'x' (asyncio.run in run_async: a new event loop per call)``."""
        entry = self.entries.get(start.entry)
        what = entry.describe if entry is not None else start.lifetime
        if fresh and (entry is None or entry.lifetime != "per-call"):
            what = "a new event loop per call"
        how = start.entry if helper is None else f"{start.entry} in {helper[1]}"
        who = f"{runner[0]} run as a program" if start.as_program and helper is None else self.who(runner)
        return f"{who} ({how}: {what})"

    def kept_key(self, key: FunctionKey, start: LoopStart) -> str | None:
        """The holder a kept loop is kept in, as a key (:data:`CURRENT_LOOP` for the thread's
        current loop); None when the model cannot tell."""
        written = start.loop
        if not written:
            return None
        within = self.class_of(key)
        if written.endswith(")"):
            called = written.partition("(")[0]
            if self.qualify(key[0], called) in self.catalogue.loop_api.current_loop:
                return CURRENT_LOOP
            getter = self.resolve(key[0], called, within)
            if getter is None or getter.kind != "function":
                return None
            return self.loop_holder_of((getter.module, getter.name))
        target = self.resolve(key[0], written, within)
        if target is not None and target.kind == "holder":
            return f"{HOLDER}{target.module}:{target.name}"
        return None

    def qualify(self, module: str, dotted: str) -> str:
        """``dotted`` with its first name replaced by what ``module`` imports it as."""
        head, dot, rest = dotted.partition(".")
        imported = self.imports[module].get(head)
        return dotted if imported is None else f"{imported}{dot}{rest}"

    def applies_nest(self, module: str) -> bool:
        """Whether ``module`` calls ``nest_asyncio.apply()`` (the catalogue's ``nest`` calls),
        which patches ``asyncio.run`` for the whole process. Only the module of the start is
        asked: which other modules the model has loaded depends on the walk, and the answer must
        not."""
        if module not in self._nest:
            nest = self.catalogue.loop_api.nest
            self._nest[module] = any(
                reference.called and self.qualify(module, reference.dotted) in nest
                for function in self.model.modules[module].functions
                for reference in function.references
            )
        return self._nest[module]

    def fresh(self, key: FunctionKey, start: LoopStart) -> bool:
        """Whether a start runs on a loop built right there (``asyncio.new_event_loop()
        .run_until_complete(...)``): a new loop on each call."""
        if start.lifetime == "per-call":
            return True
        written = start.loop or ""
        made_by = self.qualify(key[0], written.partition("(")[0])
        return written.endswith(")") and made_by in self.catalogue.loop_api.new_loop

    def loop_holder_of(self, getter: FunctionKey) -> str | None:
        """The loop holder a getter (or a function it calls) reads: the loop it returns."""
        seen = {getter}
        level = [getter]
        for _ in range(MAX_GETTER_DEPTH):
            following = []
            for function in level:
                holders, calls = self.edges(function)
                for (module, name), _reference in holders:
                    holder = self.model.modules[module].holder(name)
                    if holder is not None and holder.kind == "loop":
                        return f"{HOLDER}{module}:{name}"
                for callee, _reference in calls:
                    if callee not in seen:
                        seen.add(callee)
                        following.append(callee)
            level = following
        return None

    def loop(self, key: FunctionKey, start: LoopStart, runner: FunctionKey, helper: FunctionKey | None) -> Loop:
        """The loop ``start`` (in function ``key``) runs code on, as called from ``runner`` (the
        function holding the start, or the caller of the helper that holds it); both are noted
        as running it (what they do however the run ends is done for every run)."""
        found = in_process(self.new_loop(key, start, runner, helper), self.process_kind(runner))
        self.runners.setdefault(found.key, set()).update((key, runner))
        return found

    def new_loop(self, key: FunctionKey, start: LoopStart, runner: FunctionKey, helper: FunctionKey | None) -> Loop:
        """:meth:`loop`'s loop."""
        location = self.site(key[0], start.line, start.column, f"{start.entry} starts running code")
        site = f"site:{location.path}:{location.line}:{location.column}"
        if helper is not None:
            site += f"<-{runner[0]}.{runner[1]}"
        named_at = ((location.path, start.loop_line),) if start.loop_line not in (None, start.line) else ()
        process = self.process(runner, start.as_program and helper is None)
        if start.entry in NESTED_RUNS and self.applies_nest(key[0]):
            # nest_asyncio's asyncio.run() runs on the thread's current loop, and leaves it open.
            describe = f"{self.who(runner)} ({start.entry} after nest_asyncio.apply(): the thread's current loop)"
            return Loop(CURRENT_LOOP, "kept", False, describe, location, named_at, process)
        fresh = self.fresh(key, start)
        describe = self.describe(runner, start, helper, fresh)
        if fresh:
            fails = self.pool_fails if CELERY_CONTEXT in self.contexts(runner) else ""
            repeats = start.repeated or self.repeats(runner)
            return Loop(site, "per-call", repeats, describe, location, named_at, process, fails)
        if start.lifetime == SERVER:
            return Loop(SERVER, SERVER, False, describe, location, named_at, process)
        kept = self.kept_key(key, start)
        if kept is not None and kept.startswith(HOLDER):
            module, name = kept[len(HOLDER) :].split(":", 1)
            held = self.model.modules[module].holder(name)
            if held is not None:
                named_at += ((self.model.modules[module].path, held.line),)
        return Loop(kept or site, start.lifetime, False, describe, location, named_at, process)

    def process(self, runner: FunctionKey, as_program: bool) -> str:
        """The process a loop ``runner`` starts runs in (:func:`process_of`), also when the runner
        is called only by programs' ``__main__`` blocks (``if __name__ == "__main__": main()``)
        and tests: a program's, where one calls it, else the test session's."""
        own = process_of(runner[0], as_program)
        found = self.callers(runner)
        if own or not found:
            return own
        programs: set[str] = set()
        for caller, reference in found:
            if caller[1] == MODULE_CODE and reference.as_program:
                programs.add(caller[0])
            elif process_of(caller[0], False) != TESTS:
                return own  # the application calls it too
        return process_of(min(programs), True) if programs else TESTS

    def process_kind(self, key: FunctionKey) -> str:
        """The kind of the application's processes that runs function ``key`` (data/entries.toml's
        ``process``): the one every context that runs it or a caller (up to
        :data:`MAX_CALLER_DEPTH` calls up; the calls of tests and of a module's ``__main__``
        block left out: they run in a process of their own) says; "" when two kinds do, or a
        function on the way may run in any process (a context of no kind runs it, a thread's,
        or nothing in the project calls it)."""
        found = self._process_kinds.get(key)
        if found is not None:
            return found
        runs = self.context_runs
        kinds: set[str] = set()
        seen = {key}
        level = [key]
        for _ in range(MAX_CALLER_DEPTH + 1):
            following = []
            for function in level:
                name = f"{function[0]}.{function[1]}"
                own = {runs[context].process_of(name) for context in self.contexts_of(function) if context in runs}
                callers = self.callers(function)
                kinds |= own if own or callers else {""}
                for caller, reference in callers:
                    if process_of(caller[0], False) == TESTS or (caller[1] == MODULE_CODE and reference.as_program):
                        continue
                    if caller not in seen:
                        seen.add(caller)
                        following.append(caller)
            level = following
            if not level or len(kinds) > 1:
                break
        found = self._process_kinds[key] = kinds.pop() if len(kinds) == 1 and not level else ""
        return found

    def starts(self) -> list[Root]:
        """Every loop with each function it runs first and the steps that led there."""
        roots: list[Root] = []
        self.hand_over()
        for key, function in list(self.functions.items()):  # the entry modules; resolving loads more
            module = key[0]
            on_loop = self.loop_contexts_of(key, function)
            if on_loop and key[1] != MODULE_CODE:
                roots.append(Root(self.context_loop(key, function, on_loop[0]), key, ()))
            within = self.class_of(key)
            for start in function.starts:
                entry = self.entries.get(start.entry)
                if entry is not None and entry.decorator_methods:  # it runs the function it decorates
                    roots.append(Root(self.loop(key, start, key, None), key, ()))
                    continue
                passed = False
                for run in start.runs:
                    head = run.dotted.split(".", 1)[0]
                    if start.loop is not None and run.dotted.startswith(f"{start.loop}."):
                        # The loop's own coroutine (``loop.shutdown_asyncgens()``): it runs none
                        # of the project's code, and a parameter loop is not a coroutine passed in.
                        continue
                    if head in function.parameters and head not in ("self", "cls"):
                        passed = True
                        continue
                    target = self.resolve_in(key, run.dotted, within)
                    callee = self.callee(key, run, target) if target is not None else None
                    if callee is not None:
                        step = self.site(module, run.line, run.column, f"runs {self.named(callee)}")
                        loop = self.loop(key, start, key, None)
                        roots.append(Root(loop, callee, (step,), self.receiver(key, run)))
                    elif callee is None:
                        self.run_directly(key, start, run)
                if passed:
                    roots.extend(self.passed_in(key, start))
        return roots

    def run_directly(self, key: FunctionKey, start: LoopStart, run: Reference) -> None:
        """A start that runs a method of a holder itself (``loop.run_until_complete(client.ping())``
        at import): the loop uses that holder, with no call between."""
        target = self.use(key, run)
        if target is not None and target.kind == "holder":
            loop = self.loop(key, start, key, None)
            step = self.site(key[0], run.line, run.column, f"uses {run.dotted}")
            chain = Chain(loop, (step,), ())
            self.direct.append(((target.module, target.name), loop, chain, self.receiver(key, run)))

    def passed_in(self, helper: FunctionKey, start: LoopStart) -> list[Root]:
        """The loops a helper that runs its parameter starts: one per caller, running the
        ``async`` functions that caller names."""
        roots = []
        for caller in dict.fromkeys(caller for caller, _reference in self.callers(helper)):
            loop = self.loop(helper, start, caller, helper)
            for callee, reference in self.edges(caller)[1]:
                if callee == helper or not self.functions[callee].is_async:
                    continue
                step = self.site(caller[0], reference.line, reference.column, f"runs {self.named(callee)}")
                roots.append(Root(loop, callee, (step,), self.receiver(caller, reference)))
            roots.extend(self.handed_on(caller, loop))
        return roots

    def coroutine_parameters(self) -> tuple[frozenset[tuple[str, str, str]], set[str]]:
        """The parameters loop starts run that every caller gives a coroutine (see
        :meth:`always_coroutine`), by the real path of their module; and those modules."""
        found, modules = set(), set()
        for key, function in list(self.functions.items()):
            for start in function.starts:
                for run in start.runs:
                    if run.dotted in function.parameters and self.always_coroutine(key, run.dotted):
                        found.add((real_path(self.model.modules[key[0]].path), key[1], run.dotted))
                        modules.add(key[0])
        return frozenset(found), modules

    def imported_names(self, modules: set[str]) -> frozenset[tuple[str, str]]:
        """The names the other loaded modules import from each of ``modules`` (``from m import
        x``, or ``m.x`` read through ``import m``; ``*`` for ``from m import *``), by the real
        path of the module."""
        paths = {module: real_path(self.model.modules[module].path) for module in modules}
        found = set()
        for summary in list(self.model.modules.values()):
            imports = self.imports.get(summary.module, {})
            written = [*imports.values()]
            for function in summary.functions:
                for reference in function.references:
                    head, _, rest = reference.dotted.partition(".")
                    if head in imports and rest:
                        written.append(f"{imports[head]}.{rest}")
            found.update((paths[m], STAR) for m in summary.star_imports if m in paths and m != summary.module)
            for name in written:  # each module it names (a prefix), with the name that follows
                parts = name.split(".")
                for cut in range(1, len(parts)):
                    module = ".".join(parts[:cut])
                    if module in paths and module != summary.module:
                        found.add((paths[module], parts[cut]))
        return frozenset(found)

    def keeping_globals(self) -> set[str]:
        """The modules that keep a primitive or client in a module global (made at import, or set
        in a function: a worker start-up hook's): the fixes of a public one need to know what
        other modules import from them, whether or not a loop reaches it. Those not loaded yet
        are among the modules whose text may make one (``ProjectModel.objects``), loaded now."""
        for module in sorted(self.model.objects):
            self.model.summary(module)
        self.index_loaded()
        return {
            summary.module
            for summary in list(self.model.modules.values())
            if any(map(_kept_global, summary.holders))
        }

    def outside_uses(self, keeping: set[str]) -> frozenset[tuple[str, str, str, bool]]:
        """Of the modules ``keeping`` globals, the globals a per-loop fix cannot make per-loop
        (``Reach.outside_uses``): used outside coroutines by a module importing them, or imported
        by a module that could not be read."""
        found = set()
        for module in sorted(keeping):
            summary = self.model.modules[module]
            path = real_path(summary.path)
            unread = unread_importer(self.model, module)
            if unread is not None:
                found.add((path, STAR, unread.place, True))
                continue
            for holder in filter(_kept_global, summary.holders):
                outside = outside_use(self.model, module, holder.name, own=False)
                if outside is not None:
                    found.add((path, holder.name, outside.place, outside.unread))
        self.index_loaded()
        return frozenset(found)

    def always_coroutine(self, helper: FunctionKey, parameter: str) -> bool:
        """Whether every caller of function ``helper`` passes, as ``parameter``, a call of an
        ``async def`` the model resolves: it has callers, and is never used otherwise than
        called (passed on, kept, given to ``functools.partial``), under any name a module
        imports it as. A plain method's is never proven (``Class.m(instance, x)`` passes the
        instance where ``instance.m(x)`` does not); a ``@staticmethod``'s and a
        ``@classmethod``'s are, as every form of call maps its arguments the same way
        (``Function.binding``)."""
        function = self.functions[helper]
        skipped = BOUND_PARAMETERS.get(function.binding)
        if skipped is None and self.class_of(helper) is not None:
            return False
        position = function.parameters.index(parameter) - (skipped or 0)
        if position < 0 or (skipped is None and parameter in ("self", "cls")):
            return False
        self.load_importers(helper[0])
        qualified = f"{helper[0]}.{helper[1]}"
        names = {helper[1].rsplit(".", 1)[-1]}
        names |= {name for imports in self.imports.values() for name, target in imports.items() if target == qualified}
        calls = 0
        for name in names:
            for caller, reference in list(self.by_last.get(name.rsplit(".", 1)[-1], ())):
                target = self.use(caller, reference)
                if target is None or self.callee(caller, reference, target) != helper:
                    continue
                if not reference.uses:  # no use of it here passes a call
                    return False
                for passed in reference.uses:
                    if passed is None or not self.passes_coroutine(caller, passed, position, parameter):
                        return False
                    calls += 1
        return calls > 0

    def passes_coroutine(self, caller: FunctionKey, passed: tuple[str, ...], position: int, parameter: str) -> bool:
        """Whether a call in ``caller`` that passes ``passed`` (:attr:`Reference.uses`) gives the
        parameter at ``position`` (named ``parameter``) a call of an ``async def``."""
        positional = [argument for argument in passed if "=" not in argument and argument != "**"]
        if "*" in positional[: position + 1] or "**" in passed:
            return False  # unpacked: what lands there is not known
        if position < len(positional):
            written = positional[position]
        else:
            written = next((a.partition("=")[2] for a in passed if a.partition("=")[0] == parameter), "")
        if not written:
            return False
        target = self.resolve_in(caller, written, self.class_of(caller))
        return target is not None and target.kind == "function" and self.functions[(target.module, target.name)].is_async

    def handed_on(self, function: FunctionKey, loop: Loop) -> list[Root]:
        """The ``async`` functions handed by name (not called) to ``function``, which leads to a
        loop's start, or to one of its callers, up to :data:`MAX_HANDOVER_DEPTH` calls up: they
        run on that loop (``task.start_task(self._run_task, job)``, where ``start_task`` keeps
        the callable and schedules a coroutine that calls it on the task's loop). A function
        counts as handed when it is named, uncalled, on the line of the call."""
        roots = []
        seen = {function}
        level = [function]
        for _ in range(MAX_HANDOVER_DEPTH):
            following = []
            for receiver in level:
                for caller, call in self.callers(receiver):
                    for handed, reference in self.handed(caller, call):
                        message = f"hands {self.named(handed)} to {self.named(receiver)}"
                        step = self.site(caller[0], reference.line, reference.column, message)
                        roots.append(Root(loop, handed, (step,), self.receiver(caller, reference)))
                    if caller not in seen:
                        seen.add(caller)
                        following.append(caller)
            level = following
        return roots

    def handed(self, caller: FunctionKey, call: Reference) -> list[tuple[FunctionKey, Reference]]:
        """The ``async`` functions ``caller`` names without calling them on the line of ``call``."""
        found = []
        within = self.class_of(caller)
        for reference in self.functions[caller].references:
            if reference.called or reference.line != call.line:
                continue
            target = self.resolve_in(caller, reference.dotted, within)
            if target is None or target.kind != "function":
                continue
            handed = (target.module, target.name)
            if self.functions[handed].is_async:
                found.append((handed, reference))
        return found

    @staticmethod
    def named(key: FunctionKey) -> str:
        return f"{key[0].rsplit('.', 1)[-1]}.{key[1]}"

    # The walk

    def edges(self, key: FunctionKey) -> Edges:
        """What function ``key`` leads to, resolved once for every loop: the holders it uses and
        the functions it calls, each with its first reference."""
        known = self._edges.get(key)
        if known is not None:
            return known
        holders: dict[HolderKey, Reference] = {}
        calls: dict[FunctionKey, Reference] = {}
        for reference in self.functions[key].references:
            target = self.use(key, reference)
            if target is None:
                continue
            if target.kind == "holder":
                holders.setdefault((target.module, target.name), reference)
                continue
            callee = self.callee(key, reference, target)
            if callee is not None:
                calls.setdefault(callee, reference)
        known = self._edges[key] = (tuple(holders.items()), tuple(calls.items()))
        return known

    def walk(self, roots: list[Root], found: dict) -> None:
        """Breadth first from ``roots`` (all on one loop key): each function once, the first
        chain to each holder (the shortest, breadth first) into ``found[holder][loop key]``.
        For an instance attribute, also the first chain on each module-level instance of its
        class, and on none known, into ``self.on_instances[holder][loop key, instance]``: the
        instance whose method the chain is in (the one named by the call into it, kept through
        ``self.`` calls); a method is walked once more for each instance it is reached through."""
        # A node: (function, parent node or the root's index as -1 - index, reference from the
        # parent, calls so far, instance); chains are built from the parents only for the
        # holders reached.
        nodes: list[tuple[FunctionKey, int, Reference | None, int, InstanceKey | None]] = []
        visited: set[FunctionKey] = set()  # the functions of nodes on no instance
        visited_on: set[tuple[FunctionKey, InstanceKey]] = set()  # those on an instance
        for index, root in enumerate(roots):
            if root.instance is None and root.function not in visited:
                visited.add(root.function)
            elif root.instance is None or (root.function, root.instance) in visited_on:
                continue
            else:
                visited_on.add((root.function, root.instance))
            nodes.append((root.function, -1 - index, None, len(root.steps), root.instance))
        loop_key = roots[0].loop.key
        edges, receivers = self.edges, self.receivers
        on_instances = self.on_instances
        position = on_instance = 0  # nodes walked, and those of them on an instance
        while position < len(nodes) and position - on_instance < MAX_VISITS:
            key, _parent, _reference, depth, instance = nodes[position]
            if instance is not None:
                on_instance += 1
            holders, calls = edges(key)
            held_on, called_on = receivers(key)
            for index, (to, reference) in enumerate(holders):
                chains = found.get(to)
                if chains is None:
                    chains = found[to] = {}
                if loop_key not in chains:
                    chains[loop_key] = self.chain(roots, nodes, position, reference)
                on = held_on[index] if held_on else NOT_PER_INSTANCE
                if on is not NOT_PER_INSTANCE:
                    at = (loop_key, instance if on is SELF else on)
                    per_instance = on_instances.setdefault(to, {})
                    if at not in per_instance:
                        per_instance[at] = self.chain(roots, nodes, position, reference)
            if depth < MAX_DEPTH:
                for index, (to, reference) in enumerate(calls):
                    on = called_on[index] if called_on else None
                    through = instance if on is SELF else on
                    if through is None:
                        if to in visited:
                            continue
                        visited.add(to)
                    elif (to, through) in visited_on:
                        continue
                    else:
                        visited_on.add((to, through))
                    nodes.append((to, position, reference, depth + 1, through))
            position += 1
        self.walked[loop_key] = visited | {function for function, _instance in visited_on} if visited_on else visited

    def chain(self, roots: list[Root], nodes: list, position: int, use: Reference) -> Chain:
        """The chain from a root to node ``position``, which uses a holder by ``use``."""
        key = nodes[position][0]
        steps = [self.site(key[0], use.line, use.column, f"uses {use.dotted}")]
        through = []
        while position >= 0:
            key, parent, reference, _depth, _instance = nodes[position]
            through.append(self.named(key))
            if parent >= 0:
                caller = nodes[parent][0]
                steps.append(self.site(caller[0], reference.line, reference.column, f"calls {self.named(key)}"))
            position = parent
        root = roots[-1 - position]
        return Chain(root.loop, root.steps + tuple(reversed(steps)), tuple(reversed(through)))

    def per_instance(self, holder: HolderKey) -> bool:
        """Whether each instance of its class keeps its own object in ``holder`` (an instance
        attribute): the instance a chain reaches it through is told apart."""
        found = self._per_instance.get(holder)
        if found is None:
            kept = self.model.modules[holder[0]].holder(holder[1])
            found = self._per_instance[holder] = kept is not None and kept.how == "instance-attribute"
        return found

    def receivers(self, key: FunctionKey) -> tuple[tuple[object, ...], tuple[object, ...]]:
        """For the holders and the calls of :meth:`edges` (``key``): the instance each is on, or
        () for all when none is an instance attribute's use or a method's call. The module-level
        instance its reference names (``browser.page``, ``crawl.browser.start``), :data:`SELF`
        for ``self.x`` (the instance function ``key`` was reached through), or None (none known,
        or not a method's call); :data:`NOT_PER_INSTANCE` for a holder that is not an instance
        attribute."""
        known = self._receivers_of.get(key)
        if known is None:
            holders, calls = self.edges(key)
            held_on = called_on = ()
            # Only a method (``Class.name``) has an instance; an instance attribute is ``Class.name`` too.
            if any("." in to[1] and self.per_instance(to) for to, _ref in holders):
                held_on = tuple(
                    self.on_instance(key, ref) if self.per_instance(to) else NOT_PER_INSTANCE for to, ref in holders
                )
            if any("." in to[1] and self.class_of(to) for to, _ref in calls):
                called_on = tuple(self.on_instance(key, ref) if self.class_of(to) else None for to, ref in calls)
            known = self._receivers_of[key] = (held_on, called_on) if held_on or called_on else NO_RECEIVERS
        return known

    def on_instance(self, key: FunctionKey, reference: Reference) -> object:
        """:data:`SELF` for a reference through ``self`` or ``cls``, else :meth:`receiver`'s."""
        return SELF if reference.dotted.partition(".")[0] in ("self", "cls") else self.receiver(key, reference)

    def receiver(self, key: FunctionKey, reference: Reference) -> InstanceKey | None:
        """The module-level instance (module, global name) whose member ``reference``, written
        in function ``key``, names: ``browser`` of ``browser.start()`` or of
        ``crawl.browser.start()``, wherever the instance is made; None for any other name."""
        memo = (key, reference.dotted)
        if memo in self._receivers:
            return self._receivers[memo]
        found = None
        parts = reference.dotted.split(".")
        if parts[0] not in ("self", "cls"):
            within = self.class_of(key)
            for cut in range(1, len(parts)):
                target = self.resolve_in(key, ".".join(parts[:cut]), within)
                if target is not None and target.kind == "instance":
                    found = (target.module, target.name)
                elif target is not None and target.kind == "class" and cut == len(parts) - 1:
                    found = self.made_by_a_call(key, target, within, reference.fresh)
                elif target is not None and target.kind == "function" and cut == len(parts) - 1:
                    handed = self.model.handed_out(target)  # ``get_engine().count()``
                    found = (handed.module, handed.name) if handed is not None and handed.kind == "instance" else None
                if target is not None and target.kind != "module":
                    break
        self._receivers[memo] = found
        return found

    def made_by_a_call(self, key: FunctionKey, cls: Target, within: str | None, fresh: bool) -> InstanceKey | None:
        """The instance of ``Class.member`` written in function ``key``: the summaries write a
        member of an object made by calling its class there that way (``connector.query`` after
        ``connector = Connector()``, ``self.db.query`` after ``self.db = Connector()``), an
        instance of its own, never a module-level one (``Connector()`` under :data:`MADE`, and
        under :data:`FRESH` where the function keeps it in a local: one per run, ``fresh``);
        unknown (None) where the member may be read on an instance of the method's own class
        (``Base.close(self)`` in a method of the class or of a subclass)."""
        if within is not None:
            own = self.resolve(key[0], within, None)
            if own is not None and (own.module, own.name) == (cls.module, cls.name) or self.derives(key[0], within, cls):
                return None
        return (cls.module, f"{cls.name}{FRESH if fresh else MADE}")

    def derives(self, module: str, cls: str, base: Target, depth: int = 0) -> bool:
        """Whether class ``cls`` of ``module`` has ``base`` among its bases the project defines."""
        summary = self.model.summary(module)
        record = next((c for c in summary.classes if c.name == cls), None) if summary is not None else None
        for written in record.bases if record is not None and depth < MAX_DEPTH else ():
            found = self.resolve(module, written, None)
            if found is not None and found.kind == "class" and (
                (found.module, found.name) == (base.module, base.name) or self.derives(found.module, found.name, base, depth + 1)
            ):
                return True
        return False

    # Verdicts

    def singletons(self) -> set[tuple[str, str]]:
        """The classes whose instances live as long as the process: a module-level instance of
        them exists (or a global a function binds to one on first use), or they are written as
        singletons."""
        found = set()
        for summary in list(self.model.modules.values()):  # resolving may load more
            for name, callee in summary.kept_instances():
                target = self.resolve(summary.module, callee, None)
                if target is not None and target.kind == "class":
                    found.add((target.module, target.name))
                    self.kept_instances.setdefault((target.module, target.name), []).append((summary.module, name))
            for record in summary.classes:
                if SINGLETON_METHODS & set(record.methods):
                    found.add((summary.module, record.name))
        return found

    def error(self, holder: Holder, chains: tuple[Chain, ...] = ()) -> str:
        """What the object's users see: the primitive's error; a client's, from the catalogue,
        which is that of a loop closed after its run ("Event loop is closed"), except when no
        loop that reaches it is closed after its run (kept loops, the server's): then the
        second loop meets the first one's live objects ("attached to a different loop")."""
        primitive = self.catalogue.primitives.get(holder.what)
        if primitive is not None:
            return primitive.error
        if chains and all(chain.loop.lifetime != "per-call" for chain in chains):
            return DEFAULT_ERROR
        return closed_loop_error(self.catalogue, holder)

    def cleanups(self, key: FunctionKey) -> frozenset[FunctionKey]:
        """The functions function ``key`` calls however its work ends (``Function.cleanups``)."""
        found = self._cleanups.get(key)
        if found is None:
            within = self.class_of(key)
            targets = (self.resolve_in(key, dotted, within) for dotted in self.functions[key].cleanups)
            found = frozenset((t.module, t.name) for t in targets if t is not None and t.kind == "function")
            self._cleanups[key] = found
        return found

    def loop_cleanups(self, loop_key: str) -> frozenset[FunctionKey]:
        """The functions called however a run of the loop ends: by a function it runs, or by the
        function that starts it (``try: asyncio.run(work()) finally: clients.reset()``)."""
        found = self._loop_cleanups.get(loop_key)
        if found is None:
            functions = self.walked.get(loop_key, set()) | self.runners.get(loop_key, set())
            found = self._loop_cleanups[loop_key] = frozenset().union(*(self.cleanups(key) for key in functions))
        return found

    def cleared_on_every_loop(self, module: str, holder: Holder, chains: tuple[Chain, ...]) -> str | None:
        """The function that sets the global ``holder`` back to None, when every loop that
        reaches it calls one however its work ends (in a ``finally:`` around the task's work,
        in a lifespan's shutdown half): each loop then starts its own object. None when a loop
        reaches it without."""
        clearing = {(module, function) for function in holder.cleared_by}
        if not clearing:
            return None
        called = [clearing & self.loop_cleanups(chain.loop.key) for chain in chains]
        if not chains or not all(called):
            return None
        return self.named(min(called[0]))

    def made_confined(self, module: str, holder: Holder, chains: tuple[Chain, ...]) -> str:
        """Why no loop that reaches ``holder`` meets another's object, however many do: how it
        was made (the catalogue's ``confined-by``), or that every loop clears it; else ""."""
        if holder.confined_by:
            return holder.confined_by
        cleared = self.cleared_on_every_loop(module, holder, chains)
        if cleared is not None:
            return f"every loop that reaches it calls {cleared}, which sets it back to None"
        return ""

    def verdict(
        self, module: str, holder: Holder, chains: tuple[Chain, ...], singletons: set, made_confined: str
    ) -> tuple[str, str, tuple[Chain, ...]]:
        """Shared, confined or unreached, why, and the chains that say so: those of the processes
        where the object meets more than one loop (loops of other processes never meet it).
        ``made_confined``: how the object was made confined however many loops reach it, if so."""
        if holder.how == "instance-attribute" and (module, holder.name.rsplit(".", 1)[0]) not in singletons:
            return UNREACHED, "an instance per call is possible: no instance kept for the process was seen", chains
        if made_confined:
            return CONFINED, made_confined, chains
        if not chains:
            return UNREACHED, "no event loop the model sees reaches it", chains
        processes: dict[str, list[Chain]] = {}
        for chain in chains:
            processes.setdefault(chain.loop.process, []).append(chain)
        # The application's failure first, then a program's, then the test session's: the
        # evidence is that of the first process where the object meets more than one loop.
        groups = [group for p in sorted(processes, key=lambda p: (p == TESTS, p != "", p)) for group in by_kind(processes[p])]
        for group in groups:
            why = self.shares(group, singletons)
            if why:
                return SHARED, why, tuple(group)
        if len(groups) > 1:
            return CONFINED, f"one loop in each of the {len(groups)} processes that use it", chains
        return CONFINED, f"only {chains[0].loop.describe} reaches it", chains

    def shares(self, chains: list[Chain], singletons: set) -> str:
        """Why the loops of ``chains`` (of one process) share the object; empty when they don't."""
        loops = {chain.loop.key_in_any_process for chain in chains}
        if len(loops) >= 2:
            return f"reached by {len(loops)} event loops"
        loop = chains[0].loop
        if loop.lifetime == "per-call" and loop.repeats:
            return f"a new event loop on each run of {loop.describe}"
        owner = self.loop_per_instance(loop, singletons)
        if owner is not None:
            return f"each {owner} keeps its own loop, and more than one may be made"
        return ""

    def loop_per_instance(self, loop: Loop, singletons: set) -> str | None:
        """The class whose every instance keeps its own loop, when ``loop`` is kept in an
        instance attribute (``self.loop = asyncio.new_event_loop()``) of a class that may have
        more than one instance: many loops, not one."""
        key = loop.key_in_any_process
        if not key.startswith(HOLDER):
            return None
        module, name = key[len(HOLDER) :].split(":", 1)
        held = self.model.modules[module].holder(name)
        owner = name.rpartition(".")[0]
        if held is None or held.how != "instance-attribute" or (module, owner) in singletons:
            return None
        return owner

    def run(self) -> Reach:
        by_key: dict[str, list[Root]] = {}
        loops: dict[Loop, None] = {}
        for root in self.starts():
            by_key.setdefault(root.loop.key, []).append(root)
            loops[root.loop] = None
        found: dict[HolderKey, dict[str, Chain]] = {}
        for holder, loop, chain, instance in self.direct:
            by_key.setdefault(loop.key, [])
            loops[loop] = None
            found.setdefault(holder, {}).setdefault(loop.key, chain)
            if self.per_instance(holder):
                self.on_instances.setdefault(holder, {}).setdefault((loop.key, instance), chain)
        for roots in by_key.values():
            if roots:
                self.walk(roots, found)
        singletons = self.singletons()
        objects = [
            self.judge(summary, holder, found.get((summary.module, holder.name), {}), singletons)
            for summary in list(self.model.modules.values())
            for holder in summary.holders
        ]
        # Each start of a loop reaches what its loop (its key) reaches.
        starts: dict[tuple[str, int], dict[int, tuple[ObjectReach, Chain]]] = {}
        for reached in objects:
            if reached.verdict == SHARED:
                chains = list(reached.chains)
            elif keeps_confined(reached):
                chains = kept_chains(reached)
            else:
                continue
            for chain in chains:
                for loop, *_rest in by_key[chain.loop.key]:
                    for named in ((loop.location.path, loop.location.line), *loop.named_at):
                        at = starts.setdefault(named, {})
                        at.setdefault(id(reached), (reached, chain))
        seen = sum(len(f.starts) + bool(self.loop_contexts_of(k, f)) for k, f in self.functions.items())
        loaded = frozenset(real_path(s.path) for s in self.model.modules.values())
        unfollowed = self.unfollowed(by_key, singletons)
        passed, modules = self.coroutine_parameters()
        keeping = self.keeping_globals()
        for module in sorted(keeping):
            self.load_importers(module)
        imported = self.imported_names(modules | keeping)
        importers_known = frozenset(real_path(self.model.modules[module].path) for module in keeping)
        outside = self.outside_uses(keeping)
        return Reach(
            tuple(objects),
            tuple(loops),
            {at: tuple(v.values()) for at, v in starts.items()},
            seen,
            loaded,
            passed,
            imported,
            importers_known,
            unfollowed,
            outside,
        )

    def judge(self, summary: ModuleSummary, holder: Holder, reached: dict[str, Chain], singletons: set) -> ObjectReach:
        """The verdict on ``holder`` of ``summary``'s module from the chains that reach it, by
        loop key: for an instance attribute of a class kept for the process, the worst of the
        verdicts on each module-level instance of the class."""
        module = summary.module
        chains = tuple(sorted(reached.values(), key=_chain_order))
        if holder.how == "instance-attribute":
            chains = self.not_on_fresh_instances(module, holder, chains)
        made_confined = self.made_confined(module, holder, chains)
        verdict, why, chains = self.verdict(module, holder, chains, singletons, made_confined)
        instances: tuple[InstanceReach, ...] = ()
        if holder.how == "instance-attribute" and verdict != UNREACHED:
            instances = self.instance_reach(module, holder, self.on_instances.get((module, holder.name), {}), singletons)
        if instances:
            worst = next((i for i in instances if i.verdict == SHARED), None)
            if worst is not None:
                verdict, why, chains = SHARED, worst.why, worst.chains
            elif verdict == SHARED:  # only instances seen apart share it
                verdict, why = CONFINED, "each module-level instance of its class is reached by one event loop at most"
        error = self.error(holder, chains)
        made_confined = made_confined if verdict == CONFINED else ""
        primitive = self.catalogue.primitives.get(holder.what)
        fails_once = primitive.fails_once if primitive is not None else ""
        return ObjectReach(
            module, summary.path, holder, chains, verdict, why, error, made_confined, fails_once, instances
        )

    def not_on_fresh_instances(self, module: str, holder: Holder, chains: tuple[Chain, ...]) -> tuple[Chain, ...]:
        """The ``chains`` to instance attribute ``holder`` but those of loops that reach it only on
        instances their own functions make (``engine = Engine(); await engine.count()``, under
        :data:`FRESH`): one per run, which says nothing of an instance another loop uses."""
        on = self.on_instances.get((module, holder.name), {})
        elsewhere = {key for key, instance in on if not _fresh(instance)}
        return tuple(chain for chain in chains if chain.loop.key in elsewhere)

    def instance_reach(
        self, module: str, holder: Holder, reached: dict[tuple[str, InstanceKey | None], Chain], singletons: set
    ) -> tuple[InstanceReach, ...]:
        """The reach of instance attribute ``holder`` on each module-level instance of its class
        and on each other instance a chain goes through: the chains through it and those whose
        instance is not known."""
        owner = holder.name.rpartition(".")[0]
        named = [
            *self.kept_instances.get((module, owner), ()),
            *(instance for _key, instance in reached if instance and not _fresh(instance)),
        ]
        found = []
        for instance in dict.fromkeys(named):
            chains = first_per_loop({on: c for on, c in reached.items() if on[1] in (instance, None)}.items())
            made_confined = self.made_confined(module, holder, chains)
            verdict, why, chains = self.verdict(module, holder, chains, singletons, made_confined)
            found.append(InstanceReach(instance[0], instance[1], chains, verdict, why))
        return tuple(found)

    def unread_import(self, loop_key: str) -> tuple[str, str] | None:
        """A module the walk of ``loop_key`` visits and a module of the project it imports that
        could not be read or parsed (newer syntax than the Python running loopcheck, say), as
        (importer, ``import <module>``): what the loop reaches through it is not known."""
        seen: set[str] = set()
        for module, _function in sorted(self.walked.get(loop_key, ())):
            if module in seen:
                continue
            seen.add(module)
            summary = self.model.modules.get(module)
            for _name, dotted in summary.imports if summary is not None else ():
                imported = next(
                    (prefix for prefix in _prefixes(dotted) if prefix in self.model.listed), None
                )
                if imported is not None and imported != module and self.model.summary(imported) is None:
                    return module, f"import {imported}"
        return None

    def unfollowed(self, by_key: dict, singletons: set) -> dict[tuple[str, int], tuple[str, str]]:
        """By (path, line) of each start of a kept loop (and of the lines that name it), a
        function the loop's walk visits that returns an object it looks up by a key in kept
        state (``Function.lookups``: a registry of services made on first request), when that
        state lives as long as the process (a module-level function's, or a method's of a class
        kept for the process): the object may be a loop-bound client the model cannot see, which
        the kept loop alone keeps alive. Else a module the walk visits that imports a module of
        the project the model could not read (:meth:`unread_import`)."""
        found: dict[tuple[str, int], tuple[str, str]] = {}
        for loop_key, roots in by_key.items():
            kept = [root.loop for root in roots if root.loop.lifetime == "kept"]
            if not kept:
                continue
            lookup = next(
                (
                    (self.named(key), written)
                    for key in sorted(self.walked.get(loop_key, ()))
                    for written in self.functions[key].lookups
                    if self.class_of(key) is None or (key[0], self.class_of(key)) in singletons
                ),
                None,
            )
            if lookup is None:
                lookup = self.unread_import(loop_key)
            if lookup is None:
                continue
            for loop in kept:
                for named in ((loop.location.path, loop.location.line), *loop.named_at):
                    found.setdefault(named, lookup)
        return found
