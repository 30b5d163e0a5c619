"""Each rule's fixtures, with exact expectations as in Ruff's snapshot tests: every `# error:`
marker states the code and the fix the finding offers (`safe`, `unsafe`, `nofix`) and nothing
else is reported; the rendered diagnostics (position, message, fix title and applicability) match
`<fixture>.snap`; the fixed output matches `<fixture>.fixed`, which is clean, stable and free of
loopcheck imports; the fix kind a rule documents agrees with its fixtures.

Set LOOPCHECK_UPDATE_SNAPSHOTS=1 to rewrite the snapshots after a deliberate change."""

from __future__ import annotations

import ast
import os
from collections import Counter
from pathlib import Path

import pytest

from loopcheck.dev.scaffold import placeholders
from loopcheck.engine.diagnostics import Diagnostic, FixProposal, Safety
from loopcheck.rules import all_rules
from tests.helpers import fixture_code, fixture_linter, fixtures, markers

FIXTURES = fixtures()
RULES = all_rules()
UPDATE = os.environ.get("LOOPCHECK_UPDATE_SNAPSHOTS") == "1"


def applicability(d: Diagnostic) -> str:
    return "nofix" if d.fix is None else d.fix.safety.value


def render(diagnostics: list[Diagnostic]) -> str:
    """The diagnostics snapshot: one finding per entry, with its fix's title and safety."""
    lines = []
    for d in diagnostics:
        lines.append(f"{d.line}:{d.column}-{d.end_line}:{d.end_column} {d.code} {d.message}")
        lines.append(f"    fix ({d.fix.safety.value}): {d.fix.description}" if d.fix else "    no fix")
    return "\n".join(lines) + "\n"


def check_snapshot(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual)
    assert path.is_file(), f"{path.name} is missing: run with LOOPCHECK_UPDATE_SNAPSHOTS=1"
    assert actual == path.read_text(), f"{path.name} differs (LOOPCHECK_UPDATE_SNAPSHOTS=1 rewrites it)"


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
    diagnostics = fixture_linter(path).lint_source(path.read_text(), path.name)
    found = sorted((d.line, d.code, applicability(d)) for d in diagnostics)
    expected = sorted((m.line, m.code, m.fix) for m in markers(path))
    assert found == expected
    assert any(m.code == fixture_code(path) for m in markers(path)), "the fixture must exercise its rule"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_rendered_diagnostics_match_snapshot(path):
    diagnostics = fixture_linter(path).lint_source(path.read_text(), path.name)
    check_snapshot(Path(f"{path}.snap"), render(diagnostics))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixed_output_matches_snapshot(path):
    source = path.read_text()
    outcome = fixture_linter(path).fix_source(source, path.name, unsafe=True)
    check_snapshot(Path(f"{path}.fixed"), outcome.source)
    assert (outcome.source != source) == any(m.fix != "nofix" for m in markers(path))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_snapshot_is_clean_and_stable(path):
    fixed = Path(f"{path}.fixed").read_text()
    compile(fixed, f"{path.name}.fixed", "exec")
    linter = fixture_linter(path)
    remaining = Counter(d.code for d in linter.lint_source(fixed))
    unfixable = Counter(m.code for m in markers(path) if m.fix == "nofix")
    assert remaining == unfixable, "a fix left its finding, or introduced a new one"
    second = linter.fix_source(fixed, unsafe=True)
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
    source = path.read_text()
    linter = fixture_linter(path)
    safe = sum(1 for m in markers(path) if m.fix == "safe")
    outcome = linter.fix_source(source, unsafe=False)
    # A safe fix may resolve another finding on its way (an awaited run takes its loop variable
    # with it), so at least one fix per file with safe findings, and none left over.
    assert (outcome.fixed > 0) == bool(safe)
    assert all(d.fix is None or d.fix.safety is Safety.UNSAFE for d in outcome.remaining)
    assert (outcome.source != source) == bool(safe)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_every_offered_fix_builds(path):
    diagnostics = fixture_linter(path).lint_source(path.read_text(), path.name, build_fixes=True)
    for d in diagnostics:
        assert d.fix is None or d.fix.edits, f"line {d.line}: {d.code} offers a fix with no edits"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_checking_builds_no_fix(path, monkeypatch):
    """Plain checks (and the flake8 plugin, which calls the same method) never build edits."""
    built = []
    original = FixProposal.__init__

    def spy(self, safety, title, build, names=()):  # type: ignore[no-untyped-def]
        original(self, safety, title, lambda: built.append(title) or build(), names)

    monkeypatch.setattr(FixProposal, "__init__", spy)
    diagnostics = fixture_linter(path).lint_source(path.read_text(), path.name)
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
