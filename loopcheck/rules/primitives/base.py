"""What the LCK1xx rules share: each one reports asyncio primitives constructed in one kind of
place (module level, class body, default argument, a function that keeps them)."""

from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Held, Holder
from loopcheck.data.catalogue import Primitive
from loopcheck.engine.diagnostics import NoFix
from loopcheck.fixes.per_loop import NOT_ALONE, PerLoopFixes, rebound_reason, unfollowed_reason
from loopcheck.rules.creations import CreationRule


class PrimitiveRule(CreationRule[Primitive]):
    """Reports asyncio primitives constructed where :attr:`site` says."""

    def creations(self) -> list[tuple[cst.Call, Primitive]]:  # type: ignore[override]
        return self.analysis.primitive_creations

    @property
    def fixes(self) -> PerLoopFixes:
        return PerLoopFixes(self.context)

    def single_store(self, call: cst.Call, holder: Holder, kind: Held) -> cst.SimpleStatementLine | NoFix:
        """The line, when a line of its own stores ``call`` (``name = Prim()``, ``name: T =
        Prim()``, ``self.name = Prim()``) in its ``holder``, of ``kind``, that nothing else writes
        and whose every access is known: the shape the per-loop fixes rewrite. Else why not."""
        line = self.analysis.tree.statement_line(call)
        if (
            holder.kind is not kind
            or holder.value is not call
            or line is None
            or line.body[0] is not holder.store
            or (isinstance(holder.store, cst.Assign) and len(holder.store.targets) != 1)
            or holder.name is None
        ):
            return NoFix(NOT_ALONE)
        if not holder.followable or holder.target not in holder.writes:
            return NoFix(unfollowed_reason(holder.name))
        if holder.writes != [holder.target]:
            return NoFix(rebound_reason(holder.name))
        return line
