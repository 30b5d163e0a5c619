"""Rule tiers: the default set holds the rules whose findings are bugs; an opt-in tier's rules run
only when a selector names them, and --list-rules, the rule pages and the index say which is
which."""

from __future__ import annotations

import pytest

from loopcheck.engine.registry import rule_index
from loopcheck.engine.rule import RuleDocs
from loopcheck.engine.tiers import DEFAULT_TIER, TIERS
from loopcheck.rules import all_rules
from loopcheck.rules.docs import render_index, render_rule
from tests.helpers import invoke, write

# A modernisation (LCK401) and a bug (LCK101) in one file.
SOURCE = (
    "import asyncio\n\n"
    "lock = asyncio.Lock()\n\n\n"
    "async def now():\n"
    "    return asyncio.get_event_loop().time()\n"
)


def codes_found(output: str) -> set[str]:
    return {line.split(": ")[1].split()[0] for line in output.splitlines() if line.startswith("app.py:")}


def test_the_opt_in_rules_are_the_modernisation_and_the_tooling_ones():
    assert {code: rule.tier for code, rule in all_rules().items() if rule.opt_in} == {
        "LCK401": "modernisation",
        "LCK901": "tooling",
    }


def test_every_default_rule_is_a_runtime_failure():
    for code, rule in all_rules().items():
        assert rule.opt_in is TIERS[rule.tier].opt_in, code
        if rule.tier == DEFAULT_TIER:
            assert rule.runtime_failure, code


def test_the_index_carries_each_rule_tier():
    classes = all_rules()
    assert {code: (info.tier, info.opt_in) for code, info in rule_index().items()} == {
        code: (rule.tier, rule.opt_in) for code, rule in classes.items()
    }


@pytest.mark.parametrize(
    ("args", "config", "expected"),
    [
        ((), "", {"LCK101"}),
        (("--extend-select", "LCK401"), "", {"LCK101", "LCK401"}),
        (("--select", "LCK401"), "", {"LCK401"}),
        (("--select", "LCK4"), "", {"LCK401"}),
        (("--select", "LCK"), "", {"LCK101", "LCK401"}),
        (("--select", "all"), "", {"LCK101", "LCK401"}),
        (("--select", "ALL", "--ignore", "LCK401"), "", {"LCK101"}),
        ((), 'select = ["ALL"]\n', {"LCK101", "LCK401"}),
        ((), 'select = ["LCK"]\n', {"LCK101", "LCK401"}),
        ((), 'extend-select = ["LCK401"]\n', {"LCK101", "LCK401"}),
        ((), 'select = ["LCK1"]\n', {"LCK101"}),
        (("--select", "LCK1"), 'extend-select = ["LCK401"]\n', {"LCK101", "LCK401"}),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else value.strip() if isinstance(value, str) else "",
)
def test_an_opt_in_rule_runs_only_when_a_selector_names_it(tmp_path, args, config, expected):
    write(tmp_path / "pyproject.toml", "[tool.loopcheck]\n" + config)
    write(tmp_path / "app.py", SOURCE)
    result = invoke("--no-cache", *args, "app.py", cwd=tmp_path)
    assert codes_found(result.output) == expected, result.output


def test_list_rules_shows_each_rule_tier(tmp_path):
    listed = invoke("--list-rules", cwd=tmp_path)
    assert listed.exit_code == 0
    lines = {line.split()[0]: line for line in listed.output.splitlines()}
    assert "  tier: modernisation (opt-in)  " in lines["LCK401"]
    assert "  tier: tooling (opt-in)  " in lines["LCK901"]
    for code, rule in all_rules().items():
        assert f"  tier: {rule.tier}" in lines[code], lines[code]
        assert ("(opt-in)" in lines[code]) is rule.opt_in, lines[code]


def test_each_rule_page_states_its_tier_and_why():
    for code, rule in all_rules().items():
        page = render_rule(rule)
        section = page.split("## Tier\n\n", 1)[1].split("\n## ", 1)[0]
        assert section.startswith(f"`{rule.tier}` ("), code
        assert rule.docs.tier_reason.strip() and rule.docs.tier_reason in section, code
        assert (f"--extend-select {code}" in section) is rule.opt_in, code
    index = render_index()
    assert "| [LCK401](LCK401.md) | get-event-loop-in-coroutine |" in index
    assert index.count(" | modernisation |\n") == 1 and index.count(" | bug |\n") == len(all_rules()) - 2


def test_a_rule_page_cannot_leave_out_the_tier_reason():
    with pytest.raises(TypeError, match="tier_reason"):
        RuleDocs(  # type: ignore[call-arg]
            what_it_does="x", why_is_this_bad="x", example="x", use_instead="x", fix_safety="x",
            affected_versions="x",
        )
