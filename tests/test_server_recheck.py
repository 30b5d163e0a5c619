"""The language server's re-check after an edit of comments and blank lines (``recheck``): the
findings it keeps, moved, must be those a full check of the edited text gives. Random edits
(lines inserted and deleted, comments, blank lines, ``# noqa``, strings and names changed, code
added) over the fixtures and, where the benchmark corpus is unpacked, a few real modules; and
the same check shown to catch a shortcut made unsound."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from loopcheck.engine.engine import Linter
from loopcheck.engine.pipeline import check_file
from loopcheck.files import SourceError
from loopcheck.frontends.server import recheck
from tests.helpers import all_rules, all_rules_linter, fixture_linter, fixtures

# Real modules, where the corpus is unpacked (benchmarks/README.md): long, with findings of the
# opt-in rules and many comments.
CORPUS = Path.home() / ".cache" / "loopcheck-corpus" / "src"
CORPUS_MODULES = ("aiohttp/aiohttp/compression_utils.py", "aiohttp/aiohttp/web_runner.py", "httpx/httpx/_client.py")
EDITS = 12  # a chain of edits per file, each checked against a full check


def sources() -> list[Path]:
    return [*fixtures(), *(CORPUS / m for m in CORPUS_MODULES if (CORPUS / m).is_file())]


def _indent(lines: list[str], at: int) -> str:
    near = lines[at] if at < len(lines) else ""
    return near[: len(near) - len(near.lstrip(" \t"))]


def edited(text: str, rng: random.Random) -> str:
    """``text`` with one random edit, most of them of comments and blank lines (the shortcut's
    case), the others of what the shortcut must refuse."""
    lines = text.splitlines(keepends=True)
    at = rng.randrange(len(lines) + 1)
    kind = rng.choice(
        ["comment", "comment", "comment", "blank", "blank", "delete", "delete", "reword", "noqa",
         "code", "string", "name"]
    )
    if kind == "comment":
        lines.insert(at, f"{_indent(lines, at)}# note {rng.randrange(1000)}\n")
    elif kind == "blank":
        lines.insert(at, rng.choice(["\n", "    \n", "\t\n"]))
    elif kind == "delete" and lines:
        del lines[min(at, len(lines) - 1)]
    elif kind == "reword":
        comments = [n for n, line in enumerate(lines) if "#" in line]
        if comments:
            n = rng.choice(comments)
            lines[n] = lines[n].replace("#", "# reworded", 1)
    elif kind == "noqa":
        lines.insert(at, f"{_indent(lines, at)}# noqa\n")
        if rng.random() < 0.5 and at + 1 < len(lines):  # or on the line below
            del lines[at]
            lines[at] = lines[at].rstrip("\r\n") + "  # noqa\n"
    elif kind == "code":
        lines.insert(at, f"{_indent(lines, at)}pass\n")
    elif kind == "string":
        strings = [n for n, line in enumerate(lines) if re.search(r"\"[A-Za-z_ ]+\"", line)]
        if strings:
            n = rng.choice(strings)
            lines[n] = re.sub(r"\"([A-Za-z_ ]+)\"", r'"\1x"', lines[n], count=1)
    else:  # a name changed
        names = [(n, m) for n, line in enumerate(lines) for m in re.finditer(r"\b[a-z_][a-z_0-9]*\b", line)]
        if names:
            n, m = rng.choice(names)
            lines[n] = lines[n][: m.start()] + m.group() + "_x" + lines[n][m.end() :]
    return "".join(lines)


def full(linter: Linter, text: str, path: str) -> recheck.Checked | None:
    try:
        found = check_file(linter, text, path)
    except SourceError:
        return None
    return recheck.Checked(text, linter.candidates.may_match(text), tuple(found))


@dataclass
class Trial:
    kept: int = 0  # edits whose findings the shortcut kept
    wrong: list[str] | None = None


def trial(path: Path, seed: int) -> Iterator[tuple[str, recheck.Checked | None, recheck.Checked | None]]:
    """A chain of edits of the file: for each, the shortcut's result and the full check's."""
    linter = fixture_linter(path)
    rng = random.Random(seed)
    text = path.read_text("utf-8")
    before = full(linter, text, str(path))
    assert before is not None
    for _ in range(EDITS):
        text = edited(text, rng)
        kept = recheck.moved(before, text, linter.candidates.may_match)
        checked = full(linter, text, str(path))
        yield text, kept, checked
        before = kept or checked or before  # a text that does not parse keeps the last findings


def mismatches(paths: list[Path], *, first: bool = False) -> Trial:
    """The edits whose kept findings differ from a full check's (``first``: up to the first)."""
    outcome = Trial(wrong=[])
    for path in paths:
        if first and outcome.wrong:
            break
        for step, (text, kept, checked) in enumerate(trial(path, seed=len(path.name))):
            if kept is None:
                continue
            outcome.kept += 1
            if checked is None or kept.found != checked.found:
                outcome.wrong.append(f"{path.name} edit {step + 1}: kept {kept.found!r}, full check {checked!r}")
            elif kept.layout() != recheck.layout_of(text):
                outcome.wrong.append(f"{path.name} edit {step + 1}: the layout carried over is not the text's")
    return outcome


