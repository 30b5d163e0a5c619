"""``python -m loopcheck.dev``: ``generate`` (and ``--check``) and ``new-rule``, each run in a
copy of the repository, whose loopcheck package is the one imported (PYTHONPATH)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loopcheck.rules import all_rules
from tests.helpers import HANG_GUARD

ROOT = Path(__file__).parent.parent
GENERATE = "python -m loopcheck.dev generate"


@pytest.fixture
def repository(tmp_path) -> Path:
    """A copy of what the generator and the scaffold read and write, and of the tests."""
    copy = tmp_path / "repository"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("loopcheck", "tests", "rules"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    for name in ("README.md", "pyproject.toml"):
        shutil.copy(ROOT / name, copy / name)
    return copy


def run(repository: Path, *args: str) -> subprocess.CompletedProcess:
    """``python ARGS`` in ``repository``, importing its loopcheck."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=repository,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        env={**os.environ, "PYTHONPATH": str(repository)},
    )


def dev(repository: Path, *args: str) -> subprocess.CompletedProcess:
    return run(repository, "-m", "loopcheck.dev", *args)


def files_under(repository: Path) -> set[Path]:
    return {p for p in repository.rglob("*") if "__pycache__" not in p.parts}


def test_generate_check_lists_stale_files_and_generate_rewrites_them(repository):
    readme = repository / "README.md"
    original = readme.read_text("utf-8")
    readme.write_text(original.replace("| [LCK205](rules/LCK205.md) | nest_asyncio", "| [LCK205](rules/LCK205.md) | old"))
    page = repository / "rules" / "LCK101.md"
    page.write_text(page.read_text("utf-8") + "edited by hand\n")
    (repository / "loopcheck" / "data" / "rules.json").unlink()
    (repository / "rules" / "LCK999.md").write_text("a rule that is gone\n")

    check = dev(repository, "generate", "--check")
    assert check.returncode == 1, check.stderr
    assert check.stdout.splitlines() == [
        "stale: rules/LCK101.md",
        "stale: loopcheck/data/rules.json",
        "stale: README.md",
        "no rule generates: rules/LCK999.md",
        f"run `{GENERATE}`",
    ]

    assert dev(repository, "generate").returncode == 0
    assert readme.read_text("utf-8") == original
    assert (repository / "loopcheck" / "data" / "rules.json").read_bytes() == (
        ROOT / "loopcheck" / "data" / "rules.json"
    ).read_bytes()
    assert not (repository / "rules" / "LCK999.md").exists()
    again = dev(repository, "generate", "--check")
    assert (again.returncode, again.stdout) == (0, "")


# The first code of the primitives family no rule has: the scaffold's tests write that rule.
FREE = next(code for code in (f"LCK{n}" for n in range(101, 200)) if code not in all_rules())
NEW_RULE = ["new-rule", FREE, "some-primitive", "--family", "primitives"]


@pytest.mark.parametrize("args", [["generate"], ["generate", "--check"], NEW_RULE], ids=" ".join)
def test_a_readme_without_the_table_markers_is_a_one_line_error_and_nothing_is_written(repository, args):
    readme = repository / "README.md"
    readme.write_text(readme.read_text("utf-8").replace("<!-- End of the generated rule table. -->\n", ""))
    before = files_under(repository)
    result = dev(repository, *args)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "README.md needs the lines" in result.stderr, result.stderr
    assert files_under(repository) == before


@pytest.mark.parametrize("args", [["generate"], NEW_RULE], ids=" ".join)
def test_outside_a_checkout_is_a_one_line_error(repository, args):
    (repository / "pyproject.toml").unlink()
    result = dev(repository, *args)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert "loopcheck is not imported from a checkout" in result.stderr


