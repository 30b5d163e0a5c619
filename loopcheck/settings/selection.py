"""``--select`` / ``--ignore``: rule codes or code prefixes (``LCK1``), validated against the
registry so that a typo is an error rather than a silently empty run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loopcheck.engine.rule import Rule


class SelectionError(ValueError):
    pass


def parse_codes(values: Iterable[str]) -> list[str]:
    """Codes from repeated and comma-separated option values, upper-cased."""
    return [c.strip().upper() for value in values for c in value.split(",") if c.strip()]


def _matching(known: Iterable[str], selector: str, option: str) -> set[str]:
    if selector == "ALL":
        return set(known)
    found = {code for code in known if code.startswith(selector)}
    if not found:
        where = f"{option}: " if option else ""
        raise SelectionError(f"{where}unknown rule code or prefix {selector!r}")
    return found


def validate_codes(known: Iterable[str], codes: Iterable[str], option: str = "") -> None:
    """Raise SelectionError for a code or prefix that names no rule."""
    known = list(known)
    for code in codes:
        _matching(known, code, option).pop()


def select_rules(
    rules: dict[str, type[Rule]],
    select: Sequence[str] | None,
    ignore: Sequence[str],
    extend_select: Sequence[str] = (),
) -> list[type[Rule]]:
    """The rules ``select`` (default: all but the opt-in ones) plus ``extend_select``, minus
    ``ignore``."""
    chosen = {code for code, rule in rules.items() if not rule.opt_in}
    if select:
        chosen = set().union(*(_matching(rules, s, "--select") for s in select))
    for selector in extend_select:
        chosen |= _matching(rules, selector, "--extend-select")
    for selector in ignore:
        chosen -= _matching(rules, selector, "--ignore")
    return [rules[code] for code in sorted(chosen)]
