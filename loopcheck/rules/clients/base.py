"""What the LCK3xx rules share: each one reports async clients (the catalogue of
``data/clients.toml``, and ``extra-clients``) kept in one kind of place more than one event loop
can reach, and says what goes wrong under the second loop."""

from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Runs
from loopcheck.data.catalogue import Client
from loopcheck.rules.creations import CreationRule


class ClientRule(CreationRule[Client]):
    """Reports catalogued async clients made where the rule's starts say whose holder
    :meth:`matches`."""

    def creations(self) -> list[tuple[cst.BaseExpression, Client]]:
        return self.analysis.client_creations

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
