"""What the LCK3xx rules share: each one reports async clients (the catalogue of
``data/clients.toml``, and ``extra-clients``) kept in one kind of place more than one event loop
can reach, and says what goes wrong under the second loop."""

from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Holder, Runs
from loopcheck.analysis.tree import Site
from loopcheck.data.catalogue import Client
from loopcheck.engine.diagnostics import FixProposal, NoFix
from loopcheck.engine.rule import Rule


class ClientRule(Rule):
    """Reports catalogued async clients whose holder :meth:`matches`."""

    def check(self) -> None:
        analysis = self.analysis
        for creation, client in analysis.client_creations:
            site = analysis.tree.site(creation)
            holder = analysis.holders.of(creation)
            if self.matches(creation, client, site, holder):
                self.report(
                    creation,
                    self.message_for(creation, client, site, holder),
                    self.fix_for(creation, client, site, holder),
                )

    def matches(self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder) -> bool:
        raise NotImplementedError

    def message_for(self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder) -> str:
        raise NotImplementedError

    def fix_for(
        self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder
    ) -> FixProposal | NoFix | None:
        return None

    def in_worker_hook(self, creation: cst.BaseExpression) -> bool:
        return Runs.WORKER_HOOK in self.analysis.contexts.at(creation)

    @staticmethod
    def consequence(client: Client) -> str:
        """What happens under the second loop, in the words of the client's catalogue entry."""
        if client.binds == "creation":
            belongs = "it belongs to the loop it was created under"
        else:
            belongs = "it binds to the first event loop that uses it"
        return f"{belongs}, and under any other loop it fails with '{client.error}'"
