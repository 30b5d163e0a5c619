"""Running the check of one file where deep code cannot overflow the stack: LibCST's parser and
visitors recurse once per level of nesting (a 500-branch `elif` chain is 500 levels), so each
file is checked in a thread with a large stack and a recursion limit to match."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

STACK_SIZE = 512 * 1024 * 1024  # bytes of stack for the checking thread (reserved, not used)
RECURSION_LIMIT = 200_000
_configured = False


def run_deep(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` in a thread with a deep stack; its exception is raised here."""
    global _configured
    if not _configured:
        threading.stack_size(STACK_SIZE)
        sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))
        _configured = True
    outcome: list[object] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(function(*args))
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            failure.append(error)

    thread = threading.Thread(target=target, name="loopcheck-check", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]  # type: ignore[return-value]
