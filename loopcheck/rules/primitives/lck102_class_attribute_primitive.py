from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Held, Holder
from loopcheck.analysis.tree import Site
from loopcheck.data.catalogue import Primitive
from loopcheck.engine.diagnostics import FixProposal, NoFix, Safety
from loopcheck.engine.rule import Invalid, RuleDocs, Valid
from loopcheck.fixes.builder import FixBuilder
from loopcheck.fixes.per_loop import ACCESSOR_NAMES, move_after_class, snake_case
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.primitives.base import NEVER_BOUND, PrimitiveRule


class ClassAttributePrimitive(PrimitiveRule):
    code = "LCK102"
    name = "class-attribute-asyncio-primitive"
    summary = "asyncio primitive created as a class attribute"
    fix_kind = "unsafe"
    instead = "create it in `__init__` or inside the coroutine, or keep one per event loop"
    starts_from = (Start(calls=("primitives",), where=(Where.CLASS,)),)

    docs = RuleDocs(
        tier_reason=(
            "The attribute is one object for every instance and every loop; contended use under a second "
            "loop raises `RuntimeError: ... is bound to a different event loop`."
        ),
        what_it_does="""\
Finds asyncio primitives created in a class body: one object, made at import time and shared by
every instance of the class and every event loop of the process. """ + NEVER_BOUND,
        why_is_this_bad="""\
A class attribute is evaluated once, when the class statement runs at import. `self._lock` then
names the same lock in every instance, under every loop: the first loop that makes a task wait on
it owns it, and contended use under any other loop (the next `asyncio.run()`, Celery task, worker
thread or test) fails with `RuntimeError: ... is bound to a different event loop`.

This is the pattern of a real incident: a service's config loader kept `_lock = asyncio.Lock()` in
its class body; it worked in the web process and failed in Celery workers.""",
        example="""\
import asyncio


class TokenCache:
    _lock = asyncio.Lock()

    async def refresh(self):
        async with self._lock:
            await ...""",
        use_instead="""\
A lock per instance, created in `__init__` (when instances live within one loop), or one per
event loop, which is what the fix generates (it keeps the "shared by all instances" meaning):

```python
class TokenCache:
    async def refresh(self):
        async with _get_token_cache_lock():
            await ...
```

with `_get_token_cache_lock()` the per-loop accessor described in LCK101. Where the lock only
guards synchronous code (`with self._lock:` in plain methods, such as a one-time configuration
load), use `threading.Lock()`.""",
        fix_safety="""\
Unsafe. The per-loop accessor is offered when every access to the attribute (through `self`,
`cls` or the class name, in this module) is a read inside a coroutine; an access through any other
object, or a subclass overriding the attribute, may see a different object after the fix. The
accessor lives at module level: a constructor reading a variable of the class body
(`slots = asyncio.Semaphore(width)`) gets no fix. The `threading` replacement is offered when
every use is synchronous. Where there is no fix, the message says why.""",
        affected_versions="""\
All supported versions; from 3.10 the failure appears under the second loop (lazy binding), on
3.9 and older under the first.""",
        references=("https://docs.python.org/3/library/asyncio-sync.html",),
    )
    invalid = (
        Invalid(
            "import asyncio\nclass Cache:\n    lock = asyncio.Lock()\n",
            message=(
                "3:12 asyncio.Lock created as a class attribute of Cache is shared by every "
                "instance and every event loop; a second loop fails with 'is bound to a different "
                "event loop' once tasks have had to wait for it under two loops; no fix: nothing "
                "in this module uses it"
            ),
        ),
        Invalid(
            "import asyncio\nclass Worker:\n    jobs: asyncio.Queue = asyncio.Queue()\n",
            message=(
                "3:27 asyncio.Queue created as a class attribute of Worker is shared by every "
                "instance and every event loop; a second loop fails with 'is bound to a different "
                "event loop' once tasks have waited on it under two loops (get() while it is "
                "empty, put() while it is full); no fix: nothing in this module uses it"
            ),
        ),
        Invalid(
            "import asyncio\n"
            "class TokenCache:\n"
            "    _lock = asyncio.Lock()\n"
            "    async def refresh(self):\n"
            "        async with self._lock:\n"
            "            await ...\n",
            message=(
                "3:13 asyncio.Lock created as a class attribute of TokenCache is shared by every "
                "instance and every event loop; a second loop fails with 'is bound to a different "
                "event loop' once tasks have had to wait for it under two loops"
            ),
            fix=(
                "import asyncio\n"
                "class TokenCache:\n"
                "    async def refresh(self):\n"
                "        async with _get_token_cache_lock():\n"
                "            await ...\n"
                "\n"
                "\n"
                "_token_cache_lock_by_loop = {}\n"
                "\n"
                "\n"
                "def _get_token_cache_lock():\n"
                '    """The running event loop\'s lock, created on first use under that loop."""\n'
                "    loop = asyncio.get_running_loop()\n"
                "    # Forget closed loops: the cached objects hold their loop, so nothing else would free it.\n"
                "    for stale in [other for other in list(_token_cache_lock_by_loop) if other.is_closed()]:\n"
                "        _token_cache_lock_by_loop.pop(stale, None)\n"
                "    if loop not in _token_cache_lock_by_loop:\n"
                "        _token_cache_lock_by_loop[loop] = asyncio.Lock()\n"
                "    return _token_cache_lock_by_loop[loop]\n"
            ),
            safety="unsafe",
        ),
    )
    valid = (
        Valid(
            "import asyncio\nclass Cache:\n    def __init__(self):\n        self.lock = asyncio.Lock()\n",
        ),
        Valid("import asyncio\nclass Cache:\n    lock: asyncio.Lock\n"),
        Valid("import threading\nclass Cache:\n    lock = threading.Lock()\n"),
        # An Event binds to a loop only in wait(): set, cleared and tested, it is a flag.
        Valid(
            "import asyncio\nclass Service:\n    stopping = asyncio.Event()\n"
            "    async def stop(self):\n        self.stopping.set()\n"
        ),
    )

    def message_for(self, call: cst.Call, primitive: Primitive, site: Site, holder: Holder) -> str:
        assert isinstance(site.owner, cst.ClassDef)
        return (
            f"asyncio.{primitive.name} created as a class attribute of "
            f"{site.owner.name.value} is shared by every instance and every event loop; a "
            f"second loop fails with '{primitive.error}' {primitive.fails_once}"
        )

    def fix_for(
        self, call: cst.Call, primitive: Primitive, site: Site, holder: Holder
    ) -> FixProposal | NoFix | None:
        class_def = site.owner
        assert isinstance(class_def, cst.ClassDef)
        tree = self.analysis.tree
        line = self.single_store(call, holder, Held.CLASS_ATTRIBUTE)
        if isinstance(line, NoFix):
            return line
        if tree.parents.get(tree.parents.get(line)) is not class_def:
            return NoFix(f"it is created in a block of the body of `{class_def.name.value}`")
        references = holder.reads
        fixes = self.fixes
        if not fixes.all_in_coroutines(references):
            return fixes.threading_twin(primitive, call, references)
        if not tree.is_top_level(class_def):
            return NoFix(f"`{class_def.name.value}` is not defined at the module's top level")
        if len(class_def.body.body) < 2:
            return NoFix(f"moving it out would leave the body of `{class_def.name.value}` empty")
        reason = fixes.cannot_move(call)
        if reason is not None:
            return NoFix(reason)
        cache, accessor = fixes.names(
            f"{snake_case(class_def.name.value)}_{snake_case(holder.name)}", references
        )

        def build() -> tuple:
            builder = FixBuilder(self.context)
            statements = fixes.accessor_statements(builder, primitive, call, cache, accessor)
            move_after_class(builder, tree, line, class_def, statements, references, accessor)
            return builder.build()

        return self.propose(
            Safety.UNSAFE,
            f"Create one {primitive.name} per event loop with `{accessor}()`, shared by all instances",
            build,
            ACCESSOR_NAMES,
        )
