"""Progress during a run: files are counted as they are checked, in any process and before the
project model lets the first result out, and the line on a terminal advances with them."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from loopcheck.frontends import cli
from loopcheck.frontends.progress import Progress
from loopcheck.run import runner
from loopcheck.run.sources import discover
from loopcheck.settings.config import Settings
from tests.helpers import invoke, write
from tests.test_cache_integrity import settle

PRIMITIVE = "import asyncio\n\nlock_{i} = asyncio.Lock()\n"
ENOUGH_FOR_WORKERS = runner.PARALLEL_THRESHOLD + 8
WAIT = 120  # seconds: a bound on a wait that should end at once, never a measurement


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def project(root: Path, count: int) -> list[str]:
    for i in range(count):
        write(root / f"pkg{i % 3}" / f"mod{i:03}.py", PRIMITIVE.format(i=i))
    write(root / "pyproject.toml", "[tool.loopcheck]\n")
    return discover([str(root)], Settings(root=root)).files


def job(root: Path) -> runner.Job:
    return runner.Job(Settings(root=root), ("LCK101",), runner.Mode(), None)


class Counter:
    def __init__(self, total: int) -> None:
        self.total = total
        self.counts: list[int] = []
        self.lock = threading.Lock()
        self.all_checked = threading.Event()

    def __call__(self, count: int) -> None:
        with self.lock:
            self.counts.append(count)
            if sum(self.counts) >= self.total:
                self.all_checked.set()

    @property
    def done(self) -> int:
        with self.lock:
            return sum(self.counts)


@pytest.mark.parametrize("jobs", [1, 2])
def test_files_are_counted_while_the_model_holds_the_results_back(tmp_path, monkeypatch, jobs):
    """The results wait for the project model (and worker processes take the largest files
    first): counting what is given out showed nothing until the end. Here the model waits until
    every file is counted, which only counting files as they are checked can satisfy: in worker
    processes while this one builds the model, in one process before it."""
    files = project(tmp_path, ENOUGH_FOR_WORKERS)
    counter = Counter(len(files))
    seen_by_the_model: list[int] = []
    real_view = runner.project_view

    def model_after_the_checks(*args, **kwargs):
        counter.all_checked.wait(WAIT)
        seen_by_the_model.append(counter.done)
        return real_view(*args, **kwargs)

    monkeypatch.setattr(runner, "project_view", model_after_the_checks)
    results = list(runner.check_files(files, job(tmp_path), jobs, checked=counter))
    assert seen_by_the_model == [len(files)]
    assert len(counter.counts) > 1  # file by file or chunk by chunk, not once at the end
    assert [r.path for r in results] == files and all(r.diagnostics for r in results)


def test_fixing_in_one_process_counts_each_file_before_its_result(tmp_path):
    """Fixing builds the model first (it decides what is left unfixed); each file is then fixed
    and given out in turn."""
    files = project(tmp_path, 5)
    counter = Counter(len(files))
    fixing = runner.Job(Settings(root=tmp_path), ("LCK101",), runner.Mode(fix=True, unsafe=True), None)
    counted_at_each_result = [counter.done for _ in runner.check_files(files, fixing, 1, checked=counter)]
    assert counted_at_each_result == [1, 2, 3, 4, 5]


def test_files_the_cache_answers_for_are_counted_at_once(tmp_path):
    files = project(tmp_path, 5)
    settle(*(Path(path) for path in files))  # else their stats are not trusted to stand for them
    cached = runner.Job(Settings(root=tmp_path), ("LCK101",), runner.Mode(), str(tmp_path / "cache"))
    list(runner.check_files(files, cached, 1))
    counter = Counter(len(files))
    list(runner.check_files(files, cached, 1, checked=counter))
    assert counter.counts == [5]


# -- the line on a terminal ----------------------------------------------------------------


def test_the_line_advances_with_each_count_and_is_erased_at_the_end():
    terminal = Terminal()
    progress = Progress(10, terminal, enabled=True, after=0, every=0)
    workers = [threading.Thread(target=progress.advance, args=(2,)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    progress.advance(4)
    progress.clear()
    assert terminal.getvalue() == (
        "\rloopcheck: checked 2/10 files\rloopcheck: checked 4/10 files"
        "\rloopcheck: checked 6/10 files\rloopcheck: checked 10/10 files\r\033[K"
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_short_runs_stay_quiet_and_redraws_are_spaced_but_the_last_count_is_shown():
    terminal, clock = Terminal(), Clock()
    progress = Progress(10, terminal, enabled=True, after=0.5, every=0.1, clock=clock)
    progress.advance(1)
    assert terminal.getvalue() == ""  # before half a second
    clock.now = 0.6
    progress.advance(1)
    progress.advance(1)  # at the same moment: not drawn again
    clock.now = 0.65
    progress.advance(6)
    progress.advance(1)  # the last: always drawn, the model may still take a while
    assert terminal.getvalue() == "\rloopcheck: checked 2/10 files\rloopcheck: checked 10/10 files"


def test_other_output_erases_the_line_first():
    terminal = Terminal()
    progress = Progress(3, terminal, enabled=True, after=0, every=0)
    progress.advance(1)
    with progress.hidden(when=False):  # nothing to write: the line stays
        pass
    with progress.hidden():
        terminal.write("app.py: error\n")
    progress.advance(1)
    assert terminal.getvalue() == (
        "\rloopcheck: checked 1/3 files\r\033[Kapp.py: error\n\rloopcheck: checked 2/3 files"
    )


class Timer:
    """threading.Timer's part that Progress uses, fired by the test."""

    started: list[Timer] = []

    def __init__(self, delay: float, function) -> None:
        self.delay, self.function, self.cancelled, self.daemon = delay, function, False, False
        Timer.started.append(self)

    def start(self) -> None:
        pass

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        if not self.cancelled:
            self.function()


