"""The catalogues under loopcheck/data/, loaded into one value that reaches the rules through the
lint context: the loop-bound asyncio primitives, the event-loop API, the seeds of the
execution-context analysis (and, from configuration, more names to treat as async clients)."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from loopcheck.data import data_text


@dataclass(frozen=True)
class Primitive:
    name: str
    qualified_names: tuple[str, ...]
    threading_twin: str | None
    sync_methods: frozenset[str]
    since: str | None
    error: str
    fails_once: str
    special_methods: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoopApi:
    new_loop: frozenset[str]
    current_loop: frozenset[str]
    running_loop: frozenset[str]
    set_loop: frozenset[str]
    run: frozenset[str]
    runner: frozenset[str]
    nest: frozenset[str]
    future_factories: frozenset[str]
    schedule_on_current_loop: frozenset[str]
    coroutine_functions: frozenset[str]
    default_executor: frozenset[str]
    threadsafe: frozenset[str]
    task: frozenset[str]
    all_tasks: frozenset[str]
    run_method: str
    serve_method: str
    close_methods: frozenset[str]
    shutdown_methods: frozenset[str]
    executor_method: str
    task_method: str
    running_method: str

    @property
    def loop_factories(self) -> frozenset[str]:
        """Calls that return an event loop to keep."""
        return self.new_loop | self.current_loop


@dataclass(frozen=True)
class ContextSeed:
    """One way code hands a callable to something that runs it (see data/contexts.toml)."""

    context: str
    calls: frozenset[str] = frozenset()
    methods: frozenset[str] = frozenset()
    decorators: frozenset[str] = frozenset()
    decorator_methods: frozenset[str] = frozenset()
    position: int | None = None
    keyword: str | None = None
    first_argument: str | None = None
    receivers: frozenset[str] = frozenset()
    receiver_names: frozenset[str] = frozenset()
    subclass_of: frozenset[str] = frozenset()
    subclass_methods: frozenset[str] = frozenset()
    sync_only: bool = False
    # The seed applies only to ``async def`` functions.
    async_only: bool = False
    # Receivers that never match, whatever their name (a Flask app named ``app``).
    except_receivers: frozenset[str] = frozenset()
    # Class-level assignments that hand callables over: in the body of a class named one of
    # ``class_names``, the value of an attribute named one of ``class_attributes`` (arq's
    # ``class WorkerSettings: functions = [download]``).
    class_attributes: frozenset[str] = frozenset()
    class_names: frozenset[str] = frozenset()
    # A module-level variable whose value is (or lists) one of ``decorators`` marks every
    # function of the module whose name starts with ``name_prefix`` (``pytestmark =
    # pytest.mark.asyncio`` marks the tests).
    module_variable: str | None = None
    name_prefix: str | None = None
    # Calls whose first argument is the callable handed over (``arq.func(download, ...)``), as
    # ``functools.partial`` is.
    wrappers: frozenset[str] = frozenset()
    # ``name=value`` keywords a decorator (or mark) call must carry one of, and those it must not
    # (``@pytest.mark.asyncio(loop_scope="module")``).
    keyword_values: frozenset[str] = frozenset()
    except_keyword_values: frozenset[str] = frozenset()

    def keywords_match(self, written: frozenset[str]) -> bool:
        """Whether a decorator call whose string keywords are ``written`` (``name=value``; none
        for a bare decorator) meets the seed's ``keyword-value`` and ``except-keyword-value``."""
        if self.keyword_values and not self.keyword_values & written:
            return False
        return not self.except_keyword_values & written

    def applies_to(self, is_async: bool) -> bool:
        """Whether the seed puts a function that is (or is not) ``async def`` in its context."""
        return not (self.sync_only and is_async) and not (self.async_only and not is_async)

    def first_argument_matches(self, first: str | None) -> bool:
        """Whether a call (or decorator call) whose first argument is the string ``first`` (None:
        no string there) meets the seed's ``first-argument``."""
        return self.first_argument is None or first == self.first_argument

    def receiver_matches(self, leaf: str | None, qualified_names: set[str] | frozenset[str]) -> bool:
        """Whether a receiver whose last name is ``leaf`` and whose parts (the receiver, the calls
        of its chain, the call it is bound to) resolve to ``qualified_names`` meets the seed."""
        if self.except_receivers & qualified_names:
            return False
        if not self.receivers and not self.receiver_names:
            return True
        if leaf is not None and leaf in self.receiver_names:
            return True
        return bool(self.receivers & qualified_names)


