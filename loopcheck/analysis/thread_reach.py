"""What code running in a thread of its own reaches: the loop-bound objects made at import that a
thread target, executor job or scheduler job uses on an event loop of that thread, which code
runs under such a loop, and where work is handed to a loop from another thread."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.analysis.contexts import Code, Runs, Unit
from loopcheck.analysis.holders import Held, Holder
from loopcheck.analysis.loop_uses import Use, method_call, of_kind
from loopcheck.analysis.tree import argument
from loopcheck.data.catalogue import Client, Primitive

if TYPE_CHECKING:
    from loopcheck.analysis import FileAnalysis

# Code that runs in a thread of its own, where a loop it starts is not the application's.
OWN_THREAD = (Runs.THREAD, Runs.EXECUTOR, Runs.SCHEDULER_JOB)
# Code that runs one task at a time per thread, where a loop kept across calls meets a second
# thread (a threaded Celery pool, dramatiq's worker threads as well as the above).
TASK_PER_THREAD = (*OWN_THREAD, Runs.CELERY_TASK, Runs.DRAMATIQ_ACTOR)
# Where loop-bound objects are shared by every loop of the process.
SHARED = (Held.MODULE_GLOBAL, Held.CLASS_ATTRIBUTE, Held.SINGLETON_ATTRIBUTE)
# Loop methods that hand work to a loop from another thread (the calls: LoopApi.threadsafe).
THREADSAFE_METHODS = ("call_soon_threadsafe",)
# Where the running application captures its own loop.
APPLICATION = (Runs.COROUTINE, Runs.CALLED_FROM_COROUTINE, Runs.LIFESPAN)
# Where a captured loop stays for other code to hand work to.
CAPTURED_IN = (Held.MODULE_GLOBAL, Held.CLASS_ATTRIBUTE, Held.SINGLETON_ATTRIBUTE, Held.INSTANCE_ATTRIBUTE)


@dataclass(frozen=True)
class SharedObject:
    """A catalogued client or primitive made at import and held where every loop reaches it."""

    holder: Holder
    made: Client | Primitive


@dataclass(frozen=True)
class ThreadedUse:
    """A read of a shared object by code that runs in a thread of its own, on that thread's loop."""

    shared: SharedObject
    read: cst.CSTNode
    unit: Code
    context: Runs  # the first of OWN_THREAD the unit runs in


@dataclass(frozen=True)
class CapturedLoop:
    """A loop made outside the running application, kept, and handed work from other threads."""

    holder: Holder
    creation: cst.Call
    handoffs: list[cst.Call]


