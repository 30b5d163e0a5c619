from __future__ import annotations

import libcst as cst

from loopcheck.analysis import CreationSite, SiteKind, parent, statement_line
from loopcheck.diagnostics import Fix, Safety
from loopcheck.fixes import FixBuilder
from loopcheck.primitive_rules import (
    PrimitiveCreationRule,
    class_attribute_references,
    keep_comments,
    snake_case,
)
from loopcheck.rule import RuleDocs


class ClassAttributePrimitive(PrimitiveCreationRule):
    code = "LCK102"
    name = "class-attribute-asyncio-primitive"
    summary = "asyncio primitive created as a class attribute"
    fix_kind = "unsafe"
    kind = SiteKind.CLASS

    docs = RuleDocs(
        what_it_does="""\
Finds asyncio primitives created in a class body: one object, made at import time and shared by
every instance of the class and every event loop of the process.""",
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
            ...""",
        use_instead="""\
A lock per instance, created in `__init__` (when instances live within one loop), or one per
event loop, which is what the fix generates (it keeps the "shared by all instances" meaning):

```python
class TokenCache:
    async def refresh(self):
        async with _get_token_cache_lock():
            ...
```

with `_get_token_cache_lock()` the per-loop accessor described in LCK101. Where the lock only
guards synchronous code (`with self._lock:` in plain methods, such as a one-time configuration
load), use `threading.Lock()`.""",
        fix_safety="""\
Unsafe. The per-loop accessor is offered when every access to the attribute (through `self`,
`cls` or the class name, in this module) is a read inside a coroutine; an access through any other
object, or a subclass overriding the attribute, may see a different object after the fix. The
`threading` replacement is offered when every use is synchronous.""",
        affected_versions="""\
All supported versions; from 3.10 the failure appears under the second loop (lazy binding), on
3.9 and older under the first.""",
        references=("https://docs.python.org/3/library/asyncio-sync.html",),
    )
    invalid = (
        "import asyncio\nclass Cache:\n    lock = asyncio.Lock()\n",
        "import asyncio\nclass Worker:\n    jobs: asyncio.Queue = asyncio.Queue()\n",
    )
    valid = (
        "import asyncio\nclass Cache:\n    def __init__(self):\n        self.lock = asyncio.Lock()\n",
        "import asyncio\nclass Cache:\n    lock: asyncio.Lock\n",
        "import threading\nclass Cache:\n    lock = threading.Lock()\n",
    )

    def message_for(self, site: CreationSite) -> str:
        assert isinstance(site.owner, cst.ClassDef)
        return (
            f"asyncio.{site.primitive.name} created as a class attribute of "
            f"{site.owner.name.value} is shared by every instance and every event loop; a "
            f"second loop fails with '{site.primitive.error}'"
        )

    def fix_for(self, site: CreationSite) -> Fix | None:
        class_def = site.owner
        assert isinstance(class_def, cst.ClassDef)
        line = statement_line(self, site.call)
        if line is None or not isinstance(line.body[0], (cst.Assign, cst.AnnAssign)):
            return None
        statement = line.body[0]
        targets = statement.targets if isinstance(statement, cst.Assign) else [statement]
        if (
            statement.value is not site.call
            or len(targets) != 1
            or not isinstance(targets[0].target, cst.Name)
            or parent(self, parent(self, line)) is not class_def
        ):
            return None
        attribute = targets[0].target.value
        references = class_attribute_references(self, class_def, attribute)
        if references is None:
            return None
        if not self.all_in_coroutines(references):
            return self.threading_twin_fix(site, references)
        if not self.is_top_level(class_def) or len(class_def.body.body) < 2:
            return None
        base = f"{snake_case(class_def.name.value)}_{snake_case(attribute)}"
        accessor, statements = self.accessor_statements(site, base)
        comments = [empty for empty in line.leading_lines if empty.comment is not None]
        statements[0] = keep_comments(line.with_changes(leading_lines=comments), statements[0])
        builder = FixBuilder(self.context).replace(line, cst.RemoveFromParent())
        self.place_at_top_level(builder, class_def, statements, where="after")
        for reference in references:
            builder.replace(reference, self.accessor_call(accessor))
        builder.add_import("asyncio")
        return builder.build(
            Safety.UNSAFE,
            f"Create one {site.primitive.name} per event loop with `{accessor}()`, shared by all "
            f"instances",
        )
