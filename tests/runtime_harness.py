"""Runs a fixture (or its fixed snapshot) the way a worker does, and reports what went wrong.

Each ``exercise_*`` function runs twice, in a process of its own: a coroutine function under two
successive ``asyncio.run()`` calls (one loop per task, as Celery or a test runner does), a plain
function by calling it twice (a synchronous task that handles loops itself). A run fails when it
raises, when asyncio logs an error (``Task was destroyed but it is pending!``), when the
interpreter swallows an exception (``Exception ignored in ...``), or when it hangs. Prints
{name: {"doc": ..., "runs": [...], "lines": [...]}} as JSON, where "lines" are the lines of the
fixture the exercise executed (traced in every thread), which tie each finding to an exercise,
and "output" the lines the exercise printed itself. LOOPCHECK_EXERCISES (names, comma-separated)
runs only those exercises.

Standard library only: it runs under every interpreter of the version matrix."""

import ast
import asyncio
import gc
import importlib
import importlib.machinery
import importlib.util
import inspect
import json
import logging
import os
import subprocess
import sys
import threading
import time
import warnings

RUNS = 2
TIMEOUT = 2  # seconds for one run of a coroutine; a whole exercise gets HANG seconds
HANG = 6
HANG_EXPECTED = 2  # for exercises documented to hang: enough to show they do not finish
LINES = "#lines "  # prefix of the line listing what a run executed
IMPORT_LINES = "#import-lines "  # ... and what importing the fixture executed
RUN = "#run "  # prefix of a run's result (the exercise may print too)
OUTPUT = threading.Lock()  # the runs and the line reports are printed from two threads


def emit(line):
    with OUTPUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Problems(logging.Handler):
    """Collects what asyncio logs and what the interpreter swallows during a run."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.found = []

    def emit(self, record):
        self.found.append("asyncio logged: " + record.getMessage().splitlines()[0])

    def unraisable(self, info):
        error = info.exc_value
        self.found.append(f"exception ignored: {type(error).__name__}: {error}")


def run_once(function, problems):
    problems.found.clear()
    try:
        if inspect.iscoroutinefunction(function):
            asyncio.run(asyncio.wait_for(function(), TIMEOUT))
        else:
            function()
        gc.collect()  # pending tasks and unclosed generators report when they are collected
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return problems.found[0] if problems.found else "ok"


def load(path):
    loader = importlib.machinery.SourceFileLoader("fixture_under_test", path)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def exercises(module):
    return {
        name: function
        for name, function in sorted(vars(module).items())
        if name.startswith("exercise_") and inspect.isfunction(function)
    }


def preimport(path):
    """Import what the fixture imports before tracing starts: tracing slows every call, and the
    imports of client libraries are many calls that are no part of the exercise."""
    with open(path, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    for node in tree.body:
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:
                pass  # the fixture's own import will say what is wrong


def trace_lines(path, executed):
    """Record the lines of ``path`` that run, in this thread and in threads started later."""
    wanted = os.path.realpath(path)

    def tracer(frame, event, arg):
        if os.path.realpath(frame.f_code.co_filename) != wanted:
            return None
        if event == "line":
            executed.add(frame.f_lineno)
        return tracer

    sys.settrace(tracer)
    threading.settrace(tracer)


def run_exercise(path, name):
    """In the child process: one line per run, flushed, so a hang still shows earlier runs."""
    warnings.simplefilter("ignore")
    problems = Problems()
    logging.getLogger("asyncio").addHandler(problems)
    logging.getLogger("asyncio").propagate = False
    sys.unraisablehook = problems.unraisable
    preimport(path)
    executed = set()
    trace_lines(path, executed)
    module = load(path)
    at_import = set(executed)
    executed.clear()
    emit(IMPORT_LINES + json.dumps(sorted(at_import)))
    function = exercises(module)[name]
    report_lines_while_running(executed)
    for _ in range(RUNS):
        emit(RUN + run_once(function, problems))
        emit(LINES + json.dumps(sorted(executed)))


def report_lines_while_running(executed):
    """An exercise that hangs never reaches the line after its run: report what it ran so far."""

    def report():
        while True:
            time.sleep(HANG_EXPECTED / 4)
            emit(LINES + json.dumps(sorted(executed)))

    threading.Thread(target=report, daemon=True).start()


def split_output(output):
    runs, lines, at_import, printed = [], [], [], []
    for line in output.splitlines():
        if line.startswith(LINES):
            lines = json.loads(line[len(LINES):])
        elif line.startswith(IMPORT_LINES):
            at_import = json.loads(line[len(IMPORT_LINES):])
        elif line.startswith(RUN):
            runs.append(line[len(RUN):])
        else:
            printed.append(line)
    return runs, lines, at_import, printed


def main(path):
    warnings.simplefilter("ignore")
    results = {}
    wanted = os.environ.get("LOOPCHECK_EXERCISES")
    for name, function in exercises(load(path)).items():
        if wanted is not None and name not in wanted.split(","):
            continue
        doc = inspect.getdoc(function) or ""
        limit = HANG_EXPECTED if "expect: hang" in doc else HANG
        try:
            child = subprocess.run(
                [sys.executable, __file__, path, name],
                capture_output=True, text=True, timeout=limit,
            )
            runs, lines, at_import, printed = split_output(child.stdout)
            if child.returncode != 0:
                runs.append(f"crashed: {child.stderr.strip().splitlines()[-1:]}")
        except subprocess.TimeoutExpired as expired:
            output = expired.stdout or b""
            if isinstance(output, bytes):
                output = output.decode()
            runs, lines, at_import, printed = split_output(output)
            runs.append(f"hang: no result after {limit} s")
        results[name] = {
            "doc": doc, "runs": runs, "lines": lines, "import_lines": at_import, "output": printed,
        }
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) == 3:
        run_exercise(sys.argv[1], sys.argv[2])
    else:
        main(sys.argv[1])
