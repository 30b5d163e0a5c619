from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m
from libcst.metadata import GlobalScope

from loopcheck.analysis import (
    ancestors,
    declared_global,
    enclosing_function,
    module_scope,
    parent,
    sole_module_binding,
)
from loopcheck.catalogue import loop_api
from loopcheck.diagnostics import Fix, Safety
from loopcheck.loops import (
    LifecycleRewrite,
    LoopUse,
    Use,
    asyncio_run_accepts,
    calls_one_of,
    local_binding,
    of_kind,
    uses_of,
    within,
)
from loopcheck.primitive_rules import class_attribute_references
from loopcheck.rule import Rule, RuleDocs

NONE = m.Name("None")


@dataclass
class KeptLoop:
    """A loop kept in a module global or a class attribute, and everything that touches it."""

    label: str  # `_worker_loop` or `Worker._loop`
    created: cst.Call
    # Expressions that evaluate to the loop: reads of the holder, getter calls, locals bound to them.
    refs: list[cst.CSTNode] = field(default_factory=list)
    # What the fix deletes with the loop: the holder's assignments, `global` lines, getters.
    retired: list[cst.CSTNode] = field(default_factory=list)
    # `if holder is not None:` blocks around teardown code (a shutdown hook).
    guards: list[cst.If] = field(default_factory=list)
    # False when the holder is reached in a way the fix cannot follow.
    followable: bool = True