@dataclass(frozen=True)
class LoopStart:
    """A call that runs code on an event loop, and how long that loop lives (data/entries.toml)."""

    name: str
    lifetime: str  # "per-call" or "kept"
    describe: str
    calls: frozenset[str] = frozenset()
    methods: frozenset[str] = frozenset()
    # Decorator methods (on a ``receivers`` instance) whose decorated ``async def`` the start
    # runs itself, on each call (Flask's async views).
    decorator_methods: frozenset[str] = frozenset()
    receivers: frozenset[str] = frozenset()
    position: int | None = None
    keyword: str | None = None
    callable: bool = False
    loop_position: int | None = None
    loop_keyword: str | None = None


# How a process kind of a context whose functions each run in a process of their own starts.
OWN_PROCESS_MARK = "own:"


@dataclass(frozen=True)
class ContextRuns:
    """How an execution context runs the functions handed to it (data/entries.toml)."""

    context: str
    repeats: bool
    loop: str  # "server", "per-call" or "none"
    describe: str
    # How evidence names the loop an ``async def`` of the context runs on.
    loop_describe: str = ""
    # The kind of process that runs the functions handed to it (``web-server``, ``celery-worker``);
    # "": the process of the code that hands them over, whichever it is.
    process: str = ""
    # Each function it runs is a process of its own (a command-line command: one per run).
    own_process: bool = False

    def process_of(self, function: str) -> str:
        """The kind of process that runs ``function`` (``module.name``), one it is handed."""
        return f"{OWN_PROCESS_MARK}{function}" if self.own_process else self.process

    @property
    def runs_on_loop(self) -> bool:
        """Whether the ``async def`` functions it runs are awaited on an event loop it provides."""
        return self.loop != "none"


@dataclass(frozen=True)
class CeleryPool:
    """How one of Celery's worker pools runs tasks (data/entries.toml ``[celery-pool.NAME]``).
    ``fails``: who meets a task's object under the next loop, as evidence says it.
    ``loop``: where it awaits an ``async def`` task ("server": one loop per worker process;
    "none": it does not run one)."""

    name: str
    fails: str
    loop: str = "none"
    loop_describe: str = ""


@dataclass(frozen=True)
class Confinement:
    """A way of making a client that keeps it off every loop but the one using it (see
    ``confined-by`` in data/clients.toml): a keyword ``argument`` of its constructor, or an
    ``attribute`` assigned on it afterwards, whose value is one of ``values`` (qualified names).
    ``why``: what that does, as messages say it."""

    argument: str | None
    attribute: str | None
    values: frozenset[str]
    why: str


@dataclass(frozen=True)
class ArgumentFix:
    """The library's own fix for a client several loops share (``argument-fix`` in
    data/clients.toml): ``argument=value`` added to the constructor call, ``value`` a qualified
    name imported from its module. ``title``: what it costs. Declined where the call already
    passes one of ``declined_by`` or a literal URL starting with one of ``declined_urls``
    (``url_why`` says why)."""

    argument: str
    value: str
    title: str
    declined_by: frozenset[str] = frozenset()
    declined_urls: frozenset[str] = frozenset()
    url_why: str = ""


@dataclass(frozen=True)
class Client:
    """An async client that belongs to the event loop it first uses (see data/clients.toml)."""

    key: str
    display: str
    constructors: tuple[str, ...]
    through: tuple[str, ...] = ()
    binds: str = "first-use"  # or "creation"
    error: str = "attached to a different loop"
    # How that error shows, where it depends on the library's version or settings (a retry).
    error_note: str = ""
    close: str | None = None
    close_awaitable: bool = True
    async_context_manager: bool = False
    fix: str = "none"  # "per-loop-factory", "per-call" or "none"
    references: tuple[str, ...] = ()
    confined_by: tuple[Confinement, ...] = ()
    argument_fix: ArgumentFix | None = None
    # Calls that keep the client and use it only when what they made is used (a session factory).
    kept_by: tuple[str, ...] = ()
    # Keyword arguments that hand the client an object of its own (a pool): a client per loop
    # made with one would share it.
    shared_arguments: tuple[str, ...] = ()
    # The keyword argument of `close` that, False, releases the client without closing its
    # connections (which would fail, and be logged, once their loop is closed).
    close_connections_argument: str | None = None

    def close_statement(self, name: str, loop: str | None = None) -> str:
        """The statement that releases the client held by ``name``; with ``loop``, the name of
        the loop it belongs to, leaving its connections alone once that loop is closed, where
        the client's close takes an argument that says so (``close-connections-argument``)."""
        assert self.close is not None
        keep = self.close_connections_argument if loop is not None else None
        arguments = f"{keep}=not {loop}.is_closed()" if keep else ""
        return f"{'await ' if self.close_awaitable else ''}{name}.{self.close}({arguments})"


