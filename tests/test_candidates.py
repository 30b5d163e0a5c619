"""The candidate stage decides which rules can report in a file before any LibCST work. It may
keep files no rule reports on; it must never drop one: findings are identical with it on and off,
on every fixture, every rule's examples and real code (the whole corpus with `-m slow`)."""

from __future__ import annotations

import ast
import asyncio
import os
from pathlib import Path

import pytest

from loopcheck.data.catalogue import Catalogue
from loopcheck.engine.engine import Linter
from loopcheck.engine.rule import Invalid, Rule
from loopcheck.files import SourceError
from loopcheck.prefilter.candidates import Candidates, import_lines
from loopcheck.prefilter.starts import Start, Where
from loopcheck.rules import file_rules
from loopcheck.run.sources import discover, read_source
from tests.helpers import check_text, fixtures, target_version

RULES = file_rules()  # project rules: tests/test_project_rules.py
CORPUS = Path(os.environ.get("LOOPCHECK_CORPUS", Path.home() / ".cache/loopcheck-corpus")) / "src"


def both_ways(source: str, target: tuple[int, int] | None = None) -> tuple[list, list]:
    rules = list(RULES.values())
    on = check_text(Linter(rules, target_version=target), source, "x.py")
    off = check_text(Linter(rules, target_version=target, candidate_stage=False), source, "x.py")
    return on, off


@pytest.mark.parametrize("path", fixtures(), ids=lambda p: p.stem)
def test_fixture_findings_are_the_same_with_and_without_the_stage(path):
    on, off = both_ways(path.read_text(), target_version(path))
    assert on == off and on


def test_rule_examples_give_the_same_findings_with_and_without_the_stage():
    for rule in RULES.values():
        for example in (*(e.code for e in (*rule.valid, *rule.invalid)), rule.docs.example + "\n"):
            on, off = both_ways(example)
            assert on == off, (rule.code, example)


# Defaults of a `def` inside a plain function run once per call of that function: the analysis
# calls them defaults (LCK103), and the stage must keep them as such, not only as function code.
NESTED_DEFAULTS = (
    "import asyncio\n"
    "def outer():\n"
    "    async def handler(lock=asyncio.Lock()):\n"
    "        async with lock:\n"
    "            pass\n"
    "    return handler\n",
    "import asyncio\n"
    "def outer():\n"
    "    def make(queue=asyncio.Queue()):\n"
    "        return queue\n"
    "    return make\n",
)


@pytest.mark.parametrize("source", NESTED_DEFAULTS)
def test_defaults_of_nested_functions_are_kept_by_the_stage(source):
    on, off = both_ways(source)
    assert [d.code for d in off] == ["LCK103"]
    assert on == off


def compare_tree(root: Path) -> int:
    files = discover([str(root)]).files
    compared = 0
    for path in files:
        try:
            text = read_source(path).text
            on, off = both_ways(text)
        except SourceError:
            continue
        assert on == off, path
        compared += 1
    return compared


def test_real_asyncio_code_gives_the_same_findings_with_and_without_the_stage():
    assert compare_tree(Path(asyncio.__file__).parent) > 20


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="run ../shared/bench/corpus.sh first")
def test_the_corpus_gives_the_same_findings_with_and_without_the_stage():
    assert compare_tree(CORPUS) > 1000


def test_a_new_rule_joins_the_stage_by_declaring_what_it_starts_from():
    """Words come from the catalogue groups a rule names, not from a list kept by hand."""

    class TimesRule:
        code = "LCK999"
        starts_from = (Start(calls=("loop.current",), where=(Where.COROUTINE,)),)

    candidates = Candidates([TimesRule], Catalogue.load())
    assert candidates.may_match("import asyncio\nasyncio.get_event_loop()\n")
    assert not candidates.may_match("import asyncio\nasyncio.sleep(1)\n")  # no get_event_loop
    assert not candidates.may_match("get_event_loop()\n")  # no module that defines it
    inside = "import asyncio\nasync def f():\n    asyncio.get_event_loop()\n"
    outside = "import asyncio\ndef f():\n    asyncio.get_event_loop()\n"
    aliased = "from asyncio import get_event_loop as gel\nasync def f():\n    gel()\n"
    assert candidates.rules_for(ast.parse(inside)) == {"LCK999"}
    assert candidates.rules_for(ast.parse(outside)) == set()
    assert candidates.rules_for(ast.parse(aliased)) == {"LCK999"}


