"""The garbage collector of a loopcheck process (run/collector.py)."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from loopcheck.run.collector import YOUNG_THRESHOLD, tune_collector


@pytest.fixture
def restored_collector():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_the_imported_objects_are_frozen_and_young_ones_collected_less_often(restored_collector):
    gc.set_threshold(700, 10, 10)
    tune_collector()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    assert gc.get_freeze_count() > 0


def test_a_higher_threshold_is_kept(restored_collector):
    gc.set_threshold(YOUNG_THRESHOLD * 2, 5, 5)
    tune_collector()
    assert gc.get_threshold() == (YOUNG_THRESHOLD * 2, 5, 5)


def test_the_command_tunes_its_collector_before_it_runs():
    probe = (
        "import gc, sys\n"
        "import loopcheck.frontends.cli as cli\n"
        "cli.main = lambda: print(gc.get_threshold()[0], gc.get_freeze_count() > 0)\n"
        "from loopcheck.frontends.entry import main\n"
        "main()\n"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert shown == [str(YOUNG_THRESHOLD), "True"]
