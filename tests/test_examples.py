"""The examples the README points to: each fails when run, and runs clean after
`loopcheck --fix --unsafe-fixes`, which leaves no finding behind."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from loopcheck.frontends.cli import main

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


def run(path: Path) -> str:
    completed = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_fails_and_its_fixed_version_runs_clean(example, tmp_path):
    assert "RuntimeError" in run(example)
    copy = tmp_path / example.name
    shutil.copy(example, copy)
    fixed = CliRunner().invoke(main, ["--fix", "--unsafe-fixes", str(copy)])
    assert fixed.exit_code == 0, fixed.output
    assert "No findings remain." in fixed.output
    output = run(copy)
    assert "RuntimeError" not in output and output.strip()