@dataclass(frozen=True)
class Catalogue:
    primitives: Mapping[str, Primitive]  # by every qualified name a primitive is reachable as
    loop_api: LoopApi
    context_seeds: tuple[ContextSeed, ...]
    loop_starts: tuple[LoopStart, ...]
    context_runs: Mapping[str, ContextRuns]
    clients: Mapping[str, tuple[Client, ...]]  # by every constructor's qualified name
    extra_clients: tuple[str, ...] = ()
    # The decorators that make an `async def` a route handler run on the server loop.
    served: tuple[ContextSeed, ...] = ()
    # Celery's worker pools by name, and the one the configuration names (None: not named there;
    # the project's code may state it).
    celery_pools: Mapping[str, CeleryPool] = field(default_factory=dict)
    celery_pool: str | None = None

    @staticmethod
    @cache
    def load(extra_clients: tuple[str, ...] = (), celery_pool: str | None = None) -> Catalogue:
        entries = _data("entries.toml")  # parsed once: four parts of the catalogue read it
        pools = celery_pools(entries)
        if celery_pool is not None and celery_pool not in pools:
            raise CatalogueError(f"unknown Celery pool {celery_pool!r} (known: {', '.join(pools)})")
        return Catalogue(
            primitives=_primitives(_data("primitives.toml")),
            loop_api=_loop_api(_data("loops.toml")),
            context_seeds=context_seeds(_data("contexts.toml")),
            loop_starts=loop_starts(entries),
            context_runs=context_runs(entries),
            clients=_clients(_data("clients.toml"), extra_clients),
            extra_clients=extra_clients,
            served=served_routes(entries),
            celery_pools=pools,
            celery_pool=celery_pool,
        )

    def context_runs_under(self, pool: str) -> Mapping[str, ContextRuns]:
        """How each context runs its functions when Celery's workers run ``pool``: a pool with a
        loop awaits the ``async def`` tasks on it."""
        runs = self.celery_pools[pool]
        if runs.loop == "none":
            return self.context_runs
        celery = replace(self.context_runs[CELERY_CONTEXT], loop=runs.loop, loop_describe=runs.loop_describe)
        return {**self.context_runs, CELERY_CONTEXT: celery}

    def clients_of(self, qualified_names: frozenset[str]) -> tuple[Client, ...]:
        """The clients a constructor of one of ``qualified_names`` makes (several when their
        ``through`` methods tell them apart: ``session.client()``, ``session.resource()``)."""
        for name in qualified_names:
            if name in self.clients:
                return self.clients[name]
        return ()

    def primitive_of(self, qualified_names: frozenset[str]) -> Primitive | None:
        for name in qualified_names:
            if name in self.primitives:
                return self.primitives[name]
        return None


@dataclass(frozen=True)
class HolderShapes:
    """How a value is kept beyond the call that makes it (data/holders.toml), for both the
    candidate stage and the holder analysis."""

    function_caches: frozenset[str]
    container_stores: frozenset[str]
    keyed_store: str
    class_methods: frozenset[str]
    class_taking_methods: frozenset[str]
    static_methods: frozenset[str]
    pass_through_expressions: tuple[str, ...]
    pass_through_calls: frozenset[str]