class PersistentLoop(Rule):
    code = "LCK202"
    name = "persistent-event-loop"
    summary = "event loop kept in a global or class attribute and reused by run_until_complete()"
    fix_kind = "unsafe"

    docs = RuleDocs(
        what_it_does="""\
Finds event loops created once and kept for reuse in a module global or a class attribute (the
`_worker_loop` with its `get_worker_loop()` getter, a loop built lazily by a singleton), and the
`run_until_complete()` calls that reuse them. The loop and each of its uses are reported.""",
        why_is_this_bad="""\
A loop kept for the life of the process belongs to the thread that runs it. As soon as two
threads need it at once (a threaded Celery pool, APScheduler jobs, a `ThreadPoolExecutor`), the
second fails with `RuntimeError: This event loop is already running`. Every object created on it
(clients, locks, futures) is bound to it, so code that also uses `asyncio.run()` somewhere mixes
objects of two loops (`attached to a different loop`). Tasks left over by one call keep running,
or stay pending, into the next one, and the loop is never properly shut down.""",
        example="""\
import asyncio

_worker_loop = None


def get_worker_loop():
    global _worker_loop
    if _worker_loop is None or _worker_loop.is_closed():
        _worker_loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_worker_loop)
    return _worker_loop


@app.task
def generate_roadmap(user_id):
    return get_worker_loop().run_until_complete(build_roadmap(user_id))""",
        use_instead="""\
Run each call in its own loop:

```python
@app.task
def generate_roadmap(user_id):
    return asyncio.run(build_roadmap(user_id))
```

Loop-bound objects (clients, locks) must then be created inside the coroutine, or per loop (see
LCK101 and LCK3xx). A worker that deliberately keeps one loop for its whole life should hold an
`asyncio.Runner` (3.11+), which sets the loop up and shuts it down properly, use it from one
thread only, and create every loop-bound object on that loop:

```python
runner = asyncio.Runner()  # closed in the worker's shutdown hook: runner.close()

@app.task
def generate_roadmap(user_id):
    return runner.run(build_roadmap(user_id))
```""",
        fix_safety="""\
Unsafe: each use becomes `asyncio.run()`, so every call gets a fresh loop that is closed
afterwards, and objects the calls used to share through the loop (clients, locks, background
tasks) no longer carry over. The getter, the global or attribute and the code that created, set
and closed the loop are removed when nothing else in the file uses them (a getter imported by
another module would break). No fix when the loop is used for anything other than running,
setting and closing, or when the argument is a Future.""",
        affected_versions="""\
All supported versions (measured on 3.10 to 3.13: the same messages on each).""",
        references=(
            "https://docs.python.org/3/library/asyncio-runner.html#asyncio.Runner",
            "https://docs.python.org/3/library/asyncio-dev.html#concurrency-and-multithreading",
        ),
    )
    invalid = (
        "import asyncio\n"
        "_loop = asyncio.new_event_loop()\n"
        "def task(x):\n"
        "    return _loop.run_until_complete(work(x))\n",
        "import asyncio\n"
        "class Worker:\n"
        "    def __init__(self):\n"
        "        self.loop = asyncio.new_event_loop()\n"
        "    def run(self, x):\n"
        "        return self.loop.run_until_complete(work(x))\n",
    )
    valid = (
        # A dedicated loop thread: the loop runs forever, work is handed to it thread-safely.
        "import asyncio, threading\n"
        "_loop = asyncio.new_event_loop()\n"
        "threading.Thread(target=_loop.run_forever, daemon=True).start()\n"
        "def submit(coro):\n"
        "    return asyncio.run_coroutine_threadsafe(coro, _loop).result()\n",
        "import asyncio\ndef task(x):\n    return asyncio.run(work(x))\n",
    )

    def __init__(self, context):  # type: ignore[no-untyped-def]
        super().__init__(context)
        self.candidates: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        api = loop_api()
        if calls_one_of(self, node, api.new_loop | api.current_loop):
            self.candidates.append(node)

    def finish(self) -> None:
        reported: set[str] = set()
        for call in self.candidates:
            found = self.persistent_loop(call)
            if found is None or found.label in reported:
                continue
            reported.add(found.label)
            uses = self.expand(found)
            runs = of_kind(uses, Use.RUN)
            if of_kind(uses, Use.SERVE) or not any(enclosing_function(self, r.node) for r in runs):
                continue  # a long-lived server loop, or a script's one run at module level
            if self.last_runs(runs, of_kind(uses, Use.TEARDOWN)):
                continue  # each run closes the loop afterwards: the loop is not reused
            fix = self.fix(found, uses)
            lines = ", ".join(str(self.line_of(use.node)) for use in runs)
            self.report(
                call,
                f"event loop kept in {found.label} and reused by run_until_complete() "
                f"(line{'s' if len(runs) > 1 else ''} {lines}): a second thread fails with 'This event loop is already "
                f"running'; run each call with asyncio.run()",
                fix,
            )
            for use in runs:
                self.report(
                    use.node,
                    f"run_until_complete() reuses the event loop kept in {found.label}; "
                    "use asyncio.run()",
                    fix,
                )

    def last_runs(self, runs: list[LoopUse], teardowns: list[LoopUse]) -> bool:
        """Whether every function that runs the loop also closes it (a worker's one run)."""
        closing = {id(enclosing_function(self, use.node)) for use in teardowns}
        return all(id(enclosing_function(self, use.node)) in closing for use in runs)

    def line_of(self, node: cst.CSTNode) -> int:
        return self.get_metadata(cst.metadata.PositionProvider, node).start.line

    # -- finding the holder ----------------------------------------------------------------

    def persistent_loop(self, call: cst.Call) -> KeptLoop | None:
        found = self.holder_of(call, call)
        if found is not None:
            return found
        # `loop = asyncio.new_event_loop(); ...; _loop = loop`: the local is a step on the way.
        local = local_binding(self, call)
        if local is None or isinstance(local.scope, GlobalScope):
            return None
        for ref in local.refs:
            found = self.holder_of(ref, call)
            if found is not None:
                return found
        return None

    def holder_of(self, value: cst.CSTNode, call: cst.Call) -> KeptLoop | None:
        """The global or attribute ``value`` (the loop ``call`` made) is stored in."""
        up = parent(self, value)
        if isinstance(up, cst.Assign) and up.value is value and len(up.targets) == 1:
            target = up.targets[0].target
            if isinstance(target, cst.Name) and self.in_class_body(up):
                return self.attribute_loop(call, target.value)  # `loop = new_event_loop()`
            if isinstance(target, cst.Name):
                return self.global_loop(call, target.value)
            if isinstance(target, cst.Attribute) and m.matches(target.value, m.Name("self")):
                return self.attribute_loop(call, target.attr.value)
        return None

    def in_class_body(self, assign: cst.Assign) -> bool:
        block = parent(self, parent(self, assign))
        return isinstance(block, cst.IndentedBlock) and isinstance(parent(self, block), cst.ClassDef)

    def global_loop(self, call: cst.Call, name: str) -> KeptLoop | None:
        function = enclosing_function(self, call)
        if function is not None and not (
            isinstance(function, cst.FunctionDef) and name in declared_global(function)
        ):
            return None  # a local: LCK201 or LCK203
        if function is None and calls_one_of(self, call, loop_api().current_loop):
            local = local_binding(self, call)
            if local is None or not isinstance(local.scope, GlobalScope):
                return None
        found = KeptLoop(f"the global `{name}`", call)
        getters = self.global_getters(name)
        for assignment in module_scope(self).assignments[name]:
            for access in assignment.references:
                if within(self, access.node, *getters):
                    continue
                found.refs.append(access.node)
            self.retire_assignment(found, assignment.node, getters)
        for getter in getters:
            self.follow_getter(found, getter, self.module_function_calls(getter))
        for statement in self.global_declarations(name):
            if not within(self, statement, *getters):
                found.retired.append(statement)
        return found

    def attribute_loop(self, call: cst.Call, attribute: str) -> KeptLoop | None:
        class_def = next(
            (up for _, up in ancestors(self, call) if isinstance(up, cst.ClassDef)), None
        )
        if class_def is None:
            return None
        found = KeptLoop(f"`{class_def.name.value}.{attribute}`", call)
        getters = [
            method
            for method in class_def.body.body
            if isinstance(method, cst.FunctionDef)
            and self.returns(method, m.Attribute(value=m.Name("self"), attr=m.Name(attribute)))
        ]
        accesses = class_attribute_references(self, class_def, attribute)
        if accesses is None:
            return None
        for access in accesses:
            if within(self, access, *getters):
                continue
            written = parent(self, access)
            if isinstance(written, cst.AssignTarget):
                self.retire_write(found, parent(self, written))
            else:
                found.refs.append(access)
        for line in class_def.body.body:  # `_loop = None` in the class body
            if m.matches(line, m.SimpleStatementLine([m.Assign([m.AssignTarget(m.Name(attribute))])])):
                found.retired.append(line)
        for getter in getters:
            calls = class_attribute_references(self, class_def, getter.name.value)
            self.follow_getter(found, getter, None if calls is None else [parent(self, c) for c in calls])
        return found

    def global_getters(self, name: str) -> list[cst.FunctionDef]:
        """Module functions that build the loop into global ``name`` on demand and return it."""
        return [
            statement
            for statement in self.context.module.body
            if isinstance(statement, cst.FunctionDef)
            and statement.asynchronous is None
            and name in declared_global(statement)
            and self.returns(statement, m.Name(name))
        ]

    def returns(self, function: cst.FunctionDef, value: m.BaseMatcherNode) -> bool:
        return bool(m.findall(function.body, m.Return(value=value)))

    def module_function_calls(self, function: cst.FunctionDef) -> list[cst.CSTNode] | None:
        references = sole_module_binding(self, function.name.value)
        return None if references is None else [parent(self, ref) for ref in references]

    def follow_getter(
        self,
        found: KeptLoop,
        getter: cst.FunctionDef,
        calls: list[cst.CSTNode] | None,
    ) -> None:
        """The getter's calls are loop references; the getter goes with the loop."""
        if calls is None or not all(isinstance(call, cst.Call) and not call.args for call in calls):
            found.followable = False  # passed around, or called with arguments
            return
        if self.exported(getter.name.value):
            found.followable = False
        found.refs.extend(calls)
        found.retired.append(getter)

    def exported(self, name: str) -> bool:
        """Whether ``name`` is listed in ``__all__`` (other modules may call it)."""
        listing = m.Assign(targets=[m.AssignTarget(m.Name("__all__"))])
        for assign in m.findall(self.context.module, listing | m.AugAssign(target=m.Name("__all__"))):
            for string in m.findall(assign, m.SimpleString()):
                if isinstance(string, cst.SimpleString) and string.evaluated_value == name:
                    return True
        return False

    def retire_assignment(
        self, found: KeptLoop, bound: cst.CSTNode, getters: list[cst.FunctionDef]
    ) -> None:
        if within(self, bound, *getters):
            return
        statement = parent(self, bound)
        if isinstance(statement, cst.AssignTarget):
            self.retire_write(found, parent(self, statement))
        elif isinstance(statement, cst.AnnAssign) and statement.target is bound:
            self.retire_write(found, statement)
        else:
            found.followable = False  # bound by an import, a `for`, a `with` ...

    def retire_write(self, found: KeptLoop, statement: cst.CSTNode) -> None:
        """`holder = None` or `holder = <new loop>` goes with the loop; other writes stay."""
        api = loop_api()
        value = getattr(statement, "value", None)
        single = not isinstance(statement, cst.Assign) or len(statement.targets) == 1
        if single and (
            value is None
            or m.matches(value, NONE)
            or calls_one_of(self, value, api.new_loop | api.current_loop)
        ):
            found.retired.append(statement)
        else:
            found.followable = False

    def global_declarations(self, name: str) -> list[cst.Global]:
        return [
            statement
            for statement in m.findall(self.context.module, m.Global())
            if isinstance(statement, cst.Global)
            and [item.name.value for item in statement.names] == [name]
        ]

    # -- uses and the fix ------------------------------------------------------------------

    def expand(self, found: KeptLoop) -> list[LoopUse]:
        """The uses of the loop; a local that only copies the holder (`loop = get_loop()`) is
        followed, and its assignment retired."""
        refs: list[cst.CSTNode] = []
        for ref in found.refs:
            guard = self.guard_of(ref)
            if guard is not None:
                found.guards.append(guard)
                continue
            local = local_binding(self, ref)
            if local is not None and not isinstance(local.scope, GlobalScope) and local.bindings == 1:
                refs.extend(local.refs)
                found.retired.append(local.binding)
            else:
                refs.append(ref)
        return uses_of(self, refs)

    def guard_of(self, ref: cst.CSTNode) -> cst.If | None:
        """The ``if`` that ``ref`` is the whole test of (``if loop:``, ``if loop is not None:``)."""
        test = parent(self, ref)
        if not m.matches(test, m.Comparison(comparisons=[m.ComparisonTarget(m.IsNot(), NONE)])):
            test = ref
        statement = parent(self, test)
        if isinstance(statement, cst.If) and statement.test is test and statement.orelse is None:
            return statement
        return None

    def only_teardown(self, guard: cst.If, gone: list[cst.CSTNode]) -> bool:
        """Whether everything ``guard`` does is deleted by the fix anyway."""
        return all(
            isinstance(line, cst.SimpleStatementLine)
            and all(any(small is node for node in gone) for small in line.body)
            for line in guard.body.body
        )

    def fix(self, found: KeptLoop, uses: list[LoopUse]) -> Fix | None:
        if not found.followable or of_kind(uses, Use.OTHER, Use.ESCAPE):
            return None
        gone = [use.node for use in of_kind(uses, Use.TEARDOWN, Use.SET_CURRENT)] + found.retired
        if not all(self.only_teardown(guard, gone) for guard in found.guards):
            return None
        runs = [use.node for use in of_kind(uses, Use.RUN) if isinstance(use.node, cst.Call)]
        if not all(asyncio_run_accepts(self, run) for run in runs):
            return None
        rewrite = LifecycleRewrite(self)
        for run in runs:
            rewrite.run_with_asyncio_run(run)
        for use in of_kind(uses, Use.TEARDOWN, Use.SET_CURRENT):
            rewrite.delete(use.node)  # type: ignore[arg-type]
        for statement in [*found.retired, *found.guards]:
            rewrite.discard(statement)
        return rewrite.build(
            Safety.UNSAFE, f"Run each call with asyncio.run() and drop the loop in {found.label}"
        )
