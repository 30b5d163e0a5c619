"""The language server reads an edited document's findings in the project model of the last save
at the lines they had then (``model_lines``): the evidence, the confined objects' findings left
out and the lines fixing holds back are those a model built from the edited text gives, when the
edit changes nothing the model sees."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.frontends.server import folders
from loopcheck.frontends.server.model_lines import at_lines_now, kept_lines
from tests.test_language_server import TWO_RUNS

PYPROJECT = '[project]\nname = "demo"\nrequires-python = ">=3.10"\n'

SHARED = '"""Jobs."""\n' + TWO_RUNS  # the lock two loops use, its lines moved by a docstring
# One loop only ever uses the lock: its finding is not a bug here, and is left out.
CONFINED = SHARED.split("\n\ndef second")[0] + "\n"


def test_kept_lines_are_the_unchanged_ones() -> None:
    old = "a\nb\nc\nd\ne\n"
    assert kept_lines(old, old) == {1: 1, 2: 2, 3: 3, 4: 4, 5: 5}
    assert kept_lines(old, "a\nx\ny\nc\nd\ne\n") == {1: 1, 3: 4, 4: 5, 5: 6}
    assert kept_lines(old, "a\nc\nd\nz\ne\n") == {1: 1, 3: 2, 4: 3, 5: 5}
    assert kept_lines(old, "") == {}


def test_lines_fixing_holds_back_move_with_the_edit() -> None:
    built = "a\nb\nc\nd\n"
    assert at_lines_now({2: "why", 3: None}, "a\n# new\n\nb\nc\nd\n", built) == {4: "why", 5: None}
    assert at_lines_now({2: "why", 3: None}, "a\nb\nchanged\nd\n", built) == {2: "why"}
    assert at_lines_now({2: "why"}, "anything\n", None) == {2: "why"}


def shown(found: list[Diagnostic]) -> list[tuple[object, ...]]:
    return [
        (d.line, d.end_line, d.code, d.message, [(e.location.line, [s.line for s in e.steps]) for e in d.evidence])
        for d in found
    ]


def edited(text: str, rng: random.Random) -> str:
    """``text`` with a few lines the model does not see added or removed (comments, blank lines,
    ``pass`` in a function)."""
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randrange(1, 4)):
        at = rng.randrange(1, len(lines) + 1)
        kind = rng.choice(["comment", "blank", "pass", "remove"])
        if kind == "remove":
            blank = [n for n, line in enumerate(lines) if not line.strip()]
            if blank:
                del lines[rng.choice(blank)]
        elif kind == "pass" and at < len(lines) and lines[at].startswith("    "):
            lines.insert(at, lines[at][: len(lines[at]) - len(lines[at].lstrip())] + "pass\n")
        else:
            lines.insert(at, "# note\n" if kind == "comment" else "\n")
    return "".join(lines)


@pytest.mark.parametrize("saved", [SHARED, CONFINED], ids=["shared", "confined"])
def test_an_edited_document_is_judged_as_by_a_model_of_its_text(tmp_path: Path, saved: str) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    path = str(tmp_path / "jobs.py")
    at_save = folders.open_folder(str(tmp_path))
    folders.rebuild_model(at_save, {path: saved}, lambda note: None)
    rng = random.Random(7)
    compared = 0
    for _ in range(25):
        text = edited(saved, rng)
        rebuilt = folders.open_folder(str(tmp_path))
        folders.rebuild_model(rebuilt, {path: text}, lambda note: None)
        assert shown(folders.check_text(at_save, path, text)) == shown(folders.check_text(rebuilt, path, text))
        assert folders.fix_all(at_save, path, text) == folders.fix_all(rebuilt, path, text)
        compared += text != saved
    assert compared >= 20