@cache
def holder_shapes() -> HolderShapes:
    data = _data("holders.toml")
    return HolderShapes(
        function_caches=frozenset(data["function-caches"]),
        container_stores=frozenset(data["container-stores"]),
        keyed_store=data["keyed-store"],
        class_methods=frozenset(data["class-methods"]),
        class_taking_methods=frozenset(data["class-taking-methods"]),
        static_methods=frozenset(data["static-methods"]),
        pass_through_expressions=tuple(data["pass-through-expressions"]),
        pass_through_calls=frozenset(data["pass-through-calls"]),
    )


def _data(name: str) -> dict[str, Any]:
    return tomllib.loads(data_text(name))


def _primitives(data: dict[str, Any]) -> dict[str, Primitive]:
    by_name: dict[str, Primitive] = {}
    for name, entry in data.items():
        primitive = Primitive(
            name=name,
            qualified_names=tuple(entry["qualified-names"]),
            threading_twin=entry.get("threading-twin"),
            sync_methods=frozenset(entry.get("sync-methods", ())),
            since=entry.get("since"),
            error=entry.get("error", "is bound to a different event loop"),
            fails_once=entry["fails-once"],
            special_methods=_special_methods(name, entry.get("special-methods", [])),
        )
        for qualified_name in primitive.qualified_names:
            by_name[qualified_name] = primitive
    return by_name


def _special_methods(primitive: str, names: Any) -> tuple[str, ...]:
    """A primitive's ``special-methods``: names of the form ``__name__`` (a proxy defines each)."""
    if not isinstance(names, list) or not all(isinstance(n, str) and re.fullmatch(r"__[a-z]+__", n) for n in names):
        raise CatalogueError(f"primitives.toml: [{primitive}] special-methods must be a list of `__name__` strings")
    return tuple(names)


def _loop_api(data: dict[str, Any]) -> LoopApi:
    calls, methods = data["calls"], data["methods"]
    return LoopApi(
        new_loop=frozenset(calls["new-loop"]),
        current_loop=frozenset(calls["current-loop"]),
        running_loop=frozenset(calls["running-loop"]),
        set_loop=frozenset(calls["set-loop"]),
        run=frozenset(calls["run"]),
        runner=frozenset(calls["runner"]),
        nest=frozenset(calls["nest"]),
        future_factories=frozenset(calls["future-factories"]),
        schedule_on_current_loop=frozenset(calls["schedule-on-current-loop"]),
        coroutine_functions=frozenset(calls["coroutine-functions"]),
        default_executor=frozenset(calls["default-executor"]),
        threadsafe=frozenset(calls["threadsafe"]),
        task=frozenset(calls["task"]),
        all_tasks=frozenset(calls["all-tasks"]),
        run_method=methods["run"],
        serve_method=methods["serve"],
        close_methods=frozenset(methods["close"]),
        shutdown_methods=frozenset(methods["shutdown"]),
        executor_method=methods["executor"],
        task_method=methods["task"],
        running_method=methods["running"],
    )


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise CatalogueError(f"{where}: must be a string")
    return value


def _clients(data: dict[str, Any], extra: tuple[str, ...]) -> dict[str, tuple[Client, ...]]:
    """The catalogue's clients, and those `extra-clients` names (which the analysis cannot know
    how to close: they get no fix)."""
    by_name: dict[str, tuple[Client, ...]] = {}
    for key, entry in data.items():
        client = Client(
            key=key,
            display=entry["display"],
            constructors=tuple(entry["constructors"]),
            through=tuple(entry.get("through", ())),
            binds=entry.get("binds", "first-use"),
            error=entry.get("error", "attached to a different loop"),
            error_note=_text(entry.get("error-note", ""), f"clients.toml: [{key}] error-note"),
            close=entry.get("close"),
            close_awaitable=entry.get("close-awaitable", True),
            async_context_manager=entry.get("async-context-manager", False),
            fix=entry.get("fix", "none"),
            references=tuple(entry.get("references", ())),
            confined_by=client_confinements(entry.get("confined-by", []), f"clients.toml: [{key}] confined-by"),
            kept_by=names_list(entry.get("kept-by", []), f"clients.toml: [{key}] kept-by", qualified=True),
            shared_arguments=names_list(entry.get("shared-arguments", []), f"clients.toml: [{key}] shared-arguments"),
            close_connections_argument=_argument_name(
                entry.get("close-connections-argument"), f"clients.toml: [{key}] close-connections-argument"
            ),
        )
        if "argument-fix" in entry:
            client = replace(
                client, argument_fix=argument_fix(entry["argument-fix"], client, f"clients.toml: [{key}.argument-fix]")
            )
        for name in client.constructors:
            by_name[name] = (*by_name.get(name, ()), client)
    for name in extra:
        by_name.setdefault(name, (Client(key=name, display=name, constructors=(name,)),))
    return by_name


