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
# The hundreds digit of a per-file rule's code names its family: LCK1xx primitives, LCK2xx loops, ...
FAMILY_DIGITS = dict(zip(FILE_FAMILIES, "1234"))


def all_rules(families: tuple[str, ...] = FAMILIES) -> dict[str, type[Rule]]:
    """Every registered rule of ``families`` (all by default), by code, in code order."""
    for family in families:
        package = importlib.import_module(f"{__name__}.{family}")
        for module in pkgutil.iter_modules(package.__path__):
            if module.name.startswith("lck"):
                importlib.import_module(f"{package.__name__}.{module.name}")
    return dict(sorted(Rule.registry.items()))


def rule_module(code: str, scope: str = "file") -> str | None:
    """The module of the rule ``code`` (of ``scope``): the one whose name starts with its code in
    its family's package (``primitives/lck101_....py``, as ``python -m loopcheck.dev new-rule``
    writes it); None when there is none."""
    family = scope if scope in ("project", "noqa") else next((f for f, d in FAMILY_DIGITS.items() if d == code[3:4]), None)
    if family is None:
        return None
    package = importlib.import_module(f"{__name__}.{family}")
    prefix = f"{code.lower()}_"
    found = (module.name for module in pkgutil.iter_modules(package.__path__) if module.name.startswith(prefix))
    name = next(found, None)
    return None if name is None else f"{package.__name__}.{name}"


def rule_class(code: str, scope: str = "file") -> type[Rule]:
    """The class of the rule ``code``, importing its own module only (:func:`rule_module`): a
    file one rule can report on does not import the others. Every rule, when its module is not
    there."""
    if code not in Rule.registry:
        module = rule_module(code, scope)
        if module is not None:
            importlib.import_module(module)
    found = Rule.registry.get(code)
    return found if found is not None else all_rules()[code]


def file_rules() -> dict[str, type[Rule]]:
    """The rules of the per-file stage (each over one file's tree), by code: their examples and
    fixtures are single files."""
    return {code: rule for code, rule in all_rules().items() if rule.scope == "file"}
