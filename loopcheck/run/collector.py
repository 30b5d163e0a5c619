"""The garbage collector of a ``loopcheck`` process (the command and its worker processes; never
a host's, such as flake8's).

A cold run makes tens of millions of short-lived objects (``ast`` and LibCST trees, summaries),
almost none of them in reference cycles. With Python's default threshold the youngest generation
is collected every 700 allocations, and the older ones, which hold every module imported, are
traversed again and again: about a tenth of a cold run's CPU time. The imported objects are
moved out of the collector's way (``gc.freeze``), and the youngest generation is collected
less often; cycles are still collected (a run's peak memory grows by a few MB).

Even so, a file's check or the model's summaries make hundreds of thousands of objects that stay
alive until the work is done (a parsed tree, LibCST's nodes and scopes), and each collection
meanwhile traverses them all again, to find nothing. No collection runs during such work
(:func:`collection_paused`); what cycles it leaves are collected with the next collection after it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Allocations (less deallocations) between two collections of the youngest generation.
YOUNG_THRESHOLD = 10_000


def tune_collector() -> None:
    """Freeze what exists now (imported code and data) and collect young objects less often
    (the collector on, where start-up turned it off)."""
    gc.freeze()
    gc.enable()
    young, middle, oldest = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, oldest)


@contextmanager
def collection_paused() -> Iterator[None]:
    """No automatic collection while the body runs (one file's check, the model's build): the
    collector is turned back on after it, unless it was off already (then it stays off)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
