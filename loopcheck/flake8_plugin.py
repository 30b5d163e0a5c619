"""The flake8 plugin: every LCK code, with the positions and messages of the command line.

flake8 selects, ignores and honours ``# noqa`` itself, so the plugin runs every rule and filters
nothing. The candidate stage skips a file that cannot hold a finding (a text test, then a scan of the tree
flake8 has already parsed), and the syntax check is left to flake8 (E999).
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from loopcheck import __version__, guard
from loopcheck.diagnostics import SourceError
from loopcheck.engine import Linter
from loopcheck.registry import rule_index

LOG = logging.getLogger(__name__)


class Plugin:
    name = "loopcheck"
    version = __version__
    _linter: Linter | None = None

    def __init__(self, tree: ast.AST, filename: str, lines: Sequence[str]) -> None:
        # flake8 hands every tree plugin the parsed tree: the candidate stage scans it, and
        # LibCST parses only files where a rule may report.
        self.tree = tree
        self.filename = filename
        self.lines = lines

    @classmethod
    def linter(cls) -> Linter:
        if cls._linter is None:
            # The rule index: a rule's module (and LibCST) is imported only for a file that needs it.
            cls._linter = Linter(list(rule_index().values()), honour_noqa=False, syntax_check=False)
        return cls._linter

    def run(self) -> Iterator[tuple[int, int, str, Any]]:
        source = "".join(self.lines)
        try:
            diagnostics = guard.lint(self.linter(), source, self.filename, tree=self.tree)
        except SourceError as error:
            LOG.warning("loopcheck: %s: %s", self.filename, error)
            return
        for d in diagnostics:
            yield d.line, d.column - 1, f"{d.code} {d.message}", type(self)
