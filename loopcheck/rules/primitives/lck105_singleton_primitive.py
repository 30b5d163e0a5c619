from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Held
from loopcheck.analysis.holders import Holder, SingletonAttribute, SingletonRegistry
from loopcheck.analysis.tree import Site
from loopcheck.data.catalogue import Primitive
from loopcheck.engine.diagnostics import FixProposal, NoFix, Safety
from loopcheck.engine.rule import Invalid, RuleDocs, Valid
from loopcheck.fixes.builder import FixBuilder
from loopcheck.fixes.per_loop import ACCESSOR_NAMES, IN_A_REGISTRY, NOT_STORED_BY_A_METHOD
from loopcheck.fixes.statements import keep_comments
from loopcheck.fixes.templates import parse_statements, per_loop_property
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.primitives.base import NEVER_BOUND, PrimitiveRule
from loopcheck.rules.wording import shared_instance


class SingletonPrimitive(PrimitiveRule):
    code = "LCK105"
    name = "singleton-asyncio-primitive"
    summary = "asyncio primitive kept by an instance the whole process shares"
    fix_kind = "unsafe"
    instead = "create it per event loop: in the lifespan handler, per task, or keyed by the loop"
    starts_from = (
        Start(calls=("primitives",), where=(Where.FUNCTION, Where.COROUTINE), on_shared_instance=True),
    )

    docs = RuleDocs(
        tier_reason=(
            "The shared instance hands the object to every loop; contended use under a second loop raises "
            "`RuntimeError: ... is bound to a different event loop`."
        ),
        what_it_does="""\
Finds asyncio primitives created in a method (usually `__init__`) and kept on `self`, where the
instance is shared by the whole process: a module-level instance (`manager =
ConnectionManager()`), a global singleton made by a getter (`global _client; if _client is None:
_client = Client()`), an instance cached by `functools.lru_cache`/`cache`, or a class-level
`_instance`. An attribute replaced (or cleared) whenever the running loop is not the one stored
beside it (`if self._sem is None or self._loop is not asyncio.get_running_loop(): ...`) holds one
object per loop and is not reported. """ + NEVER_BOUND,
        why_is_this_bad="""\
The object is created once, for the one shared instance, and every event loop of the process then
uses it: the next `asyncio.run()`, Celery task, worker thread or test. The first loop that makes a
task wait on it owns it; contended use under any other loop fails with `RuntimeError: ... is
bound to a different event loop`. Creating the lock in `__init__` looks like the cure for a
module-level lock (LCK101), but a module-level instance makes it module-level again.

This was the most frequent shape found in real services: a WebSocket `ConnectionManager`, a rate
limiter or a token cache instantiated at import and used by every request handler.""",
        example="""\
import asyncio


class ConnectionManager:
    def __init__(self):
        self.lock = asyncio.Lock()

    async def broadcast(self, message):
        async with self.lock:
            ...


manager = ConnectionManager()""",
        use_instead="""\
Create the instance per event loop (in the application's lifespan handler, or per task), or keep
one object per loop on the instance. The fix turns the attribute into a property that does the
latter, so every `self.lock` and `manager.lock` keeps working:

```python
class ConnectionManager:
    def __init__(self):
        self._lock_by_loop = {}

    @property
    def lock(self):
        \"\"\"The running event loop's lock, created on first use under that loop.\"\"\"
        loop = asyncio.get_running_loop()
        # Forget closed loops: the cached objects hold their loop, so nothing else would free it.
        for stale in [other for other in list(self._lock_by_loop) if other.is_closed()]:
            self._lock_by_loop.pop(stale, None)
        if loop not in self._lock_by_loop:
            self._lock_by_loop[loop] = asyncio.Lock()
        return self._lock_by_loop[loop]
```

Where the object only guards synchronous code, use the `threading` primitive instead.""",
        fix_safety="""\
Unsafe. The property is offered when the attribute is assigned once, in a plain statement of a
method, with a constructor that uses no variable of that method but `self` and parameters the
method keeps in an attribute written nowhere else (`self.size = size`: the property reads
`self.size`; nor a module global bound again later), and every read of it
(through `self`, `cls` or the shared instance, in this module) is inside a coroutine: reading the
property outside a running loop raises `RuntimeError: no running event loop`. The `threading`
replacement is offered when every use is synchronous. Attributes read through objects this module
cannot place, assigned several times, or kept in a registry get no fix; nor does a class with
`__slots__` (a property cannot share a slot's name, and its cache would need a slot). Where
there is no fix, the message says why.""",
        affected_versions="""\
All supported versions; from 3.10 the failure appears under the second loop (lazy binding), on
3.9 and older under the first.""",
        references=(
            "https://docs.python.org/3/library/asyncio-sync.html",
            "https://fastapi.tiangolo.com/advanced/events/",
        ),
    )
    invalid = (
        Invalid(
            "import asyncio\nclass Manager:\n    def __init__(self):\n"
            "        self.lock = asyncio.Lock()\n"
            "manager = Manager()\n",
            message=(
                "4:21 asyncio.Lock created in Manager.__init__() is kept in the attribute `lock` "
                "of the module-level instance `manager`, which every event loop of the process "
                "shares; a second loop fails with 'is bound to a different event loop' once tasks "
                "have had to wait for it under two loops; no fix: nothing in this module uses it"
            ),
        ),
        Invalid(
            "import asyncio, functools\nclass Limiter:\n    def __init__(self):\n"
            "        self.slots = asyncio.Semaphore(4)\n@functools.lru_cache\ndef get_limiter():\n"
            "    return Limiter()\n",
            message=(
                "4:22 asyncio.Semaphore created in Limiter.__init__() is kept in the attribute "
                "`slots` of the instance cached by `get_limiter()`, which every event loop of the "
                "process shares; a second loop fails with 'is bound to a different event loop' "
                "once tasks have had to wait for it under two loops; no fix: nothing in this "
                "module uses it"
            ),
        ),
        Invalid(
            "import asyncio\nclass Cache:\n    def __init__(self):\n"
            "        self.ready = asyncio.Event()\n"
            "_cache = None\ndef get_cache():\n    global _cache\n    if _cache is None:\n"
            "        _cache = Cache()\n    return _cache\n"
            "async def loaded():\n    await get_cache().ready.wait()\n",
            message=(
                "4:22 asyncio.Event created in Cache.__init__() is kept in the attribute `ready` "
                "of the global singleton `_cache`, which every event loop of the process shares; a "
                "second loop fails with 'is bound to a different event loop' once tasks have "
                "waited on it under two loops; no fix: not every use of `ready` can be found"
            ),
        ),
        Invalid(
            "import asyncio\n"
            "class Manager:\n"
            "    def __init__(self):\n"
            "        self.lock = asyncio.Lock()\n"
            "    async def broadcast(self):\n"
            "        async with self.lock:\n"
            "            ...\n"
            "manager = Manager()\n",
            message=(
                "4:21 asyncio.Lock created in Manager.__init__() is kept in the attribute `lock` "
                "of the module-level instance `manager`, which every event loop of the process "
                "shares; a second loop fails with 'is bound to a different event loop' once tasks "
                "have had to wait for it under two loops"
            ),
            fix=(
                "import asyncio\n"
                "class Manager:\n"
                "    def __init__(self):\n"
                "        self._lock_by_loop = {}\n"
                "\n"
                "    @property\n"
                "    def lock(self):\n"
                '        """The running event loop\'s lock, created on first use under that loop."""\n'
                "        loop = asyncio.get_running_loop()\n"
                "        # Forget closed loops: the cached objects hold their loop, so nothing else would free it.\n"
                "        for stale in [other for other in list(self._lock_by_loop) if other.is_closed()]:\n"
                "            self._lock_by_loop.pop(stale, None)\n"
                "        if loop not in self._lock_by_loop:\n"
                "            self._lock_by_loop[loop] = asyncio.Lock()\n"
                "        return self._lock_by_loop[loop]\n"
                "    async def broadcast(self):\n"
                "        async with self.lock:\n"
                "            ...\n"
                "manager = Manager()\n"
            ),
            safety="unsafe",
        ),
    )
    valid = (
        Valid(
            "import asyncio\nclass Manager:\n    def __init__(self):\n"
            "        self.lock = asyncio.Lock()\n",
        ),
        Valid(
            "import asyncio\nclass Manager:\n    def __init__(self):\n"
            "        self.lock = asyncio.Lock()\n"
            "async def handler():\n    manager = Manager()\n",
        ),
        Valid(
            "import asyncio\nclass Manager:\n    def __init__(self):\n"
            "        self.lock = asyncio.Lock()\n"
            "if __name__ == '__main__':\n    manager = Manager()\n",
        ),
        Valid(
            "import asyncio\nclass Gate:\n    def __init__(self):\n"
            "        self._sem = self._loop = None\n"
            "    def current(self):\n        loop = asyncio.get_running_loop()\n"
            "        if self._sem is None or self._loop is not loop:\n"
            "            self._sem = asyncio.Semaphore(4)\n            self._loop = loop\n"
            "        return self._sem\ngate = Gate()\n",
        ),
        # An Event binds to a loop only in wait(): set, cleared and tested, it is a flag.
        Valid(
            "import asyncio\nclass Worker:\n    def __init__(self):\n        self.stopping = asyncio.Event()\n"
            "    async def stop(self):\n        self.stopping.set()\nworker = Worker()\n"
        ),
    )

    def matches(self, call: cst.Call, primitive: Primitive, site: Site, holder: Holder) -> bool:
        return isinstance(holder, (SingletonAttribute, SingletonRegistry)) and not holder.per_loop

    def message_for(self, call: cst.Call, primitive: Primitive, site: Site, holder: Holder) -> str:
        assert isinstance(site.owner, cst.FunctionDef)
        kept = "a registry in" if isinstance(holder, SingletonRegistry) else "the attribute"
        return (
            f"asyncio.{primitive.name} created in {holder.owner.name.value}.{site.owner.name.value}() "
            f"is kept in {kept} `{holder.name}` of {shared_instance(holder.singleton)}, which every event "
            f"loop of the process shares; a second loop fails with '{primitive.error}' {primitive.fails_once}"
        )

    def fix_for(
        self, call: cst.Call, primitive: Primitive, site: Site, holder: Holder
    ) -> FixProposal | NoFix | None:
        method = site.owner
        assert isinstance(method, cst.FunctionDef)
        if isinstance(holder, SingletonRegistry):
            return NoFix(IN_A_REGISTRY)
        line = self.single_store(call, holder, Held.SINGLETON_ATTRIBUTE)
        if isinstance(line, NoFix):
            return line
        class_def = holder.owner
        if not self.fixes.stored_by_own_method(class_def, method, line):
            return NoFix(NOT_STORED_BY_A_METHOD)
        assert isinstance(class_def, cst.ClassDef)
        references = holder.reads
        if not self.fixes.all_in_coroutines(references):
            return self.fixes.threading_twin(primitive, call, references)
        attribute = holder.name
        assert attribute is not None
        cache = f"_{attribute.lstrip('_')}_by_loop"
        declined = self.fixes.property_declined(call, class_def, attribute, cache)
        if declined is not None:
            return NoFix(declined)
        return self.property_fix(call, primitive, holder, line, method, cache)

    def property_fix(
        self,
        call: cst.Call,
        primitive: Primitive,
        holder: Holder,
        line: cst.SimpleStatementLine,
        method: cst.FunctionDef,
        cache: str,
    ) -> FixProposal:
        """The attribute becomes a property giving one object per running loop, kept in
        ``cache``, which the method that stored the object now sets to an empty dict."""
        attribute = holder.name

        def build() -> tuple:
            builder = FixBuilder(self.context)
            receiver = cst.Module(body=[]).code_for_node(holder.target.value)  # type: ignore[union-attr]
            new_line = parse_statements(f"{receiver}.{cache} = {{}}\n")[0]
            builder.replace(line, keep_comments(line, new_line))
            accessor = per_loop_property(
                attribute,
                cache,
                primitive.name.lower(),
                self.fixes.read_from_self(call),
                builder.name("asyncio.get_running_loop"),
            )
            accessor = accessor.with_changes(leading_lines=[cst.EmptyLine(indent=False)])
            builder.insert_after(method, [accessor])
            return builder.build()

        return self.propose(
            Safety.UNSAFE,
            f"Make `{attribute}` a property giving one {primitive.name} per event loop",
            build,
            ACCESSOR_NAMES,
        )