def test_the_text_test_needs_every_part_of_a_name_before_its_call():
    """``redis.asyncio.Redis()``: a call of ``Redis`` counts only where both ``redis`` and
    ``asyncio`` are in the file too (``redis.Redis`` is the synchronous client)."""
    candidates = Linter(list(RULES.values())).candidates
    assert candidates.may_match("import redis.asyncio\nclient = Redis()\n")
    assert not candidates.may_match("import redis\nclient = Redis()\n")  # no asyncio
    assert not candidates.may_match("import asyncio\nclient = Redis()\n")  # no redis
    assert not candidates.may_match("from redis import asyncio\n")  # no call
    assert candidates.may_match("loop.run_until_complete(main())\n")  # a method: its name alone


def test_most_asyncio_files_are_decided_without_libcst():
    """The point of the stage: of the standard library's asyncio package, which mentions asyncio
    everywhere, only the files with a start of some rule reach LibCST."""
    linter = Linter(list(RULES.values()))
    files = discover([str(Path(asyncio.__file__).parent)]).files
    kept = [f for f in files if linter.candidates.rules_for(ast.parse(read_source(f).text))]
    assert len(kept) < len(files) / 2, kept


# -- the rules' declarations ------------------------------------------------------------------

WRONG_STARTS = [
    ((Start(calls=("primitive",)),), "starts_from[0]: calls: unknown group 'primitive'"),
    ((Start(calls=("loop.new",), also_calls=("loop.sett",)),), "also_calls: unknown group 'loop.sett'"),
    ((Start(methods=("run_until_completed",)),), "methods: 'run_until_completed' is not a method of asyncio's event loop"),
    # a group where a method belongs: it would be looked for as a method name
    ((Start(calls=("loop.new",), also_methods=("loop.set",)),), "also_methods: 'loop.set' is not a method"),
    ((Start(calls=("primitives",), where=("module", "class")),), "where: 'module' is not one of Where.MODULE"),
    ((Start(calls=("primitives",), where=(Where.ELSEWHERE,)),), "where: Where.ELSEWHERE is not one of"),
    ((Start(calls="primitives"),), "calls must be a tuple, not 'primitives'"),
    ((Start(calls=("primitives",), kept="yes"),), "kept must be True or False, not 'yes'"),
    ((Start(where=(Where.MODULE,)),), "no calls and no methods: it matches nothing"),
    ((Start(methods=("run_until_complete",), kept=True),), "kept and on_shared_instance apply to calls only"),
    (
        (Start(calls=("clients",), where=(Where.MODULE, Where.CLASS), in_known_context=True),),
        "in_known_context narrows calls in functions and coroutines only",
    ),
    ((Start(calls=("clients",)), "loop.new"), "starts_from[1]: 'loop.new' is not a Start"),
    (Start(calls=("clients",)), "starts_from must be a tuple of Start, not Start(calls=('clients',))"),
]


@pytest.fixture
def declare():
    """Declares a rule LCK990 and says why it is refused: where it is declared (its class), else
    its ``start_mistakes`` (what ``python -m loopcheck.dev generate`` refuses to write); None when
    nothing is wrong. The registry forgets it afterwards."""

    def declared(starts, invalid=()) -> str | None:
        try:

            class WronglyDeclared(Rule):
                code = "LCK990"
                name = "wrongly-declared"
                starts_from = starts

            WronglyDeclared.invalid = tuple(invalid)
        except ValueError as error:
            assert "LCK990" not in Rule.registry
            return str(error)
        return WronglyDeclared.start_mistakes()

    yield declared
    Rule.registry.pop("LCK990", None)


@pytest.mark.parametrize(("starts", "message"), WRONG_STARTS, ids=[m for _, m in WRONG_STARTS])
def test_a_rule_with_a_wrong_start_is_refused(declare, starts, message):
    """A misspelled group, place or method would match nothing, and switch the rule off."""
    refused = declare(starts)
    assert refused is not None and refused.startswith("WronglyDeclared (LCK990): ")
    assert message in refused


