"""Wording the LCK2xx rules share in their messages and pages, and why they decline to fix a
finding or mark its fix unsafe: the analysis finds the facts (a use of the loop outside its runs,
an argument that may be a Future, a job left in the default executor), these functions say them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.analysis.loop_uses import LoopUse, method_call, sole_argument
from loopcheck.data.catalogue import LoopApi

if TYPE_CHECKING:
    from loopcheck.analysis import FileAnalysis

# The affected versions of a rule whose findings were measured alike on every version.
SAME_ON_EVERY_VERSION = """\
All supported versions (measured on 3.10 to 3.13: the same messages on each)."""


def run_name(call: cst.Call, api: LoopApi) -> str:
    """How a message names the run ``call`` makes: ``run_until_complete()`` or ``asyncio.run()``."""
    return "run_until_complete()" if method_call(call, (api.run_method,)) else "asyncio.run()"


def beyond_runs(analysis: FileAnalysis, use: LoopUse) -> str:
    """What an OTHER use does with the loop, for a finding's "no fix" reason."""
    up = analysis.tree.parents.get(use.node)
    if isinstance(up, cst.Attribute) and up.value is use.node:
        method = f"`{analysis.module.code_for_node(up)}`"
        if up.attr.value == analysis.catalogue.loop_api.run_method:  # `run = loop.run_until_complete`
            return f"{method} is kept in a variable or passed on, not called"
        return f"{method} uses the loop outside its runs"
    if isinstance(up, cst.Arg):
        return "the loop is passed on to other code, which may keep using it"
    return f"line {analysis.line_of(use.node)} uses the loop outside its runs"


def refused_by_asyncio_run(analysis: FileAnalysis, run_call: cst.Call, unknown: bool = False) -> str | None:
    """Why ``<loop>.run_until_complete(x)`` may not become ``asyncio.run(x)``, for a finding's
    "no fix" reason: ``x`` is known to be a Future, or with ``unknown``, is not visibly a
    coroutine call (a variable that may hold a Future, which ``run_until_complete()`` takes and
    ``asyncio.run()`` refuses). A parameter of the helper that runs it is not refused: what it
    holds is what the helper's callers pass (see :func:`callers_note`). None when asyncio.run()
    takes it."""
    argument = sole_argument(run_call)
    if argument is None:
        return "run_until_complete() is not given exactly one argument"
    accepted = analysis.loop_uses.coroutine_argument(argument)
    if accepted is False:
        if isinstance(argument, cst.Call):
            made_by = analysis.module.code_for_node(argument.func)
            return f"`{made_by}()` returns a Future, which asyncio.run() refuses"
        return "the argument is a Future, which asyncio.run() refuses"
    if accepted is None and unknown and analysis.coroutines.passed_parameter(argument) is None:
        what = f"`{argument.value}`" if isinstance(argument, cst.Name) else "the argument"
        return f"{what} may be a Future, which asyncio.run() refuses"
    return None


def unproven_note(analysis: FileAnalysis, arguments: list[cst.BaseExpression]) -> str:
    """For the title of a fix that hands ``arguments`` to asyncio.run(): why it is unsafe when
    one of them is not provably a coroutine, else nothing."""
    reason = unproven_reason(analysis, arguments)
    return f" (unsafe: {reason})" if reason else ""


def unproven_reason(analysis: FileAnalysis, arguments: list[cst.BaseExpression]) -> str | None:
    """What :func:`unproven_note` says, without its parentheses; None when every argument is
    provably a coroutine."""
    coroutines = analysis.coroutines
    for argument in arguments:
        if not coroutines.proven(argument):
            call = coroutines.call_of(argument)
            code = analysis.module.code_for_node
            if call is None:
                what = f"`{code(argument)}` may be a Future"
            else:
                what = f"`{code(call.func)}` may return a Future"
            return f"asyncio.run() and asyncio.Runner run only coroutines; {what}"
    return None


def helper_parameters(analysis: FileAnalysis, arguments: list[cst.BaseExpression]) -> tuple[tuple[str, str], ...]:
    """The parameters of the helpers that run them, when ``arguments`` are each provably a
    coroutine or such a parameter (the fix is then safe if every caller of each helper passes a
    coroutine there, which the project model knows); else nothing."""
    coroutines = analysis.coroutines
    passed = [coroutines.passed_parameter(argument) for argument in arguments]
    if not any(passed) or not all(p is not None or coroutines.proven(a) for p, a in zip(passed, arguments)):
        return ()
    return tuple(dict.fromkeys(p for p in passed if p is not None))


def callers_note(parameters: tuple[tuple[str, str], ...]) -> str:
    """For the title of a fix that hands helpers' ``parameters`` to asyncio.run(): what changes
    where a caller passes something other than a coroutine (measured on 3.10 to 3.13)."""
    return f" (unsafe: {callers_reason(parameters)})"


def callers_reason(parameters: tuple[tuple[str, str], ...]) -> str:
    """What :func:`callers_note` says, without its parentheses."""
    function, parameter = parameters[0]
    return (
        f"asyncio.run() takes only coroutines; a caller of `{function}` that passes a Future or"
        f" another awaitable as `{parameter}` would fail with 'a coroutine was expected'"
    )


def executor_wait_reason(analysis: FileAnalysis, arguments: Iterable[cst.BaseExpression]) -> str | None:
    """Why handing ``arguments`` to asyncio.run() could hang a program that exits today, for a
    finding's "no fix" reason; None when none of them reaches the default executor."""
    for argument in arguments:
        use = analysis.coroutines.default_executor_use(argument)
        if use is not None:
            line = analysis.line_of(use)
            return f"the coroutine hands work to the default executor (line {line}), which asyncio.run() waits for"
    return None


def shared_by_runs_reason(receiver: str) -> str:
    """Why several runs of one loop cannot each get a loop of their own: two of them run
    coroutines of one object, which the first may bind to the loop."""
    return (
        f"two of its runs call methods of `{receiver}`, which the first may bind to the loop; each"
        " asyncio.run() would make a loop of its own; run them from one coroutine"
    )