class CatalogueError(ValueError):
    """A catalogue under loopcheck/data/ says something loopcheck cannot read."""


# The keys of a client's confined-by entry: the Confinement field each fills and its type.
CONFINEMENT_KEYS: dict[str, tuple[str, type]] = {
    "argument": ("argument", str),
    "attribute": ("attribute", str),
    "values": ("values", list),
    "why": ("why", str),
}


def client_confinements(entries: Any, source: str) -> tuple[Confinement, ...]:
    """A client's ``confined-by`` list, each entry naming exactly one of an argument and an
    attribute, with the values that confine it and why."""
    if not isinstance(entries, list):
        raise CatalogueError(f"{source}: must be a list of tables")
    found = []
    for number, entry in enumerate(entries, 1):
        where = f"{source} #{number}"
        values = _typed(entry, CONFINEMENT_KEYS, where)
        if ("argument" in values) == ("attribute" in values):
            raise CatalogueError(f"{where}: needs exactly one of 'argument' and 'attribute'")
        if not values.get("values") or "why" not in values:
            raise CatalogueError(f"{where}: needs 'values' (not empty) and 'why'")
        found.append(Confinement(values.get("argument"), values.get("attribute"), values["values"], values["why"]))
    return tuple(found)


def names_list(entry: Any, source: str, qualified: bool = False) -> tuple[str, ...]:
    """A list of names (``qualified``: of the form ``module.name``), such as a client's
    ``kept-by`` or ``shared-arguments``."""
    if not isinstance(entry, list) or not all(_is_name(name, qualified) for name in entry):
        raise CatalogueError(f"{source}: must be a list of {'qualified names (module.name)' if qualified else 'names'}")
    return tuple(entry)


def _argument_name(entry: Any, source: str) -> str | None:
    if entry is not None and not _is_name(entry, qualified=False):
        raise CatalogueError(f"{source}: must be an argument's name")
    return entry


def _is_name(name: Any, qualified: bool) -> bool:
    parts = name.split(".") if isinstance(name, str) else [""]
    return all(part.isidentifier() for part in parts) and (len(parts) > 1) == qualified


# The keys of a client's argument-fix table: the ArgumentFix field each fills and its type.
ARGUMENT_FIX_KEYS: dict[str, tuple[str, type]] = {
    "argument": ("argument", str),
    "value": ("value", str),
    "title": ("title", str),
    "declined-by": ("declined_by", list),
    "declined-urls": ("declined_urls", list),
    "url-why": ("url_why", str),
}


def argument_fix(entry: Any, client: Client, source: str) -> ArgumentFix:
    """A client's ``argument-fix``: what it adds must confine the client (one of its
    ``confined-by`` arguments and values), or the fixed client would still be reported."""
    values = _typed(entry, ARGUMENT_FIX_KEYS, source)
    missing = [key for key in ("argument", "value", "title") if key not in entry]
    if missing:
        raise CatalogueError(f"{source}: no key {missing[0]!r}")
    if client.through:
        raise CatalogueError(f"{source}: the client is made through {client.through[0]}(), not by a call it could add to")
    if not any(c.argument == values["argument"] and values["value"] in c.values for c in client.confined_by):
        raise CatalogueError(
            f"{source}: {values['argument']}={values['value']} is none of the client's confined-by arguments and values"
        )
    if "." not in values["value"]:
        raise CatalogueError(f"{source}: key 'value' must be a qualified name (module.Name), not {values['value']!r}")
    if bool(values.get("declined_urls")) != ("url_why" in values):
        raise CatalogueError(f"{source}: 'declined-urls' and 'url-why' go together")
    return ArgumentFix(**values)