def test_generate_refuses_a_rule_with_a_wrong_start(declare, tmp_path):
    """The rule index a run reads the starts from is never written with a wrong one."""
    from loopcheck.dev.generate import GenerateError, expected_files

    declare((Start(methods=("run_until_completed",)),))
    with pytest.raises(GenerateError, match=r"WronglyDeclared \(LCK990\): starts_from\[0\]: methods"):
        expected_files(tmp_path)


def test_every_rule_declares_its_starts_right():
    """What ``generate`` checks, for the rules as they are (a run no longer checks them)."""
    assert [found for rule in file_rules().values() if (found := rule.start_mistakes())] == []


def test_a_rule_states_once_where_its_construct_sits():
    """The places the analysis's sites are compared with are those of the rule's starts."""
    assert RULES["LCK101"].places == {Where.MODULE}
    assert RULES["LCK104"].places == {Where.FUNCTION, Where.COROUTINE}
    assert RULES["LCK205"].places == set(Where) - {Where.ELSEWHERE}  # no `where`: anywhere


def test_a_rule_whose_start_no_invalid_example_holds_is_refused(declare):
    """A start no example holds is a start nothing tests: the stage could drop the files it
    stands for unnoticed."""
    class_start = Start(calls=("primitives",), where=(Where.CLASS,))
    refused = declare(
        (Start(calls=("primitives",), where=(Where.MODULE,)), class_start),
        (Invalid("import asyncio\nlock = asyncio.Lock()\n", message="2:8 a lock"),),
    )
    assert refused == f"WronglyDeclared (LCK990): no invalid example holds starts_from[1] = {class_start}"


def test_a_rule_with_starts_and_no_invalid_example_is_refused(declare):
    refused = declare((Start(calls=("primitives",)),))
    assert refused == "WronglyDeclared (LCK990): starts_from is declared but no Invalid example shows a finding"


