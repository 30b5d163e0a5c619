"""Event loops kept beyond the call that made them (a module global, a class attribute, an
attribute of a process-wide instance, a closure variable) and everything that touches one: its
reads, the getters that hand it out, the local copies, the ``if`` blocks that only test it, and
what goes with the loop when it is no longer kept."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.analysis.holders import Held, Holder
from loopcheck.analysis.loop_uses import LoopUse, Use
from loopcheck.analysis.tree import comparison_parts, is_none

if TYPE_CHECKING:
    from loopcheck.analysis import FileAnalysis

# Where a loop outlives the call that made it, so that later calls reuse it. An attribute of an
# ordinary instance is not among them: an object that owns a loop for its own life (made in
# `__init__`/`__enter__`, closed in `close()`/`__exit__`) is what asyncio.Runner is; it becomes a
# process-wide loop only when the instance is process-wide (SINGLETON_ATTRIBUTE).
KEPT = (Held.MODULE_GLOBAL, Held.CLASS_ATTRIBUTE, Held.SINGLETON_ATTRIBUTE, Held.CLOSURE)


class Obstacle(enum.Enum):
    """Why the code around a kept loop cannot be followed to its end (so nothing may remove it)."""

    ACCESSES_UNKNOWN = enum.auto()  # not every use of the holder can be found
    GETTER_PASSED_ON = enum.auto()  # its getter is passed around or called with arguments
    GETTER_EXPORTED = enum.auto()  # its getter is listed in `__all__`, and would go with the loop
    OTHER_WRITE = enum.auto()  # the holder is also set to something other than a new loop or None


@dataclass
class KeptLoop:
    """A loop kept beyond the call that made it, and everything that touches it."""

    holder: Holder
    # Expressions that evaluate to the loop: reads of the holder, getter calls, local copies.
    refs: list[cst.CSTNode] = field(default_factory=list)
    # What goes with the loop: writes of the holder, `global` lines, getters, local copies.
    retired: list[cst.CSTNode] = field(default_factory=list)
    # `if` blocks that only test the holder (`if loop is None:`, `if loop is not None:`).
    guards: list[cst.If] = field(default_factory=list)
    # What each expression evaluating to the loop does with it (guards and copies followed).
    uses: list[LoopUse] = field(default_factory=list)
    # Why the holder cannot be followed (None when it can), and the getter concerned.
    unfollowable: Obstacle | None = None
    getter: str | None = None

    def block(self, obstacle: Obstacle, getter: str | None = None) -> None:
        self.unfollowable, self.getter = obstacle, getter


class KeptLoops:
    def __init__(self, analysis: FileAnalysis) -> None:
        self.analysis = analysis

    @cached_property
    def found(self) -> list[tuple[cst.Call, KeptLoop]]:
        """Each kept loop once, with the first loop call (``new_event_loop()``,
        ``get_event_loop()``, ...) whose result it keeps, in source order."""
        analysis = self.analysis
        seen: set[tuple[int, str | None]] = set()
        found: list[tuple[cst.Call, KeptLoop]] = []
        for call in analysis.names.calls_to(analysis.catalogue.loop_api.loop_factories):
            holder = self.holder_of(call)
            if holder is None:
                continue
            key = (id(holder.owner), holder.name) if holder.owner is not None else (0, holder.name)
            if key in seen:
                continue
            seen.add(key)
            found.append((call, self.kept_loop(holder)))
        return found

    def holder_of(self, call: cst.Call) -> Holder | None:
        """Where the loop ``call`` gives is kept beyond the call, if it is."""
        holders = self.analysis.holders
        holder = holders.of(call)
        if holder.kind is Held.LOCAL:
            # `loop = asyncio.new_event_loop(); ...; _loop = loop`: the local is a step on the way.
            for read in holder.reads:
                stored = holders.of(read)
                if stored.kind in KEPT:
                    return stored
            return None
        if holder.kind not in KEPT:
            return None
        api = self.analysis.catalogue.loop_api
        if holder.kind is Held.MODULE_GLOBAL and self.analysis.names.calls(call, api.current_loop):
            # `loop = asyncio.get_event_loop()` at module level, not an expression around it.
            if holder.value is not call or self.analysis.tree.enclosing_function(call) is not None:
                return None
        return holder

    def run_in_place(self, holder: Holder) -> bool:
        """Whether a loop in ``holder`` is used where it is made rather than kept for later
        calls: a variable of a function, or a module-level one that only module code reads (a
        module-level loop read from functions is a kept loop)."""
        if not isinstance(holder.target, cst.Name):
            return False
        if holder.kind is Held.LOCAL:
            return True
        tree = self.analysis.tree
        return (
            holder.kind is Held.MODULE_GLOBAL
            and holder.followable
            and tree.enclosing_function(holder.value) is None
            and not any(tree.enclosing_function(ref) is not None for ref in holder.reads)
        )

    def kept_loop(self, holder: Holder) -> KeptLoop:
        found = KeptLoop(holder)
        accesses = holder.accesses
        if accesses is None:
            found.block(Obstacle.ACCESSES_UNKNOWN)
            accesses = [holder.target] if holder.target is not None else []
        holders = self.analysis.holders
        tree = self.analysis.tree
        getters = holders.getters(holder) if holder.followable else []
        for access in accesses:
            if tree.within(access, *getters):
                continue
            if access in holder.writes:
                self._retire_write(found, access)
            else:
                found.refs.append(access)
        for getter in getters:
            self._follow_getter(found, getter)
        found.retired.extend(self.scope_declarations(holder, getters))
        found.uses = self._expand(found)
        return found

    def _follow_getter(self, found: KeptLoop, getter: cst.FunctionDef) -> None:
        """The getter's calls are loop references; the getter goes with the loop."""
        calls = self.getter_references(getter)
        name = getter.name.value
        if calls is None or not all(isinstance(c, cst.Call) and not c.args for c in calls):
            found.block(Obstacle.GETTER_PASSED_ON, name)
            return
        if name in self.analysis.exports:
            found.block(Obstacle.GETTER_EXPORTED, name)
        found.refs.extend(calls)  # type: ignore[arg-type]
        found.retired.append(getter)

    def getter_references(self, getter: cst.FunctionDef) -> list[cst.CSTNode] | None:
        """What each reference to the getter is part of (its call, when it is called); None when
        not every reference can be found."""
        tree = self.analysis.tree
        owner = tree.method_class(getter)
        if owner is not None:
            accesses = self.analysis.holders.attribute_accesses(owner, getter.name.value)
            if accesses is None:
                return None
            return [tree.parents[a] for a in accesses if not isinstance(tree.parents.get(a), cst.FunctionDef)]
        scope = self.analysis.scopes.get(getter)
        bindings = list(scope[getter.name.value]) if scope is not None else []
        if len(bindings) != 1:
            return None
        return [tree.parents[access.node] for access in bindings[0].references]

    def _retire_write(self, found: KeptLoop, target: cst.CSTNode) -> None:
        """`holder = None` or `holder = <new loop>` goes with the loop; other writes stay, and
        then the loop cannot be followed."""
        api = self.analysis.catalogue.loop_api
        tree = self.analysis.tree
        up = tree.parents.get(target)
        statement = tree.parents.get(up) if isinstance(up, cst.AssignTarget) else up
        if isinstance(statement, cst.NameItem):
            return  # `global loop` / `nonlocal loop`: retired with the declarations
        value = getattr(statement, "value", None)
        single = isinstance(statement, cst.AnnAssign) or (
            isinstance(statement, cst.Assign) and len(statement.targets) == 1
        )
        if single and (
            value is None
            or is_none(value)
            or self.analysis.names.calls(value, api.loop_factories)
            or self.is_local_copy_of_new_loop(value)
        ):
            found.retired.append(statement)  # type: ignore[arg-type]
        else:
            found.block(Obstacle.OTHER_WRITE)

    def is_local_copy_of_new_loop(self, value: cst.CSTNode) -> bool:
        """``_loop = loop`` where ``loop`` was just bound to a new loop."""
        if not isinstance(value, cst.Name):
            return False
        api = self.analysis.catalogue.loop_api
        values = self.analysis.holders.assigned_values(value)
        return bool(values) and all(v is not None and self.analysis.names.calls(v, api.loop_factories) for v in values)

    def scope_declarations(self, holder: Holder, getters: list[cst.FunctionDef]) -> list[cst.CSTNode]:
        """``global name`` / ``nonlocal name`` statements (naming only the holder), outside the
        getters that go anyway."""
        if holder.kind not in (Held.MODULE_GLOBAL, Held.CLOSURE) or holder.name is None:
            return []
        kind = cst.Global if holder.kind is Held.MODULE_GLOBAL else cst.Nonlocal
        tree = self.analysis.tree
        found: list[cst.CSTNode] = []
        for statement in self.analysis.index.scope_declarations:
            if (
                isinstance(statement, kind)
                and [item.name.value for item in statement.names] == [holder.name]
                and not tree.within(statement, *getters)
                and (holder.kind is Held.MODULE_GLOBAL or tree.within(statement, holder.owner))  # type: ignore[arg-type]
            ):
                found.append(statement)
        return found

    def _expand(self, found: KeptLoop) -> list[LoopUse]:
        """The uses of the loop; an `if` that only tests it is a guard, and a local that only
        copies it (`loop = get_loop()`, `loop = _loop or asyncio.get_event_loop()`) is
        followed, its assignment retired."""
        holders = self.analysis.holders
        refs: list[cst.CSTNode] = []
        for ref in found.refs:
            guard = self.guard_of(ref)
            if guard is not None:
                if not any(g is guard for g in found.guards):
                    found.guards.append(guard)
                continue
            value = holders.outer_value(ref)  # type: ignore[arg-type]
            copy = holders.of(value)
            if (
                copy.kind is Held.LOCAL
                and isinstance(copy.target, cst.Name)
                and self.analysis.tree.enclosing_function(value) is not None
                and self.analysis.flow.sole_binding_of(copy.reads, copy.target)
            ):
                refs.extend(copy.reads)
                found.retired.append(copy.store)  # type: ignore[arg-type]
            else:
                refs.append(value)
        return self.analysis.loop_uses.uses_of(refs)

    def guard_of(self, ref: cst.CSTNode) -> cst.If | None:
        """The ``if`` whose test only inspects the loop: ``if loop:``, ``if loop is None:``,
        ``if loop is not None:``, ``if not loop or loop.is_closed():`` and the like."""
        tree = self.analysis.tree
        test: cst.CSTNode = ref
        while True:
            up = tree.parents.get(test)
            parts = comparison_parts(up)
            if parts is not None and isinstance(parts[1], (cst.Is, cst.IsNot)) and is_none(parts[2]):
                test = up
            elif isinstance(up, cst.UnaryOperation) and isinstance(up.operator, cst.Not):
                test = up
            elif isinstance(up, cst.Attribute) and up.attr.value == "is_closed":
                call = tree.parents.get(up)
                if not isinstance(call, cst.Call):
                    return None
                test = call
            elif isinstance(up, cst.BooleanOperation):
                test = up
            else:
                break
        statement = tree.parents.get(test)
        if isinstance(statement, cst.If) and statement.test is test and statement.orelse is None:
            return statement
        return None

    def closed_after_each_run(self, found: KeptLoop) -> bool:
        """Whether every function that runs the loop closes it after the run (a worker's one
        run); closing a stale loop before making the next one does not count."""
        tree = self.analysis.tree
        teardowns = [use for use in found.uses if use.kind is Use.TEARDOWN]
        for run in (use for use in found.uses if use.kind is Use.RUN):
            function = tree.enclosing_function(run.node)
            if not any(
                tree.enclosing_function(t.node) is function and tree.precedes(run.node, t.node)
                for t in teardowns
            ):
                return False
        return True
