"""Rule classes: their embedded examples, their generated documentation, the registry."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

from loopcheck.dev.generate import COMMAND, stale_files
from loopcheck.dev.scaffold import placeholders
from loopcheck.engine.engine import Linter
from loopcheck.engine.registry import rule_index
from loopcheck.engine.rule import Invalid, Rule, Valid
from loopcheck.rules import file_rules
from tests.helpers import check_text, fix_text
from tests.snapshots import assert_same_text

RULES = file_rules()  # project rules: tests/test_project_rules.py
ROOT = Path(__file__).parent.parent


def stated(example: Invalid) -> str:
    """What an Invalid example says the rule reports and fixes, as example_outcome renders it."""
    lines = [*example.messages]
    if example.fix is None:
        lines.append("no fix\n")
    else:
        lines.append(f"fix ({example.safety}):\n{example.fix}")
    return "\n".join(lines)


def example_outcome(rule: type[Rule], source: str) -> str:
    """What the rule reports on ``source``: each finding's ``line:col message``, then the source
    after --fix --unsafe-fixes with the safety of the fixes offered, or ``no fix``."""
    linter = Linter([rule])
    found = check_text(linter, source)
    lines = [f"{d.line}:{d.column} {d.message}" for d in found]
    safeties = sorted({d.fix.safety.value for d in found if d.fix is not None})
    if not safeties:
        lines.append("no fix\n")
    else:
        lines.append(f"fix ({' and '.join(safeties)}):\n{fix_text(linter, source, unsafe=True).source}")
    return "\n".join(lines)


@pytest.mark.parametrize("code", sorted(RULES))
def test_invalid_examples_give_the_stated_findings_and_fixes(code):
    rule = RULES[code]
    assert rule.invalid, f"{code} has no invalid example"
    for number, example in enumerate(rule.invalid):
        assert isinstance(example, Invalid), example
        assert_same_text(stated(example), example_outcome(rule, example.code), f"{code}.invalid[{number}]")


LCK101_FIRST = "2:9 asyncio.Lock created at module level is shared by every event loop"


@pytest.mark.parametrize(
    ("change", "removed", "added"),
    [
        (
            {"message": "2:9 asyncio.Lock created inside a function"},
            "-2:9 asyncio.Lock created inside",
            f"+{LCK101_FIRST}",
        ),
        ({"message": f"3:9 {LCK101_FIRST[4:]}"}, f"-3:9 {LCK101_FIRST[4:]}", f"+{LCK101_FIRST}"),
        ({"fix": "import asyncio\n_lock = None\n", "safety": "unsafe"}, "-fix (unsafe):", "+no fix"),
    ],
    ids=["message", "position", "fix"],
)
def test_a_misstated_example_fails_with_a_diff(change, removed, added):
    rule = RULES["LCK101"]
    example = rule.invalid[0]
    assert example.messages[0].startswith(LCK101_FIRST) and example.fix is None
    misstated = dataclasses.replace(example, **change)
    with pytest.raises(AssertionError) as failure:
        assert_same_text(stated(misstated), example_outcome(rule, example.code), "LCK101.invalid[0]")
    diff_lines = str(failure.value).splitlines()
    assert diff_lines[0] == "LCK101.invalid[0] differs (- expected, + actual):"
    assert any(line.startswith(removed) for line in diff_lines), diff_lines
    assert any(line.startswith(added) for line in diff_lines), diff_lines


@pytest.mark.parametrize(
    "stated",
    [{"fix": "import asyncio\n"}, {"safety": "unsafe"}, {"fix": "import asyncio\n", "safety": "maybe"}],
    ids=["fix without safety", "safety without fix", "unknown safety"],
)
def test_an_invalid_example_states_a_fix_with_its_safety(stated):
    with pytest.raises(ValueError):
        Invalid("import asyncio\n", message="1:1 message", **stated)


# The safeties a rule's fix_kind names: its Invalid examples show a fix of each.
SAFETIES_OF_FIX_KIND = {
    "safe": {"safe"},
    "unsafe": {"unsafe"},
    "safe or unsafe": {"safe", "unsafe"},
    "sometimes unsafe": {"unsafe"},
    "none": set(),
}


@pytest.mark.parametrize("code", sorted(RULES))
def test_invalid_examples_show_each_safety_the_fix_kind_names(code):
    """The examples are the rule's documentation in code: its main fix belongs among them."""
    rule = RULES[code]
    shown = {example.safety for example in rule.invalid if example.safety is not None}
    assert shown >= SAFETIES_OF_FIX_KIND[rule.fix_kind], f"{code} ({rule.fix_kind!r}): examples show {shown or 'no fix'}"
    if rule.fix_kind == "none":
        assert not shown, f"{code} offers no fix, but its examples show {shown}"


