"""Crash-free runs over real code: the standard library's asyncio package by default (real async
code, no download), the whole benchmark corpus with `-m slow` (see ../shared/bench)."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

import pytest

from loopcheck.engine import pipeline
from loopcheck.files import SourceError
from loopcheck.run.sources import discover, read_source
from tests.helpers import all_rules_linter

CORPUS = Path(os.environ.get("LOOPCHECK_CORPUS", Path.home() / ".cache/loopcheck-corpus")) / "src"


def check_tree(root: Path) -> tuple[int, int]:
    """Lint and fix (unsafe) every file the way the command line does: no internal error, every
    fixed file compiles, a second pass changes nothing, and no fix brings a finding of its own.
    (files, findings)"""
    linter = all_rules_linter()
    files = discover([str(root)]).files
    findings = 0
    for path in files:
        try:
            source = read_source(path, None)
            found = pipeline.check_file(linter, source.text, path)
            outcome = pipeline.fix_file(linter, source.text, path, unsafe=True)
        except SourceError as error:
            assert "internal error" not in str(error), (path, str(error))
            continue  # the packages' own invalid test data: reported in one line
        findings += len(found)
        compile(outcome.source, path, "exec")
        again = pipeline.fix_file(linter, outcome.source, path, unsafe=True)
        assert (again.fixed, again.source) == (0, outcome.source), path
        before = Counter(d.code for d in found)
        assert not Counter(d.code for d in outcome.remaining) - before, path
    return len(files), findings


def test_stdlib_asyncio_is_checked_without_crashing():
    files, _ = check_tree(Path(asyncio.__file__).parent)
    assert files > 20


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="run ../shared/bench/corpus.sh first")
def test_benchmark_corpus_is_checked_without_crashing():
    files, _ = check_tree(CORPUS)
    assert files > 50