def test_a_run_does_not_check_the_starts_of_the_rules_it_imports():
    """Importing a rule (as a run does, for a file that needs it) neither parses its examples
    nor imports asyncio to look up its methods."""
    import subprocess
    import sys

    code = (
        "import sys; from loopcheck.rules import rule_class; rule_class('LCK202'); rule_class('LCK403'); "
        "print('asyncio' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_scan_leaves_no_reference_cycle():
    """The scan keeps nothing that refers back to it: the file's tree is freed with the check,
    without waiting for the garbage collector."""
    import gc

    candidates = Candidates(file_rules().values(), Catalogue.load())
    tree = ast.parse("import asyncio\nlock = asyncio.Lock()\nclass C:\n    async def m(self):\n        await lock.acquire()\n")
    gc.collect()
    gc.disable()
    try:
        assert candidates.rules_for(tree)
        assert gc.collect() == 0
    finally:
        gc.enable()


class _Asked(str):
    """A text that notes each word looked for in it."""

    def __init__(self, text: str) -> None:
        self.asked: list[str] = []

    def __contains__(self, word: object) -> bool:
        self.asked.append(str(word))
        return super().__contains__(word)


def test_the_text_test_does_not_look_for_a_word_whose_part_is_missing(monkeypatch):
    """``httpx2`` holds ``httpx``, ``nest_asyncio`` holds ``asyncio``: where the shorter word is
    missing, the longer one is not looked for (each look reads the whole text). Modules are
    looked for in the import lines, methods in the whole text."""
    from loopcheck.prefilter import candidates as stage_module

    lines: list[_Asked] = []
    monkeypatch.setattr(
        stage_module, "import_lines", lambda text: lines.append(_Asked(import_lines(text))) or lines[-1]
    )
    stage = Candidates(RULES.values(), Catalogue.load())
    text = _Asked("import json\n\nprint(json.dumps({}))\n")
    assert not stage.may_match(text)
    assert {"httpx", "asyncio", "psycopg"} <= set(lines[-1].asked)
    assert "run_until_complete" in text.asked and "asyncio" not in text.asked
    assert not {"httpx2", "nest_asyncio", "nest_asyncio2", "psycopg_pool"} & {*lines[-1].asked, *text.asked}
    found = _Asked("import httpx2\n\nclient = httpx2.AsyncClient()\n")
    assert stage.may_match(found) and "httpx2" in lines[-1].asked


# (source, whether the text test keeps it): a module counts where an import line names it.
IMPORT_LINE_CASES = [
    ("import asyncio\nlock = asyncio.Lock()\n", True),
    ("import os, \\\n    asyncio\nlock = asyncio.Lock()\n", True),
    ("import os, \\\r\n    asyncio\r\nlock = asyncio.Lock()\r\n", True),
    ("from asyncio \\\n    import Lock\nlock = Lock()\n", True),
    ("from asyncio import (\n    Queue,\n    Lock,\n)\nlock = Lock()\n", True),
    ("from compat import (\n    json,\n    asyncio,\n)\nlock = asyncio.Lock()\n", True),
    ("aio = __import__('asyncio')\nlock = aio.Lock()\n", True),
    ("if True: import asyncio\nlock = asyncio.Lock()\n", True),
    # Bound otherwise than by an import, the module's name written as a string.
    ("import lazy_loader as lazy\nhttpx = lazy.load('httpx')\nclient = httpx.AsyncClient()\n", True),
    ("import sys\nasyncio = sys.modules[\"asyncio\"]\nLOCK = asyncio.Lock()\n", True),
    ("import importlib\nNAME = 'asyncio'\nasyncio = (\n    importlib.import_module(NAME)\n)\nLOCK = asyncio.Lock()\n", True),
    ("from util import optional\nhttpx = optional(\"httpx\")\nclient = httpx.AsyncClient()\n", True),
    # Named only in a comment: nothing binds it, no rule resolves the call to it.
    ("# asyncio, never brought in\nlock = asyncio.Lock()\n", False),
    ("import json\nNOTE = 'about asyncio'\nlock = Lock()\n", False),
    # A method is looked for anywhere.
    ("def run(loop, coro):\n    return loop.run_until_complete(coro)\n", True),
]


@pytest.mark.parametrize(("source", "kept"), IMPORT_LINE_CASES)
def test_the_text_test_looks_for_modules_in_import_lines(source, kept):
    stage = Candidates(RULES.values(), Catalogue.load())
    assert stage.may_match(source) is kept
    on, off = both_ways(source)
    assert on == off


def test_import_lines_are_the_lines_that_say_import():
    text = "x = 1\nimport a\ny = (\n  2)\nfrom b import (\n  c,\n  d)\nz = 3\nfrom e \\\n  import f\nw = 4"
    assert import_lines(text) == "import a\nfrom b import (\n  c,\n  d)\nfrom e \\\n  import f"
    assert import_lines("print(1)\n") == ""


def test_the_scan_does_not_walk_nodes_with_nothing_to_note(monkeypatch):
    """Names, constants, contexts and operators are not walked (three in five of a tree's nodes):
    the walk neither notes nor enters them, they hold no other node, and every fixture's shape is
    the one a walk over every node gives."""
    from loopcheck.prefilter import candidates as stage

    walk = stage._Walk(frozenset(), stage.ContextSeeds(Catalogue.load()))
    assert not stage.BARE_TYPES & (walk.scopes.keys() | walk.notes.keys() | stage.PASS_THROUGH_TYPES)
    scanner = Candidates(RULES.values(), Catalogue.load())
    trees = [ast.parse(path.read_text()) for path in fixtures()]
    for tree in trees:
        for node in ast.walk(tree):
            if type(node) in stage.BARE_TYPES:
                assert all(type(child) in stage.BARE_TYPES for child in ast.iter_child_nodes(node))
    shapes = [scanner.shape_of(tree) for tree in trees]
    monkeypatch.setattr(stage, "BARE_TYPES", frozenset())
    assert [scanner.shape_of(tree) for tree in trees] == shapes
    assert any(shape.calls for shape in shapes) and any(shape.methods for shape in shapes)


def test_the_text_test_looks_for_a_method_name_once():
    """A method's name is one of the words looked for first: whether it is in the text is known
    then, and it is not looked for again as the last part of a name."""
    stage = Candidates(RULES.values(), Catalogue.load())
    text = _Asked("import asyncio\n\nasyncio.sleep(1)\n")
    assert not stage.may_match(text)
    methods = [word for word in text.asked if word in stage.method_names]
    assert "run_until_complete" in methods
    assert len(methods) == len(set(methods))
