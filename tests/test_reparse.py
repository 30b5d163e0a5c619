"""A document's LibCST module parsed again after an edit from its last module (``reparse``): it
must be the module LibCST makes of the whole text, node for node, and the findings those of a
check that parses it all. Random chains of code edits (names changed, arguments and statements
added in functions and at the top level, lines deleted, comments and blank lines at the ends of
blocks) over the fixtures and, where the benchmark corpus is unpacked, a few real modules; and
each of the shortcut's guards shown to be needed."""

from __future__ import annotations

import ast
import random
import re
from pathlib import Path

import libcst as cst
import pytest

from loopcheck.analysis.index import FileIndex
from loopcheck.engine import reparse
from loopcheck.engine.pipeline import check_file
from loopcheck.files import SourceError
from tests.helpers import fixture_linter
from tests.test_server_recheck import sources

EDITS = 10  # a chain of edits per file


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def code_edited(text: str, rng: random.Random) -> str:
    """``text`` with one random edit of code, or of the blank and comment lines around blocks."""
    lines = text.splitlines(keepends=True)
    at = rng.randrange(len(lines) + 1)
    near = lines[at - 1] if 0 < at <= len(lines) else ""
    kind = rng.choice(["name", "name", "argument", "statement", "statement", "loop", "top", "delete", "after"])
    if kind == "name":
        names = [(n, m) for n, line in enumerate(lines) for m in re.finditer(r"\b[a-z_][a-z_0-9]*\b", line)]
        if names:
            n, m = rng.choice(names)
            lines[n] = lines[n][: m.start()] + m.group() + "_x" + lines[n][m.end() :]
    elif kind == "argument":
        calls = [n for n, line in enumerate(lines) if re.search(r"\w\(\)", line)]
        if calls:
            n = rng.choice(calls)
            lines[n] = re.sub(r"(\w)\(\)", r"\1(1)", lines[n], count=1)
    elif kind == "statement":  # at the indentation of the line above, in a block after a colon
        indent = _indent(near) + ("    " if near.rstrip().endswith(":") else "")
        lines.insert(at, f"{indent}value_{rng.randrange(100)} = {rng.randrange(100)}\n")
    elif kind == "loop":
        indent = _indent(near) + ("    " if near.rstrip().endswith(":") else "")
        lines.insert(at, f"{indent}asyncio.get_event_loop()\n")
    elif kind == "top":
        lines.insert(at, f"top_{rng.randrange(100)} = 1\n")
    elif kind == "delete" and lines:
        del lines[min(at, len(lines) - 1)]
    else:  # a comment or blank line after a line, indented as it, deeper, or not at all
        lines.insert(at, rng.choice(["\n", f"{_indent(near)}# c\n", f"{_indent(near)}    # c\n", "# c\n", "    \n"]))
    return "".join(lines)


def statement_lines(text: str) -> tuple[int, ...]:
    return tuple(statement.lineno for statement in ast.parse(text).body)


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
        cst.parse_module(text)
    except (SyntaxError, cst.ParserSyntaxError):
        return False
    return True


def mismatches(paths: list[Path], *, first: bool = False) -> tuple[int, list[str]]:
    """How many edits' modules came from the last one, and the edits whose module is not the
    whole text's (``first``: up to the first)."""
    taken, wrong = 0, []
    for path in paths:
        if first and wrong:
            break
        rng = random.Random(len(path.name))
        text = path.read_text("utf-8")
        parser = reparse.Reparse()
        parser.parse("m.py", text, statement_lines(text))
        for step in range(EDITS):
            edited = code_edited(text, rng)
            if not _parses(edited):
                continue
            text = edited
            last = parser._last.get("m.py")
            taken += last is not None and reparse.reparsed(last, text) is not None
            module = parser.parse("m.py", text, statement_lines(text))
            if not (module.deep_equals(cst.parse_module(text)) and module.code == text):
                wrong.append(f"{path.name} edit {step + 1}")
            elif _index(FileIndex.of(module, parser.index_parts("m.py"))) != _index(FileIndex.of(module)):
                wrong.append(f"{path.name} edit {step + 1}: the index")
    return taken, wrong


