"""The performance benchmark of loopcheck against Ruff, flake8-async and Fixit.

Run it with ``python benchmarks/run.py`` (see benchmarks/README.md). It is not part of the
loopcheck package and not part of the default test suite; tests/test_benchmark_script.py only
exercises its statistics and table rendering on made-up samples.
"""


class BenchmarkError(Exception):
    """An expected failure (a missing tool, a failed download, a crashed run): reported as one
    message without a traceback."""
