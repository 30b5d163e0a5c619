"""Property-based fuzzing: programs generated from Python's grammar (hypothesmith) and real files
mutated line by line. Whatever the input, loopcheck never crashes, agrees with ``compile()`` of
the running interpreter on what is valid Python, and every fix keeps the file compiling and is
stable on a second pass.

The default suite runs a short fuzz; ``pytest -m slow tests/test_fuzz.py`` runs the long one
(LOOPCHECK_FUZZ_EXAMPLES programs per property, 10,000 unless set)."""

from __future__ import annotations

import ast
import asyncio
import os
import warnings
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, assume, currently_in_test_context, given, settings
from hypothesis import strategies as st

from loopcheck.engine import pipeline
from loopcheck.files import SourceError
from tests.helpers import FIXTURES, all_rules_linter

LINTER = all_rules_linter()
SHORT = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
LONG = settings(
    max_examples=int(os.environ.get("LOOPCHECK_FUZZ_EXAMPLES", "10000")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
# Appended to generated programs so that the rules have something to start from: a file in
# which no rule could report anything is not parsed at all.
CANDIDATES = (
    "\nimport asyncio\nlock = asyncio.Lock()\n\n\nasync def use():\n    async with lock:\n"
    "        return asyncio.get_event_loop()\n\n\ndef run(job):\n    loop = asyncio.new_event_loop()\n"
    "    return loop.run_until_complete(job())\n"
)


def seed_files() -> list[str]:
    """Real files to mutate: the fixtures and the standard library's asyncio package."""
    paths = [*sorted(FIXTURES.glob("LCK*.py")), *sorted(Path(asyncio.__file__).parent.glob("*.py"))]
    return [p.read_text("utf-8") for p in paths]


SEEDS = seed_files()


def needs(condition: bool) -> None:
    """A precondition: generated inputs that miss it are discarded, given ones must meet it."""
    if currently_in_test_context():
        assume(condition)
    else:
        assert condition


def compiles(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "fuzzed.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    except (RecursionError, MemoryError):
        needs(False)  # beyond the interpreter itself: nothing to agree on
    return True


def check_like_the_interpreter(text: str) -> None:
    """The properties, for one text."""
    needs(LINTER.candidates.may_match(text))
    valid = compiles(text)
    try:
        found = pipeline.check_file(LINTER, text, "fuzzed.py")
    except SourceError as error:
        message = str(error)
        assert "internal error" not in message, message
        # Rejected as invalid only when the interpreter rejects it too; any other refusal (too
        # deep, too large, beyond LibCST) is for files the interpreter accepts.
        assert message.startswith("syntax error") == (not valid), (message, text)
        return
    if not valid:
        # Parsed but not compiled: only a file whose parse holds nothing a rule analyses (README).
        assert not LINTER.candidates.rules_for(ast.parse(text)), f"accepted, but compile() refuses:\n{text}"
        assert found == []
        return
    fixed = pipeline.fix_file(LINTER, text, "fuzzed.py", unsafe=True)
    assert compiles(fixed.source), fixed.source
    again = pipeline.fix_file(LINTER, fixed.source, "fuzzed.py", unsafe=True)
    assert (again.fixed, again.source) == (0, fixed.source)


@st.composite
def mutated_files(draw) -> str:
    """A real file with a few lines deleted, swapped, duplicated or re-indented."""
    lines = draw(st.sampled_from(SEEDS)).splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        j = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "swap", "duplicate", "indent", "dedent"]))
        if kind == "delete":
            del lines[i]
        elif kind == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "duplicate":
            lines.insert(j, lines[i])
        elif kind == "indent":
            lines[i] = "    " + lines[i]
        elif lines[i].startswith("    "):
            lines[i] = lines[i][4:]
    return "".join(lines)


generated_programs = hypothesmith.from_grammar().map(lambda program: program + CANDIDATES)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@SHORT
@given(generated_programs)
def test_generated_programs(text):
    check_like_the_interpreter(text)


@SHORT
@given(mutated_files())
def test_mutated_real_files(text):
    check_like_the_interpreter(text)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@LONG
@given(generated_programs)
def test_generated_programs_long(text):
    check_like_the_interpreter(text)


@pytest.mark.slow
@LONG
@given(mutated_files())
def test_mutated_real_files_long(text):
    check_like_the_interpreter(text)


# Regressions the fuzzing found (each was a crash or a disagreement with the interpreter).


@pytest.mark.parametrize(
    "text",
    [
        "import asyncio\n\ndef f(a, a):\n    return asyncio.get_event_loop()\n",
        "import asyncio\n\nLOCK = asyncio.Lock()\n\ndef f(a, a):\n    return asyncio.get_event_loop()\n",
        "import asyncio\n\nasync def f():\n\f    return asyncio.get_event_loop()\n",
    ],
    ids=["duplicate-argument", "duplicate-argument-analysed", "form-feed-indentation"],
)
def test_regressions(text):
    check_like_the_interpreter(text)
