"""The rules, one module per rule (``lckNNN_<name>.py``) in a package per family:

- ``primitives/`` LCK1xx: asyncio primitives created once and shared by every loop;
- ``loops/`` LCK2xx: event loops built, kept or run by hand;
- ``clients/`` LCK3xx: async clients created once and shared by every loop;
- ``loop_access/`` LCK4xx: the current loop looked up, captured or reached from other threads;
- ``project/``: rules over the project model, whose loop and object are in different modules
  (codes in the families above);
- ``noqa/`` LCK9xx: the ``# noqa`` comments themselves (opt-in).

Importing a rule module registers its rule; ``docs`` renders the rules' pages and ``--explain``;
``creations`` is the base the LCK1xx and LCK3xx families share.
"""

from __future__ import annotations

import importlib
import pkgutil

from loopcheck.engine.rule import Rule

# The families of the per-file rules, then the project rules (over the project model).
FILE_FAMILIES = ("primitives", "loops", "clients", "loop_access")
FAMILIES = (*FILE_FAMILIES, "project", "noqa")


def all_rules(families: tuple[str, ...] = FAMILIES) -> dict[str, type[Rule]]:
    """Every registered rule of ``families`` (all by default), by code, in code order."""
    for family in families:
        package = importlib.import_module(f"{__name__}.{family}")
        for module in pkgutil.iter_modules(package.__path__):
            if module.name.startswith("lck"):
                importlib.import_module(f"{package.__name__}.{module.name}")
    return dict(sorted(Rule.registry.items()))


def file_rules() -> dict[str, type[Rule]]:
    """The rules of the per-file stage (each over one file's tree), by code: their examples and
    fixtures are single files."""
    return {code: rule for code, rule in all_rules().items() if rule.scope == "file"}