# The contexts a seed may hand a callable to (the values of ``analysis.contexts.Runs`` that only
# a seed gives; a test keeps the two in step).
SEED_CONTEXTS = (
    "thread",
    "executor",
    "celery-task",
    "worker-hook",
    "scheduler-job",
    "lifespan",
    "dramatiq-actor",
    "dramatiq-async-actor",
    "arq-job",
    "loop-scheduler-job",
    "asyncio-test",
    "asyncio-function-test",
    "asyncio-module-test",
    "asyncio-session-test",
    "command-line",
    "fastapi-dependency",
)
# The keys of a [[seed]] of data/contexts.toml: the ContextSeed field each fills and its type
# (a list is one of strings, kept as a frozenset).
SEED_KEYS: dict[str, tuple[str, type]] = {
    "context": ("context", str),
    "call": ("calls", list),
    "method": ("methods", list),
    "decorator": ("decorators", list),
    "decorator-method": ("decorator_methods", list),
    "position": ("position", int),
    "keyword": ("keyword", str),
    "first-argument": ("first_argument", str),
    "receiver": ("receivers", list),
    "receiver-names": ("receiver_names", list),
    "subclass-of": ("subclass_of", list),
    "methods": ("subclass_methods", list),
    "sync-only": ("sync_only", bool),
    "async-only": ("async_only", bool),
    "except-receiver": ("except_receivers", list),
    "class-attribute": ("class_attributes", list),
    "class-name": ("class_names", list),
    "module-variable": ("module_variable", str),
    "name-prefix": ("name_prefix", str),
    "wrapper": ("wrappers", list),
    "keyword-value": ("keyword_values", list),
    "except-keyword-value": ("except_keyword_values", list),
}
_TYPE_NAMES = {str: "a string", list: "a list of strings", int: "an integer", bool: "true or false"}


def context_seeds(data: dict[str, Any], source: str = "contexts.toml") -> tuple[ContextSeed, ...]:
    """The seeds of ``data`` (read from ``source``); a :class:`CatalogueError` names the file, the
    seed and the key of the first thing wrong: a misspelled key or an unknown context would
    otherwise be ignored, or fail only when a file is checked."""
    unknown = sorted(set(data) - {"seed"})
    if unknown:
        raise CatalogueError(f"{source}: unknown table {unknown[0]!r} (known: seed)")
    entries = data.get("seed", [])
    if not isinstance(entries, list):
        raise CatalogueError(f"{source}: seed must be an array of tables ([[seed]])")
    return tuple(_context_seed(entry, f"{source}: [[seed]] #{number}") for number, entry in enumerate(entries, 1))


def _context_seed(entry: dict[str, Any], where: str) -> ContextSeed:
    if "context" not in entry:
        raise CatalogueError(f"{where}: no key 'context'")
    where = f"{where} (context {entry['context']!r})"
    values = _typed(entry, SEED_KEYS, where)
    if values["context"] not in SEED_CONTEXTS:
        raise CatalogueError(f"{where}: key 'context': unknown context (known: {', '.join(SEED_CONTEXTS)})")
    if values.get("sync_only") and values.get("async_only"):
        raise CatalogueError(f"{where}: 'sync-only' and 'async-only' exclude each other")
    if bool(values.get("class_attributes")) != bool(values.get("class_names")):
        raise CatalogueError(f"{where}: 'class-attribute' and 'class-name' go together")
    if "module_variable" in values and not values.get("decorators"):
        raise CatalogueError(f"{where}: a 'module-variable' needs the 'decorator' its value names")
    if "name_prefix" in values and "module_variable" not in values:
        raise CatalogueError(f"{where}: a 'name-prefix' needs a 'module-variable'")
    for key in ("keyword_values", "except_keyword_values"):
        malformed = sorted(v for v in values.get(key, ()) if not v.partition("=")[0] or "=" not in v)
        if malformed:
            name = key.replace("_", "-")[:-1]
            raise CatalogueError(f"{where}: key {name!r}: {malformed[0]!r} is not name=value")
    return ContextSeed(**values)


