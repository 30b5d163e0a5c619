"""What a run needs to know of the rules before any file needs LibCST: each rule's code, name,
summary, fix kind, what it starts from and what to write where it has no fix. It is read from ``data/rules.json``, which
``python -m loopcheck.dev generate`` writes from the rule classes (a test fails when it is stale), so
that a run over files no rule can report on never imports LibCST or a rule module."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from loopcheck.data import data_text
from loopcheck.engine.tiers import DEFAULT_TIER, TIERS
from loopcheck.prefilter.starts import Start, Where

if TYPE_CHECKING:
    from loopcheck.engine.rule import Rule

INDEX = "rules.json"


@dataclass(frozen=True)
class RuleInfo:
    code: str
    name: str
    summary: str
    fix_kind: str
    starts_from: tuple[Start, ...]
    scope: str = "file"  # or "project": a rule over the project model, never run per file
    tier: str = DEFAULT_TIER  # see loopcheck/engine/tiers.py
    instead: str = ""  # what to write where a finding has no fix (see Rule.instead)
    # For a rule that offers no fix, why (the first sentence of its documented fix safety): what
    # the text output says of each finding.
    no_fix: str = ""

    @property
    def opt_in(self) -> bool:
        """Off unless a selector names the rule (see Rule.tier)."""
        return TIERS[self.tier].opt_in

    @property
    def rule(self) -> type[Rule]:
        """The rule class itself (this imports LibCST and the rule's module)."""
        from loopcheck.rules import rule_class

        return rule_class(self.code, self.scope)


@cache
def rule_index() -> dict[str, RuleInfo]:
    """Every rule, by code, in code order."""
    data = json.loads(data_text(INDEX))
    return {
        entry["code"]: RuleInfo(
            code=entry["code"],
            name=entry["name"],
            summary=entry["summary"],
            fix_kind=entry["fix_kind"],
            starts_from=tuple(_start_of(start) for start in entry["starts_from"]),
            scope=entry.get("scope", "file"),
            tier=entry.get("tier", DEFAULT_TIER),
            instead=entry.get("instead", ""),
            no_fix=entry.get("no_fix", ""),
        )
        for entry in data
    }


def _start_of(entry: dict[str, Any]) -> Start:
    """A start from its rules.json entry (lists for tuples, places by their value)."""
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in entry.items()}
    if "where" in values:
        values["where"] = tuple(Where(place) for place in values["where"])
    return Start(**values)


def _entry_of(start: Start) -> dict[str, Any]:
    """The rules.json entry of a start: the fields it sets."""
    entry = start.declared()
    if "where" in entry:
        entry["where"] = [place.value for place in start.where]
    return entry


def index_of(rules: dict[str, type[Rule]]) -> str:
    """The text of ``data/rules.json`` for the rule classes."""
    entries: list[dict[str, Any]] = []
    for code, rule in rules.items():
        starts = [_entry_of(start) for start in rule.starts_from]
        entry: dict[str, Any] = {"code": code, "name": rule.name, "summary": rule.summary,
                                 "fix_kind": rule.fix_kind, "starts_from": starts}
        if rule.scope != "file":
            entry["scope"] = rule.scope
        if rule.tier != DEFAULT_TIER:
            entry["tier"] = rule.tier
        if rule.instead:
            entry["instead"] = rule.instead
        if rule.fix_kind == "none":
            entry["no_fix"] = no_fix_reason(rule.docs.fix_safety)
        entries.append(entry)
    return json.dumps(entries, indent=1) + "\n"


# How a rule without fixes documents its fix safety: "No fix: <why>. <more>".
NO_FIX_OPENING = "No fix: "


def no_fix_reason(fix_safety: str) -> str:
    """The first sentence of a "No fix: ..." section, after its opening, on one line and without
    its full stop: why the rule's findings have no fix."""
    text = " ".join(fix_safety.removeprefix(NO_FIX_OPENING).split())
    first, _, _ = text.partition(". ")
    return first.removesuffix(".")
