"""Checking and fixing one file so that nothing in it can crash, hang or fool the run.

Every call into the linter goes through here:

- the syntax check is the interpreter's (``compile()``, see ``engine.check_syntax``), and a file
  Python compiles but LibCST refuses is "cannot be analysed by LibCST", never a syntax error;
- form feeds in indentation are hidden from LibCST (see ``formfeed``);
- files past the limits of ``limits`` are refused in one line before LibCST sees them;
- the analysis runs on the deep-stack worker thread, and a recursion overflow anywhere in it is
  "too deeply nested", whatever exception LibCST turned it into;
- any other exception is an internal error: one line naming its type and where it was raised,
  without ``str()`` of arbitrary objects (see ``limits.describe``);
- a fixed text is compiled once more before anyone may write it.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from typing import TypeVar

from loopcheck.engine import formfeed
from loopcheck.engine.diagnostics import Diagnostic, SourceError
from loopcheck.engine.engine import PYTHON, FixOutcome, Linter, check_syntax
from loopcheck.engine.limits import caused_by_depth, describe, run_deep

T = TypeVar("T")
# Python 3.12 and 3.13 cap recursion through C calls whatever sys.setrecursionlimit() says.
_C_LIMIT = {
    (3, 12): " (which caps recursion through C at 1,500 calls)",
    (3, 13): " (which caps recursion through C at 10,000 calls)",
}.get(sys.version_info[:2], "")


class InternalError(SourceError):
    """A bug in loopcheck or LibCST met on one file; the run goes on with the others."""


def lint(
    linter: Linter,
    text: str,
    path: str,
    *,
    build_fixes: bool = False,
    tree: ast.AST | None = None,
) -> list[Diagnostic]:
    """The findings in ``text``, as ``Linter.lint_source`` gives them."""
    if not linter.may_match(text):
        return []  # no rule can report here: not even parsed
    normalised = formfeed.normalise(text)
    if normalised is None:
        return _analyse(lambda: linter.lint_source(text, path, build_fixes=build_fixes, tree=tree))
    found = _analyse(lambda: linter.lint_source(normalised.text, path, build_fixes=build_fixes))
    return [normalised.diagnostic(d) for d in found]


def fix(linter: Linter, text: str, path: str, *, unsafe: bool, build_fixes: bool = False) -> FixOutcome:
    """``Linter.fix_source``, and a result that compiles (or SourceError: write nothing)."""
    if not linter.may_match(text):
        return FixOutcome(text, 0, [])
    normalised = formfeed.normalise(text)
    given = text if normalised is None else normalised.text
    outcome = _analyse(
        lambda: linter.fix_source(given, path, unsafe=unsafe, build_fixes=build_fixes)
    )
    if normalised is not None:
        restored = formfeed.restore(normalised, outcome.source)
        remaining = [restored.diagnostic(d) for d in outcome.remaining]
        outcome = FixOutcome(restored.original, outcome.fixed, remaining)
    if outcome.source != text:
        try:
            run_deep(lambda: check_syntax(outcome.source, path, linter.target_version))
        except SourceError as error:
            raise SourceError(f"a fix produced invalid code, file left unchanged ({error})") from None
    return outcome


def _analyse(work: Callable[[], T]) -> T:
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
