"""loopcheck's text output on each multi-module scenario of tests/fixtures/projects/ is the
scenario's expected.txt: the findings, the loops that reach each root object with their call
chains, and nothing on the confined designs (see the README there).

Until loop reach gives findings their evidence, the scenarios whose expected output differs from
today's are strict expected failures: each must start passing, and then lose its mark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.projects import scenarios

ROOT = Path(__file__).parent.parent
REACH = "loop reach: findings carry no evidence yet, and confined objects are still reported"
AWAITING_REACH = {
    "celery_asyncio_run_chain": REACH,
    "class_attribute_driver": REACH,
    "class_registry_pool": REACH,
    "confined_server_only": REACH,
    "confined_single_kept_loop": REACH,
    "confined_worker_hooks": REACH,
    "get_or_create_helper": REACH + "; no finding yet on run_until_complete() of the helper's loop",
    "import_time_loop": REACH + "; no finding yet on the loop made, run and closed at import",
    "lock_never_awaits": REACH,
    "module_global_task": REACH + "; no finding yet on the module-global Task",
    "module_instance_other_module": REACH + "; no finding yet on an instance of a class from another module",
    "thread_loop_per_call": REACH,
    "two_kept_loops": REACH + "; no finding yet on an instance of a class from another module",
}


def output(path: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", "--output-format", "text", str(path.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.stdout


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(s, marks=[pytest.mark.xfail(strict=True, reason=AWAITING_REACH[s.name])] if s.name in AWAITING_REACH else [])
        for s in scenarios()
    ],
    ids=lambda s: s.name,
)
def test_findings_and_their_evidence_are_as_expected(scenario):
    assert output(scenario.path) == (scenario.path / "expected.txt").read_text("utf-8")


def test_the_marks_name_only_scenarios_that_exist():
    assert set(AWAITING_REACH) <= {s.name for s in scenarios()}