LIFETIMES = ("per-call", "kept")
ENTRY_TABLES = ("start", "context", "served", "celery-pool")
# The context of an `async def` a [[served]] entry names: it runs on the server's loop.
SERVED_CONTEXT = "server"
# Every context data/entries.toml says how it runs: the seeds' and the served routes'.
ENTRY_CONTEXTS = (*SEED_CONTEXTS, SERVED_CONTEXT)
# The keys of a [[served]] of data/entries.toml (as in a [[seed]] of contexts.toml).
SERVED_KEYS = {
    key: SEED_KEYS[key]
    for key in ("decorator-method", "call", "method", "position", "keyword", "receiver", "receiver-names")
} | {"except-receiver": ("except_receivers", list)}
CONTEXT_LOOPS = ("server", "per-module", "per-call", "none")
# How evidence names the loop of a context that gives none of its own ``loop-describe``.
LOOP_DESCRIPTIONS = {
    "server": "the server's loop",
    "per-module": "one event loop per module",
    "per-call": "a new event loop per call",
}
# The keys of a [[start]] of data/entries.toml: the LoopStart field each fills and its type.
START_KEYS: dict[str, tuple[str, type]] = {
    "name": ("name", str),
    "lifetime": ("lifetime", str),
    "describe": ("describe", str),
    "call": ("calls", list),
    "method": ("methods", list),
    "decorator-method": ("decorator_methods", list),
    "receiver": ("receivers", list),
    "position": ("position", int),
    "keyword": ("keyword", str),
    "callable": ("callable", bool),
    "loop-position": ("loop_position", int),
    "loop-keyword": ("loop_keyword", str),
}
CONTEXT_RUNS_KEYS: dict[str, tuple[str, type]] = {
    "repeats": ("repeats", bool),
    "loop": ("loop", str),
    "describe": ("describe", str),
    "loop-describe": ("loop_describe", str),
    "process": ("process", str),
    "own-process": ("own_process", bool),
}


def loop_starts(data: dict[str, Any], source: str = "entries.toml") -> tuple[LoopStart, ...]:
    """The [[start]] entries of ``data``; a :class:`CatalogueError` names the first thing wrong."""
    unknown = sorted(set(data) - set(ENTRY_TABLES))
    if unknown:
        raise CatalogueError(f"{source}: unknown table {unknown[0]!r} (known: {', '.join(ENTRY_TABLES)})")
    starts = []
    for where, entry in _array_of_tables(data, "start", source):
        values = _typed(entry, START_KEYS, where)
        for required in ("name", "lifetime", "describe"):
            if required not in values:
                raise CatalogueError(f"{where}: no key {required!r}")
        if values["lifetime"] not in LIFETIMES:
            raise CatalogueError(f"{where}: key 'lifetime' must be one of {', '.join(LIFETIMES)}")
        if not values.get("calls") and not values.get("methods") and not values.get("decorator_methods"):
            raise CatalogueError(f"{where}: needs 'call', 'method' or 'decorator-method'")
        if values.get("decorator_methods") and not values.get("receivers"):
            # A decorator method is matched on a receiver of a known class only: names alone
            # (``app``) are shared by every framework.
            raise CatalogueError(f"{where}: a 'decorator-method' needs a 'receiver'")
        starts.append(LoopStart(**values))
    return tuple(starts)


def context_runs(data: dict[str, Any], source: str = "entries.toml") -> dict[str, ContextRuns]:
    """The [context.NAME] tables of ``data``: one for every context a seed may name."""
    runs = {}
    for context, where, entry in _table_of_tables(data, "context", source):
        if context not in ENTRY_CONTEXTS:
            raise CatalogueError(f"{where}: unknown context (known: {', '.join(ENTRY_CONTEXTS)})")
        values = _typed(entry, CONTEXT_RUNS_KEYS, where)
        missing = [key for key in ("repeats", "loop", "describe") if CONTEXT_RUNS_KEYS[key][0] not in values]
        if missing:
            raise CatalogueError(f"{where}: no key {missing[0]!r}")
        if values["loop"] not in CONTEXT_LOOPS:
            raise CatalogueError(f"{where}: key 'loop' must be one of {', '.join(CONTEXT_LOOPS)}")
        if values["loop"] == "none" and "loop_describe" in values:
            raise CatalogueError(f"{where}: a 'loop-describe' needs a 'loop' other than none")
        values.setdefault("loop_describe", LOOP_DESCRIPTIONS.get(values["loop"], ""))
        runs[context] = ContextRuns(context=context, **values)
    absent = [context for context in ENTRY_CONTEXTS if context not in runs]
    if absent:
        raise CatalogueError(f"{source}: no [context.{absent[0]}] table")
    return runs


