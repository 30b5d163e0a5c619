"""Shared test helpers: fixture markers and settings, interpreters of the version matrix."""

from __future__ import annotations

import functools
import glob
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.engine.engine import FixOutcome, Linter
from loopcheck.engine.pipeline import check_file, fix_file
from loopcheck.frontends.cli import main
from loopcheck.rules import all_rules

FIXTURES = Path(__file__).parent / "fixtures"
# `# error: LCK101 unsafe` marks a line that must be reported, with the fix the finding must
# offer: `safe`, `unsafe`, or `nofix` when it must offer none.
MARKER = re.compile(r"#\s*error:\s*(?P<code>LCK[0-9]{3})(?:\s+(?P<fix>safe|unsafe|nofix)\b)?")
# `# loopcheck-fixture: target-version = py311` pins the Python the fixture's fixes target;
# `# loopcheck-fixture: runs-on = py311` says the fixture itself needs that Python to run.
TARGET = re.compile(r"#\s*loopcheck-fixture:\s*target-version\s*=\s*py3(?P<minor>[0-9]+)")
RUNS_ON = re.compile(r"#\s*loopcheck-fixture:\s*runs-on\s*=\s*py3(?P<minor>[0-9]+)")
DEFAULT_TARGET = (3, 10)  # the oldest supported: fixes must not depend on the interpreter
SUPPORTED_MINORS = (10, 11, 12, 13)


@dataclass(frozen=True)
class Marker:
    line: int
    code: str
    fix: str  # "safe", "unsafe" or "nofix"


def markers(path: Path) -> list[Marker]:
    found = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        for match in MARKER.finditer(line):
            if match.group("fix") is None:
                raise AssertionError(f"{path.name}:{number}: say `safe`, `unsafe` or `nofix` after the code")
            found.append(Marker(number, match.group("code"), match.group("fix")))
    return found


def target_version(path: Path) -> tuple[int, int]:
    match = TARGET.search(path.read_text("utf-8"))
    return (3, int(match.group("minor"))) if match else runs_on(path)


def runs_on(path: Path) -> tuple[int, int]:
    match = RUNS_ON.search(path.read_text("utf-8"))
    return (3, int(match.group("minor"))) if match else DEFAULT_TARGET


def fixtures() -> list[Path]:
    """Every fixture: LCKxxx.py, and variants LCKxxx_<what>.py."""
    return sorted(FIXTURES.glob("LCK[0-9][0-9][0-9]*.py"))


def fixture_code(path: Path) -> str:
    return path.name[:6]


def fixture_linter(path: Path) -> Linter:
    return Linter(list(all_rules().values()), target_version=target_version(path))


def all_rules_linter() -> Linter:
    return Linter(list(all_rules().values()), target_version=DEFAULT_TARGET)


def check_text(linter: Linter, source: str, path: str = "<stdin>", *, build_fixes: bool = False) -> list[Diagnostic]:
    """The findings in ``source``, as every way in gets them (``pipeline.check_file``)."""
    return check_file(linter, source, path, build_fixes=build_fixes)


def fix_text(
    linter: Linter, source: str, path: str = "<stdin>", *, unsafe: bool = False, build_fixes: bool = False
) -> FixOutcome:
    """``source`` with its fixes applied (the unsafe ones too with ``unsafe``): ``pipeline.fix_file``."""
    return fix_file(linter, source, path, unsafe=unsafe, build_fixes=build_fixes)


@functools.cache
def interpreters() -> dict[str, str | None]:
    """'3.10' → path of a CPython 3.10 (pyenv's or on PATH), or None where there is none."""
    found: dict[str, str | None] = {}
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    for minor in SUPPORTED_MINORS:
        version = f"3.{minor}"
        if sys.version_info[:2] == (3, minor):
            found[version] = sys.executable
            continue
        candidates = sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"))
        found[version] = candidates[-1] if candidates else shutil.which(f"python{version}")
    return found


def invoke(*args, cwd: Path, stdin: bytes | str | None = None):
    """The CLI through click's runner, run from ``cwd``."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, [str(a) for a in args], input=stdin, catch_exceptions=False)
    finally:
        os.chdir(old)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


# A command-line run that takes longer than this is a hang, not a slow run.
HANG_GUARD = 120  # seconds


def run_loopcheck(
    *args: object, cwd: Path, cache: bool = False, timeout: float = HANG_GUARD, **options
) -> subprocess.CompletedProcess:
    """``loopcheck ARGS`` through its real entry point, in a process of its own (without the
    results cache unless ``cache``); ``options`` go to subprocess.run (``input=``, ``text=``...).
    A run past ``timeout`` raises TimeoutExpired, which fails the test: a hang."""
    command = [sys.executable, "-m", "loopcheck", *([] if cache else ["--no-cache"]), *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, timeout=timeout, **options)
