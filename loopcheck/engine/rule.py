"""The rule base class and the registry every rule module joins by subclassing it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from loopcheck.engine.diagnostics import Edit, FixProposal, NoFix, Safety, SafeWhen, Withheld, declined
from loopcheck.engine.tiers import DEFAULT_TIER, TIERS
from loopcheck.prefilter.starts import Start, Where, declaration_mistakes

if TYPE_CHECKING:
    import libcst as cst
    from libcst.metadata import CodeRange

    from loopcheck.analysis import FileAnalysis
    from loopcheck.engine.context import LintContext
    from loopcheck.engine.registry import RuleInfo

CODE_PATTERN = re.compile(r"^LCK[0-9]{3}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
# An Invalid example's message: each finding's 1-based line and column, then what it says.
POSITIONED_MESSAGE = re.compile(r"^[0-9]+:[0-9]+ ")
MAX_INSTEAD = 100  # characters of a rule's ``instead``
FIX_KINDS = ("safe", "unsafe", "safe or unsafe", "sometimes unsafe", "none")


@dataclass(frozen=True)
class RuleDocs:
    """The sections of a rule's documentation page (rules/LCKxxx.md and ``--explain``)."""

    what_it_does: str
    why_is_this_bad: str
    example: str
    use_instead: str
    fix_safety: str
    affected_versions: str
    # Why the rule is in its tier (loopcheck/engine/tiers.py): for the default one, the context
    # in which a finding fails; for an opt-in one, why findings are not bugs.
    tier_reason: str
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class Valid:
    """A rule's example on which no rule reports anything."""

    code: str


@dataclass(frozen=True)
class Invalid:
    """A rule's example with everything the rule reports on it, as Fixit's inline tests state it.

    ``message``: each finding as ``"line:col message"``, a tuple of them when the example gives
    several (in the order of their positions). ``fix``: the example after every fix the rule
    offers on it (``--fix --unsafe-fixes``), None when no finding offers one; ``safety``: the
    safety of those fixes, "safe" or "unsafe" (an example whose fixes differ is split in two).
    """

    code: str
    message: str | tuple[str, ...]
    fix: str | None = None
    safety: str | None = None

    def __post_init__(self) -> None:
        if (self.fix is None) != (self.safety is None):
            raise ValueError("an Invalid example states a fix and its safety, or neither")
        if self.safety not in (None, "safe", "unsafe"):
            raise ValueError(f"safety {self.safety!r} is not 'safe' or 'unsafe'")

    @property
    def messages(self) -> tuple[str, ...]:
        return (self.message,) if isinstance(self.message, str) else self.message


@dataclass(frozen=True)
class Finding:
    """What a rule reports; the engine turns it into a Diagnostic."""

    node: cst.CSTNode
    message: str
    fix: FixProposal | None = None
    withheld: Withheld[FixProposal] | None = None


