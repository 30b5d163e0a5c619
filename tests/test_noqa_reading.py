"""``# noqa`` directives are read once per text: a check asks which codes they silence and which
silence nothing, and tokenizing the file is most of either."""

from __future__ import annotations

import tokenize

from loopcheck.settings import suppression

SOURCE = "import asyncio\nlock = asyncio.Lock()  # noqa: LCK101, LCK999\nx = 1  # noqa\n"


def test_the_directives_of_one_text_are_tokenized_once(monkeypatch):
    calls = []
    generate_tokens = tokenize.generate_tokens

    def counting(readline):
        calls.append(1)
        return generate_tokens(readline)

    monkeypatch.setattr(suppression.tokenize, "generate_tokens", counting)
    text = SOURCE + "# a text of its own\n"
    assert suppression.noqa_lines(text) == {2: frozenset({"LCK101", "LCK999"}), 3: None}
    problems = suppression.noqa_problems(text, [(2, "LCK101")], {"LCK101"}, {"LCK101"})
    assert [(p.line, p.code, p.unknown) for p in problems] == [(2, "LCK999", True)]
    assert suppression.noqa_lines(text) == {2: frozenset({"LCK101", "LCK999"}), 3: None}
    assert len(calls) == 1
    # Another text is read anew.
    assert suppression.noqa_lines(SOURCE.replace("LCK999", "LCK102")) == {2: frozenset({"LCK101", "LCK102"}), 3: None}
    assert len(calls) == 2
