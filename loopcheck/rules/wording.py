"""How messages name the place an object is kept in (its holder) and the instance the whole
process shares: one wording for every rule that names them."""

from __future__ import annotations

from loopcheck.analysis.contexts import Runs
from loopcheck.analysis.holders import (
    ClassAttribute,
    ClassRegistry,
    ClosureVariable,
    DefaultArgument,
    FunctionCache,
    Held,
    Holder,
    InstanceAttribute,
    LocalRegistry,
    LocalVariable,
    ModuleGlobal,
    ModuleRegistry,
    SharedBy,
    Singleton,
    SingletonAttribute,
    SingletonRegistry,
    Temporary,
)

# How messages name the place a lazily created object is kept in (the kinds of LAZY_HOLDERS).
KEPT_IN = {
    Held.MODULE_GLOBAL: "the module global",
    Held.MODULE_CONTAINER: "the module-level container",
    Held.CLASS_ATTRIBUTE: "the class attribute",
    Held.CLASS_CONTAINER: "the class-level container",
    Held.FUNCTION_CACHE: "the cache of",
}

# How messages say where code runs.
RUNS_WHERE = {
    Runs.IMPORT: "at import time",
    Runs.MAIN: "under `if __name__ == '__main__'`",
    Runs.COROUTINE: "in a coroutine",
    Runs.CALLED_FROM_COROUTINE: "called from a coroutine",
    Runs.THREAD: "in a thread",
    Runs.EXECUTOR: "as an executor job (in a worker thread)",
    Runs.CELERY_TASK: "as a Celery task",
    Runs.WORKER_HOOK: "in a worker start-up hook",
    Runs.SCHEDULER_JOB: "as a scheduler job",
    Runs.LIFESPAN: "in an ASGI lifespan or startup handler",
    Runs.DRAMATIQ_ACTOR: "as a dramatiq actor (on a worker thread)",
    Runs.DRAMATIQ_ASYNC_ACTOR: "as a dramatiq actor (on the AsyncIO middleware's loop)",
    Runs.ARQ_JOB: "as an arq job (on the worker's loop)",
    Runs.LOOP_SCHEDULER_JOB: "as an AsyncIOScheduler job (on the scheduler's loop)",
    Runs.ASYNCIO_TEST: "as a pytest-asyncio test (on a new event loop per test)",
    Runs.ASYNCIO_FUNCTION_TEST: "as a pytest-asyncio test (on a new event loop per test)",
    Runs.ASYNCIO_MODULE_TEST: "as a pytest-asyncio test (on its module's loop)",
    Runs.ASYNCIO_SESSION_TEST: "as a pytest-asyncio test (on the session's loop)",
    Runs.FASTAPI_DEPENDENCY: "as a FastAPI dependency (on the server's loop)",
    Runs.COMMAND_LINE: "as a command-line command (once per process)",
    Runs.UNKNOWN: "where no caller in this module says",
}

# Why a per-loop fix of LCK1xx and LCK3xx is declined, where the rules find it (the checks of the
# shapes the fixes rewrite say theirs in fixes/per_loop.py).
NOT_TOP_LEVEL = "it is created inside a block (`if`, `try`...), not at the module's top level"
NO_LOOP_THERE = "it is used outside coroutines, where no loop may be running"
GETTER_ONLY = "the fix rewrites only a getter (`global x`, `if x is None: x = ...`, `return x`)"

SHARED_INSTANCE = {
    SharedBy.MODULE_INSTANCE: "the module-level instance `{}`",
    SharedBy.GLOBAL_SINGLETON: "the global singleton `{}`",
    SharedBy.CACHED_FACTORY: "the instance cached by `{}()`",
    SharedBy.CLASS_ATTRIBUTE: "the shared instance `{}`",
}


def held_in(holder: Holder, module_global: str = "the module global") -> str:
    """``the module global `_lock```, ```Worker._loop```, ```manager.lock```, ``the module-level
    `_locks```, ``the cache of get()``..."""
    if isinstance(holder, ModuleGlobal):
        return f"{module_global} `{holder.name}`"
    if isinstance(holder, (ClassAttribute, InstanceAttribute)):
        return f"`{holder.owner.name.value}.{holder.name}`"
    if isinstance(holder, (SingletonAttribute, SingletonRegistry)):
        return f"`{holder.through}.{holder.name}`"
    if isinstance(holder, ClassRegistry):
        return f"the class-level `{_qualified(holder)}`"
    if isinstance(holder, ModuleRegistry):
        return f"the module-level `{holder.name}`"
    if isinstance(holder, (LocalVariable, LocalRegistry)):
        return f"`{holder.name}`"
    if isinstance(holder, ClosureVariable):
        return f"the closure variable `{holder.name}`"
    if isinstance(holder, DefaultArgument):
        return holder.name
    if isinstance(holder, FunctionCache):
        return f"the cache of {holder.name}()"
    if isinstance(holder, Temporary):
        return "nothing"
    return "code this module does not show"


def kept_in_words(holder: Holder) -> str:
    """Where a function that fills its holder lazily keeps the object: ``the cache of
    `get()```, ``the class attribute `Pool._sem```, ``the module-level container `_locks```."""
    if isinstance(holder, FunctionCache):
        return f"the cache of `{holder.name}()`"
    if isinstance(holder, (ClassAttribute, ClassRegistry)):
        return f"{KEPT_IN[holder.kind]} `{_qualified(holder)}`"
    if isinstance(holder, (ModuleGlobal, ModuleRegistry)):
        return f"{KEPT_IN[holder.kind]} `{holder.name}`"
    return held_in(holder)


def shared_instance(singleton: Singleton) -> str:
    """``the module-level instance `manager```, ``the instance cached by `get_manager()```..."""
    return SHARED_INSTANCE[singleton.shared_by].format(singleton.name)


def _qualified(holder: ClassAttribute | ClassRegistry) -> str:
    return f"{holder.owner.name.value}.{holder.name}" if holder.owner is not None else holder.name
