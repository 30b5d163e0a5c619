"""What the LCK1xx rules share: each one reports asyncio primitives constructed in one kind of
place (module level, class body, default argument, a function that keeps them)."""

from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Held, Holder
from loopcheck.data.catalogue import Primitive
from loopcheck.engine.diagnostics import NoFix
from loopcheck.fixes.per_loop import PerLoopFixes, lone_store, only_written_there
from loopcheck.rules.creations import CreationRule

# What every LCK1xx rule leaves alone, for its documentation: the objects :meth:`creations` skips.
NEVER_BOUND = """\
An `Event` in a module that never waits on anything is not reported: set, cleared and tested, an
event never binds to a loop. Nor is a private `Lock` whose every use is `async with` around code
that never suspends (no `await`, `async for` or `async with` inside): no acquire ever has to
wait, so it never binds (3.10+). The same Lock around code that awaits is reported."""


class PrimitiveRule(CreationRule[Primitive]):
    """Reports asyncio primitives constructed where the rule's starts say (``places``)."""

    def creations(self) -> list[tuple[cst.Call, Primitive]]:  # type: ignore[override]
        """The primitives that bind to a loop: an Event nothing waits on never does, nor a Lock
        whose critical sections never suspend."""
        analysis = self.analysis
        return [
            (call, made)
            for call, made in analysis.primitive_creations
            if not analysis.never_waited_event(made) and not analysis.never_waiting_lock(call, made)
        ]

    @property
    def fixes(self) -> PerLoopFixes:
        return PerLoopFixes(self.context)

    def single_store(self, call: cst.Call, holder: Holder, kind: Held) -> cst.SimpleStatementLine | NoFix:
        """The line, when a line of its own stores ``call`` (``name = Prim()``, ``name: T =
        Prim()``, ``self.name = Prim()``) in its ``holder``, of ``kind``, that nothing else writes
        and whose every access is known: the shape the per-loop fixes rewrite. Else why not."""
        line = lone_store(self.analysis.tree, call, holder, kind)
        if isinstance(line, NoFix):
            return line
        declined = only_written_there(holder)
        return line if declined is None else declined
