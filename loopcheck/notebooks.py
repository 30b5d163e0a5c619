"""Jupyter notebooks (nbformat 4) as one Python module, and back.

The code cells are joined in order into one text, each after a marker comment line
(``# loopcheck-cell: N``, N the cell's 1-based position among all the notebook's cells, as
Ruff and the editors number them). IPython syntax that is not Python is replaced by a
placeholder line of the same indentation (``pass  # loopcheck-magic``), so every line keeps its
place: line magics (``%time f()``), shell escapes (``!ls``, ``x = !ls``), help (``obj?``,
``??obj``); a cell whose first line is a cell magic (``%%bash``) is left out whole. The markers
make the joined text describe itself: a position in it maps back to its cell and line
(:class:`CellMap`), and a fixed text splits back into the cells (:meth:`Notebook.render`),
the placeholders given back their original lines. Everything else in the file (outputs,
metadata, execution counts, other cells) is written back as it was read; a file whose JSON
layout cannot be reproduced byte for byte is never rewritten.

The notebook is read with the standard ``json`` module: nbformat itself is not needed to read
or write the few keys used here.
"""

from __future__ import annotations

import bisect
import json
import re
import tokenize
from dataclasses import dataclass
from typing import Any

from loopcheck.files import SourceError

SUFFIX = ".ipynb"
MARKER = "# loopcheck-cell: "
PLACEHOLDER = "pass  # loopcheck-magic"
_MARKER_LINE = re.compile(r"^# loopcheck-cell: ([0-9]+)\n", re.MULTILINE)
# A line with its ending, ended where Python ends one (not at form feeds and other separators).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
# Help: ``obj?``, ``obj??``, ``?obj``, ``np.*load*?`` (a whole line; Python never has one).
_HELP = re.compile(r"\s*(\?{1,2}[\w.*]+|[\w.*]+(\(\))?\?{1,2})\s*")
# ``x = !ls``, ``a, b = %sx ls``: an assignment whose value is a magic or a shell escape.
_ASSIGNED_MAGIC = re.compile(r"\s*[\w.,\s\[\]()]+=\s*[!%]")


def is_notebook(path: str) -> bool:
    return path.endswith(SUFFIX)


def _split(text: str) -> list[str]:
    return _LINE.findall(text)


def _is_magic(line: str) -> bool:
    stripped = line.lstrip()
    return (
        stripped.startswith(("%", "!"))
        or _HELP.fullmatch(line.rstrip("\r\n")) is not None
        or (_ASSIGNED_MAGIC.match(line) is not None and not stripped.startswith("#"))
    )


def _continued(line: str) -> bool:
    return line.rstrip("\r\n").endswith("\\")


def _placeholders(lines: list[str]) -> set[int]:
    """The lines (0-based) of a cell that are IPython syntax: each candidate that starts a
    logical line, outside any string or bracket (``%`` starting a continuation line inside
    brackets is the modulo operator; a line of a docstring may start with ``!``), and the lines a
    trailing backslash continues it on.

    One pass of the tokenizer, which asks for each line once the tokens of the line before are
    out: a line starts a logical line when the line before ended with a NEWLINE or NL token
    outside brackets (not inside a string, after a backslash or in brackets). Each magic line is
    handed to it as its placeholder. Past a tokenizer error (the parse reports it), every
    candidate counts."""
    chosen: set[int] = set()
    depth = 0
    ended = -1  # the last line (0-based) a NEWLINE or NL token outside brackets ended
    asked = 0

    def readline() -> str:
        nonlocal asked
        number = asked
        if number >= len(lines):
            return ""
        asked += 1
        if number in chosen or (_is_magic(lines[number]) and ended == number - 1 and depth == 0):
            chosen.add(number)
            if _continued(lines[number]) and number + 1 < len(lines):
                chosen.add(number + 1)
            return _placeholder(lines[number])
        return lines[number]

    try:
        for token in tokenize.generate_tokens(readline):
            if token.type in (tokenize.NEWLINE, tokenize.NL) and depth == 0:
                ended = token.start[0] - 1
            elif token.type == tokenize.OP and token.string in "([{":
                depth += 1
            elif token.type == tokenize.OP and token.string in ")]}":
                depth = max(depth - 1, 0)
    except (tokenize.TokenError, SyntaxError):  # IndentationError too
        pass
    for number in range(asked, len(lines)):  # not reached: by the candidates alone
        if number in chosen or _is_magic(lines[number]):
            chosen.add(number)
            if _continued(lines[number]) and number + 1 < len(lines):
                chosen.add(number + 1)
    return chosen


