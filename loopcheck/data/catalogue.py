"""The catalogues under loopcheck/data/, loaded into one value that reaches the rules through the
lint context: the loop-bound asyncio primitives, the event-loop API, the seeds of the
execution-context analysis (and, from configuration, more names to treat as async clients)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


@dataclass(frozen=True)
class Primitive:
    name: str
    qualified_names: tuple[str, ...]
    threading_twin: str | None
    sync_methods: frozenset[str]
    since: str | None
    error: str


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
    run_method: str
    serve_method: str
    close_methods: frozenset[str]
    shutdown_methods: frozenset[str]
    executor_method: str

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


@dataclass(frozen=True)
class Client:
    """An async client that belongs to the event loop it first uses (see data/clients.toml)."""

    key: str
    display: str
    constructors: tuple[str, ...]
    through: tuple[str, ...] = ()
    binds: str = "first-use"  # or "creation"
    error: str = "attached to a different loop"
    close: str | None = None
    close_awaitable: bool = True
    async_context_manager: bool = False
    fix: str = "none"  # "per-loop-factory", "per-call" or "none"
    references: tuple[str, ...] = ()

    def close_statement(self, name: str) -> str:
        """The statement that releases the client held by ``name``."""
        assert self.close is not None
        return f"{'await ' if self.close_awaitable else ''}{name}.{self.close}()"


@dataclass(frozen=True)
class Catalogue:
    primitives: Mapping[str, Primitive]  # by every qualified name a primitive is reachable as
    loop_api: LoopApi
    context_seeds: tuple[ContextSeed, ...]
    clients: Mapping[str, tuple[Client, ...]]  # by every constructor's qualified name
    extra_clients: tuple[str, ...] = ()

    @staticmethod
    @cache
    def load(extra_clients: tuple[str, ...] = ()) -> Catalogue:
        return Catalogue(
            primitives=_primitives(_data("primitives.toml")),
            loop_api=_loop_api(_data("loops.toml")),
            context_seeds=_context_seeds(_data("contexts.toml")),
            clients=_clients(_data("clients.toml"), extra_clients),
            extra_clients=extra_clients,
        )

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


@cache
def holder_shapes() -> HolderShapes:
    data = _data("holders.toml")
    return HolderShapes(
        function_caches=frozenset(data["function-caches"]),
        container_stores=frozenset(data["container-stores"]),
        keyed_store=data["keyed-store"],
        class_methods=frozenset(data["class-methods"]),
        class_taking_methods=frozenset(data["class-taking-methods"]),
    )


def _data(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("loopcheck.data").joinpath(name).read_text("utf-8"))


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
        )
        for qualified_name in primitive.qualified_names:
            by_name[qualified_name] = primitive
    return by_name


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
        run_method=methods["run"],
        serve_method=methods["serve"],
        close_methods=frozenset(methods["close"]),
        shutdown_methods=frozenset(methods["shutdown"]),
        executor_method=methods["executor"],
    )


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
            close=entry.get("close"),
            close_awaitable=entry.get("close-awaitable", True),
            async_context_manager=entry.get("async-context-manager", False),
            fix=entry.get("fix", "none"),
            references=tuple(entry.get("references", ())),
        )
        for name in client.constructors:
            by_name[name] = (*by_name.get(name, ()), client)
    for name in extra:
        by_name.setdefault(name, (Client(key=name, display=name, constructors=(name,)),))
    return by_name


def _context_seeds(data: dict[str, Any]) -> tuple[ContextSeed, ...]:
    return tuple(
        ContextSeed(
            context=entry["context"],
            calls=frozenset(entry.get("call", ())),
            methods=frozenset(entry.get("method", ())),
            decorators=frozenset(entry.get("decorator", ())),
            decorator_methods=frozenset(entry.get("decorator-method", ())),
            position=entry.get("position"),
            keyword=entry.get("keyword"),
            first_argument=entry.get("first-argument"),
            receivers=frozenset(entry.get("receiver", ())),
            receiver_names=frozenset(entry.get("receiver-names", ())),
            subclass_of=frozenset(entry.get("subclass-of", ())),
            subclass_methods=frozenset(entry.get("methods", ())),
            sync_only=entry.get("sync-only", False),
        )
        for entry in data["seed"]
    )
