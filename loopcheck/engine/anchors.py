"""A finding's content anchor: what stays the same when the code around it moves. The baseline
matches findings by it and SARIF gives it as ``partialFingerprints``, so neither depends on line
numbers: the anchor is the finding's code, the qualified name of the function or class around it
(``Worker.run``; empty at module level) and a hash of the flagged construct's source text with
its whitespace removed (reindenting or rewrapping it keeps the anchor)."""

from __future__ import annotations

import ast
import hashlib
import re
from collections import Counter
from dataclasses import dataclass

from loopcheck.engine.cells import to_text
from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.engine.edits import split_lines
from loopcheck.notebooks import CellMap

_WHITESPACE = re.compile(r"\s+")
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True, order=True)
class Anchor:
    code: str
    scope: str  # the enclosing qualified name ("" at module level)
    digest: str  # of the flagged construct's text, whitespace removed

    def fingerprint(self, occurrence: int = 0) -> str:
        """One string for the anchor and the how-manieth finding with it in its file (0-based)."""
        text = f"{self.code}\0{self.scope}\0{self.digest}\0{occurrence}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def construct_text(d: Diagnostic, lines: list[str]) -> str:
    """The source the finding spans (lines and columns 1-based, end exclusive), else its line."""
    if not 0 < d.line <= len(lines):
        return ""
    if d.end_line < d.line or d.end_line > len(lines):
        return lines[d.line - 1]
    if d.end_line == d.line:
        text = lines[d.line - 1][d.column - 1 : d.end_column - 1]
    else:
        middle = lines[d.line : d.end_line - 1]
        text = "".join([lines[d.line - 1][d.column - 1 :], *middle, lines[d.end_line - 1][: d.end_column - 1]])
    return text if text.strip() else lines[d.line - 1]


def _digest(text: str) -> str:
    return hashlib.sha256(_WHITESPACE.sub("", text).encode("utf-8")).hexdigest()[:16]


class FileAnchors:
    """The anchors of the findings of one file's text (the text is parsed once, with ``ast``)."""

    def __init__(self, source: str) -> None:
        self.lines = split_lines(source)
        self._source = source
        self._cells: CellMap | None = None  # a notebook's, when a finding names a cell
        self._scopes: list[tuple[int, int, int, str]] = []  # (first line, last line, depth, name)
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return  # a file the run could not parse has no findings to anchor
        self._collect(tree, "", 0)

    def _collect(self, node: ast.AST, prefix: str, depth: int) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _SCOPES):
                name = f"{prefix}{child.name}"
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                self._scopes.append((first, child.end_lineno or child.lineno, depth, name))
                self._collect(child, f"{name}.", depth + 1)
            else:
                self._collect(child, prefix, depth)

    def scope(self, line: int) -> str:
        """The qualified name of the innermost function or class holding ``line``."""
        found = [(depth, name) for first, last, depth, name in self._scopes if first <= line <= last]
        return max(found)[1] if found else ""

    def anchor(self, d: Diagnostic) -> Anchor:
        if d.cell is not None:  # a notebook's finding: by the lines of the text it was found in
            self._cells = self._cells or CellMap(self._source)
            d = to_text(d, self._cells)
        return Anchor(d.code, self.scope(d.line), _digest(construct_text(d, self.lines)))


def fingerprints(diagnostics: list[Diagnostic], source: str) -> list[str]:
    """The content fingerprint of each finding of one file, in order: its anchor and how many
    findings before it (in position order) have the same anchor."""
    anchors = FileAnchors(source)
    seen: Counter[Anchor] = Counter()
    found = {}
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        anchor = anchors.anchor(d)
        found[id(d)] = anchor.fingerprint(seen[anchor])
        seen[anchor] += 1
    return [found[id(d)] for d in diagnostics]