WRONG_DECLARATIONS = [
    ({"name": "Module_Lock"}, "Misdeclared (LCK990): bad rule name 'Module_Lock': lower-case words joined by dashes"),
    ({"name": "two--dashes"}, "Misdeclared (LCK990): bad rule name 'two--dashes'"),
    ({}, "Misdeclared (LCK990): bad rule name None"),
    ({"name": "nest-asyncio"}, "Misdeclared (LCK990): the name nest-asyncio is taken by LCK205"),
    (
        {"name": "misdeclared", "invalid": (Invalid("import asyncio\n", message=("1:1 first", "second")),)},
        "Misdeclared (LCK990): invalid[0]: message 'second' does not start with the finding's 'line:col '",
    ),
    (
        {"name": "misdeclared", "invalid": (Invalid("import asyncio\n", message="1:1message"),)},
        "Misdeclared (LCK990): invalid[0]: message '1:1message' does not start with the finding's 'line:col '",
    ),
    (
        {"name": "misdeclared", "instead": "await it\nor not"},
        "Misdeclared (LCK990): instead must be one line of at most 100 characters",
    ),
    (
        {"name": "misdeclared", "instead": "await it " * 12},
        "Misdeclared (LCK990): instead must be one line of at most 100 characters",
    ),
    (
        {"name": "misdeclared", "instead": "Await the coroutine."},
        "Misdeclared (LCK990): instead continues a sentence: 'Await the coroutine.'",
    ),
    ({"name": "misdeclared", "tier": "style"}, "Misdeclared (LCK990): tier 'style' is not one of ('bug', "),
    ({"name": "misdeclared", "opt_in": True}, "Misdeclared (LCK990): declare tier, not opt_in"),
    (
        {"name": "misdeclared", "runtime_failure": False},
        "Misdeclared (LCK990): runtime_failure is False, so its findings are not bugs: tier 'bug'",
    ),
]


@pytest.mark.parametrize(("declared", "message"), WRONG_DECLARATIONS, ids=[m for _, m in WRONG_DECLARATIONS])
def test_a_misdeclared_rule_is_refused_where_it_is_declared(declared, message):
    with pytest.raises(ValueError) as raised:
        type("Misdeclared", (Rule,), {"code": "LCK990", **declared})
    assert str(raised.value).startswith(message), str(raised.value)
    assert "LCK990" not in Rule.registry


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_rule_says_what_to_write_where_it_has_no_fix(code):
    """The text output prints it under each finding without a fix; the index a run reads
    before importing the rules carries it."""
    assert RULES[code].instead, f"{code} has no `instead`"
    assert rule_index()[code].instead == RULES[code].instead


@pytest.mark.parametrize("code", sorted(RULES))
def test_valid_examples_are_silent(code):
    rule = RULES[code]
    assert rule.valid, f"{code} has no valid example"
    for example in rule.valid:
        assert isinstance(example, Valid), example
        assert check_text(Linter(list(RULES.values())), example.code) == [], example.code


