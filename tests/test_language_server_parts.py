"""The language server's parts that need no session: positions as the client counts them, and
the ``# noqa`` edit and lookup."""

from __future__ import annotations

import pytest
from lsprotocol import types

from loopcheck.frontends.server.noqa import code_at, noqa_edit
from loopcheck.frontends.server.positions import Lines


def test_columns_are_counted_in_the_agreed_encoding() -> None:
    text = "s = '\U0001f512é'; x = 1\r\ny = 2\n"
    at_x = text.index("x") + 1  # 1-based code point column
    assert Lines(text).position(1, at_x) == types.Position(0, at_x - 1 + 1)  # the emoji: 2 units
    assert Lines(text, "utf-32").position(1, at_x) == types.Position(0, at_x - 1)
    assert Lines(text, "utf-8").position(1, at_x) == types.Position(0, at_x - 1 + 3 + 1)
    assert Lines(text).position(2, 1) == types.Position(1, 0)  # CRLF ends one line
    assert Lines(text).column(types.Position(0, at_x)) == (1, at_x)
    assert Lines(text).at_offset(text.index("y")) == types.Position(1, 0)


def test_a_lone_carriage_return_ends_a_line_as_python_says() -> None:
    lines = Lines("a = 1\rb = 2\n")
    assert lines.line_text(2) == "b = 2"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("x = f()\n", "x = f()  # noqa: LCK101\n"),
        ("x = f()  # why\n", "x = f()  # why  # noqa: LCK101\n"),
        ("x = f()  # noqa: E501\n", "x = f()  # noqa: E501, LCK101\n"),
        ("x = f()  # noqa:LCK401 (see above)\n", "x = f()  # noqa:LCK401, LCK101 (see above)\n"),
        ("x = f()\r\ny = 1\r\n", "x = f()  # noqa: LCK101\r\ny = 1\r\n"),
        ("x = f()", "x = f()  # noqa: LCK101"),
    ],
)
def test_noqa_is_added_or_merged(given: str, expected: str) -> None:
    edit = noqa_edit(given, 1, "LCK101")
    assert given[: edit.start] + edit.content + given[edit.end :] == expected


@pytest.mark.parametrize(
    "given",
    [
        "x = f()  # noqa\n",  # silenced already
        "x = f()  # noqa: LCK1\n",  # by prefix
        'x = f("""\n""")\n',  # the line ends inside a string: no comment can go there
    ],
)
def test_no_noqa_edit_where_none_is_needed_or_possible(given: str) -> None:
    assert noqa_edit(given, 1, "LCK101") is None


def test_the_code_under_the_cursor() -> None:
    line = "x = 1  # noqa: E501,lck401"
    assert code_at(line, line.index("lck401") + 1) == "LCK401"
    assert code_at(line, line.index("E501") + 2) == "E501"
    assert code_at(line, 1) is None
    assert code_at("x = 1  # noqa", 10) is None
