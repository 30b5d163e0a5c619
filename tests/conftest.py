"""Fixtures shared by the test modules."""

from __future__ import annotations

import sys

import pytest

from tests.helpers import interpreters

# The fixtures are code loopcheck reads, never tests of its own (a scenario's pytest-asyncio
# test module is a project to check, not something for this suite to run).
collect_ignore_glob = ["fixtures/*"]


RUNNING = f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture(
    params=[
        pytest.param(version, marks=() if version == RUNNING else pytest.mark.interpreters)
        for version in sorted(interpreters())
    ],
    ids=lambda v: f"py{v}",
)
def python(request):
    """Each supported interpreter; skipped (not passed) where the machine has none. The default
    run uses the one running the suite; the others are marked ``interpreters`` (run them with
    ``-m interpreters``, as CI does)."""
    path = interpreters()[request.param]
    if path is None:
        pytest.skip(f"no Python {request.param} on this machine")
    return path
