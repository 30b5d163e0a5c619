"""loopcheck's text output on each multi-module scenario of tests/fixtures/projects/ is the
scenario's expected.txt: the findings, the loops that reach each root object with their call
chains, and nothing about the objects of the confined designs (see the README there)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from loopcheck.frontends.flake8_plugin import evidence_tail
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


def _flake8_line(finding: dict) -> str:
    """What the flake8 plugin prints for a finding of the command line's JSON output."""
    at = finding["location"]
    shown = SimpleNamespace(evidence=[SimpleNamespace(message=e["message"]) for e in finding["evidence"]])
    path = os.path.normpath(finding["filename"])
    return f"{path}:{at['row']}:{at['column']}: {finding['code']} {finding['message']}{evidence_tail(shown)}"


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda s: s.name)
def test_the_flake8_plugin_reports_what_the_command_line_reports(scenario):
    """Each file through flake8 (one model per worker process, built from the file's project)
    gives the command line's findings, messages and first loop, in the same words."""
    command = subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", "--output-format", "json", "."],
        cwd=scenario.path, capture_output=True, text=True, timeout=120,
    )
    assert command.returncode in (0, 1), command.stderr
    plugin = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "LCK", "-j", "2", "."],
        cwd=scenario.path, capture_output=True, text=True, timeout=120,
    )
    assert plugin.returncode in (0, 1), plugin.stderr
    flake8_lines = sorted(
        os.path.normpath(path) + ":" + rest
        for path, rest in (line.split(":", 1) for line in plugin.stdout.splitlines())
    )
    assert flake8_lines == sorted(_flake8_line(f) for f in json.loads(command.stdout))


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda s: s.name)
def test_standard_input_reports_what_the_command_line_reports(scenario):
    """Each file with findings, given on standard input under its name, gets the same findings
    and evidence as in the run over the whole scenario."""
    command = subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", "--output-format", "json", "."],
        cwd=scenario.path, capture_output=True, text=True, timeout=120,
    )
    by_file: dict[str, list] = {}
    for finding in json.loads(command.stdout):
        by_file.setdefault(os.path.normpath(finding["filename"]), []).append(finding)
    assert by_file or not (scenario.path / "expected.txt").read_text("utf-8").count(": LCK")
    for path, findings in by_file.items():
        piped = subprocess.run(
            [sys.executable, "-m", "loopcheck", "--no-cache", "--output-format", "json", "--stdin-filename", path, "-"],
            cwd=scenario.path, input=(scenario.path / path).read_text("utf-8"),
            capture_output=True, text=True, timeout=120,
        )
        got = json.loads(piped.stdout)
        for finding in got:
            finding["filename"] = os.path.normpath(finding["filename"])
        assert got == findings, path
