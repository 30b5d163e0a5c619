"""``--select`` / ``--ignore``: rule codes or code prefixes (``LCK1``), validated against the
registry so that a typo is an error rather than a silently empty run."""

from __future__ import annotations

from collections.abc import Iterable

from loopcheck.rule import Rule


class SelectionError(ValueError):
    pass


def parse_codes(values: Iterable[str]) -> list[str]:
    """Codes from repeated and comma-separated option values, upper-cased."""
    return [c.strip().upper() for value in values for c in value.split(",") if c.strip()]


def _matching(rules: dict[str, type[Rule]], selector: str, option: str) -> set[str]:
    if selector == "ALL":
        return set(rules)
    found = {code for code in rules if code.startswith(selector)}
    if not found:
        raise SelectionError(f"{option}: unknown rule code or prefix {selector!r}")
    return found


def select_rules(
    rules: dict[str, type[Rule]], select: list[str], ignore: list[str]
) -> list[type[Rule]]:
    chosen = set(rules)
    if select:
        chosen = set().union(*(_matching(rules, s, "--select") for s in select))
    for selector in ignore:
        chosen -= _matching(rules, selector, "--ignore")
    return [rules[code] for code in sorted(chosen)]
