"""One file's way through the engine, top to bottom. Every way in (the command line's files and
standard input, the flake8 plugin) calls :func:`check_file` or :func:`fix_file`; the runner reads
the file before and writes it after. Each stage is entered once per pass:

1. the text test (``prefilter``): a file in which no rule's start is called ends here, unparsed
   (most files);
2. form feeds in indentation hidden from LibCST (``formfeed``);

then under the guard (``guard``, applied once: the deep stack, every failure one line):

3. the parse: the interpreter's syntax check, which gives the ``ast`` tree (``syntax``);
4. the ``ast`` pre-filter: the rules whose starts the tree holds (``prefilter``);
5. the limits: nodes and nesting, bounded before LibCST starts (``limits``);
6. LibCST, the shared analysis and the rules (``engine``);
7. ``# noqa`` (``suppression``);
8. with fixing: the compatible fixes applied (``edits``), then 3-7 again over the result, pass
   after pass until no fix is left, and the fixed text compiled;
9. form feeds put back, and positions mapped to the text as given.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from types import MappingProxyType
from typing import TYPE_CHECKING

from loopcheck.engine import formfeed, guard
from loopcheck.engine.diagnostics import (
    Diagnostic,
    Edit,
    Fix,
    FixProposal,
    NoFix,
    Proven,
    Safety,
    Withheld,
    declined,
    declined_reason,
)
from loopcheck.engine.edits import apply_edits, select_compatible
from loopcheck.engine.engine import FixOutcome, Linter, Result
from loopcheck.engine.limits import check_complexity
from loopcheck.engine.syntax import check_syntax
from loopcheck.files import SourceError
from loopcheck.settings.suppression import unsuppressed

if TYPE_CHECKING:
    from loopcheck.engine.reparse import Reparse  # LibCST's: imported where it is used

# Each pass applies the fixes that do not overlap, then re-checks the result; a file whose fixes
# keep producing new fixes past this many passes is left untouched.
MAX_FIX_PASSES = 100


def check_file(
    linter: Linter,
    text: str,
    path: str,
    *,
    build_fixes: bool = False,
    tree: ast.AST | None = None,
    parsed: Callable[[ast.Module], None] | None = None,
    reparse: Reparse | None = None,
) -> list[Diagnostic]:
    """The findings in ``text``; their fixes' edits are built only with ``build_fixes``.
    ``tree``: the file as the ``ast`` module parsed it, where the caller has it (flake8).
    ``parsed``: given the tree of ``text`` when the parse stage made one (as
    ``ast.parse(text)`` gives it), for the caller to use it too. ``reparse``: the last LibCST
    module of ``path``, from which LibCST parses only the statements an edit changed."""
    if not linter.candidates.may_match(text):
        return _only_noqa(linter, text, path)
    return guard.guarded(lambda: _check(linter, text, path, build_fixes, tree, parsed, reparse))


def with_granted_shown(
    linter: Linter, text: str, path: str, diagnostics: Sequence[Diagnostic], *, build_fixes: bool = False
) -> list[Diagnostic]:
    """``diagnostics`` (a file's, from the project stage) with the project rules' granted ones
    among them as fixing ``text`` shows them before it fixes anything (see ``fix_file``): where
    its rule finds one, with the fix built on the file, or without one and saying why (the edits
    only with ``build_fixes``); as it is where the file does not show it. A plain check shows
    them so: the file's syntax decides, as for --fix. The others are as they are."""
    granted = [d for d in diagnostics if d.granted is not None]
    if not granted:
        return list(diagnostics)
    found = guard.guarded(lambda: _check(linter, text, path, build_fixes, None, None, granted=granted, rules=False))
    # The fixing reports a granted finding with its message, and the reason where it declines.
    shown = {(d.code, declined_reason(d.message)[0]): d for d in found}
    return [shown.get((d.code, declined_reason(d.message)[0]), d) if d.granted is not None else d for d in diagnostics]


def _only_noqa(linter: Linter, text: str, path: str) -> list[Diagnostic]:
    """The findings of a file no rule can report on: the ``# noqa`` rule's alone."""
    return [r.diagnostic for r in _noqa_results_alone(linter, text, path)]


def _noqa_results_alone(linter: Linter, text: str, path: str) -> list[Result]:
    if linter.noqa_rule is None or not linter.honour_noqa:
        return []
    return unsuppressed(linter.noqa_results(text, path, []), text, attrgetter("diagnostic"))


def _check(
    linter: Linter,
    text: str,
    path: str,
    build_fixes: bool,
    tree: ast.AST | None,
    parsed: Callable[[ast.Module], None] | None,
    reparse: Reparse | None = None,
    granted: Sequence[Diagnostic] = (),
    rules: bool = True,
) -> list[Diagnostic]:
    normalised = formfeed.normalise(text)
    if normalised is not None:
        # A given tree is of the text with its form feeds; the one parsed here is not of it.
        text, tree, parsed = normalised.text, None, None
    found = _findings(linter, text, path, tree, parsed, reparse, granted, rules)
    diagnostics = _with_edits(found, {}) if build_fixes else [r.diagnostic for r in found]
    return diagnostics if normalised is None else [normalised.diagnostic(d) for d in diagnostics]


def fix_file(
    linter: Linter,
    text: str,
    path: str,
    *,
    unsafe: bool,
    build_fixes: bool = False,
    held_back: frozenset[int] = frozenset(),
    declined: Mapping[int, str] = MappingProxyType({}),
    proven: Proven = Proven(),
    granted: Sequence[Diagnostic] = (),
) -> FixOutcome:
    """Every applicable fix (the unsafe ones too with ``unsafe``), pass after pass, until none is
    left. The result compiles: a fix that produced invalid code raises SourceError, and the
    caller writes nothing. ``held_back``: lines of ``text`` whose findings are neither fixed nor
    reported (objects the project model shows one loop only reaches). ``declined``: lines whose
    findings are reported without their fix, with the reason the message gives. ``proven``: what
    the project model shows of the file (fixes unsafe only for want of it are safe: ``SafeWhen``).
    ``granted``: the project rules' findings in the file whose fixes are built on its text, pass
    after pass, as the per-file rules' are (``Diagnostic.granted``); they are among the findings
    returned while their fix is not applied."""
    if not granted and not linter.candidates.may_match(text):
        found = _only_noqa(linter, text, path)
        return FixOutcome(text, 0, found, found)
    return guard.guarded(lambda: _fix(linter, text, path, unsafe, build_fixes, held_back, declined, proven, granted))


def _fix(
    linter: Linter,
    text: str,
    path: str,
    unsafe: bool,
    build_fixes: bool,
    held_back: frozenset[int],
    declined: Mapping[int, str],
    proven: Proven,
    granted: Sequence[Diagnostic],
) -> FixOutcome:
    normalised = formfeed.normalise(text)
    given = text if normalised is None else normalised.text
    # By the lines' text: the fixes of one pass move the lines below them.
    lines = given.splitlines()
    kept_lines = _line_texts(lines, {**dict.fromkeys(held_back), **declined})
    outcome, compiled = _fix_passes(linter, given, path, unsafe, build_fixes, kept_lines, proven, granted)
    if normalised is not None:
        restored = formfeed.restore(normalised, outcome.source)
        outcome = FixOutcome(
            restored.original,
            outcome.fixed,
            [restored.diagnostic(d) for d in outcome.remaining],
            [normalised.diagnostic(d) for d in outcome.found],
        )
    if outcome.source != text and outcome.source != compiled:  # no pass compiled it as it is
        try:
            check_syntax(outcome.source, path, linter.target_version, project_python=linter.fix_target)
        except SourceError as error:
            raise _invalid_fix(error) from None
    return outcome


def _line_texts(lines: list[str], numbered: Mapping[int, str | None]) -> dict[str, str | None]:
    """``numbered`` (by line number) by the stripped text of each line instead."""
    return {lines[n - 1].strip(): value for n, value in numbered.items() if 0 < n <= len(lines)}


# By the stripped text of a line: None, its findings are neither fixed nor reported (held back);
# a reason, they are reported without their fix (declined).
Kept = Mapping[str, "str | None"]


def _as_proven(results: list[Result], proven: Proven) -> list[Result]:
    """``results`` with the fixes ``proven`` makes safe made so, and those only the project
    model can offer offered where it shows they may be (a proposal shared by several findings
    stays shared)."""
    if not proven.parameters and not proven.modelled:
        return results
    made: dict[int, FixProposal | NoFix | None] = {}
    judged = []
    for result in results:
        proposal, withheld = result.proposal, result.withheld
        if proposal is not None and proposal.safe_when is not None:
            if id(proposal) not in made:
                made[id(proposal)] = proposal.proven(proven)
            result = Result(result.diagnostic.proven(proven), made[id(proposal)])
        elif proposal is None and withheld is not None:
            if id(withheld) not in made:
                made[id(withheld)] = withheld.chosen(proven)
            chosen = made[id(withheld)]
            if chosen is not None:  # offered, or declined for the reason the message now gives
                result = Result(result.diagnostic.proven(proven), None if isinstance(chosen, NoFix) else chosen)
        judged.append(result)
    return judged


def _as_kept(results: list[Result], source: str, kept: Kept) -> list[Result]:
    """``results`` without the held-back ones, and with the declined ones' fixes (and every
    finding that shares such a fix: it rewrites both lines) turned into their reason."""
    if not kept or not results:
        return results
    lines = source.splitlines()
    left, reasons = [], {}
    for result in results:
        line = result.diagnostic.line
        text = lines[line - 1].strip() if 0 < line <= len(lines) else None
        if text in kept and kept[text] is None:
            continue
        if text in kept and result.proposal is not None:
            reasons[id(result.proposal)] = kept[text]
        left.append(result)
    return [_without_fix(r, reasons[id(r.proposal)]) if id(r.proposal) in reasons else r for r in left]


def _without_fix(result: Result, reason: str) -> Result:
    message = declined(result.diagnostic.message, reason)
    return Result(dataclasses.replace(result.diagnostic, message=message, fix=None), None)


def _fix_passes(
    linter: Linter,
    source: str,
    path: str,
    unsafe: bool,
    build_fixes: bool,
    held_back: Kept,
    proven: Proven,
    granted: Sequence[Diagnostic],
) -> tuple[FixOutcome, str | None]:
    """The fixes applied to ``source``, pass after pass; and the last text a pass compiled."""
    # Of the text as given: its errors are its own.
    results = _as_kept(_as_proven(_findings(linter, source, path, granted=granted), proven), source, held_back)
    compiled = source if linter.syntax_check else None
    found: list[Diagnostic] = []
    fixed = 0
    given, together, tidied = source, False, False
    for number in range(MAX_FIX_PASSES):
        if number:  # the previous pass's output (the fixes may have removed every start)
            matched = bool(granted) or linter.candidates.may_match(source)
            try:
                results = (
                    _as_kept(_as_proven(_findings(linter, source, path, granted=granted), proven), source, held_back)
                    if matched
                    else _noqa_results_alone(linter, source, path)  # as check_file reports it
                )
            except SourceError as error:
                raise _invalid_fix(error) from None
            if matched and linter.syntax_check:
                compiled = source
        built: dict[int, tuple[Edit, ...]] = {}  # each proposal is built once per pass
        remaining = _with_edits(results, built) if build_fixes else [r.diagnostic for r in results]
        found = found if number else remaining
        edits, resolved, fixes = _compatible_fixes(results, unsafe, built)
        if not edits:
            if together and not tidied:
                # Fixes applied together may have left an import unused that each kept for the
                # other; one more pass reports on the text without it.
                tidied = True
                without = _imports_left_unused_dropped(given, source)
                if without != source:
                    source = without
                    continue
            return FixOutcome(source, fixed, remaining, found), compiled
        source = apply_edits(source, edits)
        fixed += resolved
        together = together or fixes > 1
    raise SourceError(f"fixes did not settle after {MAX_FIX_PASSES} passes, file left unchanged")


def _findings(
    linter: Linter,
    text: str,
    path: str,
    tree: ast.AST | None = None,
    parsed: Callable[[ast.Module], None] | None = None,
    reparse: Reparse | None = None,
    granted: Sequence[Diagnostic] = (),
    rules: bool = True,
) -> list[Result]:
    """One pass over a text the text test kept: parse, ``ast`` pre-filter, limits, LibCST and
    the rules (without ``rules``, none of the per-file rules) and the ``granted`` project
    findings (see ``fix_file``), ``# noqa``."""
    codes: set[str] | None = None

    def analysed(parsed: ast.Module) -> bool:
        nonlocal codes
        codes = linter.candidates.rules_for(parsed)
        return bool(codes)

    if linter.syntax_check:
        # With a target version the parser rejects newer grammar; a tree it gives is the same.
        tree = check_syntax(text, path, linter.target_version, compile_if=analysed, project_python=linter.fix_target)
        if parsed is not None:
            parsed(tree)
    elif tree is None:
        tree = ast.parse(text)
    if codes is None:
        codes = linter.candidates.rules_for(tree)
    active = [rule for rule in linter.rules if rule.code in codes] if rules else []
    found = []
    if active or granted:
        check_complexity(tree)  # LibCST's time and stack, bounded before it starts
        module = tree if isinstance(tree, ast.Module) else None
        found = linter.run_rules(text, path, active, module, reparse, granted)
    if not linter.honour_noqa:
        return found
    # The noqa rule's findings pass through # noqa too (`# noqa: LCK901` silences them).
    about_noqa = linter.noqa_results(text, path, found)
    if about_noqa:
        found = sorted([*found, *about_noqa], key=lambda r: r.diagnostic.sort_key())
    return unsuppressed(found, text, attrgetter("diagnostic")) if found else found


def _with_edits(results: list[Result], built: dict[int, tuple[Edit, ...]]) -> list[Diagnostic]:
    """The diagnostics with their fixes' edits, each proposal built once (``built``: the edits
    of proposals already built, by id, and where those built here are kept)."""
    diagnostics = []
    for d, proposal, withheld in results:
        if proposal is not None:
            d = dataclasses.replace(d, fix=_built_fix(proposal, built))
        elif withheld is not None:  # for the project model to choose (see Diagnostic.proven)
            alone = _built_fix(withheld.alone, built)
            imported = withheld.imported and _built_fix(withheld.imported, built)
            shown = Withheld(withheld.names, withheld.reason, alone, imported) if alone is not None else None
            d = dataclasses.replace(d, withheld=shown)
        diagnostics.append(d)
    return diagnostics


def _built_fix(proposal: FixProposal, built: dict[int, tuple[Edit, ...]]) -> Fix | None:
    """The fix ``proposal`` makes, with its edits; None when it has none."""
    edits = _built(proposal, built)
    return dataclasses.replace(proposal.shown(), edits=edits) if edits else None


def _built(proposal: FixProposal, built: dict[int, tuple[Edit, ...]]) -> tuple[Edit, ...]:
    if id(proposal) not in built:
        built[id(proposal)] = proposal.build()
    return built[id(proposal)]


def _compatible_fixes(
    results: list[Result], unsafe: bool, built: dict[int, tuple[Edit, ...]]
) -> tuple[list[Edit], int, int]:
    """The edits of one pass: of the fixes ``unsafe`` allows, those that do not overlap; how
    many findings they resolve, and how many fixes they are."""
    # Several findings can share one proposal (a loop and each of its uses): build and apply it
    # once, count every finding it resolves.
    proposals = list(
        {
            id(r.proposal): r.proposal
            for r in results
            if r.proposal is not None and (unsafe or r.proposal.safety is Safety.SAFE)
        }.values()
    )
    # Proposals of separate findings that build the same edits are one fix (a loop that exists
    # only for two runs: either finding's fix rewrites both).
    by_edits: dict[tuple[Edit, ...], list[FixProposal]] = {}
    for proposal in proposals:
        edits = _built(proposal, built)
        if edits:
            by_edits.setdefault(edits, []).append(proposal)
    groups = list(by_edits.items())
    chosen = [groups[i] for i in select_compatible([edits for edits, _ in groups])]
    applied = {id(proposal) for _, group in chosen for proposal in group}
    resolved = sum(1 for r in results if r.proposal is not None and id(r.proposal) in applied)
    return [edit for edits, _ in chosen for edit in edits], resolved, len(chosen)


def _imports_left_unused_dropped(before: str, after: str) -> str:
    # The fix builders' import handling, which the engine does not otherwise need (it sits
    # below them), imported where it is used.
    from loopcheck.fixes.imports import drop_imports_left_unused

    return drop_imports_left_unused(before, after)


def _invalid_fix(error: SourceError) -> SourceError:
    return SourceError(f"a fix produced invalid code, file left unchanged ({error})")
