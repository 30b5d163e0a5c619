"""Rule classes: their embedded examples, their generated documentation, the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopcheck.docs import expected_pages
from loopcheck.engine import Linter
from loopcheck.rules import all_rules

RULES = all_rules()
RULES_DIR = Path(__file__).parent.parent / "rules"


@pytest.mark.parametrize("code", sorted(RULES))
def test_invalid_examples_are_reported(code):
    rule = RULES[code]
    assert rule.invalid, f"{code} has no invalid example"
    for example in rule.invalid:
        found = [d.code for d in Linter(list(RULES.values())).lint_source(example)]
        assert code in found, f"{code} missed:\n{example}"


@pytest.mark.parametrize("code", sorted(RULES))
def test_valid_examples_are_silent(code):
    rule = RULES[code]
    assert rule.valid, f"{code} has no valid example"
    for example in rule.valid:
        assert Linter(list(RULES.values())).lint_source(example) == [], example


@pytest.mark.parametrize("code", sorted(RULES))
def test_documentation_example_is_reported(code):
    found = Linter([RULES[code]]).lint_source(RULES[code].docs.example + "\n")
    assert found and {d.code for d in found} == {code}


def test_generated_rule_pages_are_current():
    pages = expected_pages()
    on_disk = {p.name for p in RULES_DIR.glob("*.md")}
    assert on_disk == set(pages), "run: python -m loopcheck.docs rules"
    for name, text in pages.items():
        assert (RULES_DIR / name).read_text("utf-8") == text, (
            f"rules/{name} is stale: run `python -m loopcheck.docs rules`"
        )


def test_the_rule_index_is_current():
    """A run reads data/rules.json before it imports any rule class: it must say what they say."""
    from loopcheck.docs import index_path
    from loopcheck.registry import index_of, rule_index

    assert index_path().read_text("utf-8") == index_of(RULES), "run: python -m loopcheck.docs rules"
    for code, info in rule_index().items():
        rule = RULES[code]
        assert (info.name, info.summary, info.fix_kind, info.starts_from) == (
            rule.name, rule.summary, rule.fix_kind, rule.starts_from
        )


def test_readme_lists_every_rule_with_its_summary():
    readme = (Path(__file__).parent.parent / "README.md").read_text("utf-8")
    for code, rule in RULES.items():
        assert f"| [{code}](rules/{code}.md) | {rule.summary} | {rule.fix_kind} |" in readme, code


def test_awaiting_instead_of_a_nested_run_is_unsafe_where_nest_asyncio_is_applied():
    """nest_asyncio makes the nested run work; awaiting instead changes what the code does."""
    body = "\n\nasync def handle():\n    return asyncio.run(load())\n"
    plain = Linter([RULES["LCK204"]]).lint_source("import asyncio" + body)
    patched = Linter([RULES["LCK204"]]).lint_source(
        "import asyncio\nimport nest_asyncio\nnest_asyncio.apply()" + body
    )
    assert [d.fix.safety.value for d in plain] == ["safe"]
    assert [d.fix.safety.value for d in patched] == ["unsafe"]
