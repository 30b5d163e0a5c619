"""Loopcheck's places (lines and columns 1-based, columns in code points, lines ended by CR, LF
or CRLF as Python ends them) as the client counts them: 0-based, columns in the position
encoding the session agreed on (UTF-16 unless the client offered another)."""

from __future__ import annotations

from lsprotocol import types

from loopcheck.engine.edits import split_lines
from loopcheck.reporters.json import locator

_UNIT_BYTES = {"utf-8": 1, "utf-16": 2, "utf-32": 4}  # PositionEncodingKind values
_CODECS = {1: "utf-8", 2: "utf-16-le", 4: "utf-32-le"}


def _line_body(line: str) -> str:
    return line.rstrip("\r\n")


class Lines:
    """One text's lines, to convert places both ways."""

    def __init__(self, text: str, encoding: str | None = types.PositionEncodingKind.Utf16) -> None:
        self.text = text
        self.lines = [_line_body(line) for line in split_lines(text)]
        self._unit = _UNIT_BYTES.get(str(encoding), 2)
        self._locate = locator(text)

    def line_text(self, line: int) -> str:
        """Line ``line`` (1-based) without its ending; empty past the end."""
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def _units(self, text: str) -> int:
        return len(text.encode(_CODECS[self._unit], "surrogatepass")) // self._unit

    def position(self, line: int, column: int) -> types.Position:
        """1-based ``line`` and code point ``column`` as a client position."""
        body = self.line_text(line)
        return types.Position(max(line - 1, 0), self._units(body[: max(column - 1, 0)]))

    def at_offset(self, offset: int) -> types.Position:
        place = self._locate(offset)
        return self.position(place["row"], place["column"])

    def range(self, start: int, end: int) -> types.Range:
        """Character offsets ``start``..``end`` as a client range."""
        return types.Range(self.at_offset(start), self.at_offset(end))

    def column(self, position: types.Position) -> tuple[int, int]:
        """A client position as (1-based line, 1-based code point column)."""
        body = self.line_text(position.line + 1)
        units = 0
        for index, char in enumerate(body):
            if units >= position.character:
                return position.line + 1, index + 1
            units += self._units(char)
        return position.line + 1, len(body) + 1
