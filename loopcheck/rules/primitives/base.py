"""What the LCK1xx rules share: each one reports asyncio primitives constructed in one kind of
place (module level, class body, default argument, a function that keeps them)."""

from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Held, Holder
from loopcheck.analysis.tree import Site
from loopcheck.data.catalogue import Primitive
from loopcheck.engine.diagnostics import FixProposal, NoFix
from loopcheck.fixes.per_loop import NOT_ALONE, PerLoopFixes, rebound_reason, unfollowed_reason
from loopcheck.engine.rule import Rule


class PrimitiveRule(Rule):
    """Reports asyncio primitives constructed where the rule's starts say (:attr:`places`)."""

    def check(self) -> None:
        tree = self.analysis.tree
        for call, primitive in self.analysis.primitive_creations:
            site = tree.site(call)
            if site.kind in self.places and self.matches(call, primitive, site):
                message = self.message_for(call, primitive, site)
                self.report(call, message, self.fix_for(call, primitive, site))

    @property
    def fixes(self) -> PerLoopFixes:
        return PerLoopFixes(self.context)

    def matches(self, call: cst.Call, primitive: Primitive, site: Site) -> bool:
        return True

    def single_store(self, call: cst.Call, kind: Held) -> tuple[Holder, cst.SimpleStatementLine] | NoFix:
        """The holder and the line, when a line of its own stores ``call`` (``name = Prim()``,
        ``name: T = Prim()``, ``self.name = Prim()``) in a holder of ``kind`` that nothing else
        writes and whose every access is known: the shape the per-loop fixes rewrite. Else why
        not."""
        holder = self.analysis.holders.of(call)
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
        return holder, line

    def message_for(self, call: cst.Call, primitive: Primitive, site: Site) -> str:
        raise NotImplementedError

    def fix_for(self, call: cst.Call, primitive: Primitive, site: Site) -> FixProposal | NoFix | None:
        return None
