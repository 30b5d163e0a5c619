"""What one module says about event loops: the records of the project model.

Every record is frozen and made of strings, numbers and tuples, so that a summary pickles small
and can be cached by the content of its module. Names are kept *as written* in the module
(``helpers.run_async``, ``self.pool.acquire``); the model resolves them across modules. Lines are
1-based and columns 0-based, as ``ast`` gives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

# The name of the pseudo-function that holds a module's top-level code (run once, at import).
MODULE_CODE = "<module>"


@dataclass(frozen=True)
class Reference:
    """A name a function calls or reads, as written: ``helpers.run_async``, ``client``,
    ``self.pool.acquire``, ``RedisClient.get_instance``. ``called``: it is called here.
    ``repeated``: (one of) its uses sits in the body of a ``for``/``while`` loop or in a
    comprehension of the function: a call there may run many times per run of the function.
    ``as_program``: every use sits in the module's ``if __name__ == "__main__":`` block (the
    module run as a program, not imported). ``uses``: one entry per use, in source order: for a
    call, what it passes (each positional argument, then ``name=...`` for each keyword one: the
    callee as written when the argument is a call, ``generate`` for ``generate(user_id)``, else
    ``""``; ``*`` and ``**`` for unpacked ones); None for a use that does not call it (the name
    passed on or kept), so that what every caller gives a parameter can be told. Kept only
    where a use passes a call: ``()`` says no use does. ``fresh``: every use is a member of an
    object the function makes by a call and keeps in a local (``tool.discover`` after ``tool =
    MCPTool()``, written ``MCPTool.discover``): an object of its own each time it runs."""

    dotted: str
    line: int
    column: int
    called: bool = True
    repeated: bool = False
    as_program: bool = False
    uses: tuple[tuple[str, ...] | None, ...] = ()
    fresh: bool = False


@dataclass(frozen=True)
class LoopStart:
    """A place where an event loop starts running code: ``asyncio.run(main())``,
    ``_worker_loop.run_until_complete(job())``, ``run_coroutine_threadsafe(work(), loop)``.

    ``entry``: the name of the data/entries.toml entry that matched. ``lifetime``: how long the
    loop lives (``per-call``: a fresh loop each time the call runs; ``kept``: a loop kept in
    ``loop``; ``server``: the process's server loop). ``loop``: for a kept loop, the loop as
    written (``_worker_loop``, ``get_worker_loop()``, ``self.loop``), else None. ``runs``: what the
    loop runs, as written: the callee of the coroutine expression (``main`` for ``main()``), or the
    parameter passed through (``coro``), one reference per awaitable the call is given.
    ``repeated``: the call sits in the body of a loop or comprehension of its function (many
    loops per run of it). ``loop_line``: for a start on a local loop bound in the same function
    (``loop = asyncio.new_event_loop()``, ``loop = asyncio.get_event_loop()``), the line that
    bound it (where the loop rules report), else None. ``as_program``: the call sits in the
    module's ``if __name__ == "__main__":`` block (the module run as a program, not imported)."""

    entry: str
    lifetime: str
    loop: str | None
    runs: tuple[Reference, ...]
    line: int
    column: int
    repeated: bool = False
    loop_line: int | None = None
    as_program: bool = False


@dataclass(frozen=True)
class Holder:
    """A name that keeps a loop-bound object longer than one loop can be assumed to live.

    ``name``: ``client`` (module global), ``Manager.pool`` (class attribute, or an instance
    attribute set on ``self`` in a method of ``Manager``). ``kind``: ``primitive``, ``client``,
    ``future`` or ``loop``. ``what``: how messages name it (``asyncio.Lock``,
    ``redis.asyncio.Redis``). ``how``: ``global``, ``lazy-global`` (a global set on first use
    inside a function), ``class-attribute``, ``registry`` (a dict or list kept at module or class
    level that calls store into), ``instance-attribute``, ``cached`` (what a function under
    ``functools.cache``/``lru_cache`` returns; ``name`` is the function's). ``line``/``column``:
    the expression that creates the object (where the per-file rules report it).
    ``confined_by``: how it was made so that it keeps nothing for another loop, as written and
    why (``poolclass=NullPool (no connection is kept ...)``, from the catalogue's ``confined-by``),
    else "". ``cleared_by``: for a global, the functions of the module that set it back to None
    (a stop function: the next loop to start it makes a new one)."""

    name: str
    kind: str
    what: str
    how: str
    line: int
    column: int
    confined_by: str = ""
    cleared_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Function:
    """A function or method of the module, or ``<module>`` for its top-level code.

    ``name``: qualified within the module (``run``, ``Worker.run``, ``outer.inner``).
    ``contexts``: the execution contexts of data/contexts.toml that run it (``celery-task``,
    ``thread``, ``lifespan``, ...). ``references``: the names it calls or reads, in source order.
    ``starts``: the loops it starts running code on. ``parameters``: its parameter names, in order
    (``self`` included), so that a loop start that runs a parameter can be followed to callers.
    ``cleanups``: the names it calls where the call runs however its work ends, as written: in a
    ``finally:`` block, or after the ``yield`` of a context-manager function (a lifespan's
    shutdown half). ``lookups``: for an ``async def``, the calls it returns the awaited result of
    whose object it picks by a parameter from kept state, as written
    (``self._registry[name].instance()``: a registry the model cannot follow; see
    :mod:`loopcheck.project.lookups`). ``binding``: for a method whose callers' arguments map to
    its parameters whatever the form of the call (``Class.m(...)``, ``instance.m(...)``),
    ``static`` (a ``@staticmethod``: from the first) or ``class`` (a ``@classmethod``: from the
    one after ``cls``, which every form binds); "" otherwise."""

    name: str
    is_async: bool
    line: int
    column: int
    contexts: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    starts: tuple[LoopStart, ...] = ()
    parameters: tuple[str, ...] = ()
    cleanups: tuple[str, ...] = ()
    lookups: tuple[str, ...] = ()
    binding: str = ""


@dataclass(frozen=True)
class Class:
    """A class of the module: its bases as written and its methods' names."""

    name: str
    bases: tuple[str, ...]
    methods: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class ModuleSummary:
    """One module, as the project model sees it.

    ``imports``: each name the module binds by importing, to the absolute dotted name it stands
    for (``from .redis import client as rc`` in ``app.services.x`` gives ``rc`` ->
    ``app.services.redis.client``; ``import app.db`` gives ``app`` -> ``app``).
    ``instances``: module-level names bound to a call of a class or factory, to that callee as
    written (``redis_client = RedisClient()`` gives ``redis_client`` -> ``RedisClient``).
    ``functions``, ``classes``, ``holders``: by qualified name within the module.
    ``derived``: module-level names bound to a call given a holder of the module, to that holder
    (``session_factory = async_sessionmaker(engine)`` gives ``session_factory`` -> ``engine``):
    using the one uses the other.
    ``handed``: functions of other modules this one hands to an execution context that runs
    them on a loop, as written, with the context (``path("x/", views.index)`` gives
    ``views.index`` -> ``server``).
    ``celery_pool``: the Celery worker pool its import-time code sets (``worker_pool =
    "threads"``), as written; None: it sets none.
    ``lazy_instances``: module globals a function of the module binds, on first use, to a call of
    a class or factory (``global engine; if engine is None: engine = Engine()``), that are not
    holders: each with the callee as written and the module-level function that returns it
    (``get_engine``; "" where none does).
    ``routed``: functions a seed's decorator method marks on a receiver made by a class the seed
    does not name, maybe the project's subclass of one it names (``@SYSTEM_ROUTER.post("/")``
    after ``SYSTEM_ROUTER = APIRouter()``, the project's ``APIRouter``): each with the context,
    the class as written and the method; the reach puts the function in the context where the
    class derives from a receiver the seed names.
    ``loop_fixture``: the scope of the module's pytest ``event_loop`` fixture, as written
    (``function`` where it gives none); None: it defines none."""

    module: str
    path: str
    is_package: bool
    imports: tuple[tuple[str, str], ...]
    star_imports: tuple[str, ...]
    functions: tuple[Function, ...]
    classes: tuple[Class, ...]
    holders: tuple[Holder, ...]
    instances: tuple[tuple[str, str], ...]
    derived: tuple[tuple[str, str], ...] = ()
    handed: tuple[tuple[str, str], ...] = ()
    celery_pool: str | None = None
    lazy_instances: tuple[tuple[str, str, str], ...] = ()
    routed: tuple[tuple[str, str, str, str], ...] = ()
    loop_fixture: str | None = None

    def function(self, name: str) -> Function | None:
        return self._functions_by_name.get(name)

    @cached_property
    def _functions_by_name(self) -> dict[str, Function]:
        """The first of ``functions`` of each name, for :meth:`function`, which the model and the
        reach ask thousands of times a run. Not a field: neither stored nor compared."""
        found: dict[str, Function] = {}
        for function in self.functions:
            found.setdefault(function.name, function)
        return found

    def holder(self, name: str) -> Holder | None:
        return next((h for h in self.holders if h.name == name), None)

    def kept_instances(self) -> list[tuple[str, str]]:
        """Each module global kept for the process that holds an instance, with its callee as
        written: made at import (``instances``), then those a function binds on first use."""
        return [*self.instances, *((name, callee) for name, callee, _getter in self.lazy_instances)]

    def kept_instance(self, name: str) -> str | None:
        """The callee, as written, of the instance the module global ``name`` is kept as (None:
        it is none)."""
        return dict(self.instances).get(name) or next(
            (callee for lazy, callee, _getter in self.lazy_instances if lazy == name), None
        )

    def handed_out_by(self, getter: str) -> str | None:
        """The module global the module-level function ``getter`` binds on first use and returns."""
        return next((name for name, _callee, hands in self.lazy_instances if hands == getter), None)
