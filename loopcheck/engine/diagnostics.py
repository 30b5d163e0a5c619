"""The values the engine produces: findings, their fixes and the text edits of a fix."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar


class Safety(str, enum.Enum):
    """How far a fix can be trusted (the split Ruff users know).

    SAFE fixes keep the program's behaviour and are applied by ``--fix``; UNSAFE fixes change
    object identity or lifetime and are applied only with ``--unsafe-fixes``.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class Edit:
    """Replace ``source[start:end]`` (character offsets) with ``content``."""

    start: int
    end: int
    content: str


# A function (qualified within its module, as the project model names it: ``run_async``,
# ``outer.inner``) and one of its parameters.
Parameter = tuple[str, str]
# What :attr:`Proven.imported` holds for ``from module import *``.
STAR = "*"


@dataclass(frozen=True)
class Proven:
    """What the project model shows about one file, for :class:`SafeWhen`: the parameters of
    its functions that every caller gives a coroutine, and the names other modules import from
    it."""

    parameters: frozenset[Parameter] = frozenset()
    imported: frozenset[str] = frozenset()
    # The model loaded the file and the modules of the project that import it: ``imported`` is
    # all they import from it (without the model nothing is known, and nothing is proven).
    modelled: bool = False
    # The module-level names (``*``: every name) whose fixes the model declines, each with why
    # (a module importing it uses it where no loop runs, or could not be read).
    declined: frozenset[tuple[str, str]] = frozenset()

    def declined_for(self, names: Iterable[str]) -> str | None:
        """Why the fixes of ``names`` are declined, or None when they are not."""
        names = {*names, STAR}
        return next((reason for name, reason in sorted(self.declined) if name in names), None)

    def imports_any(self, names: Iterable[str], by_star: Callable[[str], bool] = lambda name: True) -> bool:
        """Whether another module imports one of ``names``; ``from module import *`` takes
        those ``by_star`` accepts."""
        names = set(names)
        if STAR in self.imported and any(by_star(name) for name in names):
            return True
        return not names.isdisjoint(self.imported)


@dataclass(frozen=True)
class SafeWhen:
    """What makes an unsafe fix safe, where the project model shows it: every caller of each of
    ``parameters``' functions passes a coroutine there (a call of an ``async def`` it resolves),
    so ``asyncio.run()`` is given what ``run_until_complete()`` was, and no other module imports
    a name of ``removes`` (the module-level names the fix deletes). ``title``: the fix's title
    then (without the reason it was unsafe)."""

    parameters: tuple[Parameter, ...]
    title: str
    removes: tuple[str, ...] = ()

    def holds(self, proven: Proven) -> bool:
        # `from module import *` takes every public name
        public = proven.imports_any(self.removes, by_star=lambda name: not name.startswith("_"))
        return set(self.parameters) <= proven.parameters and not public


@dataclass(frozen=True)
class Fix:
    """A finding's fix: its safety and title always; its edits only when they were asked for
    (``--fix``, ``--diff``, JSON and SARIF output), else None. ``safe_when``: for an unsafe fix,
    what would make it safe (see :class:`SafeWhen`)."""

    safety: Safety
    description: str
    edits: tuple[Edit, ...] | None = None
    safe_when: SafeWhen | None = None

    def proven(self, proven: Proven) -> Fix:
        """This fix, safe when what the project model shows of its file makes it so."""
        if self.safe_when is None or not self.safe_when.holds(proven):
            return self
        return Fix(Safety.SAFE, self.safe_when.title, self.edits)


@dataclass(frozen=True)
class NoFix:
    """A fix declined for a reason the finding's message states (one the user can act on):
    ``...; no fix: <reason>`` (see :func:`declined`)."""

    reason: str


NO_FIX = "; no fix: "


def declined(message: str, reason: str) -> str:
    """A finding's message that says why it has no fix: ``<message>; no fix: <reason>``."""
    return f"{message}{NO_FIX}{reason}"


def declined_reason(message: str) -> tuple[str, str | None]:
    """A finding's message without the reason its fix was declined, and that reason (None when
    the message states none)."""
    head, found, reason = message.partition(NO_FIX)
    return (head, reason) if found else (message, None)


