"""The garbage collector of a loopcheck process (run/collector.py)."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from loopcheck.run.collector import YOUNG_THRESHOLD, collection_paused, tune_collector


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


def test_no_collection_runs_while_paused_and_the_collector_is_on_again_after():
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_on_again_after_an_error_in_the_pause():
    with pytest.raises(KeyError), collection_paused():
        raise KeyError("x")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    try:
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_file_is_checked_and_the_model_built_with_no_collection(tmp_path, monkeypatch):
    """What runs while the runner checks a file and builds the model sees the collector off."""
    import loopcheck.run.runner as runner
    from loopcheck.run.project import ProjectView
    from loopcheck.settings.config import Settings

    seen = []
    checked = runner.check_source
    monkeypatch.setattr(
        runner, "check_source", lambda *args, **kwargs: seen.append(("check", gc.isenabled())) or checked(*args, **kwargs)
    )
    monkeypatch.setattr(runner, "project_view", lambda *args, **kwargs: seen.append(("model", gc.isenabled())) or ProjectView())
    path = tmp_path / "m.py"
    path.write_text("import asyncio\nlock = asyncio.Lock()\n")
    job = runner.Job(Settings(), ("LCK101",), runner.Mode(), None)
    results = list(runner.check_files([str(path)], job, jobs=1))
    assert [r.error for r in results] == [None]
    assert seen == [("check", False), ("model", False)]
    assert gc.isenabled()
