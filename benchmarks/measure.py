"""Running one command and measuring it: wall time, CPU time and peak memory of the child."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks import BenchmarkError

# Given the exit code, stdout and stderr of a run, what went wrong (None: a normal run). A normal
# run may have findings: every tool here exits 1 when it has some.
FailureCheck = Callable[[int, str, str], "str | None"]


@dataclass(frozen=True)
class Sample:
    """One run of one command."""

    round: int
    wall_s: float
    user_s: float
    sys_s: float
    # ru_maxrss from wait4(): the peak resident set of the largest single process among the child
    # and the descendants it waited for; not the sum over a pool of worker processes.
    peak_rss_mb: float
    exit_code: int
    output_lines: int

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def run_measured(
    argv: Sequence[str],
    *,
    round_no: int,
    cwd: Path,
    env: dict[str, str],
    log_stem: Path,
    failure_check: FailureCheck,
) -> Sample:
    """Runs ``argv`` once with its output in ``log_stem``.out/.err; raises BenchmarkError when
    ``failure_check`` finds the run broken (a crash, not findings)."""
    stdout_path, stderr_path = log_stem.with_suffix(".out"), log_stem.with_suffix(".err")
    stdout_path.parent.mkdir(parents=True, exist_ok=True)
    with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
        start = time.perf_counter()
        try:
            child = subprocess.Popen(
                list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr
            )
        except OSError as error:
            raise BenchmarkError(f"cannot start {argv[0]}: {error}") from None
        # wait4() rather than Popen.wait(): it hands back the resource usage of exactly this child
        # (and the descendants it reaped), which RUSAGE_CHILDREN deltas would mix with any other
        # child of this process.
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    child.returncode = exit_code = os.waitstatus_to_exitcode(status)
    output = stdout_path.read_text("utf-8", errors="replace")
    errors = stderr_path.read_text("utf-8", errors="replace")
    problem = failure_check(exit_code, output, errors)
    if problem:
        raise BenchmarkError(
            f"{Path(argv[0]).name} failed ({problem}, exit status {exit_code}) in round {round_no}:\n"
            f"  {' '.join(_shorten(argv))}\n"
            + _tail(errors or output)
            + f"\n  full output: {stdout_path} and {stderr_path}"
        )
    return Sample(
        round=round_no,
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
        exit_code=exit_code,
        output_lines=output.count("\n"),
    )


def _shorten(argv: Sequence[str], keep: int = 12) -> list[str]:
    """The command for a message: subsets pass hundreds of file names."""
    if len(argv) <= keep:
        return list(argv)
    return [*argv[:keep], f"... ({len(argv) - keep} more arguments)"]


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join("  | " + line for line in text.rstrip().splitlines()[-lines:])


def exit_status_check(
    *accepted: int,
    crash_markers: Sequence[str] = ("Traceback (most recent call last)",),
    stdout_crash_markers: Sequence[str] = (),
) -> FailureCheck:
    """A run is broken when its exit status is not one of ``accepted`` or its output shows a
    crash marker (flake8, for one, exits 1 both for findings and for a plugin that raised)."""

    def check(exit_code: int, stdout: str, stderr: str) -> str | None:
        if exit_code not in accepted:
            return "unexpected exit status"
        for stream, text, markers in (("stderr", stderr, crash_markers),
                                      ("stdout", stdout, stdout_crash_markers)):
            for marker in markers:
                if marker in text:
                    return f"{marker!r} on {stream}"
        return None

    return check


RUFF_CHECK = exit_status_check(0, 1, crash_markers=("panicked",))
# loopcheck: 2 means bad input or an internal error; the corpus has no bad input.
LOOPCHECK_CHECK = exit_status_check(
    0, 1, crash_markers=("Traceback (most recent call last)", "internal error")
)
# flake8: a plugin that raises leaves a traceback on stderr; an execution error is printed on
# stdout, among the findings.
FLAKE8_CHECK = exit_status_check(
    0,
    1,
    crash_markers=("Traceback (most recent call last)",),
    stdout_crash_markers=("There was a critical error during execution of Flake8",),
)
# Fixit ORs 2 into its exit status when a file raised (a parse error or a rule crash) and prints
# the traceback on stdout.
FIXIT_CHECK = exit_status_check(0, 1)
