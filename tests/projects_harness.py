"""Runs one multi-module scenario of tests/fixtures/projects/ and reports how it ended.

    python projects_harness.py tests/fixtures/projects/<scenario> [LIBRARIES]

In this process (whichever interpreter runs it): the scenario's directory, the directory
LIBRARIES (where given: real libraries, which come before their stand-ins) and the stand-ins of
tests/fixtures/projects/_stubs/ go first on sys.path, the working directory becomes the
scenario's, and its `main.py` runs as `__main__` (it simulates the worker: tasks called one after
the other, threads). Then the garbage is collected, since pending tasks and unclosed transports
report when they are collected: the scenario's modules are dropped first, so that what they
kept reports too. The last line of the output is RESULT followed by JSON:

    error     "Type: message" of the exception main.py ended with (None when it ended cleanly)
    chain     that exception and the ones it was raised while handling, outermost first
    problems  what asyncio logged at ERROR ("Task was destroyed but it is pending!", "Exception
              in callback ..."), what the interpreter swallowed ("Exception ignored in ..."), and
              ResourceWarnings ("unclosed transport ...")

The scenario's own output comes before it. Standard library only: it runs under every
interpreter of the version matrix (runtime_harness, whose collector of asyncio logs and
swallowed exceptions it shares, is too)."""

import gc
import json
import logging
import os
import runpy
import sys
import traceback
import warnings

RESULT = "#scenario-result "
STUBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "projects", "_stubs")


def describe(error):
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip()


def chain(error):
    """``error`` and the exceptions it was raised from or while handling, outermost first."""
    seen = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return [describe(e) for e in seen]


def forget_modules(scenario):
    """Drop the scenario's modules, so that what they kept (a loop never closed, a pending task,
    an open transport) is garbage the next collection reports, before the result is printed."""
    names = [
        name
        for name, module in list(sys.modules.items())
        if (getattr(module, "__file__", None) or "").startswith((scenario + os.sep, STUBS + os.sep))
    ]
    for name in names:
        del sys.modules[name]


def run(scenario, libraries=None):
    # What asyncio logs and the interpreter swallows, collected as the fixtures' runs collect them.
    from runtime_harness import Problems

    scenario = os.path.abspath(scenario)
    sys.path[:0] = [scenario, *([os.path.abspath(libraries)] if libraries else []), STUBS]
    os.chdir(scenario)
    problems = Problems()
    logging.getLogger("asyncio").addHandler(problems)
    logging.getLogger("asyncio").propagate = False
    sys.unraisablehook = problems.unraisable

    def resource_warning(message, category, filename, lineno, file=None, line=None):
        problems.found.append(f"{category.__name__}: {str(message).splitlines()[0]}")

    warnings.simplefilter("always", ResourceWarning)
    warnings.showwarning = resource_warning
    error = None
    try:
        runpy.run_path(os.path.join(scenario, "main.py"), run_name="__main__")
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            error = exit_
    except BaseException as raised:  # the scenario's failure is the result
        error = raised
        traceback.print_exc()
    forget_modules(scenario)
    gc.collect()
    result = {
        "error": describe(error) if error is not None else None,
        "chain": chain(error),
        "problems": problems.found,
    }
    sys.stdout.flush()
    sys.stdout.write("\n" + RESULT + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: projects_harness.py SCENARIO_DIRECTORY [LIBRARIES_DIRECTORY]")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # runtime_harness, under -I too
    run(*sys.argv[1:])