def _replaced(lines: list[str], chosen: set[int]) -> list[str]:
    return [_placeholder(line) if n in chosen else line for n, line in enumerate(lines)]


def _placeholder(line: str) -> str:
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    return f"{indent}{PLACEHOLDER}\n"


@dataclass
class _Cell:
    index: int  # in the notebook's list of cells (0-based)
    source: list[str]  # its lines, with their endings
    as_list: bool  # the file holds the source as a list of lines (else one string)
    magic: dict[int, str]  # the original of each placeholder line, by line (0-based)

    @property
    def number(self) -> int:
        return self.index + 1


def _source_lines(value: Any, where: str) -> tuple[list[str], bool]:
    if isinstance(value, str):
        return _split(value), False
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return _split("".join(value)), True
    raise SourceError(f"not a valid notebook: {where}'s source is not text")


class Notebook:
    """One notebook as read: its JSON document and its bytes, its code cells and the joined
    text that is checked (:attr:`text`)."""

    def __init__(self, data: bytes) -> None:
        try:
            document = json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError as error:
            raise SourceError(f"not a valid notebook: not UTF-8 (byte at offset {error.start})") from None
        except json.JSONDecodeError as error:
            raise SourceError(f"not a valid notebook: bad JSON at {error.lineno}:{error.colno}: {error.msg}") from None
        except RecursionError:
            raise SourceError("not a valid notebook: JSON nested too deeply") from None
        if not isinstance(document, dict):
            raise SourceError("not a valid notebook: not a JSON object")
        version = document.get("nbformat")
        if version != 4:
            raise SourceError(
                f"unsupported notebook format {version!r} (loopcheck reads nbformat 4; upgrade it with"
                " `jupyter nbconvert --to notebook --nbformat 4`)"
            )
        if not isinstance(document.get("cells"), list):
            raise SourceError("not a valid notebook: no list of cells")
        self.data = data
        self.document = document
        self.cells: list[_Cell] = []
        python = _is_python(document)
        for index, cell in enumerate(document["cells"]):
            if not isinstance(cell, dict):
                raise SourceError(f"not a valid notebook: cell {index + 1} is not an object")
            if cell.get("cell_type") != "code" or not python:
                continue
            lines, as_list = _source_lines(cell.get("source", ""), f"cell {index + 1}")
            first = next((line for line in lines if line.strip()), "")
            if first.lstrip().startswith("%%"):
                continue  # a cell magic: the whole cell is another language (bash, html, timeit)
            if lines and not lines[-1].endswith(("\n", "\r")):
                lines[-1] += "\n"
            chosen = _placeholders(lines)
            magic = {n: lines[n] for n in chosen}
            self.cells.append(_Cell(index, _replaced(lines, chosen), as_list, magic))
        self.text = "".join(f"{MARKER}{cell.number}\n" + "".join(cell.source) for cell in self.cells)

    def render(self, text: str) -> bytes:
        """The notebook's bytes with its code cells holding ``text`` (the joined text after a
        fix); SourceError when ``text`` cannot be split back into the same cells or the file's
        layout cannot be kept."""
        if text == self.text:
            return self.data
        layout = _layout(self.data, self.document)
        parts = _MARKER_LINE.split(text)
        before, numbers, bodies = parts[0], [int(n) for n in parts[1::2]], parts[2::2]
        if numbers != [cell.number for cell in self.cells]:
            raise SourceError("the fix would move code across notebook cells; not written")
        document = json.loads(self.data.decode("utf-8-sig"))  # a copy to change
        for place, (cell, body) in enumerate(zip(self.cells, bodies)):
            if place == 0:
                body = before + body  # what a fix put above every cell (imports): the first cell
            lines = _split(body)
            placeholders = [n for n, line in enumerate(lines) if line.strip() == PLACEHOLDER]
            if len(placeholders) != len(cell.magic):
                raise SourceError(f"the fix would change IPython syntax in cell {cell.number}; not written")
            for n, original in zip(placeholders, (cell.magic[k] for k in sorted(cell.magic))):
                lines[n] = original
            joined = "".join(lines)
            original = document["cells"][cell.index]
            original_text = _joined(original.get("source", ""))
            if not original_text.endswith(("\n", "\r")):
                # The cell's last line had no line ending: it keeps none, and the blank lines a
                # fix leaves before the next cell (which separate them in the joined text) go.
                joined = joined.rstrip("\r\n")
            if joined != original_text:  # an unchanged cell keeps its source as it was split
                original["source"] = _split(joined) if cell.as_list else joined
        return _dump(document, layout)


