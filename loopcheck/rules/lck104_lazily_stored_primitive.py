from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from loopcheck.analysis import (
    CreationSite,
    SiteKind,
    ancestors,
    declared_global,
    is_cached_function,
    is_module_global,
    module_classes,
    module_scope,
    parent,
    qualified_names,
)
from loopcheck.diagnostics import Fix, Safety
from loopcheck.fixes import FixBuilder
from loopcheck.primitive_rules import (
    CLASS_RECEIVERS,
    DOCSTRING,
    PrimitiveCreationRule,
    keep_comments,
    snake_case,
)
from loopcheck.rule import RuleDocs

# Expressions that pass a value through unchanged on its way to an assignment target.
PASS_THROUGH = (cst.BooleanOperation, cst.IfExp, cst.ParenthesizedWhitespace)
RUNNING_LOOP = frozenset({"asyncio.get_running_loop", "asyncio.events.get_running_loop"})


class LazilyStoredPrimitive(PrimitiveCreationRule):
    code = "LCK104"
    name = "lazily-stored-asyncio-primitive"
    summary = "asyncio primitive created lazily and kept in a global or class attribute"
    fix_kind = "unsafe"
    kind = SiteKind.FUNCTION

    docs = RuleDocs(
        what_it_does="""\
Finds asyncio primitives created inside a function and kept beyond it: in a module global (the
`global _lock; if _lock is None: _lock = asyncio.Lock()` idiom), in a class attribute
(`cls._lock = ...`), in a module-level dictionary (`_locks[key] = asyncio.Lock()`,
`_locks.setdefault(key, asyncio.Lock())`), or as the result of a `functools.cache` /
`functools.lru_cache` function.""",
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
created under `if name is None:` and returned). The getter must then be called under a running
loop: a call from synchronous code raises `RuntimeError: no running event loop`. Other shapes get
no fix.""",
        affected_versions="""\