CELERY_POOL_KEYS: dict[str, tuple[str, type]] = {
    "fails": ("fails", str),
    "loop": ("loop", str),
    "loop-describe": ("loop_describe", str),
}
# The context of a Celery task (contexts.toml), which the worker's pool runs.
CELERY_CONTEXT = "celery-task"
# Where a Celery pool may await an `async def` task: on one loop per worker process, or nowhere.
CELERY_POOL_LOOPS = ("server", "none")
# The pool a Celery worker runs when nothing names one (Celery's `worker_pool` default).
DEFAULT_CELERY_POOL = "prefork"


def celery_pools(data: dict[str, Any], source: str = "entries.toml") -> dict[str, CeleryPool]:
    """The [celery-pool.NAME] tables of ``data``; Celery's default pool among them."""
    pools = {}
    for name, where, entry in _table_of_tables(data, "celery-pool", source):
        values = _typed(entry, CELERY_POOL_KEYS, where)
        if "fails" not in values:
            raise CatalogueError(f"{where}: no key 'fails'")
        if values.get("loop", "none") not in CELERY_POOL_LOOPS:
            raise CatalogueError(f"{where}: key 'loop' must be one of {', '.join(CELERY_POOL_LOOPS)}")
        if ("loop_describe" in values) != (values.get("loop", "none") != "none"):
            raise CatalogueError(f"{where}: a 'loop' other than none and a 'loop-describe' go together")
        pools[name] = CeleryPool(name=name, **values)
    if DEFAULT_CELERY_POOL not in pools:
        raise CatalogueError(f"{source}: no [celery-pool.{DEFAULT_CELERY_POOL}] table (Celery's default pool)")
    return pools


def served_routes(data: dict[str, Any], source: str = "entries.toml") -> tuple[ContextSeed, ...]:
    """The [[served]] entries of ``data``, as seeds of the ``server`` context (for `async def`
    only); a :class:`CatalogueError` names the first thing wrong."""
    served = []
    for where, entry in _array_of_tables(data, "served", source):
        values = _typed(entry, SERVED_KEYS, where)
        handed = values.get("calls") or values.get("methods")
        if not values.get("decorator_methods") and not handed:
            raise CatalogueError(f"{where}: needs 'decorator-method', 'call' or 'method'")
        if handed and "position" not in values and "keyword" not in values:
            raise CatalogueError(f"{where}: a 'call' or 'method' needs the endpoint's 'position' or 'keyword'")
        served.append(ContextSeed(context=SERVED_CONTEXT, **values))
    return tuple(served)


def _table_of_tables(data: dict[str, Any], key: str, source: str) -> list[tuple[str, str, Any]]:
    """The tables ``[key.NAME]``, each with its name and where it is for messages."""
    tables = data.get(key, {})
    if not isinstance(tables, dict):
        raise CatalogueError(f"{source}: {key} must be a table of tables ([{key}.NAME])")
    return [(name, f"{source}: [{key}.{name}]", entry) for name, entry in tables.items()]


def _array_of_tables(data: dict[str, Any], key: str, source: str) -> list[tuple[str, Any]]:
    """The entries of the array of tables ``[[key]]``, each with where it is for messages."""
    entries = data.get(key, [])
    if not isinstance(entries, list):
        raise CatalogueError(f"{source}: {key} must be an array of tables ([[{key}]])")
    return [(f"{source}: [[{key}]] #{number}", entry) for number, entry in enumerate(entries, 1)]


def _typed(entry: Any, keys: dict[str, tuple[str, type]], where: str) -> dict[str, Any]:
    """``entry``'s values by field name, each checked against its key's type."""
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: must be a table")
    values: dict[str, Any] = {}
    for key, value in entry.items():
        if key not in keys:
            raise CatalogueError(f"{where}: unknown key {key!r} (known: {', '.join(keys)})")
        field_name, kind = keys[key]
        wrong = isinstance(value, bool) != (kind is bool) or not isinstance(value, kind)
        if not wrong and kind is list:
            wrong = not all(isinstance(item, str) for item in value)
        if wrong:
            raise CatalogueError(f"{where}: key {key!r} must be {_TYPE_NAMES[kind]}, not {value!r}")
        values[field_name] = frozenset(value) if kind is list else value
    return values
