"""Runs a fixture (or its fixed snapshot) the way a worker does: each ``exercise_*`` coroutine
under two successive ``asyncio.run()`` calls. Prints {name: {"doc": ..., "runs": [...]}} as JSON.

Standard library only: it runs under every interpreter of the version matrix."""

import asyncio
import importlib.machinery
import importlib.util
import inspect
import json
import sys
import warnings

RUNS = 2
TIMEOUT = 5


def main(path):
    warnings.simplefilter("ignore")
    loader = importlib.machinery.SourceFileLoader("fixture_under_test", path)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    results = {}
    for name, function in sorted(vars(module).items()):
        if not (name.startswith("exercise_") and inspect.iscoroutinefunction(function)):
            continue
        runs = []
        for _ in range(RUNS):
            try:
                asyncio.run(asyncio.wait_for(function(), TIMEOUT))
                runs.append("ok")
            except Exception as error:
                runs.append(f"{type(error).__name__}: {error}")
        results[name] = {"doc": inspect.getdoc(function) or "", "runs": runs}
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