class ThreadReach:
    def __init__(self, analysis: FileAnalysis) -> None:
        self.analysis = analysis

    @cached_property
    def shared_objects(self) -> list[SharedObject]:
        """Clients, then primitives, made at module or class level and held by the process."""
        analysis = self.analysis
        found: list[SharedObject] = []
        made: list[tuple[cst.BaseExpression, Client | Primitive]] = [
            *analysis.client_creations,
            *analysis.primitive_creations,
        ]
        for creation, what in made:
            holder = analysis.holders.of(creation)
            if holder.kind in SHARED and analysis.tree.enclosing_function(creation) is None:
                found.append(SharedObject(holder, what))
        return found

    @cached_property
    def threaded_uses(self) -> list[ThreadedUse]:
        """For each shared object, its first read on a thread's own loop in each unit that runs
        in a thread of its own."""
        contexts = self.analysis.contexts
        found: list[ThreadedUse] = []
        for shared in self.shared_objects:
            seen: set[int] = set()
            for read in self.reads(shared.holder):
                unit = contexts.unit_of(read)
                threaded = self.own_thread_contexts(unit)
                if not threaded or id(unit) in seen or not self.on_a_loop(read, unit):
                    continue
                seen.add(id(unit))
                found.append(ThreadedUse(shared, read, unit, threaded[0]))
        return found

    def own_thread_contexts(self, unit: Code) -> list[Runs]:
        """The contexts of ``unit`` that give it a thread of its own, in OWN_THREAD's order."""
        contexts = self.analysis.contexts.of(unit)
        return [c for c in OWN_THREAD if c in contexts]

    def reads(self, holder: Holder) -> list[cst.CSTNode]:
        """The holder's reads, and the reads of module globals derived from it (``db =
        client.trading``: a part of the client is the client's)."""
        tree = self.analysis.tree
        found = list(holder.reads)
        for read in holder.reads:
            if tree.enclosing_function(read) is not None:
                continue
            part = read
            while isinstance(tree.parents.get(part), (cst.Attribute, cst.Subscript)):
                part = tree.parents[part]
            derived = self.analysis.holders.of(part)  # type: ignore[arg-type]
            if part is not read and derived.kind is Held.MODULE_GLOBAL and derived.followable:
                found.extend(derived.reads)
        return found

    def on_a_loop(self, node: cst.CSTNode, unit: Code) -> bool:
        """``node`` (in ``unit``) runs under an event loop of the thread: in a coroutine, or
        inside the coroutine handed to ``run_until_complete()``/``asyncio.run()``."""
        analysis = self.analysis
        if analysis.tree.is_coroutine_function(unit):  # type: ignore[arg-type]
            return True
        api = analysis.catalogue.loop_api
        for _, up in analysis.tree.ancestors(node):
            if up is unit:
                break
            if isinstance(up, cst.Call) and (
                method_call(up, (api.run_method,)) or analysis.names.calls(up, api.run)
            ):
                return True
        return False

    def application_users(self, holder: Holder, unit: Code) -> list[cst.FunctionDef]:
        """Coroutines other than ``unit`` that use the holder outside code running in a thread of
        its own: the application's, on the application's loop."""
        analysis = self.analysis
        contexts = analysis.contexts
        found = []
        for read in self.reads(holder):
            other = contexts.unit_of(read)
            if (
                other is not unit
                and not isinstance(other, Unit)
                and analysis.tree.is_coroutine_function(other)
                and not contexts.of(other) & set(OWN_THREAD)
                and isinstance(other, cst.FunctionDef)
            ):
                found.append(other)
        return found

    def task_per_thread_runner(self, nodes: list[cst.CSTNode]) -> tuple[cst.FunctionDef, Runs] | None:
        """The first function holding one of ``nodes`` that runs one task at a time per thread,
        with that context; None where the analysis knows of none."""
        contexts = self.analysis.contexts
        for node in nodes:
            unit = contexts.unit_of(node)
            for context in contexts.of(unit):
                if context in TASK_PER_THREAD and isinstance(unit, cst.FunctionDef):
                    return unit, context
        return None

    @cached_property
    def handoffs(self) -> list[tuple[cst.Call, cst.BaseExpression]]:
        """Each call that hands work to a loop from another thread, with the loop expression:
        ``run_coroutine_threadsafe(coro, loop)`` (or ``loop=loop``), ``loop.call_soon_threadsafe(...)``."""
        analysis = self.analysis
        found: list[tuple[cst.Call, cst.BaseExpression]] = []
        for call in analysis.names.calls_to(analysis.catalogue.loop_api.threadsafe):
            loop = argument(call, 1, "loop")
            if loop is not None:
                found.append((call, loop))
        for method in THREADSAFE_METHODS:
            for call in analysis.index.calls_by_leaf.get(method, ()):
                if method_call(call, (method,)):
                    found.append((call, call.func.value))  # type: ignore[attr-defined]
        return found

    def handed_work(self, read: cst.CSTNode) -> bool:
        """Whether ``read`` is a loop other threads hand work to: the receiver of
        ``call_soon_threadsafe`` (called or not), or any argument of ``run_coroutine_threadsafe``.
        Looser than ``handoffs``: it asks about one expression, not which argument is the loop."""
        parents = self.analysis.tree.parents
        up = parents.get(read)
        if isinstance(up, cst.Attribute) and up.value is read and up.attr.value in THREADSAFE_METHODS:
            return True
        call = parents.get(up) if isinstance(up, cst.Arg) else None
        return call is not None and self.analysis.names.calls(call, self.analysis.catalogue.loop_api.threadsafe)

    @cached_property
    def captured_loops_handed_work(self) -> list[CapturedLoop]:
        """Kept loops this module never runs, made outside the application, and the calls that
        hand them work from other threads, in the order of those calls."""
        captured = self._captured_loops()
        handed: dict[int, CapturedLoop] = {}
        for use, loop in self.handoffs:
            found = captured.get(id(loop))
            if found is not None:
                holder, creation = found
                handed.setdefault(id(holder), CapturedLoop(holder, creation, [])).handoffs.append(use)
        return list(handed.values())

    def _captured_loops(self) -> dict[int, tuple[Holder, cst.Call]]:
        """Each read of a kept loop this module never runs, made outside the application."""
        analysis = self.analysis
        found: dict[int, tuple[Holder, cst.Call]] = {}
        for call in analysis.names.calls_to(analysis.catalogue.loop_api.loop_factories):
            holder = analysis.holders.of(call)
            if holder.kind not in CAPTURED_IN or not holder.followable:
                continue
            contexts = analysis.contexts.at(call)
            if contexts & set(APPLICATION) or contexts <= {Runs.UNKNOWN}:
                continue  # captured by the running application, or by code that may be
            if of_kind(analysis.loop_uses.uses_of(holder.reads), Use.RUN, Use.SERVE):
                continue  # this module runs the loop: it is the application's, or a served one
            for read in holder.reads:
                found[id(read)] = (holder, call)
        return found