@pytest.mark.parametrize("code", sorted(RULES))
def test_documentation_example_is_reported(code):
    found = check_text(Linter([RULES[code]]), RULES[code].docs.example + "\n")
    assert found and {d.code for d in found} == {code}


def test_generated_files_are_current():
    """The rule pages, data/rules.json and README.md's rule table say what the rule classes say."""
    differing, leftover = stale_files(ROOT)
    assert not differing and not leftover, (
        f"stale: {', '.join(str(p.relative_to(ROOT)) for p in [*differing, *leftover])}; run `{COMMAND}`"
    )


def test_each_rule_is_in_the_module_its_code_gives():
    """A run imports only the rules a file needs, each from the module its code and scope give
    (``rules.rule_module``): a rule elsewhere would be found only by importing every rule."""
    from loopcheck.rules import all_rules, rule_module

    rules = all_rules()
    misplaced = {
        code: rules[code].__module__
        for code, info in rule_index().items()
        if rules[code].__module__ != rule_module(code, info.scope)
    }
    assert not misplaced


def test_a_file_one_rule_reports_on_imports_that_rule_alone():
    import subprocess
    import sys

    script = (
        "from loopcheck.engine.registry import rule_index; from loopcheck.engine.rule import Rule;"
        "rule = rule_index()['LCK401'].rule; print(rule.code, sorted(Rule.registry))"
    )
    shown = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert shown.split() == ["LCK401", "['LCK401']"]


@pytest.mark.parametrize("code", sorted(RULES))
def test_no_placeholder_of_the_scaffold_is_left(code):
    """`python -m loopcheck.dev new-rule` writes placeholders; a rule cannot pass with them."""
    left = placeholders(Path(inspect.getsourcefile(RULES[code])))
    assert not left, f"{code}: fill in\n" + "\n".join(left)


def test_awaiting_instead_of_a_nested_run_is_unsafe_where_nest_asyncio_is_applied():
    """nest_asyncio makes the nested run work; awaiting instead changes what the code does."""
    body = "\n\nasync def handle():\n    return asyncio.run(load())\n"
    plain = check_text(Linter([RULES["LCK204"]]), "import asyncio" + body)
    patched = check_text(Linter([RULES["LCK204"]]),
        "import asyncio\nimport nest_asyncio\nnest_asyncio.apply()" + body
    )
    assert [d.fix.safety.value for d in plain] == ["safe"]
    assert [d.fix.safety.value for d in patched] == ["unsafe"]


@pytest.mark.parametrize("patch", ["nest_asyncio", "nest_asyncio2"])
@pytest.mark.parametrize("where", ["module", "function"])
def test_running_on_the_current_loop_is_left_to_lck205_where_nest_asyncio_is_applied(patch, where):
    """The code re-enters the (running) current loop on purpose; the patch is the finding."""
    apply = f"{patch}.apply()"
    source = (
        f"import asyncio\nimport {patch}\n"
        + (f"{apply}\n" if where == "module" else "")
        + "\n\ndef gather_all(tasks):\n"
        + (f"    {apply}\n" if where == "function" else "")
        + "    loop = asyncio.get_event_loop()\n"
        "    return loop.run_until_complete(asyncio.gather(*tasks))\n"
        "\n\ndef elsewhere():\n    return asyncio.get_event_loop().run_until_complete(job())\n"
    )
    found = [(d.code, d.line) for d in check_text(Linter(list(RULES.values())), source)]
    last_line = len(source.splitlines())
    expected_lck203 = [] if where == "module" else [("LCK203", last_line)]
    assert sorted(found) == sorted([("LCK205", 3 if where == "module" else 6), *expected_lck203])


