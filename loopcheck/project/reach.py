"""Which event loops reach which loop-bound objects: from every place a loop starts running code,
calls are followed across modules to the holders they use.

An object made once per process (a module global, a class attribute, an attribute of a
module-level instance, a lazily kept global) is *shared* when two different loops reach it, or
when a loop that is new on each call (``asyncio.run`` in a function that runs many times) reaches
it; *confined* when one loop only ever reaches it; *unreached* when no loop the model sees does.
"""

from __future__ import annotations

from dataclasses import dataclass

from loopcheck.engine.diagnostics import Location
from loopcheck.project.records import Holder

SHARED, CONFINED, UNREACHED = "shared", "confined", "unreached"


@dataclass(frozen=True)
class Loop:
    """One event loop as the model sees it. ``key``: two chains with the same key are on the same
    loop. ``lifetime``: ``per-call``, ``kept`` or ``server``. ``repeats``: a per-call loop that is
    started many times in one process. ``describe``: how evidence names it (``the Celery task
    'sync' (asyncio.run: a new event loop per call)``). ``location``: where it starts running code."""

    key: str
    lifetime: str
    repeats: bool
    describe: str
    location: Location


@dataclass(frozen=True)
class Chain:
    """How ``loop`` reaches an object: the calls from the loop's start to the use, in order."""

    loop: Loop
    steps: tuple[Location, ...]


@dataclass(frozen=True)
class ObjectReach:
    """The loops that reach one holder (one chain per loop), and the verdict with its reason."""

    module: str
    path: str
    holder: Holder
    chains: tuple[Chain, ...]
    verdict: str
    why: str
