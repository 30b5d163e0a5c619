"""Each rule's fixture: the findings match the `# error:` markers, the fixed output matches the
snapshot beside it, and the snapshot is clean, idempotent and free of loopcheck imports.

Set LOOPCHECK_UPDATE_SNAPSHOTS=1 to rewrite the snapshots after a deliberate change."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from loopcheck.diagnostics import Safety
from loopcheck.rules import all_rules

from tests.helpers import FIXTURES, all_rules_linter, fixture_codes, markers

CODES = fixture_codes()


def test_every_rule_has_a_fixture_and_a_snapshot():
    assert set(CODES) == set(all_rules())
    for code in CODES:
        assert (FIXTURES / f"{code}.py.fixed").is_file(), f"{code} has no fixed snapshot"


@pytest.mark.parametrize("code", CODES)
def test_findings_match_markers(code):
    path = FIXTURES / f"{code}.py"
    found = {(d.line, d.code) for d in all_rules_linter().lint_source(path.read_text(), str(path))}
    expected = {(line, marked) for line, marked, _ in markers(path)}
    assert found == expected
    assert any(marked == code for _, marked in expected), "the fixture must exercise its rule"


@pytest.mark.parametrize("code", CODES)
def test_fixes_are_offered_as_marked(code):
    path = FIXTURES / f"{code}.py"
    diagnostics = all_rules_linter().lint_source(path.read_text(), str(path))
    nofix = {line for line, _, no in markers(path) if no}
    for d in diagnostics:
        assert (d.fix is None) == (d.line in nofix), f"line {d.line}: fix {d.fix}"


@pytest.mark.parametrize("code", CODES)
def test_fixed_output_matches_snapshot(code):
    source = (FIXTURES / f"{code}.py").read_text()
    outcome = all_rules_linter().fix_source(source, f"{code}.py", unsafe=True)
    snapshot = FIXTURES / f"{code}.py.fixed"
    if os.environ.get("LOOPCHECK_UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(outcome.source)
    assert outcome.source == snapshot.read_text()
    assert outcome.source != source


@pytest.mark.parametrize("code", CODES)
def test_snapshot_is_clean_and_stable(code):
    fixed = (FIXTURES / f"{code}.py.fixed").read_text()
    compile(fixed, f"{code}.py.fixed", "exec")
    linter = all_rules_linter()
    remaining = Counter(d.code for d in linter.lint_source(fixed))
    unfixable = Counter(marked for _, marked, nofix in markers(FIXTURES / f"{code}.py") if nofix)
    assert remaining == unfixable, "a fix left its finding, or introduced a new one"
    second = linter.fix_source(fixed, unsafe=True)
    assert second.source == fixed and second.fixed == 0, "a second --fix pass changed the file"
    assert "loopcheck" not in fixed.replace("LCK", ""), "generated code must not use loopcheck"


@pytest.mark.parametrize("code", CODES)
def test_plain_fix_applies_only_safe_fixes(code):
    source = (FIXTURES / f"{code}.py").read_text()
    linter = all_rules_linter()
    safe_count = sum(
        1 for d in linter.lint_source(source) if d.fix and d.fix.safety is Safety.SAFE
    )
    outcome = linter.fix_source(source, unsafe=False)
    assert outcome.fixed >= safe_count
    assert all(d.fix is None or d.fix.safety is Safety.UNSAFE for d in outcome.remaining)