@dataclass(eq=False)
class FixProposal:
    """A fix a finding offers. Several findings may share one proposal (a loop and each of its
    uses); the engine builds it once and counts every finding it resolves."""

    safety: Safety
    title: str
    build: Callable[[], tuple[Edit, ...]] = field(repr=False)
    # The standard library objects the edits name (``asyncio.get_running_loop``): a fix that
    # cannot name one of them for sure is declined when the finding is reported.
    names: tuple[str, ...] = ()
    safe_when: SafeWhen | None = None

    def proven(self, proven: Proven) -> FixProposal:
        """This proposal, safe when ``proven`` makes it so (see :meth:`Fix.proven`)."""
        if self.safe_when is None or not self.safe_when.holds(proven):
            return self
        return FixProposal(Safety.SAFE, self.safe_when.title, self.build, self.names)

    def shown(self) -> Fix:
        """The fix as a finding shows it, without its edits."""
        return Fix(self.safety, self.title, safe_when=self.safe_when)



# A fix as a finding shows it (Fix), or as the rule proposes it (FixProposal).
Offered = TypeVar("Offered", "Fix", "FixProposal")


@dataclass(frozen=True)
class Withheld(Generic[Offered]):
    """A fix the file alone cannot justify, for the project model to offer: it replaces the
    module-level ``names``, public ones other modules may import, so that without the model the
    finding has no fix, for ``reason``. Where the model shows that no module of the project
    imports one of them, ``alone`` is offered (the fix a private name gets); where one does,
    ``imported`` (a fix that keeps the names importable), or no fix when that is None."""

    names: tuple[str, ...]
    reason: str
    alone: Offered
    imported: Offered | None = None

    def chosen(self, proven: Proven) -> Offered | NoFix | None:
        """The fix ``proven`` (what the model shows of the file) lets the finding offer, or why
        the model declines it; None when it offers none (the finding keeps ``reason``)."""
        if not proven.modelled:
            return None
        reason = proven.declined_for(self.names)
        if reason is not None:
            return NoFix(reason)
        return self.imported if proven.imports_any(self.names) else self.alone

    def shown(self) -> Withheld[Fix]:
        """As a finding shows it, without the edits (of proposals: see FixProposal.shown)."""
        alone, imported = self.alone, self.imported
        return Withheld(
            self.names,
            self.reason,
            alone.shown() if isinstance(alone, FixProposal) else alone,
            imported.shown() if isinstance(imported, FixProposal) else imported,
        )


@dataclass(frozen=True)
class Location:
    """A place in a file, with what happens there. Lines and columns are 1-based."""

    path: str
    line: int
    column: int
    message: str


@dataclass(frozen=True)
class Evidence:
    """One event loop that reaches a finding's object, from the project model: ``message`` says
    which loop and how (``reached from the Celery task 'sync' (asyncio.run: a new event loop per
    call) via tasks.run_async -> notify.publish``), ``location`` is where the loop starts running
    code, ``steps`` are the calls from there to the object, in order (the entry point first)."""

    message: str
    location: Location
    steps: tuple[Location, ...] = ()


@dataclass(frozen=True)
class Granted:
    """A project rule's fix, built where its finding's file is fixed (the project stage reads
    summaries, not the file's syntax; see ``ProjectRule.fix_in_file``): the module-level ``name``
    bound to a call of ``callee`` (as written) that the fix rewrites, wherever the statement is
    by then, and what the fix needs of other modules that only the model knows (``facts``, the
    rule's own keys and values)."""

    name: str
    callee: str
    facts: tuple[tuple[str, str], ...] = ()

    def fact(self, key: str) -> str | None:
        return dict(self.facts).get(key)


@dataclass(frozen=True)
class Diagnostic:
    """One finding. Lines and columns are 1-based; the end is exclusive."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    message: str
    fix: Fix | None = None
    evidence: tuple[Evidence, ...] = ()  # the loops that reach the object, where the model knows
    # In a notebook: the cell's number (1-based, among all its cells); the lines are the cell's.
    cell: int | None = None
    # A fix only the project model can offer (the message says why there is none without it).
    withheld: Withheld[Fix] | None = None
    # A project rule's fix, for the fixing of the finding's file to build (its ``fix`` shows it).
    granted: Granted | None = None

    def proven(self, proven: Proven) -> Diagnostic:
        """This finding with the fix ``proven`` (what the project model shows of its file) makes
        safe, or offers where the file alone could not."""
        if self.fix is not None:
            fixed = self.fix.proven(proven)
            return self if fixed is self.fix else replace(self, fix=fixed)
        chosen = self.withheld.chosen(proven) if self.withheld is not None else None
        if chosen is None:
            return self
        said = declined_reason(self.message)[0]
        if isinstance(chosen, NoFix):
            return replace(self, message=declined(said, chosen.reason), withheld=None)
        return replace(self, message=said, fix=chosen, withheld=None)

    def sort_key(self) -> tuple[str, int, int, int, str]:
        """By place: a notebook's findings by cell first (their lines are their cells')."""
        return (self.path, self.cell or 0, self.line, self.column, self.code)