def test_a_new_rule_registers_and_fails_its_tests_until_its_placeholders_are_filled(repository):
    result = dev(repository, "new-rule", "LCK407", "loop-kept-for-a-thread", "--family", "loop_access")
    assert result.returncode == 0, result.stderr
    module = repository / "loopcheck" / "rules" / "loop_access" / "lck407_loop_kept_for_a_thread.py"
    fixture = repository / "tests" / "fixtures" / "LCK407.py"
    assert module.is_file() and fixture.is_file()

    registered = run(
        repository, "-c",
        "import inspect; from loopcheck.rules import all_rules; rule = all_rules()['LCK407'];"
        "print(rule.__name__, rule.name, inspect.getsourcefile(rule))",
    )
    assert registered.stdout.split() == ["LoopKeptForAThread", "loop-kept-for-a-thread", str(module)], registered.stderr
    # The scaffold regenerated: the new rule has its page, its index entry and its README row.
    assert dev(repository, "generate", "--check").returncode == 0
    assert "| [LCK407](rules/LCK407.md) | TODO(new-rule)" in (repository / "README.md").read_text("utf-8")

    tests = run(
        repository, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_rules.py",
        "tests/test_fixtures.py", "-k", "LCK407",
    )
    assert tests.returncode == 1, tests.stdout
    failed = {line.split()[1].split("[")[0].split("::")[1] for line in tests.stdout.splitlines() if line.startswith("FAILED")}
    assert {"test_no_placeholder_of_the_scaffold_is_left", "test_invalid_examples_give_the_stated_findings_and_fixes",
            "test_findings_match_markers_exactly"} <= failed
    # The failure says what to fill, line by line.
    assert "LCK407: fill in" in tests.stdout and "LCK407.py: fill in" in tests.stdout
    assert 'lck407_loop_kept_for_a_thread.py:' in tests.stdout and 'summary = "TODO(new-rule): what the rule finds' in tests.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["LCK101", "another-primitive", "--family", "primitives"], "LCK101 exists: loopcheck.rules.primitives.lck101"),
        ([FREE, "nest-asyncio", "--family", "primitives"], "the name nest-asyncio is taken by LCK205"),
        ([FREE, "Bad_Name", "--family", "primitives"], "bad rule name 'Bad_Name'"),
        ([FREE, "two--dashes", "--family", "primitives"], "bad rule name 'two--dashes'"),
        (["LCK16", "some-primitive", "--family", "primitives"], "bad rule code 'LCK16'"),
        (["LCK306", "some-primitive", "--family", "primitives"], "LCK306 is not a code of primitives"),
        ([FREE, "some-primitive", "--family", "threads"], "unknown family 'threads'"),
    ],
)
def test_new_rule_refuses_a_taken_or_malformed_code_or_name_in_one_line(repository, args, message):
    before = files_under(repository)
    result = dev(repository, "new-rule", *args)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()] and message in result.stderr, result.stderr
    assert files_under(repository) == before


def test_new_rule_refuses_a_code_whose_fixture_exists(repository):
    (repository / "tests" / "fixtures" / f"{FREE}.py").write_text("")
    result = dev(repository, "new-rule", FREE, "some-primitive", "--family", "primitives")
    assert (result.returncode, result.stderr) == (2, f"error: {FREE} exists: tests/fixtures/{FREE}.py\n")


def committed(repository: Path) -> Path:
    """The copy as a git repository with everything committed, and the examples beside it."""
    shutil.copytree(ROOT / "examples", repository / "examples")
    for argv in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"]):
        subprocess.run(["git", *argv], cwd=repository, check=True, capture_output=True)
    return repository


def test_compare_findings_says_identical_when_results_did_not_change(repository):
    committed(repository)
    result = dev(repository, "compare-findings", "--only", "examples")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == ["examples findings: identical", "examples fixes: identical", "identical to HEAD"]


def test_compare_findings_shows_a_changed_message_and_exits_1(repository):
    committed(repository)
    rule = repository / "loopcheck" / "rules" / "primitives" / "lck101_module_level_primitive.py"
    source = rule.read_text("utf-8")
    assert "created at module level is shared by every event loop" in source
    rule.write_text(source.replace("created at module level is shared by", "made at import is shared by"), "utf-8")
    result = dev(repository, "compare-findings", "--only", "examples")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "examples findings: DIFFERENT" in result.stdout
    assert "examples fixes: identical" in result.stdout
    assert any(line.startswith("+") and "made at import is shared by" in line for line in result.stdout.splitlines())
    assert "1 of the outputs differ from HEAD's" in result.stdout


def test_compare_findings_names_a_revision_it_cannot_read(repository):
    committed(repository)
    result = dev(repository, "compare-findings", "--only", "examples", "--base", "no-such-revision")
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot read revision 'no-such-revision'") and "Traceback" not in result.stderr
