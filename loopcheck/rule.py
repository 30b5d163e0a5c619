"""The rule base class and the registry every rule module joins by subclassing it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import libcst as cst
from libcst.metadata import (
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from loopcheck.diagnostics import Fix

if TYPE_CHECKING:
    from loopcheck.engine import LintContext

CODE_PATTERN = re.compile(r"^LCK[0-9]{3}$")


@dataclass(frozen=True)
class RuleDocs:
    """The sections of a rule's documentation page (rules/LCKxxx.md and ``--explain``)."""

    what_it_does: str
    why_is_this_bad: str
    example: str
    use_instead: str
    fix_safety: str
    affected_versions: str
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """What a rule reports during traversal; the engine turns it into a Diagnostic."""

    node: cst.CSTNode
    message: str
    fix: Fix | None = None


class Rule(cst.BatchableCSTVisitor):
    """Base class of all rules: one subclass per module under ``loopcheck/rules/``.

    A rule is a LibCST batchable visitor: the engine runs every enabled rule in one traversal of
    the file and shares the metadata they declare. A rule reports with :meth:`report`, either while
    visiting or in :meth:`finish`, which runs when the traversal leaves the module.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    docs: ClassVar[RuleDocs]
    # What --fix can do about a finding: "safe", "unsafe", "safe or unsafe" (depends on the
    # code), "sometimes unsafe" (no fix for some shapes) or "none".
    fix_kind: ClassVar[str] = "none"
    # The rule is not run on a file whose text contains none of these words: most files never
    # touch an event loop, and skipping them saves the metadata resolution, the costly part.
    trigger_words: ClassVar[tuple[str, ...]] = ("asyncio",)
    # Fixit-style examples: VALID must stay silent, INVALID must each give at least one finding.
    valid: ClassVar[tuple[str, ...]] = ()
    invalid: ClassVar[tuple[str, ...]] = ()

    METADATA_DEPENDENCIES = (
        PositionProvider,
        QualifiedNameProvider,
        ScopeProvider,
        ParentNodeProvider,
    )

    registry: ClassVar[dict[str, type[Rule]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        code = cls.__dict__.get("code")
        if code is None:  # an abstract intermediate class
            return
        if not CODE_PATTERN.match(code):
            raise ValueError(f"{cls.__name__}: bad rule code {code!r}")
        if code in Rule.registry:
            raise ValueError(f"rule code {code} is registered twice")
        Rule.registry[code] = cls

    def __init__(self, context: LintContext) -> None:
        super().__init__()
        self.context = context
        self.findings: list[Finding] = []

    def report(self, node: cst.CSTNode, message: str | None = None, fix: Fix | None = None) -> None:
        self.findings.append(Finding(node, message or self.summary, fix))

    def leave_Module(self, original_node: cst.Module) -> None:
        # The last step of the traversal, while metadata is still available to the rule.
        self.finish()

    def finish(self) -> None:
        """Called once the whole file has been visited; rules that need all of it report here."""
