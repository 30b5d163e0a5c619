"""Each rule's fixtures, with exact expectations as in Ruff's snapshot tests: every `# error:`
marker states the code and the fix the finding offers (`safe`, `unsafe`, `nofix`) and nothing
else is reported; `<fixture>.snap` shows every finding (position, message, source excerpt, fix
title and safety, the diff of its own fix) and what `--fix` and `--fix --unsafe-fixes` do to the
file (see tests/snapshots.py); the fixed output matches `<fixture>.fixed`, which is clean, stable
and free of loopcheck imports; the fix kind a rule documents agrees with its fixtures.

Set LOOPCHECK_UPDATE_SNAPSHOTS=1 to rewrite the snapshots after a deliberate change."""

from __future__ import annotations

import ast
import functools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from loopcheck.dev.scaffold import placeholders
from loopcheck.engine.diagnostics import Diagnostic, FixProposal, Safety
from loopcheck.engine.engine import FixOutcome
from loopcheck.rules import file_rules
from tests.helpers import check_text, fix_text, fixture_code, fixture_linter, fixtures, markers
from tests.snapshots import UPDATE, check_snapshot, render_snapshot

FIXTURES = fixtures()
RULES = file_rules()  # project rules: tests/test_project_rules.py


def applicability(d: Diagnostic) -> str:
    return "nofix" if d.fix is None else d.fix.safety.value


@dataclass(frozen=True)
class Checked:
    """A fixture's findings with their fixes built, and the outcomes of --fix with and without
    --unsafe-fixes: computed once, compared by several tests."""

    source: str
    diagnostics: list[Diagnostic]
    safe_fixes: FixOutcome
    all_fixes: FixOutcome


@functools.cache
def checked(path: Path) -> Checked:
    source = path.read_text()
    linter = fixture_linter(path)
    return Checked(
        source,
        check_text(linter, source, path.name, build_fixes=True),
        fix_text(linter, source, path.name, unsafe=False),
        fix_text(linter, source, path.name, unsafe=True),
    )


