from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Held
from loopcheck.analysis.holders import LAZY_HOLDERS, Holder, lazy_global_getter
from loopcheck.analysis.tree import Site
from loopcheck.data.catalogue import Primitive
from loopcheck.engine.diagnostics import FixProposal, NoFix, Safety
from loopcheck.engine.rule import Invalid, RuleDocs, Valid
from loopcheck.fixes.builder import FixBuilder
from loopcheck.fixes.getter import rewrite_getter, sole_initial_none
from loopcheck.fixes.per_loop import ACCESSOR_NAMES, snake_case
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.primitives.base import NEVER_BOUND, PrimitiveRule
from loopcheck.rules.wording import GETTER_ONLY, kept_in_words


class LazilyStoredPrimitive(PrimitiveRule):
    code = "LCK104"
    name = "lazily-stored-asyncio-primitive"
    summary = "asyncio primitive created lazily and kept in a global or class attribute"
    fix_kind = "unsafe"
    instead = "keep one per event loop (a dict keyed by asyncio.get_running_loop())"
    starts_from = (Start(calls=("primitives",), where=(Where.FUNCTION, Where.COROUTINE), kept=True),)

    docs = RuleDocs(
        tier_reason=(
            "The first loop to use the object owns it; contended use under any later loop raises "
            "`RuntimeError: ... is bound to a different event loop`."
        ),
        what_it_does="""\
Finds asyncio primitives created inside a function and kept beyond it: in a module global (the
`global _lock; if _lock is None: _lock = asyncio.Lock()` idiom), in a class attribute
(`cls._lock = ...`), in a module-level or class-level dictionary (`_locks[key] =
asyncio.Lock()`, `_locks.setdefault(key, asyncio.Lock())`, `cls._locks[key] = asyncio.Lock()`), or
as the result of a `functools.cache` / `functools.lru_cache` function. A registry keyed by the
running loop (`_locks[asyncio.get_running_loop()]`) is one object per loop, as it should be, and is
not reported; nor is an object replaced whenever the running loop is not the one stored beside it
(`if cls._lock is None or cls._lock_loop is not asyncio.get_running_loop(): cls._lock =
asyncio.Lock(); cls._lock_loop = loop`). """ + NEVER_BOUND,
        why_is_this_bad="""\
Creating the object lazily, inside a coroutine, looks like the cure for LCK101, but the object is
still kept for the life of the process. The first event loop that uses it owns it; every later
loop (the next `asyncio.run()`, Celery task, worker thread or test) gets the same object and fails
on contended use with `RuntimeError: ... is bound to a different event loop`.""",
        example="""\
import asyncio

_lock = None


def get_lock():
    global _lock
    if _lock is None:
        _lock = asyncio.Lock()
    return _lock""",
        use_instead="""\
Keep one object per event loop. For the getter idiom the fix rewrites the getter into a per-loop
accessor (see LCK101) and keeps its name:

```python
import asyncio

_lock_by_loop = {}


def get_lock():
    loop = asyncio.get_running_loop()
    for stale in [other for other in list(_lock_by_loop) if other.is_closed()]:
        _lock_by_loop.pop(stale, None)
    if loop not in _lock_by_loop:
        _lock_by_loop[loop] = asyncio.Lock()
    return _lock_by_loop[loop]
```

For per-key registries, key the registry by the running loop as well, or create the objects in the
coroutine that uses them.""",
        fix_safety="""\
Unsafe, and offered only for the getter idiom (a `global` name set to `None` at module level,
created under `if name is None:` and returned), when the global is private (a leading underscore,
and not listed in `__all__`: the fix removes it). The getter must then be called under a running
loop: a call from synchronous code raises `RuntimeError: no running event loop`. Other shapes get
no fix, and the message says why.""",
        affected_versions="""\
All supported versions; the failure appears under the second loop that uses the object.""",
        references=("https://docs.python.org/3/library/asyncio-sync.html",),
    )
    invalid = (
        Invalid(
            "import asyncio\n_lock = None\ndef get_lock():\n    global _lock\n    if _lock is None:\n"
            "        _lock = asyncio.Lock()\n    return _lock\n",
            message=(
                "6:17 asyncio.Lock kept in the module global `_lock` outlives the event loop that "
                "created it; the next loop fails with 'is bound to a different event loop' once "
                "tasks have had to wait for it under two loops"
            ),
            fix=(
                "import asyncio\n"
                "_lock_by_loop = {}\n"
                "def get_lock():\n"
                "    loop = asyncio.get_running_loop()\n"
                "    # Forget closed loops: the cached objects hold their loop, so nothing else would free it.\n"
                "    for stale in [other for other in list(_lock_by_loop) if other.is_closed()]:\n"
                "        _lock_by_loop.pop(stale, None)\n"
                "    if loop not in _lock_by_loop:\n"
                "        _lock_by_loop[loop] = asyncio.Lock()\n"
                "    return _lock_by_loop[loop]\n"
            ),
            safety="unsafe",
        ),
        Invalid(
            "import asyncio\n_locks = {}\nasync def work(key):\n"
            "    async with _locks.setdefault(key, asyncio.Lock()):\n        pass\n",
            message=(
                "4:39 asyncio.Lock kept in the module-level container `_locks` outlives the event "
                "loop that created it; the next loop fails with 'is bound to a different event "
                "loop' once tasks have had to wait for it under two loops; no fix: the fix "
                "rewrites only a getter (`global x`, `if x is None: x = ...`, `return x`)"
            ),
        ),
        Invalid(
            "import asyncio\nclass Pool:\n    _sem = None\n    @classmethod\n    def sem(cls):\n"
            "        cls._sem = cls._sem or asyncio.Semaphore(4)\n        return cls._sem\n",
            message=(
                "6:32 asyncio.Semaphore kept in the class attribute `Pool._sem` outlives the event "
                "loop that created it; the next loop fails with 'is bound to a different event "
                "loop' once tasks have had to wait for it under two loops; no fix: the fix "
                "rewrites only a getter (`global x`, `if x is None: x = ...`, `return x`)"
            ),
        ),
        Invalid(
            "import asyncio\nclass Locks:\n    _by_key = {}\n    @classmethod\n    def get(cls, key):\n"
            "        if key not in cls._by_key:\n            cls._by_key[key] = asyncio.Lock()\n"
            "        return cls._by_key[key]\n",
            message=(
                "7:32 asyncio.Lock kept in the class-level container `Locks._by_key` outlives the "
                "event loop that created it; the next loop fails with 'is bound to a different "
                "event loop' once tasks have had to wait for it under two loops; no fix: the fix "
                "rewrites only a getter (`global x`, `if x is None: x = ...`, `return x`)"
            ),
        ),
    )
    valid = (
        Valid("import asyncio\nasync def work():\n    lock = asyncio.Lock()\n"),
        Valid(
            "import asyncio\nclass Worker:\n    def __init__(self):\n"
            "        self.lock = asyncio.Lock()\n",
        ),
        Valid(
            "import asyncio\nasync def work():\n    locks = {}\n    locks['a'] = asyncio.Lock()\n",
        ),
        Valid(
            "import asyncio\n_locks = {}\nasync def lock():\n"
            "    return _locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())\n",
        ),
        Valid(
            "import asyncio\nclass Cache:\n    _lock = None\n    _lock_loop = None\n    @classmethod\n"
            "    def lock(cls):\n        loop = asyncio.get_running_loop()\n"
            "        if cls._lock is None or cls._lock_loop is not loop:\n"
            "            cls._lock = asyncio.Lock()\n            cls._lock_loop = loop\n"
            "        return cls._lock\n",
        ),
    )

    def matches(self, call: cst.Call, primitive: Primitive, site: Site, holder: Holder) -> bool:
        return holder.kind in LAZY_HOLDERS and not holder.per_loop

    def message_for(self, call: cst.Call, primitive: Primitive, site: Site, holder: Holder) -> str:
        return (
            f"asyncio.{primitive.name} kept in {kept_in_words(holder)} outlives the event loop "
            f"that created it; the next loop fails with '{primitive.error}' {primitive.fails_once}"
        )

    def fix_for(
        self, call: cst.Call, primitive: Primitive, site: Site, holder: Holder
    ) -> FixProposal | NoFix | None:
        """The getter idiom only: ``global x`` / ``if x is None: x = Prim()`` / ``return x``."""
        function = site.owner
        assert isinstance(function, cst.FunctionDef)
        tree = self.analysis.tree
        getter = lazy_global_getter(function, call)
        if holder.kind is not Held.MODULE_GLOBAL or getter != holder.name:
            return NoFix(GETTER_ONLY)
        name = function.name.value
        if not tree.is_top_level(function):
            return NoFix(f"`{name}()` is not defined at the module's top level")
        initial = sole_initial_none(tree, holder, function, self.analysis.exports)
        if isinstance(initial, NoFix):
            return initial
        cache, _ = self.fixes.names(snake_case(getter))

        def build() -> tuple:
            builder = FixBuilder(self.context)
            statements = self.fixes.accessor_statements(builder, primitive, call, cache, function.name.value)
            rewrite_getter(builder, tree, function, statements, initial, generated_docstring=False)
            return builder.build()

        return self.propose(
            Safety.UNSAFE,
            f"Make {function.name.value}() return one {primitive.name} per event loop",
            build,
            ACCESSOR_NAMES,
        )

