"""The guard around a file's analysis, so that nothing in it can crash, hang or fool the run.

``pipeline`` applies it once per file, around everything after the text test (a file that ends
there needs no guard: nothing in it is parsed):

- the work runs on the deep-stack worker thread, and a recursion overflow anywhere in it is
  "too deeply nested", whatever exception LibCST turned it into;
- running out of memory is one line, not a crash;
- any other exception is an internal error: one line naming its type and where it was raised,
  without ``str()`` of arbitrary objects (see ``limits.describe``);
- the SourceErrors of the stages pass through as they are: the interpreter's syntax check (a
  file Python compiles but LibCST refuses is "cannot be analysed by LibCST", never a syntax
  error), the limits of ``limits`` (refused in one line before LibCST sees the file), and a fix
  whose result does not compile.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

from loopcheck.engine.limits import caused_by_depth, describe, run_deep
from loopcheck.engine.syntax import PYTHON
from loopcheck.files import SourceError

T = TypeVar("T")
# Python 3.12 and 3.13 cap recursion through C calls whatever sys.setrecursionlimit() says.
_C_LIMIT = {
    (3, 12): " (which caps recursion through C at 1,500 calls)",
    (3, 13): " (which caps recursion through C at 10,000 calls)",
}.get(sys.version_info[:2], "")


class InternalError(SourceError):
    """A bug in loopcheck or LibCST met on one file; the run goes on with the others."""


def guarded(work: Callable[[], T]) -> T:
    """``work()`` on the deep stack, every failure a one-line SourceError."""
    try:
        return run_deep(work)
    except SourceError:
        raise
    except MemoryError:
        raise SourceError("not enough memory to analyse this file") from None
    except Exception as error:
        if caused_by_depth(error):
            raise SourceError(f"too deeply nested for LibCST on Python {PYTHON}{_C_LIMIT}") from None
        raise InternalError(f"internal error: {describe(error)}") from None