def test_an_event_nothing_in_the_module_waits_on_is_not_kept_across_loops():
    """set(), clear() and is_set() never bind an Event to a loop; only wait() does."""
    flags = (
        "import asyncio\n\n\nclass Adapter:\n    _stop_events = {}\n\n"
        "    @classmethod\n    def start(cls, handler_id):\n"
        "        cls._stop_events[handler_id] = asyncio.Event()\n\n"
        "    @classmethod\n    def stop(cls, handler_id):\n"
        "        cls._stop_events[handler_id].set()\n"
        "        return all(event.is_set() for event in cls._stop_events.values())\n"
    )
    waited = flags + (
        "\n    @classmethod\n    async def stopped(cls, handler_id):\n"
        "        await cls._stop_events[handler_id].wait()\n"
    )
    linter = Linter([RULES["LCK104"]])
    assert check_text(linter, flags) == []
    assert [d.code for d in check_text(linter, waited)] == ["LCK104"]


QUIET_LOCK = "import asyncio\n\n_lock = asyncio.Lock()\n_n = [0]\n\n\nasync def bump():\n    async with _lock:\n{body}"


@pytest.mark.parametrize(
    ("change", "reported"),
    [
        ({}, False),
        ({"body": "        _n[0] += 1\n        async def later():\n            await later()\n"}, False),
        ({"body": "        await asyncio.sleep(0)\n"}, True),
        ({"body": "        async for _ in ticks():\n            pass\n"}, True),
        ({"body": "        async with other:\n            pass\n"}, True),
        ({"body": "        pass\n", "with": "async with _lock, other:"}, True),
        ({"body": "        pass\n", "with": "async with other, _lock:"}, False),
        ({"body": "        yield _n[0]\n"}, True),
        ({"name": "LOCK"}, True),
        ({"exports": "__all__ = ['_lock']\n"}, True),
        ({"tail": "\n\nasync def take():\n    await _lock.acquire()\n    _lock.release()\n"}, True),
    ],
)
def test_a_lock_whose_critical_sections_never_suspend_is_not_kept_across_loops(change, reported):
    """Since 3.10 a Lock looks its loop up only when acquire() waits; released before any other
    task runs, it never waits. Awaiting (or yielding) inside, a public name or another use may."""
    body = change.get("body", "        _n[0] += 1\n")
    source = QUIET_LOCK.format(body=body).replace("async with _lock:", change.get("with", "async with _lock:"))
    source += change.get("tail", "")
    source = source.replace("_lock", change.get("name", "_lock"))
    source = source.replace("import asyncio\n", "import asyncio\n" + change.get("exports", ""), 1)
    found = [d.code for d in check_text(Linter([RULES["LCK101"]]), source)]
    assert found == (["LCK101"] if reported else []), source


def _fixable_findings_without_reason(linter, source, name="<example>"):
    """Findings of rules that offer fixes which offer none and do not say why."""
    fixable = {code for code, rule in RULES.items() if rule.fix_kind != "none"}
    return [
        f"{name}:{d.line} {d.code} {d.message}"
        for d in check_text(linter, source, name)
        if d.code in fixable and d.fix is None and "; no fix: " not in d.message
    ]


def test_every_declined_fix_says_why_in_the_fixtures_examples_and_programs():
    """A rule that offers fixes and declines one says why in the message (`...; no fix: ...`)."""
    from tests.helpers import all_rules_linter, fixture_linter, fixtures

    root = Path(__file__).parent.parent
    others = sorted([*(root / "examples").glob("*.py"), *(root / "tests" / "programs").glob("*.py")])
    checked = [(fixture_linter(path), path) for path in fixtures()] + [(all_rules_linter(), p) for p in others]
    silent = [
        line
        for linter, path in checked
        for line in _fixable_findings_without_reason(linter, path.read_text("utf-8"), path.name)
    ]
    assert silent == []


def test_every_declined_fix_says_why_in_the_rule_examples():
    from tests.helpers import all_rules_linter

    linter = all_rules_linter()
    silent = [
        line
        for code, rule in sorted(RULES.items())
        for number, example in enumerate([*(e.code for e in rule.invalid), rule.docs.example + "\n"])
        for line in _fixable_findings_without_reason(linter, example, f"{code} example {number}")
    ]
    assert silent == []
