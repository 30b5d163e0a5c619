"""What the LCK1xx rules share: each one reports asyncio primitives constructed in one kind of
place (module level, class body, default argument, a function that keeps them)."""

from __future__ import annotations

from typing import ClassVar

import libcst as cst

from loopcheck.analysis.tree import Evaluated, Site
from loopcheck.catalogue import Primitive
from loopcheck.fixes.builder import FixProposal
from loopcheck.fixes.per_loop import PerLoopFixes
from loopcheck.rule import Rule


class PrimitiveRule(Rule):
    """Reports asyncio primitives constructed where :attr:`site` says."""

    site: ClassVar[Evaluated]

    def check(self) -> None:
        tree = self.analysis.tree
        for call, primitive in self.analysis.primitive_creations:
            site = tree.site(call)
            if site.kind is self.site and self.matches(call, primitive, site):
                self.report(call, self.message_for(call, primitive, site), self.fix_for(call, primitive, site))

    @property
    def fixes(self) -> PerLoopFixes:
        return PerLoopFixes(self.context)

    def matches(self, call: cst.Call, primitive: Primitive, site: Site) -> bool:
        return True

    def message_for(self, call: cst.Call, primitive: Primitive, site: Site) -> str:
        raise NotImplementedError

    def fix_for(self, call: cst.Call, primitive: Primitive, site: Site) -> FixProposal | None:
        return None