def _index(index: FileIndex) -> list[object]:
    """The index's entries, in order, its nodes by identity."""
    def ids(nodes):
        return [id(node) for node in nodes]

    by_name = [{key: ids(nodes) for key, nodes in table.items()} for table in (index.calls_by_leaf, index.attributes_by_name)]
    listed = [ids(nodes) for nodes in (index.functions, index.lambdas, index.classes, index.imports, index.scope_declarations)]
    return [[(id(node), id(up)) for node, up in index.parents.items()], by_name, [list(t) for t in by_name], listed]


def test_the_module_after_random_edits_is_the_whole_texts() -> None:
    taken, wrong = mismatches(sources())
    assert wrong == []
    assert taken >= 100  # the shortcut was taken, often enough to mean something


@pytest.mark.parametrize("guard", ["_opening_kept", "_owns_its_lines"])
def test_the_random_edits_catch_a_guard_removed(monkeypatch: pytest.MonkeyPatch, guard: str) -> None:
    monkeypatch.setattr(reparse, guard, lambda *args: True)
    assert mismatches(sources(), first=True)[1] != []


BLOCK = "import os\n\n\ndef f():\n    return 1\n"


@pytest.mark.parametrize(
    ("guard", "before", "after"),
    [
        # a comment indented under f, added among g's leading lines: f's block's, not g's
        ("_opening_kept", BLOCK + "\n\ndef g():\n    pass\n", BLOCK + "\n    # f's\n\ndef g():\n    pass\n"),
        # a comment after g's block, before h: h's leading line, not g's
        ("_owns_its_lines", BLOCK + "def g():\n    pass\ndef h():\n    pass\n",
         BLOCK + "def g():\n    pass\n# h's\ndef h():\n    pass\n"),
        # the first indented block of the file, indented otherwise: the module's default changes
        ("_defaults_agree", "import os\nx = 1\ndef f():\n  return 1\ndef g():\n    pass\n",
         "import os\nx = 1\ndef f():\n    return 1\ndef g():\n    pass\n"),
        # no block left before the tail's, whose indentation becomes the module's default
        ("_defaults_agree", "import os\nx = 1\ndef f():\n    return 1\ndef g():\n\tpass\n",
         "import os\nx = 1\nf = 1\ndef g():\n\tpass\n"),
    ],
)
def test_each_guard_refuses_an_edit_it_is_there_for(monkeypatch, guard, before, after) -> None:
    parser = reparse.Reparse()
    parser.parse("m.py", before, statement_lines(before))
    last = parser._last["m.py"]
    assert reparse.reparsed(last, after) is None
    monkeypatch.setattr(reparse, guard, lambda *args: True)
    unguarded = reparse.reparsed(last, after)
    assert unguarded is not None and not unguarded.deep_equals(cst.parse_module(after))


def test_an_edit_inside_a_function_parses_only_that_function() -> None:
    text = BLOCK + "\n\nasync def g():\n    pass\n\n\nx = 1\n"
    parser = reparse.Reparse()
    module = parser.parse("m.py", text, statement_lines(text))
    edited = text.replace("    pass\n", "    pass\n    import asyncio\n    asyncio.get_event_loop()\n")
    again = parser.parse("m.py", edited, statement_lines(edited))
    assert again.deep_equals(cst.parse_module(edited))
    kept = [a is b for a, b in zip(module.body, again.body)]
    assert kept == [True, True, False, True]  # the import, f and x kept; g parsed again
    parts = parser.index_parts("m.py")
    assert parts == {}  # filled by the analysis's index of each module
    FileIndex.of(module, parts)
    first = dict(parts)
    index = FileIndex.of(again, parts)
    assert {id(s) for s in parts} == {id(s) for s in again.body}  # g's old statement dropped
    assert [parts[s] is first.get(s) for s in again.body] == kept  # the others' kept
    assert _index(index) == _index(FileIndex.of(again))


def test_findings_after_random_edits_are_those_of_a_whole_parse() -> None:
    for path in sources()[:12]:
        linter = fixture_linter(path)
        rng = random.Random(len(path.name))
        text = path.read_text("utf-8")
        parser = reparse.Reparse()
        for _ in range(EDITS):
            text = code_edited(text, rng)
            try:
                whole = check_file(linter, text, str(path))
            except SourceError:
                continue
            assert check_file(linter, text, str(path), reparse=parser) == whole
