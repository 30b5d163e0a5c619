from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from loopcheck.analysis import Held, Holder
from loopcheck.analysis.holders import ModuleGlobal
from loopcheck.analysis.tree import Site
from loopcheck.data.catalogue import Primitive
from loopcheck.engine.diagnostics import FixProposal, NoFix, Safety, Withheld
from loopcheck.engine.rule import Invalid, RuleDocs, Valid
from loopcheck.fixes.builder import FixBuilder
from loopcheck.fixes.per_loop import ACCESSOR_NAMES, install_accessor, public_reason, snake_case
from loopcheck.fixes.public_names import AccessorFix, proxy_fix, public_fixes
from loopcheck.fixes.templates import accessor_code
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules.primitives.base import NEVER_BOUND, PrimitiveRule
from loopcheck.rules.wording import NOT_TOP_LEVEL


class ModuleLevelPrimitive(PrimitiveRule):
    code = "LCK101"
    name = "module-level-asyncio-primitive"
    summary = "asyncio primitive created at module level"
    fix_kind = "unsafe"
    instead = "create it inside the coroutine that uses it, or keep one per event loop"
    starts_from = (Start(calls=("primitives",), where=(Where.MODULE,)),)

    docs = RuleDocs(
        tier_reason=(
            "Contended use under a second event loop (the next `asyncio.run()`, Celery task, worker "
            "thread or test) raises `RuntimeError: ... is bound to a different event loop`."
        ),
        what_it_does="""\
Finds asyncio primitives (`Lock`, `Event`, `Condition`, `Semaphore`, `BoundedSemaphore`,
`Barrier`, `Queue`, `LifoQueue`, `PriorityQueue`, `Future`) created at module level, that is when
the module is imported, where no event loop runs. """ + NEVER_BOUND,
        why_is_this_bad="""\
An asyncio primitive belongs to the event loop that first makes it wait. A module-level object is
shared by every loop of the process: the second `asyncio.run()`, the next Celery task, a worker
thread with its own loop, the next test under pytest-asyncio. As soon as two tasks contend for it
under a second loop, it fails with `RuntimeError: <asyncio.locks.Lock ...> is bound to a different
event loop`. Uncontended use never fails, so the bug hides until the service is under load.

A module-level `asyncio.Future()` is worse: it binds to a loop made up at import time and fails
the first time it is awaited (`... attached to a different loop`, or `The future belongs to a
different loop than the one specified as the loop argument`).""",
        example="""\
import asyncio

_lock = asyncio.Lock()


async def refresh_token():
    async with _lock:
        await ...""",
        use_instead="""\
Create the object for the loop that uses it. The fix generates a per-loop accessor:

```python
import asyncio

"""
        + accessor_code("_lock_by_loop", "_get_lock", "lock", "asyncio.Lock()")
        + """

async def refresh_token():
    async with _get_lock():
        await ...
```

A `weakref.WeakKeyDictionary` keyed by the loop does not do this job: once a task has waited on
it, the lock holds a strong reference to its loop, so the key never dies (checked on 3.10-3.13).
Where the object only guards synchronous code (`with _lock:` in a plain function), use
`threading.Lock` instead: the asyncio lock cannot work there at all.""",
        fix_safety="""\
Unsafe (applied with `--fix --unsafe-fixes`). A public name (`LOCK`, `jobs`: no leading
underscore, or listed in `__all__`) may be imported by other modules, which neither fix can
update: the file alone gets no fix for it. With the project model (a run over the project's
files, not standard input), where no module of the project imports the name (`from m import
lock`, `m.lock` through `import m` or `from pkg import m`, `from m import *`, a re-export in an
`__init__.py`), it gets the fix a private name gets; the proof covers the project's modules,
not code outside them that imports it. Where a module does import it, or `__all__` lists it
(the module's declared interface, which code outside the project may import), the per-loop accessor
comes with a proxy that keeps the name: `lock = _LockPerLoop()`, whose attributes and `async
with` (the special methods of the type, looked up on the type) go to the running loop's own
lock, so the importers stay as they are. The proxy is not an `asyncio.Lock`
(`isinstance(lock, asyncio.Lock)` becomes false, and outside a running loop it raises
`RuntimeError: no running event loop`; code that replaces `m.lock`, such as a test's
monkeypatch, no longer reaches the module's own uses, which call the accessor). There is no fix,
and the message says why, where a module importing the name uses it outside coroutines (a plain function, import-time
code, a lambda or class body: no loop runs there, and the proxy would raise `RuntimeError`), and
where a module of the project that imports the name's module could not be read or parsed (newer
syntax than the Python running loopcheck, say): its uses are not known, so neither fix is
offered then. The per-loop
accessor is offered when every use of the name is inside a coroutine in the same module; it
renames the object. The accessor takes a name no variable hides where it is called (`_get_lock_2`
where a coroutine has a local `_get_lock`), and its own variables (`loop`, `stale`, `other`) are
renamed where the constructor reads a variable of the same name. The accessor runs the constructor
later, once per loop, so there is no fix when the constructor reads a module global bound again
further down or by a function (it may hold another value by then). The `threading` replacement is
offered when every use is `with obj:` or a supported method call in synchronous code. Otherwise
no fix is offered. Where there is no fix, the message says why. Generated code uses the module's
own name for asyncio (`import asyncio as aio`, `from asyncio import get_running_loop`); a missing
import is added where an import sorter would put it.""",
        affected_versions="""\
All supported versions. On Python 3.10 and newer, locks, events, conditions, semaphores, barriers
and queues bind lazily, on first contended use, so the first loop works and the second fails; on
3.9 and older they bound at creation and failed under the first `asyncio.run()` already. Futures
bind at creation everywhere (3.12 and newer also warn `DeprecationWarning: There is no current
event loop`).""",
        references=(
            "https://docs.python.org/3/library/asyncio-sync.html",
            "https://docs.python.org/3/library/asyncio-queue.html",
        ),
    )
    invalid = (
        Invalid(
            "import asyncio\n_lock = asyncio.Lock()\n",
            message=(
                "2:9 asyncio.Lock created at module level is shared by every event loop; a second "
                "loop fails with 'is bound to a different event loop' once tasks have had to wait "
                "for it under two loops; no fix: nothing in this module uses it"
            ),
        ),
        Invalid(
            "import asyncio\nLOCK = asyncio.Lock()\n",
            message=(
                "2:8 asyncio.Lock created at module level is shared by every event loop; a second "
                "loop fails with 'is bound to a different event loop' once tasks have had to wait "
                "for it under two loops; no fix: `LOCK` is public; modules importing it would need "
                "changing too"
            ),
        ),
        Invalid(
            "from asyncio import Queue\njobs = Queue()\n",
            message=(
                "2:8 asyncio.Queue created at module level is shared by every event loop; a second "
                "loop fails with 'is bound to a different event loop' once tasks have waited on it "
                "under two loops (get() while it is empty, put() while it is full); no fix: `jobs` "
                "is public; modules importing it would need changing too"
            ),
        ),
        Invalid(
            "import asyncio as aio\nready = aio.Event()\nasync def started():\n    await ready.wait()\n",
            message=(
                "2:9 asyncio.Event created at module level is shared by every event loop; a second "
                "loop fails with 'is bound to a different event loop' once tasks have waited on it "
                "under two loops; no fix: `ready` is public; modules importing it would need "
                "changing too"
            ),
        ),
        Invalid(
            "import asyncio\n"
            "_lock = asyncio.Lock()\n"
            "async def refresh():\n"
            "    async with _lock:\n"
            "        await ...\n",
            message=(
                "2:9 asyncio.Lock created at module level is shared by every event loop; a second "
                "loop fails with 'is bound to a different event loop' once tasks have had to wait "
                "for it under two loops"
            ),
            fix=(
                "import asyncio\n"
                "_lock_by_loop = {}\n"
                "\n"
                "\n"
                "def _get_lock():\n"
                '    """The running event loop\'s lock, created on first use under that loop."""\n'
                "    loop = asyncio.get_running_loop()\n"
                "    # Forget closed loops: the cached objects hold their loop, so nothing else would free it.\n"
                "    for stale in [other for other in list(_lock_by_loop) if other.is_closed()]:\n"
                "        _lock_by_loop.pop(stale, None)\n"
                "    if loop not in _lock_by_loop:\n"
                "        _lock_by_loop[loop] = asyncio.Lock()\n"
                "    return _lock_by_loop[loop]\n"
                "\n"
                "\n"
                "async def refresh():\n"
                "    async with _get_lock():\n"
                "        await ...\n"
            ),
            safety="unsafe",
        ),
    )
    valid = (
        Valid("import asyncio\nasync def main():\n    lock = asyncio.Lock()\n"),
        Valid("import threading\nLOCK = threading.Lock()\n"),
        Valid("import asyncio\nlock: asyncio.Lock\n"),
        Valid("import asyncio\nif __name__ == '__main__':\n    stop = asyncio.Event()\n"),
        # An Event binds to a loop only in wait(): set, cleared and tested, it is a flag.
        Valid(
            "import asyncio\n_stopping = asyncio.Event()\nasync def stop():\n    _stopping.set()\n"
            "async def running():\n    return not _stopping.is_set()\n"
        ),
    )

    def message_for(self, call: cst.Call, primitive: Primitive, site: Site, holder: Holder) -> str:
        return (
            f"asyncio.{primitive.name} created at module level is shared by every event "
            f"loop; a second loop fails with '{primitive.error}' {primitive.fails_once}"
        )

    def fix_for(
        self, call: cst.Call, primitive: Primitive, site: Site, holder: Holder
    ) -> FixProposal | NoFix | Withheld[FixProposal] | None:
        # Neither fix (a renamed per-loop accessor, a `threading` object of another type) can
        # update a module that imports a public name: the project model offers them where no
        # module does, and the accessor with a proxy that keeps the name where one does.
        public = public_reason(holder.name, self.analysis.exports) if isinstance(holder, ModuleGlobal) else None
        fix = self.private_fix(call, primitive, holder)
        if not isinstance(fix, AccessorFix):
            return fix if public is None else public_fixes(public, holder.name, fix)
        if public is None:
            return fix.proposal
        what, proxy = f"asyncio.{primitive.name}", self.context.naming.fresh_module_name(f"_{primitive.name}PerLoop")
        return public_fixes(
            public,
            holder.name,
            fix.proposal,
            lambda: proxy_fix(fix, holder.name, what, proxy, primitive.special_methods),
            exported=holder.name in self.analysis.exports,
        )

    def private_fix(self, call: cst.Call, primitive: Primitive, holder: Holder) -> AccessorFix | FixProposal | NoFix:
        """The fix of a private name: the per-loop accessor, or another."""
        tree = self.analysis.tree
        line = self.single_store(call, holder, Held.MODULE_GLOBAL)
        if isinstance(line, NoFix):
            return line
        references = holder.reads
        fixes = self.fixes
        if not fixes.all_in_coroutines(references):
            return fixes.threading_twin(primitive, call, references)
        if not tree.is_top_level(line):
            return NoFix(NOT_TOP_LEVEL)
        reason = fixes.cannot_move(call)
        if reason is not None:
            return NoFix(reason)
        name = holder.name
        cache, accessor = fixes.names(snake_case(name), references)

        def build(after: Sequence[cst.BaseStatement] = ()) -> tuple:
            builder = FixBuilder(self.context)
            statements = fixes.accessor_statements(builder, primitive, call, cache, accessor)
            install_accessor(builder, tree, line, [*statements, *after], references, accessor)
            return builder.build()

        proposal = self.propose(
            Safety.UNSAFE, f"Create one {primitive.name} per event loop with `{accessor}()`", build, ACCESSOR_NAMES
        )
        return AccessorFix(proposal, accessor, build)

