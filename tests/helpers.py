"""Shared test helpers: fixture markers, interpreters of the version matrix."""

from __future__ import annotations

import functools
import glob
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from loopcheck.cli import main

from loopcheck.engine import Linter
from loopcheck.rules import all_rules

FIXTURES = Path(__file__).parent / "fixtures"
# `# error: LCK101` marks a line that must be reported; `nofix` adds that no fix is expected.
MARKER = re.compile(r"#\s*error:\s*(?P<code>LCK[0-9]{3})(?P<nofix>\s+nofix)?")
SUPPORTED_MINORS = (10, 11, 12, 13)


def all_rules_linter() -> Linter:
    return Linter(list(all_rules().values()))


def markers(path: Path) -> list[tuple[int, str, bool]]:
    found = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        for match in MARKER.finditer(line):
            found.append((number, match.group("code"), bool(match.group("nofix"))))
    return found


def fixture_codes() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("LCK*.py"))


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


@pytest.fixture(params=sorted(interpreters()), ids=lambda v: f"py{v}")
def python(request):
    """Each supported interpreter; skipped (not passed) where the machine has none."""
    path = interpreters()[request.param]
    if path is None:
        pytest.skip(f"no Python {request.param} on this machine")
    return path


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
