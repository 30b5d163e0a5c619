"""A document's LibCST module after an edit, from the module of its last check: the top-level
statements the edit touched are parsed again, on their own, and the others are kept as they were
(a module of 2,000 lines takes LibCST some 100 ms to parse; one function, a few).

The module is the one ``libcst.parse_module`` gives for the whole text, node for node (equal,
not the same objects); where that is not certain, the whole text is parsed:

- the edit leaves the first top-level statement (and the module's header) alone, and that part
  holds an indented block: the module's first line ending and first indentation, which LibCST
  takes as its defaults (a block indented so has no indentation of its own), come before the
  edit;
- the edit starts after the first touched statement's own blank and comment lines, and ends
  before the code of the first statement after it starts (those lines, and so which statement
  owns them, are unchanged);
- the touched statements, parsed on their own, have the module's defaults, no trailing blank or
  comment lines left to the module's footer unless they end the module, and at least one
  statement; their leading lines, which LibCST gives the module's header when a text starts with
  them, go back to the first statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from loopcheck.analysis.index import FileIndex
from loopcheck.analysis.positions import _starts_from_lines
from loopcheck.engine.edits import split_lines, unchanged_ends

# How many documents' modules are kept (each is large: a node per token and more).
KEPT = 8


@dataclass(frozen=True)
class _Parsed:
    text: str
    module: cst.Module
    # The line where each top-level statement's code starts (its leading lines included).
    starts: tuple[int, ...]
    # The analysis's index of each top-level statement (``FileIndex.of``), kept from module to
    # module with the statements.
    index_parts: dict[cst.CSTNode, FileIndex]


class Reparse:
    """The last module parsed for each document (by path), to parse the next text from."""

    def __init__(self) -> None:
        self._last: dict[str, _Parsed] = {}

    def parse(self, path: str, text: str, statement_lines: tuple[int, ...] | None) -> cst.Module:
        """``cst.parse_module(text)``, from the last module of ``path`` where it can be.
        ``statement_lines``: the line of each top-level statement of the ``ast`` tree of
        ``text`` (None: not at hand, the module is not kept)."""
        before = self._last.pop(path, None)
        module = None if before is None else reparsed(before, text)
        if module is None:
            module = cst.parse_module(text)
        starts = None if statement_lines is None else _starts_from_lines(module, statement_lines)
        if starts is not None:
            parts = {} if before is None else before.index_parts
            self._last[path] = _Parsed(text, module, tuple(line for line, _ in starts.values()), parts)
            while len(self._last) > KEPT:
                del self._last[next(iter(self._last))]  # the longest unused
        return module

    def index_parts(self, path: str) -> dict[cst.CSTNode, FileIndex] | None:
        """The index of each top-level statement of the last module of ``path`` (None: not kept)."""
        last = self._last.get(path)
        return None if last is None else last.index_parts

    def forget(self, path: str) -> None:
        self._last.pop(path, None)


def reparsed(before: _Parsed, text: str) -> cst.Module | None:
    """The module of ``text`` from ``before`` (see the module's doc); None when the whole text
    must be parsed."""
    module, starts = before.module, before.starts
    if text == before.text:
        return module
    if not starts:
        return None
    old, new = split_lines(before.text), split_lines(text)
    head, tail = unchanged_ends(old, new)
    count = len(module.body)
    ends = (*starts[1:], len(old) + 1)  # the line after each statement's code (the footer: the last's)
    changed_to = len(old) - tail  # the last line the edit changed, or head where it only adds lines
    # The touched statements, first to last - 1 (0-based): from the one holding the last line
    # before the edit (lines added after a block may be its own), to the one before the first
    # whose code starts after the edit.
    first = next((k for k in range(count) if starts[k] <= head < ends[k]), 0)
    last = next((k for k in range(first + 1, count) if starts[k] > changed_to), count)
    if first == 0 or not _opening_kept(module.body[first], starts[first], head):
        return None
    end = (starts[last] - 1 if last < count else len(old)) + len(new) - len(old)  # in the new text
    try:
        chunk = cst.parse_module("".join(new[starts[first] - 1 : end]))
    except cst.ParserSyntaxError:
        return None
    if not chunk.body or not _defaults_agree(chunk, module, module.body[:first]):
        return None
    opening = chunk.body[0]
    opening = opening.with_changes(leading_lines=(*chunk.header, *opening.leading_lines))
    body = (*module.body[:first], opening, *chunk.body[1:])
    if last == count:  # the touched statements end the module: its footer is theirs
        return module.with_changes(body=body, footer=chunk.footer, has_trailing_newline=chunk.has_trailing_newline)
    if not _owns_its_lines(chunk):
        return None
    return module.with_changes(body=(*body, *module.body[last:]))


def _opening_kept(statement: cst.BaseStatement, start: int, head: int) -> bool:
    """Whether the edit leaves the first touched statement's leading lines and first line alone
    (``head``: the lines before the edit): lines added before them may be the previous block's."""
    return head >= start + len(statement.leading_lines)


def _defaults_agree(chunk: cst.Module, module: cst.Module, before: tuple[cst.BaseStatement, ...]) -> bool:
    """Whether the statements parsed on their own have the module's defaults, and the text's
    first indentation (LibCST's default) is where it was: in a block before them, or among them."""
    if (chunk.default_indent, chunk.default_newline, chunk.encoding) != (
        module.default_indent,
        module.default_newline,
        module.encoding,
    ):
        return False
    return _has_block(before) or _has_block(chunk.body)


def _has_block(statements: Sequence[cst.BaseStatement]) -> bool:
    return any(isinstance(getattr(statement, "body", None), cst.IndentedBlock) for statement in statements)


def _owns_its_lines(chunk: cst.Module) -> bool:
    """Whether the statements parsed on their own own all their lines, as before the statement
    after them: blank and comment lines at their end that are not a block's are that one's."""
    return not chunk.footer and chunk.has_trailing_newline