def test_every_rule_has_a_fixture_and_every_fixture_its_snapshots():
    assert {fixture_code(p) for p in FIXTURES} == set(RULES)
    for path in FIXTURES:
        for suffix in (".fixed", ".snap"):
            assert Path(f"{path}{suffix}").is_file() or UPDATE, f"{path.name}{suffix} is missing"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_no_placeholder_of_the_scaffold_is_left(path):
    """`python -m loopcheck.dev new-rule` writes placeholders; a fixture cannot pass with them."""
    left = placeholders(path)
    assert not left, f"{path.name}: fill in\n" + "\n".join(left)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_findings_match_markers_exactly(path):
    diagnostics = checked(path).diagnostics
    found = sorted((d.line, d.code, applicability(d)) for d in diagnostics)
    expected = sorted((m.line, m.code, m.fix) for m in markers(path))
    assert found == expected
    assert any(m.code == fixture_code(path) for m in markers(path)), "the fixture must exercise its rule"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_findings_and_fixes_match_snapshot(path):
    """Position, message, fix title, safety and edits of every finding; what --fix and
    --fix --unsafe-fixes fix and leave."""
    run = checked(path)
    rendered = render_snapshot(run.source, run.diagnostics, run.safe_fixes, run.all_fixes)
    check_snapshot(Path(f"{path}.snap"), rendered)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixed_output_matches_snapshot(path):
    run = checked(path)
    check_snapshot(Path(f"{path}.fixed"), run.all_fixes.source)
    assert (run.all_fixes.source != run.source) == any(m.fix != "nofix" for m in markers(path))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_snapshot_is_clean_and_stable(path):
    fixed = Path(f"{path}.fixed").read_text()
    compile(fixed, f"{path.name}.fixed", "exec")
    linter = fixture_linter(path)
    remaining = Counter(d.code for d in check_text(linter, fixed))
    unfixable = Counter(m.code for m in markers(path) if m.fix == "nofix")
    assert remaining == unfixable, "a fix left its finding, or introduced a new one"
    second = fix_text(linter, fixed, unsafe=True)
    assert second.source == fixed and second.fixed == 0, "a second --fix pass changed the file"
    imported = {
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in ast.walk(ast.parse(fixed))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert not any(name.split(".")[0] == "loopcheck" for name in imported), "generated code imports loopcheck"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_plain_fix_applies_only_safe_fixes(path):
    """The snapshot states what --fix does exactly; this is what it must do on any file."""
    run = checked(path)
    safe = sum(1 for m in markers(path) if m.fix == "safe")
    outcome = run.safe_fixes
    # A safe fix may resolve another finding on its way (an awaited run takes its loop variable
    # with it), so at least one fix per file with safe findings, and none left over.
    assert (outcome.fixed > 0) == bool(safe)
    assert all(d.fix is None or d.fix.safety is Safety.UNSAFE for d in outcome.remaining)
    assert (outcome.source != run.source) == bool(safe)


REMOVES = re.compile(
    r"; removes (?:the comment `(?P<one>[^`]*)`|(?P<many>\d+) comment lines, the first `(?P<first>[^`]*)`)"
)


def comment_lines(source: str) -> Counter[str]:
    return Counter(line.strip() for line in source.splitlines() if line.strip().startswith("#"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_every_comment_line_a_fix_removes_is_counted_in_its_title(path):
    """No comment goes silently: the titles of the fixes --fix --unsafe-fixes applies count the
    comment lines missing from the fixed file, and name a line that is missing."""
    run = checked(path)
    gone = comment_lines(run.source) - comment_lines(run.all_fixes.source)
    titles = {d.fix.edits: d.fix.description for d in run.diagnostics if d.fix is not None}
    counted = 0
    for title in titles.values():
        found = REMOVES.search(title)
        if found is not None:
            counted += int(found["many"] or 1)
            assert (found["one"] or found["first"]) in gone, title
    assert counted == sum(gone.values()), sorted(gone.elements())


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_every_offered_fix_builds(path):
    for d in checked(path).diagnostics:
        assert d.fix is None or d.fix.edits, f"line {d.line}: {d.code} offers a fix with no edits"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_checking_builds_no_fix(path, monkeypatch):
    """Plain checks (and the flake8 plugin, which calls the same method) never build edits."""
    built = []
    original = FixProposal.__init__

    def spy(self, safety, title, build, names=(), safe_when=None):  # type: ignore[no-untyped-def]
        original(self, safety, title, lambda: built.append(title) or build(), names, safe_when)

    monkeypatch.setattr(FixProposal, "__init__", spy)
    diagnostics = check_text(fixture_linter(path), path.read_text(), path.name)
    assert any(d.fix for d in diagnostics) or all(m.fix == "nofix" for m in markers(path))
    assert built == []


# What each documented fix kind allows among a rule's fixture markers (required ⊆ found ⊆ allowed).
FIX_KINDS = {
    "safe": ({"safe"}, {"safe", "nofix"}),
    "unsafe": ({"unsafe"}, {"unsafe", "nofix"}),
    "safe or unsafe": ({"safe", "unsafe"}, {"safe", "unsafe", "nofix"}),
    "sometimes unsafe": ({"unsafe", "nofix"}, {"safe", "unsafe", "nofix"}),
    "none": ({"nofix"}, {"nofix"}),
}
# How each fix kind's "Fix safety" section must begin.
FIX_SAFETY_OPENING = {
    "safe": "Safe",
    "unsafe": "Unsafe",
    "safe or unsafe": "Safe",
    "sometimes unsafe": "Unsafe",
    "none": "No fix",
}


@pytest.mark.parametrize("code", sorted(RULES))
def test_documented_fix_kind_matches_the_fixtures(code):
    rule = RULES[code]
    found = {m.fix for path in FIXTURES for m in markers(path) if m.code == code}
    required, allowed = FIX_KINDS[rule.fix_kind]
    assert required <= found <= allowed, f"{code} documents '{rule.fix_kind}', fixtures show {found}"
    assert rule.docs.fix_safety.startswith(FIX_SAFETY_OPENING[rule.fix_kind])
    if rule.fix_kind == "safe or unsafe":
        assert "Unsafe" in rule.docs.fix_safety


# One expected value of LCK101.py.snap changed, as a changed rule or fix would change the actual.
MISSTATED = {
    "message": (
        "LCK101.py:11:17 LCK101 asyncio.Lock created at module level is shared by every event loop;",
        "LCK101.py:11:17 LCK101 asyncio.Lock created at module level is shared by all event loops;",
    ),
    "position": ("LCK101.py:11:17 LCK101", "LCK101.py:11:18 LCK101"),
    "title": ("fix: Create one Lock per event loop", "fix: Create a Lock per event loop"),
    "safety": (
        "fix: Create one Lock per event loop with `_get_refresh_lock()` (unsafe)",
        "fix: Create one Lock per event loop with `_get_refresh_lock()` (safe)",
    ),
    "edit": ("+    async with _get_refresh_lock():", "+    async with _get_refresh_lock() as lock:"),
    "fixed count": ("--fix --unsafe-fixes: 5 fixed", "--fix --unsafe-fixes: 6 fixed"),
}


@pytest.mark.parametrize("what", MISSTATED)
def test_a_changed_value_fails_the_snapshot_with_a_diff(what, tmp_path, monkeypatch):
    monkeypatch.setattr("tests.snapshots.UPDATE", False)
    path = next(p for p in FIXTURES if p.name == "LCK101.py")
    run = checked(path)
    actual = render_snapshot(run.source, run.diagnostics, run.safe_fixes, run.all_fixes)
    today, misstated = MISSTATED[what]
    assert actual.count(today) == 1, f"LCK101.py.snap no longer says {today!r}: update MISSTATED"
    expected = tmp_path / "LCK101.py.snap"
    expected.write_text(actual.replace(today, misstated))
    with pytest.raises(AssertionError) as failure:
        check_snapshot(expected, actual)
    diff_lines = str(failure.value).splitlines()
    assert diff_lines[0].startswith("LCK101.py.snap (LOOPCHECK_UPDATE_SNAPSHOTS=1 rewrites it) differs")
    assert diff_lines[1:3] == ["--- expected", "+++ actual"]
    changed = [line for line in diff_lines[3:] if line[:1] in "-+"]
    assert len(changed) == 2, diff_lines
    assert changed[0].startswith(f"-{misstated}") and changed[1].startswith(f"+{today}"), changed
