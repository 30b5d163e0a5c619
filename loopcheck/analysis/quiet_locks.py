"""Locks that never wait, so never bind to an event loop.

Since Python 3.10 an ``asyncio.Lock`` looks its loop up only when ``acquire()`` has to wait. A
lock whose every use is ``async with lock:`` around code that never suspends (no ``await``,
``async for``, ``async with`` or ``yield`` in the critical section, and no context manager
entered after the lock in the same statement) is released before any other
task runs, so no acquire ever waits: the lock works under any number of loops, one after the
other. A lock other modules may reach (a public name) or used any other way may wait, and is not
one of these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

if TYPE_CHECKING:
    from loopcheck.analysis.holders import Holder
    from loopcheck.analysis.tree import Tree

# Code that defines a function or class runs later, not in the critical section.
DEFERRED = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


class Suspends(cst.CSTVisitor):
    """Whether a block can suspend the coroutine that runs it."""

    def __init__(self) -> None:
        self.found = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, DEFERRED):
            return False
        if isinstance(node, (cst.Await, cst.Yield)) or (
            isinstance(node, (cst.For, cst.With, cst.CompFor)) and node.asynchronous is not None
        ):
            self.found = True
        return not self.found


def suspends(block: cst.CSTNode) -> bool:
    visitor = Suspends()
    block.visit(visitor)
    return visitor.found


def never_waits(holder: Holder, tree: Tree, exports: frozenset[str]) -> bool:
    """Whether the lock kept in ``holder`` is only ever taken by ``async with`` around code that
    never suspends, and no other module can reach it (its name is private and not in
    ``__all__``)."""
    name = getattr(holder, "name", None)
    if not isinstance(name, str) or not name.startswith("_") or name in exports:
        return False
    if not holder.followable or not holder.reads:
        return False
    for read in holder.reads:
        item = tree.parents.get(read)
        statement = tree.parents.get(item) if isinstance(item, cst.WithItem) else None
        if not (
            isinstance(statement, cst.With)
            and statement.asynchronous is not None
            and item.item is read
            and statement.items[-1] is item  # a later item is entered and left holding the lock
            and not suspends(statement.body)
        ):
            return False
    return True
