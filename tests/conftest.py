"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest

from tests.helpers import interpreters


@pytest.fixture(params=sorted(interpreters()), ids=lambda v: f"py{v}")
def python(request):
    """Each supported interpreter; skipped (not passed) where the machine has none."""
    path = interpreters()[request.param]
    if path is None:
        pytest.skip(f"no Python {request.param} on this machine")
    return path
