"""Wording the LCK2xx rules share in their messages and pages."""

from __future__ import annotations

import libcst as cst

from loopcheck.analysis.loop_uses import method_call
from loopcheck.data.catalogue import LoopApi

# The affected versions of a rule whose findings were measured alike on every version.
SAME_ON_EVERY_VERSION = """\
All supported versions (measured on 3.10 to 3.13: the same messages on each)."""


def run_name(call: cst.Call, api: LoopApi) -> str:
    """How a message names the run ``call`` makes: ``run_until_complete()`` or ``asyncio.run()``."""
    return "run_until_complete()" if method_call(call, (api.run_method,)) else "asyncio.run()"