def _joined(source: Any) -> str:
    return source if isinstance(source, str) else "".join(source)


def _is_python(document: dict[str, Any]) -> bool:
    """Whether the notebook's language is Python (a notebook that does not say is taken to be)."""
    metadata = document.get("metadata")
    language = None
    if isinstance(metadata, dict):
        info = metadata.get("language_info")
        kernel = metadata.get("kernelspec")
        if isinstance(info, dict):
            language = info.get("name")
        elif isinstance(kernel, dict):
            language = kernel.get("language")
    return not isinstance(language, str) or language.lower() in ("python", "python3", "ipython")


@dataclass(frozen=True)
class _Layout:
    indent: int | str | None
    ensure_ascii: bool
    newline: str  # after the document
    bom: bool


def _dump(document: Any, layout: _Layout) -> bytes:
    text = json.dumps(document, indent=layout.indent, ensure_ascii=layout.ensure_ascii) + layout.newline
    return ("\ufeff" if layout.bom else "").encode("utf-8") + text.encode("utf-8")


def _layout(data: bytes, document: Any) -> _Layout:
    """How ``json`` reproduces the file's bytes exactly (Jupyter writes one space of indentation
    and no ASCII escapes, other tools two or four spaces); SourceError when no way does."""
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    newline = body[len(body.rstrip()) :].decode("ascii", "replace")
    indents: list[int | str | None] = [1, 2, 4, "\t", None]
    for indent in indents:
        for ensure_ascii in (False, True):
            layout = _Layout(indent, ensure_ascii, newline, bom)
            if _dump(document, layout) == data:
                return layout
    raise SourceError(
        "the notebook's JSON layout cannot be reproduced exactly (indentation, escapes or key"
        " order of another writer); fix not written"
    )


class CellMap:
    """Lines of a notebook's joined text (1-based) to cells and their lines, and back."""

    def __init__(self, text: str) -> None:
        self.markers: list[int] = []  # the line of each marker, in order
        self.cells: list[int] = []  # the number of the cell each marker opens
        for number, line in enumerate(_split(text), 1):
            match = _MARKER_LINE.fullmatch(line)
            if match:
                self.markers.append(number)
                self.cells.append(int(match[1]))

    def position(self, line: int, edge: bool = False) -> tuple[int, int] | None:
        """The cell of joined line ``line`` and its line in the cell; None above the first
        marker, and on a marker line unless ``edge``: then the line just past the cell before
        (the start of a marker line is where the cell before ends)."""
        place = bisect.bisect_right(self.markers, line) - 1
        if place < 0:
            return None
        if self.markers[place] == line:
            if not edge or place == 0:
                return None
            place -= 1
        return self.cells[place], line - self.markers[place]

    def joined_line(self, cell: int, line: int) -> int:
        """The joined text's line of line ``line`` of cell ``cell``."""
        try:
            return self.markers[self.cells.index(cell)] + line
        except ValueError:
            return line