def test_kept_findings_equal_a_full_check_after_random_edits() -> None:
    outcome = mismatches(sources())
    assert outcome.wrong == []
    assert outcome.kept >= 100  # the shortcut was taken, often enough to mean something


@pytest.mark.parametrize(
    ("guard", "permissive"),
    [
        ("_plain_comment_or_blank", lambda line: True),  # code edits taken for comments
        ("_has_digit", lambda d: False),  # line numbers in messages left as they were
    ],
)
def test_the_random_edits_catch_an_unsound_shortcut(monkeypatch: pytest.MonkeyPatch, guard, permissive) -> None:
    monkeypatch.setattr(recheck, guard, permissive)
    assert mismatches(sources(), first=True).wrong != []


HEAD = "import os\nimport sys\n"  # the lines a coding declaration may be on, unchanged


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (HEAD + 'x = """\n# in a string\n"""\n', HEAD + 'x = """\n# in a string\n\n"""\n'),  # inside a string
        (HEAD + 'x = f"""{\n1\n}"""\n', HEAD + 'x = f"""{\n1\n# c\n}"""\n'),  # inside an f-string
        (HEAD + "x = 1 + \\\n    2\n", HEAD + "x = 1 + \\\n# c\n    2\n"),  # after a backslash
        ("# -*- coding: utf-8 -*-\nx = 1\n", "# -*- coding: latin-1 -*-\nx = 1\n"),  # the encoding
        (HEAD + "\nx = 1\n", HEAD + "\n# noqa\nx = 1\n"),  # a noqa comment
        (HEAD + "\nx = 1\n", HEAD + "\n# a\x00b\nx = 1\n"),  # a character compile refuses
        (HEAD + "\nx = 1\n", HEAD + "\n# a\udcffb\nx = 1\n"),  # a lone surrogate
        (HEAD + "\nx = 1\n", HEAD + "\nx = 2\n"),  # code
    ],
)
def test_edits_it_refuses(before: str, after: str) -> None:
    checked = recheck.Checked(before, True, ())
    assert recheck.moved(checked, after, lambda text: True) is None


@pytest.mark.parametrize(
    "after",
    [HEAD + "\n# c\n\nx = 1\n", HEAD + "x = 1\n", HEAD + "\n    # indented\nx = 1\n", HEAD + "\nx = 1\n# end"],
)
def test_edits_it_takes(after: str) -> None:
    checked = recheck.Checked(HEAD + "\nx = 1\n", True, ())
    kept = recheck.moved(checked, after, lambda text: True)
    assert kept is not None and kept.layout() == recheck.layout_of(after)


def test_an_edit_of_comments_moves_the_findings_below_it() -> None:
    before = "import asyncio\n\n\nlock = asyncio.Lock()\n"
    linter = all_rules_linter()
    checked = full(linter, before, "x.py")
    assert checked is not None and [d.line for d in checked.found] == [4]
    after = "import asyncio\n\n# one\n# two\n\nlock = asyncio.Lock()\n"
    kept = recheck.moved(checked, after, linter.candidates.may_match)
    assert kept is not None and [d.line for d in kept.found] == [6]


def test_an_edit_of_a_comment_a_fix_title_quotes_is_checked_in_full() -> None:
    """A fix that deletes a statement names the comments it removes with it: editing one (far
    from the finding's line) changes the title, so the findings are not carried over."""
    before = (
        "import asyncio\n\n\ndef run(job):\n    loop = asyncio.new_event_loop()\n    try:\n"
        "        return loop.run_until_complete(job())\n    finally:\n"
        "        # The loop goes with the call.\n        loop.close()\n"
    )
    linter = Linter(list(all_rules().values()), target_version=(3, 11))
    checked = full(linter, before, "x.py")
    assert checked is not None and any("removes the comment" in d.fix.description for d in checked.found if d.fix)
    after = before.replace("# The loop goes with the call.", "# The loop goes with each call.")
    assert recheck.moved(checked, after, linter.candidates.may_match) is None
