"""What the LCK1xx and LCK3xx families share: each rule reports objects a catalogue knows
(asyncio primitives, async clients) made in one kind of place and kept where more than one event
loop reaches them. A family says which creations it looks at (:meth:`CreationRule.creations`); a
rule's starts say where they are made (``places``), and its hooks, each given the same four facts,
which ones it reports, in what words, and with what fix."""

from __future__ import annotations

from typing import Generic, TypeVar

import libcst as cst

from loopcheck.analysis import Holder
from loopcheck.analysis.tree import Site
from loopcheck.engine.diagnostics import FixProposal, NoFix
from loopcheck.engine.rule import Rule

# The catalogue entry of what a creation makes (a Primitive, a Client).
Made = TypeVar("Made")


class CreationRule(Rule, Generic[Made]):
    """Reports the creations made where the rule's starts say (``places``) whose holder
    :meth:`matches`."""

    def creations(self) -> list[tuple[cst.BaseExpression, Made]]:
        raise NotImplementedError

    def check(self) -> None:
        analysis = self.analysis
        for creation, made in self.creations():
            site = analysis.tree.site(creation)
            if site.kind not in self.places:
                continue
            holder = analysis.holders.of(creation)
            if self.matches(creation, made, site, holder):
                self.report(
                    creation,
                    self.message_for(creation, made, site, holder),
                    self.offered_fix(creation, made, site, holder),
                )

    def matches(self, creation: cst.BaseExpression, made: Made, site: Site, holder: Holder) -> bool:
        return True

    def message_for(self, creation: cst.BaseExpression, made: Made, site: Site, holder: Holder) -> str:
        raise NotImplementedError

    def offered_fix(
        self, creation: cst.BaseExpression, made: Made, site: Site, holder: Holder
    ) -> FixProposal | NoFix | None:
        """The fix a finding offers: the rule's own (:meth:`fix_for`), unless its family has
        one that comes first."""
        return self.fix_for(creation, made, site, holder)

    def fix_for(
        self, creation: cst.BaseExpression, made: Made, site: Site, holder: Holder
    ) -> FixProposal | NoFix | None:
        return None