class Rule:
    """Base class of all rules: one subclass per module under ``loopcheck/rules/``.

    The engine parses a file once and hands every enabled rule the same :class:`LintContext`;
    :meth:`check` asks the shared analysis (``self.analysis``) for the constructs the rule starts
    from and reports with :meth:`report`. A fix is proposed with :meth:`propose`: its safety and
    title at once, its edits built later, only if someone needs them.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    docs: ClassVar[RuleDocs]
    # What --fix can do about a finding: "safe", "unsafe", "safe or unsafe" (depends on the
    # code), "sometimes unsafe" (no fix for some shapes) or "none". Checked against the fixtures.
    fix_kind: ClassVar[str] = "none"
    # What to write instead, for a finding that has no fix: one short line the text output
    # prints under it after the reason (``no fix: <reason>; instead, <this>``).
    instead: ClassVar[str] = ""
    # What the rule's findings start from: the candidate stage runs the rule only on files that
    # hold one of these (most files never touch an event loop; they are not even parsed).
    starts_from: ClassVar[tuple[Start, ...]] = ()
    # Where the constructs the rule reports sit: every place its starts name (derived from
    # ``starts_from``, so that a rule states it once).
    places: ClassVar[frozenset[Where]] = frozenset()
    # Whether a finding is a failure a program hits at run time (every fixture finding must then
    # belong to an exercise that fails); False for rules about code that works today but is
    # deprecated or fragile, whose exercises show that the fix keeps the behaviour.
    runtime_failure: ClassVar[bool] = True
    # What a rule looks at: "file" (one file's LibCST tree, in the per-file stage) or "project"
    # (the project model and its loop reach, once per run; see loopcheck/rules/project/).
    scope: ClassVar[str] = "file"
    # The rule's tier (loopcheck/engine/tiers.py): "bug", on by default, or an opt-in one
    # ("modernisation", "tooling") that only a selector naming the rule turns on.
    tier: ClassVar[str] = DEFAULT_TIER
    # Whether the rule is off by default: derived from ``tier``, never declared.
    opt_in: ClassVar[bool] = False
    # Fixit-style examples: no rule reports on a Valid one; on an Invalid one the rule reports
    # exactly the messages, at the positions, and fixes to exactly the code it states.
    valid: ClassVar[tuple[Valid, ...]] = ()
    invalid: ClassVar[tuple[Invalid, ...]] = ()

    registry: ClassVar[dict[str, type[Rule]]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        code = cls.__dict__.get("code")
        if code is None:  # an abstract intermediate class
            return
        if not CODE_PATTERN.match(code):
            raise ValueError(f"{cls.__name__}: bad rule code {code!r}")
        if cls.fix_kind not in FIX_KINDS:
            raise ValueError(f"{cls.__name__}: fix_kind {cls.fix_kind!r} is not one of {FIX_KINDS}")
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ValueError(
                f"{cls.__name__} ({code}): bad rule name {name!r}: lower-case words joined by dashes"
                " (module-level-async-client)"
            )
        cls._check_tier(code)
        cls._check_examples(code)
        cls._check_starts(code)
        cls._check_instead(code)
        cls.opt_in = TIERS[cls.tier].opt_in
        cls.places = frozenset(place for start in cls.starts_from for place in start.places)
        if code in Rule.registry:
            raise ValueError(f"rule code {code} is registered twice")
        taken = next((known for known in Rule.registry.values() if known.name == name), None)
        if taken is not None:
            raise ValueError(f"{cls.__name__} ({code}): the name {name} is taken by {taken.code}")
        Rule.registry[code] = cls

    @classmethod
    def _check_tier(cls, code: str) -> None:
        """A known tier, declared instead of ``opt_in``; the default tier only for rules whose
        findings are failures (their exercises are checked to fail at run time)."""
        if "opt_in" in cls.__dict__:
            raise ValueError(f"{cls.__name__} ({code}): declare tier, not opt_in (it follows from the tier)")
        if cls.tier not in TIERS:
            raise ValueError(f"{cls.__name__} ({code}): tier {cls.tier!r} is not one of {tuple(TIERS)}")
        if not TIERS[cls.tier].opt_in and not cls.runtime_failure:
            raise ValueError(
                f"{cls.__name__} ({code}): runtime_failure is False, so its findings are not bugs: "
                f"tier {cls.tier!r} is for rules whose findings fail; choose an opt-in tier"
            )

    @classmethod
    def _check_examples(cls, code: str) -> None:
        """An Invalid's message states where each finding is, as the test of the examples
        compares it."""
        for position, example in enumerate(cls.invalid):
            for message in getattr(example, "messages", ()):
                if not POSITIONED_MESSAGE.match(message):
                    raise ValueError(
                        f"{cls.__name__} ({code}): invalid[{position}]: message {message!r} does not start"
                        " with the finding's 'line:col '"
                    )

    @classmethod
    def _check_instead(cls, code: str) -> None:
        """``instead`` is printed on one indented line under a finding: a single line, short
        enough for a terminal, that continues the reason (lower-case, no final full stop)."""
        advice = cls.instead
        if not isinstance(advice, str) or "\n" in advice or len(advice) > MAX_INSTEAD:
            raise ValueError(f"{cls.__name__} ({code}): instead must be one line of at most {MAX_INSTEAD} characters")
        if advice and (advice[0].isupper() or advice.endswith(".")):
            raise ValueError(f"{cls.__name__} ({code}): instead continues a sentence: {advice!r}")

    @classmethod
    def _check_starts(cls, code: str) -> None:
        """``starts_from`` is a tuple of Start (the places are read from it). What each start
        says is checked by :meth:`start_mistakes` where the rules are generated and tested, not
        each time a run imports a rule."""
        starts = cls.starts_from
        if not isinstance(starts, tuple):
            raise ValueError(f"{cls.__name__} ({code}): starts_from must be a tuple of Start, not {starts!r}")
        found = [f"starts_from[{position}]: {start!r} is not a Start"
                 for position, start in enumerate(starts) if not isinstance(start, Start)]
        if found:
            raise ValueError(f"{cls.__name__} ({code}): " + "; ".join(found))

    @classmethod
    def start_mistakes(cls) -> str | None:
        """What is wrong with the rule's ``starts_from`` (``starts.declaration_mistakes``), in one
        line naming the rule; None when nothing is. ``python -m loopcheck.dev generate`` refuses
        to write the rule index (the starts a run reads) while a rule has one."""
        found = declaration_mistakes(cls.starts_from, tuple(example.code for example in cls.invalid))
        return f"{cls.__name__} ({cls.code}): " + "; ".join(found) if found else None

    def __init__(self, context: LintContext) -> None:
        self.context = context
        self.findings: list[Finding] = []

    @property
    def analysis(self) -> FileAnalysis:
        return self.context.analysis

    def check(self) -> None:
        raise NotImplementedError

    def report(
        self,
        node: cst.CSTNode,
        message: str | None = None,
        fix: FixProposal | NoFix | Withheld[FixProposal] | None = None,
    ) -> None:
        message = message or self.summary
        withheld = None
        if isinstance(fix, Withheld):  # offered where the project model shows it may be
            names = (*fix.alone.names, *(fix.imported.names if fix.imported else ()))
            withheld = fix if self.context.naming.unspellable(names) is None else None
            fix = NoFix(fix.reason)
        if isinstance(fix, NoFix):
            message, fix = declined(message, fix.reason), None
        if fix is not None and fix.names:
            reason = self.context.naming.unspellable(fix.names)
            if reason is not None:
                message, fix = declined(message, reason), None
        self.findings.append(Finding(node, message, fix, withheld))

    @staticmethod
    def propose(
        safety: Safety,
        title: str,
        build: Callable[[], tuple[Edit, ...]],
        names: tuple[str, ...] = (),
        safe_when: SafeWhen | None = None,
    ) -> FixProposal:
        """A fix whose edits ``build`` makes later; ``names``: the standard library objects
        they name (see FixBuilder.name); ``safe_when``: what would make an unsafe one safe."""
        return FixProposal(safety, title, build, names, safe_when)


def run_rules(
    context: LintContext, rules: Iterable[RuleInfo | type[Rule]]
) -> list[tuple[str, Finding, CodeRange]]:
    """Each of ``rules`` (a class, or the index's entry for it) over one file's ``context``, in
    turn: every finding, with its rule's code and its node's position."""
    checked = []
    for rule in rules:
        check = (rule if isinstance(rule, type) else rule.rule)(context)
        check.check()
        checked.append(check)
    found = [(check.code, finding) for check in checked for finding in check.findings]
    if not found:
        return []
    positions = context.analysis.positions
    return [(code, finding, positions[finding.node]) for code, finding in found]
