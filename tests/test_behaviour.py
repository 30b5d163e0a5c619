"""Fixes keep working programs working: programs are run before and after loopcheck's fixes and
must do the same (tests/behaviour.py runs and compares them).

- every program of tests/programs/ (convention in tests/programs/README.md): as written, after
  `--fix`, after `--fix --unsafe-fixes`;
- every `exercise_*` function of the fixtures that runs clean as written runs clean, printing the
  same, after `--fix` (tests/runtime_harness.py runs them);
- generated programs, built from the shapes the fixes rewrite (hypothesis);
- modules of the benchmark corpus import before and after `--fix`, with the same public names
  (`-m slow`; by default a few modules of the test suite).

Programs known to break under today's fixes are listed in KNOWN_BROKEN, shapes of generated
programs in KNOWN_BROKEN_SHAPES: their tests are strict xfails, which fail as soon as the fix is
corrected, so that the entry is removed then."""

from __future__ import annotations

import ast
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, assume, event, given, settings

from loopcheck.engine import pipeline
from loopcheck.files import SourceError
from loopcheck.fixes.builder import FixBuilder
from loopcheck.rules.loop_access.lck401_get_event_loop_in_coroutine import GetEventLoopInCoroutine
from loopcheck.run.sources import discover, read_source
from tests import behaviour
from tests.behaviour import (
    HeaderError,
    Program,
    broken,
    check_generated,
    cli_fix,
    compare_import,
    compare_program,
    copy_tree,
    fix_diff,
    generated_programs,
    interpreter_for,
    programs,
    read_program,
    shape_choices,
)
from tests.helpers import FIXTURES, all_rules_linter, fixtures, interpreters, markers, runs_on, target_version
from tests.runtime_deps import deps_dir
from tests.test_real_code import CORPUS

# The fixtures' modules and local servers, shared with the runtime tests (and their results).
from tests.test_runtime import fixture_modules, local_servers, run_harness  # noqa: F401

# Programs the safe fixes change outside their documented contract: LCK204's and LCK401's safe
# fixes assume coroutines run on an event loop (their Fix safety sections say so), and a coroutine
# driven by hand with send() does not. Strict xfails: they fail loudly once the fixes cover it.
KNOWN_BROKEN = {
    "lck204_hand_driven_step_needs_a_loop": (
        "LCK204: awaited instead of run with asyncio.run(), a step of a coroutine driven by hand "
        "finds no running loop"
    ),
}


def program_cases() -> list:
    cases = []
    for path in programs():
        marks = []
        if path.stem in KNOWN_BROKEN:
            marks.append(pytest.mark.xfail(strict=True, raises=AssertionError, reason=KNOWN_BROKEN[path.stem]))
        cases.append(pytest.param(path, id=path.stem, marks=marks))
    return cases


@pytest.mark.parametrize("path", program_cases())
def test_program_does_the_same_after_the_fixes(path, tmp_path):
    program = read_program(path)
    if interpreter_for(program.target_version) is None:
        pytest.skip(f"no Python for {program.target_version} on this machine")
    comparison = compare_program(program, tmp_path)
    assert comparison, comparison.report()


def test_known_broken_programs_exist():
    """An entry whose program was renamed or removed would silently stop meaning anything."""
    assert set(KNOWN_BROKEN) <= {path.stem for path in programs()}


# Fixtures: what runs clean as written runs clean after the safe fixes, printing the same.

SAFELY_FIXED = [path for path in fixtures() if any(m.fix == "safe" for m in markers(path))]


def clean_exercises(path) -> list[str]:
    """The exercises documented to run clean: no `expect:` in the docstring (the runtime tests
    check that they do)."""
    tree = ast.parse(path.read_text("utf-8"))
    return sorted(
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.name.startswith("exercise_")
        and not re.search(r"^expect:", ast.get_docstring(node) or "", re.MULTILINE)
    )


# What the runtime harness records of a run that is not "ok" but the exercise survived:
# messages asyncio logged and exceptions the interpreter swallowed (destroyed pending tasks).
SURVIVED = ("ok", "asyncio logged:", "exception ignored:")


def raised(runs: list[str]) -> set[str]:
    """The outcomes of runs that failed outright: an exception, a hang, a crash."""
    return {run for run in runs if not run.startswith(SURVIVED)}


