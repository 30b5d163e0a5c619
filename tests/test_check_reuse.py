"""What one check of a file works out once: the ``# noqa`` comments (read for the noqa rule's
findings and for suppression), and where its top-level statements start (read from the tree the
parse stage made, not from a pass over the module's code)."""

from __future__ import annotations

import tokenize

import pytest

import loopcheck.analysis.positions as positions
import loopcheck.settings.suppression as suppression
from tests.helpers import all_rules_linter, check_text

# A finding (LCK401) under a decorator, a noqa comment of another tool, and one of loopcheck's
# that silences nothing.
SOURCE = (
    "import asyncio\n"
    "from x import y  # noqa: I900\n"
    "\n"
    "@decorate\n"
    "async def f():\n"
    "    return asyncio.get_event_loop()\n"
    "z = 1  # noqa: LCK101\n"
)


@pytest.fixture
def tokenized(monkeypatch):
    """The texts tokenize is asked for by the noqa handling."""
    calls = []
    real = tokenize.generate_tokens

    def counting(readline):
        calls.append(readline)
        return real(readline)

    monkeypatch.setattr(suppression.tokenize, "generate_tokens", counting)
    getattr(suppression._noqa_tokens, "cache_clear", lambda: None)()  # the last text's are kept
    return calls


def test_a_check_tokenizes_its_noqa_comments_once(tokenized):
    found = check_text(all_rules_linter(), SOURCE, "m.py")
    assert [(d.line, d.code) for d in found] == [(6, "LCK401"), (7, "LCK901")]
    assert len(tokenized) == 1


def test_a_text_without_noqa_is_not_tokenized_for_it(tokenized):
    found = check_text(all_rules_linter(), SOURCE.replace("  # noqa: I900", "").replace("  # noqa: LCK101", ""), "m.py")
    assert [(d.line, d.code) for d in found] == [(6, "LCK401")]
    assert tokenized == []


def test_other_tools_noqa_comments_away_from_the_findings_are_not_tokenized(tokenized):
    found = check_text(all_rules_linter(), SOURCE.replace("  # noqa: LCK101", ""), "m.py")
    assert [(d.line, d.code) for d in found] == [(6, "LCK401")]
    assert tokenized == []


@pytest.mark.parametrize(
    ("comment", "codes"),
    [
        ("  # noqa", []),  # on the finding's line: silences it
        ("  # NoQA: lck401", []),  # the code, in lower case
        ("  # noqa: E501", [(6, "LCK401")]),  # another code: the finding stays
    ],
)
def test_a_noqa_comment_on_a_findings_line_is_still_read(tokenized, comment, codes):
    text = SOURCE.replace("  # noqa: LCK101", "").replace("get_event_loop()\n", f"get_event_loop(){comment}\n")
    assert [(d.line, d.code) for d in check_text(all_rules_linter(), text, "m.py")] == codes
    assert len(tokenized) == 1


def test_a_check_reads_statement_starts_from_the_parse_stages_tree(monkeypatch):
    asked = []
    real = positions._starts_from_lines

    def recording(module, lines):
        asked.append(list(lines))
        return real(module, lines)

    monkeypatch.setattr(positions, "_starts_from_lines", recording)
    found = check_text(all_rules_linter(), SOURCE, "m.py")
    assert [(d.line, d.column, d.code) for d in found] == [(6, 12, "LCK401"), (7, 16, "LCK901")]
    assert asked == [[1, 2, 5, 7]]