All supported versions; the failure appears under the second loop that uses the object.""",
        references=("https://docs.python.org/3/library/asyncio-sync.html",),
    )
    invalid = (
        "import asyncio\n_lock = None\ndef get_lock():\n    global _lock\n    if _lock is None:\n"
        "        _lock = asyncio.Lock()\n    return _lock\n",
        "import asyncio\n_locks = {}\nasync def work(key):\n"
        "    async with _locks.setdefault(key, asyncio.Lock()):\n        pass\n",
        "import asyncio\nclass Pool:\n    _sem = None\n    @classmethod\n    def sem(cls):\n"
        "        cls._sem = cls._sem or asyncio.Semaphore(4)\n        return cls._sem\n",
    )
    valid = (
        "import asyncio\nasync def work():\n    lock = asyncio.Lock()\n",
        "import asyncio\nclass Worker:\n    def __init__(self):\n        self.lock = asyncio.Lock()\n",
        "import asyncio\nasync def work():\n    locks = {}\n    locks['a'] = asyncio.Lock()\n",
    )

    def matches(self, site: CreationSite) -> bool:
        return site.kind is SiteKind.FUNCTION and self.storage_of(site) is not None

    def storage_of(self, site: CreationSite) -> str | None:
        """Where the object outlives the call, in words; None when it does not."""
        function = site.owner
        assert isinstance(function, cst.FunctionDef)
        if is_cached_function(self, function):
            return f"the cache of {function.name.value}()"
        value: cst.CSTNode = site.call
        for child, up in ancestors(self, site.call):
            if isinstance(up, PASS_THROUGH):
                value = up
                continue
            if isinstance(up, cst.Arg) and up.value is child:
                setdefault = parent(self, up)
                if m.matches(setdefault, m.Call(func=m.Attribute(attr=m.Name("setdefault")))):
                    assert isinstance(setdefault, cst.Call)
                    receiver = setdefault.func.value  # type: ignore[attr-defined]
                    key = setdefault.args[0].value
                    if (
                        isinstance(receiver, cst.Name)
                        and is_module_global(self, receiver)
                        and not self.is_running_loop(key, function)
                    ):
                        return f"the module-level {receiver.value}"
                return None
            if isinstance(up, cst.Assign) and up.value is value:
                for target in up.targets:
                    where = self.stored_in(target.target, function)
                    if where is not None:
                        return where
            if isinstance(up, (cst.AnnAssign, cst.AugAssign)) and up.value is value:
                return self.stored_in(up.target, function)
            return None
        return None

    def stored_in(self, target: cst.BaseExpression, function: cst.FunctionDef) -> str | None:
        if isinstance(target, cst.Name) and target.value in declared_global(function):
            return f"the module global {target.value}"
        if isinstance(target, cst.Attribute):
            receiver = target.value
            if m.matches(receiver, CLASS_RECEIVERS) or (
                isinstance(receiver, cst.Name) and receiver.value in module_classes(self)
            ):
                return f"the class attribute {target.attr.value}"
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
            key = target.slice[0].slice if len(target.slice) == 1 else None
            if is_module_global(self, target.value) and not (
                isinstance(key, cst.Index) and self.is_running_loop(key.value, function)
            ):
                return f"the module-level {target.value.value}"
        return None

    def is_running_loop(self, key: cst.BaseExpression, function: cst.FunctionDef) -> bool:
        """Whether ``key`` is the running loop: a registry keyed by it is per loop, as it should be."""
        if isinstance(key, cst.Call):
            return bool(qualified_names(self, key.func) & RUNNING_LOOP)
        if not isinstance(key, cst.Name):
            return False
        for assign in m.findall(function.body, m.Assign(targets=[m.AssignTarget(m.Name(key.value))])):
            assert isinstance(assign, cst.Assign)
            if isinstance(assign.value, cst.Call) and self.is_running_loop(assign.value, function):
                return True
        return False

    def message_for(self, site: CreationSite) -> str:
        return (
            f"asyncio.{site.primitive.name} kept in {self.storage_of(site)} outlives the event "
            f"loop that created it; the next loop fails with '{site.primitive.error}'"
        )

    def fix_for(self, site: CreationSite) -> Fix | None:
        """The getter idiom only: ``global x`` / ``if x is None: x = Prim()`` / ``return x``."""
        function = site.owner
        assert isinstance(function, cst.FunctionDef)
        getter = _getter_idiom(function, site.call)
        if getter is None or not self.is_top_level(function):
            return None
        assignments = list(module_scope(self).assignments[getter])
        module_level = [a for a in assignments if not _inside(self, a.node, function)]
        if len(assignments) != 2 or len(module_level) != 1:
            return None
        initial = _statement_of(self, module_level[0].node)
        if initial is None or not self.is_top_level(initial):
            return None
        if not all(
            _inside(self, access.node, function)
            for assignment in assignments
            for access in assignment.references
        ):
            return None  # the global is read elsewhere too: leave it to a person
        _, statements = self.accessor_statements(site, snake_case(getter))
        cache, accessor = statements[0], statements[1]
        assert isinstance(accessor, cst.FunctionDef)
        cache = keep_comments(initial, cache)
        body = list(function.body.body)
        docstring = body[:1] if body and m.matches(body[0], DOCSTRING) else []
        new_body = [*docstring, *accessor.body.body[1:]]
        builder = FixBuilder(self.context).replace(initial, cache)
        builder.replace(function.body, function.body.with_changes(body=new_body))
        builder.add_import("asyncio")
        return builder.build(
            Safety.UNSAFE,
            f"Make {function.name.value}() return one {site.primitive.name} per event loop",
        )


def _inside(rule: PrimitiveCreationRule, node: cst.CSTNode, container: cst.CSTNode) -> bool:
    return any(up is container for _, up in ancestors(rule, node))


def _statement_of(rule: PrimitiveCreationRule, name: cst.CSTNode) -> cst.SimpleStatementLine | None:
    """The ``name = None`` line that binds ``name`` at module level."""
    assign = parent(rule, parent(rule, name))
    if isinstance(parent(rule, name), cst.AnnAssign):
        assign = parent(rule, name)
    if not m.matches(assign, m.Assign(value=m.Name("None")) | m.AnnAssign(value=m.Name("None"))):
        return None
    line = parent(rule, assign)
    return line if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 else None


def _getter_idiom(function: cst.FunctionDef, call: cst.Call) -> str | None:
    """The global's name when ``function`` is exactly the lazy-getter idiom around ``call``."""
    body = list(function.body.body)
    if body and m.matches(body[0], DOCSTRING):
        body = body[1:]
    if len(body) != 3:
        return None
    declare, check, give = body
    if not m.matches(declare, m.SimpleStatementLine(body=[m.Global(names=[m.NameItem()])])):
        return None
    name = declare.body[0].names[0].name.value  # type: ignore[attr-defined]
    is_unset = m.Comparison(
        left=m.Name(name), comparisons=[m.ComparisonTarget(m.Is(), m.Name("None"))]
    ) | m.UnaryOperation(operator=m.Not(), expression=m.Name(name))
    store = m.SimpleStatementLine(
        body=[m.Assign(targets=[m.AssignTarget(m.Name(name))], value=m.MatchIfTrue(lambda v: v is call))]
    )
    if not m.matches(check, m.If(test=is_unset, body=m.IndentedBlock(body=[store]), orelse=None)):
        return None
    if not m.matches(give, m.SimpleStatementLine(body=[m.Return(value=m.Name(name))])):
        return None
    return name