def all_exercises(path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    return sorted(
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("exercise_")
    )


@pytest.mark.parametrize("path", SAFELY_FIXED, ids=lambda p: p.stem)
def test_exercises_do_the_same_or_better_after_the_safe_fixes(path, tmp_path, fixture_modules, local_servers):  # noqa: F811
    """Each exercise runs in the process of its own the runtime tests give it, under the Python
    the fixes target (the fixed snapshot is --unsafe-fixes; this is --fix alone). An exercise
    that runs clean as written runs clean after the safe fixes, printing the same; one that
    reproduces a bug either runs clean (its bug was fixed) or fails exactly as before: a safe fix
    never makes code fail in a new way."""
    version = max(target_version(path), runs_on(path))
    python = interpreters()[f"{version[0]}.{version[1]}"]
    if python is None:
        pytest.skip(f"no Python {version[0]}.{version[1]} on this machine")
    before = tmp_path / "original"
    before.mkdir()
    shutil.copy(path, before / path.name)
    (before / "pyproject.toml").write_text(f'[tool.loopcheck]\ntarget-version = "py{version[0]}{version[1]}"\n')
    after = copy_tree(before, tmp_path / "safe")
    cli_fix(after, unsafe=False)
    assert (after / path.name).read_text() != path.read_text(), "a safe fix is marked, but --fix changed nothing"
    clean, exercises = clean_exercises(path), all_exercises(path)
    # Copies, run for these exercises only (the runtime tests cache whole fixtures by path).
    selected = {**local_servers, "LOOPCHECK_EXERCISES": ",".join(exercises)}
    original = run_harness(python, before / path.name, fixture_modules, selected)
    assert {name: original[name]["runs"] for name in clean} == {name: ["ok", "ok"] for name in clean}
    fixed = run_harness(python, after / path.name, fixture_modules, selected)
    changed = {}
    for name in exercises:
        old, new = original[name], fixed[name]
        if name in clean:
            same = new["runs"] == old["runs"] and new["output"] == old["output"]
        else:  # still the bug, or fixed; what asyncio logs of it depends on collection timing
            same = new["runs"] == ["ok", "ok"] or raised(new["runs"]) <= raised(old["runs"])
        if not same:
            changed[name] = (old["runs"], old["output"], new["runs"], new["output"])
    assert not changed, (
        "exercises that do something else after --fix (runs and output before -> after):\n"
        + "\n".join(f"  {name}: {a} {b} -> {c} {d}" for name, (a, b, c, d) in changed.items())
        + "\n\nthe fix:\n" + fix_diff(before, unsafe=False)
    )


# Generated programs: the shapes the fixes rewrite, combined (tests/behaviour.py).

# Shapes of generated programs today's fixes break, with what goes wrong. Left out of the
# generated programs; each has a strict xfail below that generates programs using it.
KNOWN_BROKEN_SHAPES = {
    "lck401:use=is-closed & lck401:driver=by-hand": (
        "LCK401: in a coroutine driven by hand (no loop runs), get_event_loop() returns the "
        "thread's loop and get_running_loop() raises 'no running event loop'"
    ),
    "lck204:inner=needs-loop": (
        "LCK204: a coroutine driven by hand (no loop runs) calls asyncio.run() for a step that "
        "needs a loop; awaited instead, the step has none ('no running event loop')"
    ),
}
GENERATED = settings(
    max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
GENERATED_LONG = settings(
    max_examples=int(os.environ.get("LOOPCHECK_BEHAVIOUR_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
KNOWN_BROKEN_CHECK = settings(
    max_examples=10, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
    phases=[Phase.generate],  # no shrinking: the shape is what fails
)


def behaves_the_same(generated):
    with tempfile.TemporaryDirectory() as directory:
        comparison = check_generated(generated, Path(directory))
    assume(comparison.original.clean)  # only programs that work as written
    event(f"fixed copies run: {comparison.runs}")
    assert comparison, f"{comparison.report()}\n\nthe program:\n{generated.text}"


@GENERATED
@given(generated_programs(exclude=frozenset(KNOWN_BROKEN_SHAPES)))
def test_generated_programs_do_the_same_after_the_fixes(generated):
    behaves_the_same(generated)


@pytest.mark.slow
@GENERATED_LONG
@given(generated_programs(exclude=frozenset(KNOWN_BROKEN_SHAPES)))
def test_generated_programs_do_the_same_after_the_fixes_long(generated):
    behaves_the_same(generated)


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(shape, marks=pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason))
        for shape, reason in KNOWN_BROKEN_SHAPES.items()
    ],
)
def test_known_broken_shapes(shape):
    @KNOWN_BROKEN_CHECK
    @given(generated_programs(force=shape_choices(shape)))
    def check(generated):
        if not broken(generated.shapes, frozenset([shape])):  # not an AssertionError: no xfail
            raise LookupError(f"the program does not have the shape {shape}")
        behaves_the_same(generated)

    check()


# Modules import the same before and after --fix: the same public names, or the same error.

IMPORTED_FIXTURES = ("LCK201.py", "LCK204.py", "LCK401.py")  # safe fixes; stdlib and fixture_support


@pytest.mark.parametrize("name", IMPORTED_FIXTURES)
def test_fixture_modules_import_the_same_after_the_safe_fixes(name, tmp_path):
    path = FIXTURES / name
    version = target_version(path)
    before, after, diff = compare_import(
        path, FIXTURES, tmp_path, [str(Path(__file__).parent)], f"py{version[0]}{version[1]}"
    )
    assert "names" in before, before
    assert diff, "--fix changes nothing"
    assert before == after, diff


def corpus_files_the_safe_fixes_change() -> list[tuple[Path, Path]]:
    """(distribution directory, file) for each corpus file --fix would change."""
    linter = all_rules_linter()
    found = []
    for path in discover([str(CORPUS)]).files:
        try:
            source = read_source(path, None)
            if pipeline.fix_file(linter, source.text, path, unsafe=False).fixed:
                found.append((CORPUS / Path(path).relative_to(CORPUS).parts[0], Path(path)))
        except SourceError:
            continue  # the packages' own invalid test data
    return found


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="run ../shared/bench/corpus.sh first")
def test_corpus_modules_import_the_same_after_the_safe_fixes(tmp_path):
    """Every corpus module --fix changes and that imports as it is (the corpus holds the packages'
    .py files only: the runtime tests' packages supply compiled dependencies) imports the same
    after the fix."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    path = [str(root) for root in sorted(CORPUS.iterdir())] + [str(deps_dir(sys.executable, version))]
    compared, differences = [], []
    for number, (root, file) in enumerate(corpus_files_the_safe_fixes_change()):
        before, after, diff = compare_import(file, root, tmp_path / str(number), path)
        if "error" in before:
            continue
        compared.append(file)
        if before != after:
            differences.append(f"{file}:\n  before: {before}\n  after: {after}\n{diff}")
    assert compared, "no module --fix changes imports as it is"
    assert not differences, "\n\n".join(differences)


# The harness itself: it reads headers strictly and reports every kind of difference.

WORKING = """\
# Prints a value a coroutine gets from a future of its loop.
# loopcheck-program: findings = LCK401
import asyncio


async def later(value):
    loop = asyncio.get_event_loop()
    future = loop.create_future()
    loop.call_soon(future.set_result, value)
    return await future


print(asyncio.run(later(1)))
"""


def program_file(tmp_path, text, name="prog.py"):
    folder = tmp_path / "programs"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("# no header\n", "findings = LCKxxx"),
        ("# loopcheck-program: findings = E501\n", "findings = LCKxxx"),
        ("# loopcheck-program: findings = LCK401\n# loopcheck-program: target = py311\n", "unknown header key"),
        ("# loopcheck-program: findings = LCK401\n# loopcheck-program: target-version = py399\n", "not one of"),
        ("# loopcheck-program: findings = LCK401\n# loopcheck-program: unsafe-effect = (\n", "not a regular"),
        ("# loopcheck-program: findings = LCK401\n# loopcheck-program: findings = LCK201\n", "twice"),
    ],
    ids=["missing", "not-a-code", "unknown-key", "bad-version", "bad-regex", "twice"],
)
def test_header_errors_are_one_clear_line(tmp_path, header, problem):
    path = program_file(tmp_path, header + "print(1)\n")
    with pytest.raises(HeaderError, match=problem):
        read_program(path)


def test_header_settings_are_read(tmp_path):
    path = program_file(
        tmp_path,
        "# Something.\n# loopcheck-program: findings = LCK201, LCK101\n"
        "# loopcheck-program: target-version = py311\n"
        "# loopcheck-program: unsafe-effect = ^lock: \\d+$\nimport asyncio\n"
        "# loopcheck-program: findings = LCK999 (not in the header: ignored)\n",
    )
    assert read_program(path) == Program(path, ("LCK201", "LCK101"), "py311", r"^lock: \d+$")


def test_the_working_program_passes(tmp_path):
    """The reference for the tests below: the same program with the real fixes compares equal."""
    comparison = compare_program(read_program(program_file(tmp_path, WORKING)), tmp_path / "work")
    assert comparison and comparison.runs == 2, comparison.report()


def test_a_fix_that_changes_the_output_is_reported(tmp_path):
    def fixer(directory, unsafe):
        path = directory / "prog.py"
        path.write_text(path.read_text().replace("later(1)", "later(2)"))

    comparison = compare_program(read_program(program_file(tmp_path, WORKING)), tmp_path / "work", fixer)
    report = comparison.report()
    assert not comparison
    assert "after `loopcheck --fix` the program does something else" in report
    assert "after `loopcheck --fix --unsafe-fixes` the program does something else" in report
    assert "-  1\n+  2" in report  # the outputs, side by side
    assert "-print(asyncio.run(later(1)))\n+print(asyncio.run(later(2)))" in report  # the fix


def break_lck401(monkeypatch) -> None:
    """LCK401's fix made to write `asyncio.new_event_loop()` where it writes get_running_loop()."""
    expression = FixBuilder.expression
    monkeypatch.setattr(
        FixBuilder, "expression",
        lambda self, name: expression(self, name.replace("get_running_loop", "new_event_loop")),
    )
    # The rewrite that keeps `asyncio.` as written does not go through FixBuilder.expression.
    monkeypatch.setattr(GetEventLoopInCoroutine, "_through_the_module", lambda self, func: False)


def test_a_rule_whose_fix_changes_behaviour_is_caught(tmp_path, monkeypatch):
    """The real command line, with LCK401's rewrite broken on purpose: the coroutine then gets a
    new loop instead of the running one, and its future belongs to another loop."""
    break_lck401(monkeypatch)
    comparison = compare_program(read_program(program_file(tmp_path, WORKING)), tmp_path / "work")
    report = comparison.report()
    assert not comparison
    assert "+  RuntimeError:" in report and "attached to a different loop" in report
    assert "+    loop = asyncio.new_event_loop()" in report


def test_an_exercise_a_broken_fix_changes_is_reported(tmp_path, monkeypatch, fixture_modules, local_servers):  # noqa: F811
    """The fixture check, with LCK401's rewrite broken as above: its clean exercise then fails."""
    break_lck401(monkeypatch)
    with pytest.raises(AssertionError, match=r"(?s)exercise_running_loop_is_what_the_code_gets: .*different loop"):
        test_exercises_do_the_same_or_better_after_the_safe_fixes(FIXTURES / "LCK401.py", tmp_path, fixture_modules, local_servers)


def test_an_import_a_fix_changes_is_seen(tmp_path, monkeypatch):
    """A fix that renames a public function, injected after the real one."""
    root = tmp_path / "src"
    root.mkdir()
    module = root / "service.py"
    module.write_text("import asyncio\n\n\ndef public():\n    pass\n\n\nasync def now():\n    return asyncio.get_event_loop()\n")
    real = behaviour.loopcheck

    def fix_then_rename(*args, cwd):
        result = real(*args, cwd=cwd)
        if "--fix" in args:
            fixed = cwd / args[-1]
            fixed.write_text(fixed.read_text().replace("def public", "def renamed"))
        return result

    monkeypatch.setattr(behaviour, "loopcheck", fix_then_rename)
    before, after, diff = compare_import(module, root, tmp_path / "work", [])
    assert before == {"names": ["now", "public"]}
    assert after == {"names": ["now", "renamed"]}
    assert "+    return asyncio.get_running_loop()" in diff


def test_a_fix_that_hangs_is_reported(tmp_path):
    def fixer(directory, unsafe):
        path = directory / "prog.py"
        path.write_text(path.read_text().replace("print(", "import time\ntime.sleep(60)\nprint("))

    comparison = compare_program(
        read_program(program_file(tmp_path, WORKING)), tmp_path / "work", fixer, timeout=2
    )
    assert not comparison
    assert "hangs after the fix: no result within 2 s" in comparison.report()


def test_unsafe_effect_must_show(tmp_path):
    """A program whose unsafe fix documents an effect: the output must match it, the safe fix
    must still keep the output."""
    header = "# loopcheck-program: unsafe-effect = ^2$\n"

    def fixer(directory, unsafe):
        if unsafe:
            path = directory / "prog.py"
            path.write_text(path.read_text().replace("later(1)", "later(3)"))

    path = program_file(tmp_path, header + WORKING)
    comparison = compare_program(read_program(path), tmp_path / "work", fixer)
    assert not comparison
    assert "does not show the documented effect /^2$/" in comparison.report()
    assert "after `loopcheck --fix` " not in comparison.report()


def test_an_original_that_does_not_run_clean_is_reported(tmp_path):
    text = WORKING + "import sys\nprint('oops', file=sys.stderr)\n"
    comparison = compare_program(read_program(program_file(tmp_path, text)), tmp_path / "work")
    assert not comparison
    assert "the original does not run clean" in comparison.report()


def test_a_program_that_misses_its_findings_is_reported(tmp_path):
    text = WORKING.replace("findings = LCK401", "findings = LCK401, LCK201")
    comparison = compare_program(read_program(program_file(tmp_path, text)), tmp_path / "work")
    assert not comparison
    assert "not reported for LCK201" in comparison.report()
