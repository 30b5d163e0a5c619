"""``new-rule``: a new rule's module and fixture, written from ``templates/`` with placeholders
(lines marked :data:`PLACEHOLDER`) that fail the tests until they are filled in.

The templates hold the rule declaration as loopcheck writes it today; when that changes, only
``templates/rule.py.template`` changes."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from string import Template

from loopcheck.engine.rule import CODE_PATTERN, NAME_PATTERN
from loopcheck.rules import FAMILY_DIGITS, all_rules

PLACEHOLDER = "TODO(new-rule)"
TEMPLATES = Path(__file__).parent / "templates"
# (Project rules, over the project model, have no single-file fixture: they are written by hand.)


@dataclass(frozen=True)
class NewRule:
    code: str
    name: str
    family: str

    @property
    def class_name(self) -> str:
        return "".join(word.capitalize() for word in self.name.split("-"))

    def module(self, root: Path) -> Path:
        return root / "loopcheck" / "rules" / self.family / f"{self.code.lower()}_{self.name.replace('-', '_')}.py"

    def fixture(self, root: Path) -> Path:
        return root / "tests" / "fixtures" / f"{self.code}.py"


def refusal(rule: NewRule, root: Path) -> str | None:
    """Why ``rule`` cannot be added under ``root``, in one line; None if it can."""
    if not CODE_PATTERN.match(rule.code):
        return f"bad rule code {rule.code!r}: LCK and three digits (LCK406)"
    if rule.code[3] != FAMILY_DIGITS[rule.family]:
        return f"{rule.code} is not a code of {rule.family}: its codes are LCK{FAMILY_DIGITS[rule.family]}xx"
    if not NAME_PATTERN.match(rule.name):
        return f"bad rule name {rule.name!r}: lower-case words joined by dashes (module-level-async-client)"
    rules = all_rules()
    if rule.code in rules:
        return f"{rule.code} exists: {rules[rule.code].__module__}"
    taken = next((code for code, known in rules.items() if known.name == rule.name), None)
    if taken:
        return f"the name {rule.name} is taken by {taken}"
    modules = root.glob(f"loopcheck/rules/*/{rule.code.lower()}_*.py")
    written = [path for path in (*modules, rule.fixture(root)) if path.exists()]
    if written:
        return f"{rule.code} exists: {written[0].relative_to(root)}"
    return None


def write_rule(rule: NewRule, root: Path) -> list[Path]:
    """Writes the rule's module and fixture; returns their paths."""
    values = {"code": rule.code, "name": rule.name, "family": rule.family, "class_name": rule.class_name}
    written = []
    for template, path in (("rule.py.template", rule.module(root)), ("fixture.py.template", rule.fixture(root))):
        text = Template((TEMPLATES / template).read_text("utf-8")).substitute(values)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    importlib.invalidate_caches()  # the rule registry must find the new module
    return written


def placeholders(path: Path) -> list[str]:
    """The placeholder lines of the scaffold left in ``path``, as ``name:line: text``."""
    return [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1)
        if PLACEHOLDER in line
    ]
