"""Rule tiers: which rules a run checks when nothing selects them.

The default set is what CI gates on, so it holds only rules whose findings are bugs in some
execution context (a second event loop, a worker thread, a newer Python). Rules about code that
works today go to an opt-in tier: a selector that names them (``--extend-select LCK401``,
``--select LCK``, ``--select ALL``) turns them on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    name: str
    opt_in: bool
    meaning: str  # one phrase, for --list-rules' legend, the rule pages and the README


TIERS: dict[str, Tier] = {
    tier.name: tier
    for tier in (
        Tier("bug", False, "on by default: each finding fails in some execution context"),
        Tier("modernisation", True, "opt-in: code that works today, written the way asyncio no longer recommends"),
        Tier("tooling", True, "opt-in: findings about loopcheck's own comments, not about event loops"),
    )
}
DEFAULT_TIER = "bug"