def test_the_line_appears_after_half_a_second_even_when_no_file_finishes_then():
    """At -j 1 every file may be checked before half a second, and the model built after."""
    Timer.started.clear()
    terminal, clock = Terminal(), Clock()
    progress = Progress(4, terminal, enabled=True, after=0.5, clock=clock, timer=Timer)
    progress.start()
    [timer] = Timer.started
    assert timer.delay == 0.5 and timer.daemon
    progress.advance(4)
    assert terminal.getvalue() == ""
    clock.now = 0.5
    timer.fire()
    progress.clear()
    assert terminal.getvalue() == "\rloopcheck: checked 4/4 files\r\033[K" and timer.cancelled


@pytest.mark.parametrize("late", ["finished", "reporting"])
def test_the_late_line_is_not_drawn_after_the_end_or_over_the_results(late):
    Timer.started.clear()
    terminal = Terminal()
    progress = Progress(4, terminal, enabled=True, after=0.5, clock=Clock(), timer=Timer)
    progress.start()
    if late == "finished":
        progress.clear()
    else:
        with progress.hidden():
            terminal.write("app.py:1:1: LCK101 ...\n")
    Timer.started[0].function()  # as if it fired all the same
    assert "checked" not in terminal.getvalue()


@pytest.mark.parametrize("enabled", [True, False])
def test_nothing_is_drawn_off_a_terminal_or_when_not_asked(enabled):
    stream = io.StringIO() if enabled else Terminal()
    progress = Progress(3, stream, enabled=enabled, after=0, every=0)
    progress.advance(3)
    progress.clear()
    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    ("options", "drawn"),
    [
        ((), True),
        (("-q",), False),
        (("--output-format", "json"), False),
        (("--output-format", "sarif"), False),
    ],
)
def test_the_command_line_draws_progress_for_people_only(tmp_path, monkeypatch, options, drawn):
    project(tmp_path, ENOUGH_FOR_WORKERS)
    terminal = Terminal()

    def on_the_terminal(total, stream, *, enabled):
        return Progress(total, terminal, enabled=enabled, after=0, every=0)

    monkeypatch.setattr(cli, "Progress", on_the_terminal)
    result = invoke("--no-cache", "-j", "2", *options, ".", cwd=tmp_path)
    assert result.exit_code == 1
    shown = terminal.getvalue()
    if drawn:
        assert f"checked {ENOUGH_FOR_WORKERS}/{ENOUGH_FOR_WORKERS} files" in shown
        assert shown.endswith("\r\033[K")  # erased at the end
    else:
        assert shown == ""
