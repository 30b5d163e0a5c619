"""Messages name holders and shared instances in one wording (rules/wording.py), whichever rule
reports: a holder of each kind, and each way a process shares an instance."""

from __future__ import annotations

import pytest

from loopcheck.analysis import Runs
from loopcheck.rules.wording import RUNS_WHERE, held_in, kept_in_words, shared_instance
from tests.test_analysis import HOLDERS, analyse, holder_at


@pytest.mark.parametrize(
    "line, held, lazily",
    [
        (4, "the module global `module_lock`", "the module global `module_lock`"),
        (9, "`Service.class_lock`", "the class attribute `Service.class_lock`"),
        (13, "`Service.lock`", "`Service.lock`"),
        (17, "the class-level `Service._locks`", "the class-level container `Service._locks`"),
        (24, "`PerCall.lock`", "`PerCall.lock`"),
        (29, "the module-level `_registry`", "the module-level container `_registry`"),
        (31, "`local`", "`local`"),
        (36, "the cache of cached()", "the cache of `cached()`"),
        (38, "lock", "lock"),
        (45, "the closure variable `held`", "the closure variable `held`"),
    ],
)
def test_each_kind_of_holder_is_named_one_way(line, held, lazily):
    holder = holder_at(analyse(HOLDERS), line)
    assert (held_in(holder), kept_in_words(holder)) == (held, lazily)


def test_a_rule_may_shorten_the_module_global():
    holder = holder_at(analyse(HOLDERS), 4)
    assert held_in(holder, module_global="the global") == "the global `module_lock`"


SHARED = """
import asyncio, functools

class Manager:
    def __init__(self):
        self.lock = asyncio.Lock()

manager = Manager()
manager.extra = asyncio.Lock()

class Lazy:
    def __init__(self):
        self.lock = asyncio.Lock()

_lazy = None

def get_lazy():
    global _lazy
    if _lazy is None:
        _lazy = Lazy()
    return _lazy

class Cached:
    def __init__(self):
        self.lock = asyncio.Lock()

@functools.lru_cache
def get_cached():
    return Cached()

class Shared:
    _instance = None

    def __init__(self):
        self.lock = asyncio.Lock()

    @classmethod
    def instance(cls):
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance
"""


@pytest.mark.parametrize(
    "line, held, shared",
    [
        (6, "`Manager.lock`", "the module-level instance `manager`"),
        (9, "`manager.extra`", "the module-level instance `manager`"),
        (13, "`Lazy.lock`", "the global singleton `_lazy`"),
        (25, "`Cached.lock`", "the instance cached by `get_cached()`"),
        (35, "`Shared.lock`", "the shared instance `Shared._instance`"),
    ],
)
def test_each_way_of_sharing_an_instance_is_named_one_way(line, held, shared):
    holder = holder_at(analyse(SHARED), line)
    assert (held_in(holder), shared_instance(holder.singleton)) == (held, shared)


def test_every_execution_context_has_its_words():
    assert set(RUNS_WHERE) == set(Runs)
    assert RUNS_WHERE[Runs.EXECUTOR] == "as an executor job (in a worker thread)"
