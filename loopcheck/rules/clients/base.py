"""What the LCK3xx rules share: each one reports async clients (the catalogue of
``data/clients.toml``, and ``extra-clients``) kept in one kind of place more than one event loop
can reach, and says what goes wrong under the second loop."""

from __future__ import annotations

import libcst as cst

from loopcheck.analysis import Holder, Runs
from loopcheck.analysis.tree import Site
from loopcheck.data.catalogue import Client
from loopcheck.engine.diagnostics import FixProposal, NoFix, Withheld
from loopcheck.fixes.constructor_argument import argument_fix
from loopcheck.rules.creations import CreationRule

# What the pages of the rules that offer fixes say of the library's own fix (see offered_fix).
LIBRARY_FIX_SAFETY = """
A SQLAlchemy async engine is fixed as SQLAlchemy advises, wherever it is kept: made with
`poolclass=NullPool` (unsafe: no pooling), its name and every reference unchanged; where its
pool's options rule that out, the rule's per-loop fix: one engine per event loop, disposed when
that loop ends (see LCK301)."""


class ClientRule(CreationRule[Client]):
    """Reports catalogued async clients made where the rule's starts say whose holder
    :meth:`matches`."""

    def creations(self) -> list[tuple[cst.BaseExpression, Client]]:
        return self.analysis.client_creations

    def offered_fix(
        self, creation: cst.BaseExpression, client: Client, site: Site, holder: Holder
    ) -> FixProposal | NoFix | Withheld[FixProposal] | None:
        """The library's own fix where the catalogue has one (``poolclass=NullPool``): it keeps
        the client, its name and its importers, wherever it is kept. Where the call rules it out,
        the rule's per-loop fix (also one the project model offers for a public name), and
        failing that the reasons both were declined. A rule that documents no fix offers none."""
        if self.fix_kind == "none":
            return self.fix_for(creation, client, site, holder)
        library = argument_fix(self.context, creation, client)
        if isinstance(library, FixProposal):
            return library
        own = self.fix_for(creation, client, site, holder)
        if isinstance(own, (FixProposal, Withheld)) or library is None:
            return own
        if isinstance(own, NoFix):
            return NoFix(f"{library.reason}, and it cannot be made per event loop: {own.reason}")
        return library

    def in_worker_hook(self, creation: cst.BaseExpression) -> bool:
        return Runs.WORKER_HOOK in self.analysis.contexts.at(creation)

    @staticmethod
    def consequence(client: Client) -> str:
        """What happens under the second loop, in the words of the client's catalogue entry."""
        if client.binds == "creation":
            belongs = "it belongs to the loop it was created under"
        else:
            belongs = "it binds to the first event loop that uses it"
        note = f"; {client.error_note}" if client.error_note else ""
        return f"{belongs}, and under any other loop it fails with '{client.error}'{note}"
