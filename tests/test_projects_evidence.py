"""loopcheck's text output on each multi-module scenario of tests/fixtures/projects/ is the
scenario's expected.txt: the findings, the loops that reach each root object with their call
chains, and nothing about the objects of the confined designs (see the README there)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.projects import scenarios

ROOT = Path(__file__).parent.parent


def output(path: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", "--output-format", "text", str(path.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.stdout


@pytest.mark.parametrize(
    "scenario",
    scenarios(),
    ids=lambda s: s.name,
)
def test_findings_and_their_evidence_are_as_expected(scenario):
    assert output(scenario.path) == (scenario.path / "expected.txt").read_text("utf-8")


def test_every_scenario_has_its_expected_output():
    names = {s.name for s in scenarios()}
    assert len(names) >= 14
    assert all((s.path / "expected.txt").is_file() for s in scenarios())
