"""Rule modules: importing this package imports each module, which registers its rule."""

from __future__ import annotations

import importlib
import pkgutil

from loopcheck.engine.rule import Rule


def all_rules() -> dict[str, type[Rule]]:
    """Every registered rule, by code, in code order."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return dict(sorted(Rule.registry.items()))
