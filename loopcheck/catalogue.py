"""Loads the data files under loopcheck/data/ (the catalogues of loop-bound objects)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from importlib import resources

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


@cache
def primitives() -> dict[str, Primitive]:
    """The asyncio primitives, keyed by every qualified name they are reachable as."""
    text = resources.files("loopcheck.data").joinpath("primitives.toml").read_text("utf-8")
    by_name: dict[str, Primitive] = {}
    for name, entry in tomllib.loads(text).items():
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


@dataclass(frozen=True)
class LoopApi:
    new_loop: frozenset[str]
    current_loop: frozenset[str]
    running_loop: frozenset[str]
    set_loop: frozenset[str]
    run: frozenset[str]
    nest: frozenset[str]
    future_factories: frozenset[str]
    run_method: str
    serve_method: str
    close_methods: frozenset[str]
    shutdown_methods: frozenset[str]


@cache
def loop_api() -> LoopApi:
    """The event-loop calls and methods the LCK2xx rules recognise."""
    text = resources.files("loopcheck.data").joinpath("loops.toml").read_text("utf-8")
    data = tomllib.loads(text)
    calls, methods = data["calls"], data["methods"]
    return LoopApi(
        new_loop=frozenset(calls["new-loop"]),
        current_loop=frozenset(calls["current-loop"]),
        running_loop=frozenset(calls["running-loop"]),
        set_loop=frozenset(calls["set-loop"]),
        run=frozenset(calls["run"]),
        nest=frozenset(calls["nest"]),
        future_factories=frozenset(calls["future-factories"]),
        run_method=methods["run"],
        serve_method=methods["serve"],
        close_methods=frozenset(methods["close"]),
        shutdown_methods=frozenset(methods["shutdown"]),
    )
