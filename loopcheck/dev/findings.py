"""``compare-findings``: loopcheck's findings and fixes, by the checkout's code and by a base
revision's, on the same inputs, compared byte for byte.

A change not meant to change results (a refactor, a speed-up) must leave every finding (message,
position) and every fix (title, safety, edits) as they were. The inputs are the base revision's
fixtures, programs and examples (without their snapshots) and, when it is there, the pinned
corpus; each tree's loopcheck runs on them in its own process, with the cache off."""

from __future__ import annotations

import difflib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# What the base revision contributes: its code, and the inputs every tree is run on.
CODE = "loopcheck"
INPUTS = ("tests/fixtures", "tests/programs", "examples")
# Files beside the inputs that are results, not inputs.
RESULTS = ("*.snap", "*.fixed")
# Each input is run twice: what is reported, and what every fix would change.
RUNS = {
    "findings": ("--output-format", "json"),
    "fixes": ("--diff", "--unsafe-fixes"),
}
SHOWN_DIFF_LINES = 40


class CompareError(Exception):
    """The base revision or an input cannot be had."""


@dataclass(frozen=True)
class Difference:
    name: str  # input and run, e.g. "fixtures findings"
    diff: list[str]


def default_corpus() -> Path:
    return Path(os.environ.get("LOOPCHECK_CORPUS", Path.home() / ".cache" / "loopcheck-corpus")) / "src"


def input_names() -> tuple[str, ...]:
    return (*(Path(name).name for name in INPUTS), "corpus")


def compare(
    root: Path, base: str, corpus: Path | None, only: tuple[str, ...] = ()
) -> Iterator[tuple[str, Difference | None]]:
    """For each input (those named in ``only``; all where it is empty) and run: its name, and how
    the base's output and the checkout's differ (None: identical)."""
    with tempfile.TemporaryDirectory(prefix="loopcheck-compare-") as scratch:
        base_tree = Path(scratch) / "base"
        _export(root, base, base_tree)
        inputs = {Path(name).name: _without_results(base_tree / name, Path(scratch) / "inputs") for name in INPUTS}
        if corpus is not None:
            inputs["corpus"] = corpus
        for input_name, path in inputs.items():
            if only and input_name not in only:
                continue
            for run_name, options in RUNS.items():
                before = _run(base_tree, path, options)
                after = _run(root, path, options)
                name = f"{input_name} {run_name}"
                diff = list(difflib.unified_diff(before, after, f"{base}: {name}", f"checkout: {name}", lineterm=""))
                yield name, Difference(name, diff) if diff else None


def _export(root: Path, revision: str, target: Path) -> None:
    """The base revision's code and inputs, as committed, into ``target``."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, CODE, *INPUTS], cwd=root, capture_output=True
    )
    if archive.returncode != 0:
        reason = archive.stderr.decode(errors="replace").strip().splitlines()
        raise CompareError(f"cannot read revision {revision!r}: {reason[-1] if reason else 'git failed'}")
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        # The "data" filter (Python 3.12's default to be) where this Python has it.
        extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(target, **extra)


def _without_results(tree: Path, scratch: Path) -> Path:
    copy = scratch / tree.name
    shutil.copytree(tree, copy, ignore=shutil.ignore_patterns(*RESULTS, "__pycache__"))
    return copy


def _run(tree: Path, path: Path, options: tuple[str, ...]) -> list[str]:
    """``python -m loopcheck`` of ``tree`` on ``path``: its output, error output and status."""
    completed = subprocess.run(
        [sys.executable, "-m", "loopcheck", "--no-cache", "-q", *options, str(path)],
        cwd=tree,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tree)},
    )
    return [*completed.stdout.splitlines(), *completed.stderr.splitlines(), f"exit status {completed.returncode}"]
