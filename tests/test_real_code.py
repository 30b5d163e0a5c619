"""Crash-free runs over real code: the standard library's asyncio package by default (real async
code, no download), the whole benchmark corpus with `-m slow` (see ../shared/bench)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from loopcheck.diagnostics import SourceError
from loopcheck.sources import discover, read_source
from tests.helpers import all_rules_linter

CORPUS = Path(os.environ.get("LOOPCHECK_CORPUS", Path.home() / ".cache/loopcheck-corpus")) / "src"


def check_tree(root: Path) -> tuple[int, int]:
    """Lint and fix (unsafe) every file; every fix must reparse and settle. (files, findings)"""
    linter = all_rules_linter()
    files, _ = discover([str(root)])
    findings = 0
    for path in files:
        try:
            source = read_source(path)
        except SourceError:
            continue  # test data of the packages themselves: reported, not a crash
        try:
            findings += len(linter.lint_source(source.text, path))
            outcome = linter.fix_source(source.text, path, unsafe=True)
        except SourceError as error:
            if "syntax error" in str(error):
                continue
            raise
        compile(outcome.source, path, "exec")
        assert linter.fix_source(outcome.source, path, unsafe=True).fixed == 0, path
    return len(files), findings


def test_stdlib_asyncio_is_checked_without_crashing():
    files, _ = check_tree(Path(asyncio.__file__).parent)
    assert files > 20


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="run ../shared/bench/corpus.sh first")
def test_benchmark_corpus_is_checked_without_crashing():
    files, _ = check_tree(CORPUS)
    assert files > 50
