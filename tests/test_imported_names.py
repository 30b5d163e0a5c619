"""Names only module-level imports bind, answered without LibCST's scope analysis: the answer
must be the scopes' own, and every name the scopes could answer otherwise is left to them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper

from loopcheck.analysis import FileAnalysis
from loopcheck.analysis.imported_names import ImportedNames
from loopcheck.analysis.index import FileIndex
from loopcheck.analysis.scopes import resolve_scopes
from loopcheck.data.catalogue import Catalogue

FIXTURES = Path(__file__).parent / "fixtures"


def _attribute(module: cst.Module, index: FileIndex, code: str, nth: int = 0) -> cst.Attribute:
    found = [node for nodes in index.attributes_by_name.values() for node in nodes if module.code_for_node(node) == code]
    return sorted(found, key=list(index.parents).index)[nth]


def _scopes_answer(scopes, node: cst.CSTNode) -> frozenset[str]:
    scope = scopes.get(node)
    return frozenset(q.name for q in scope.get_qualified_names_for(node)) if scope is not None else frozenset()


@pytest.mark.parametrize(
    ("source", "code", "expected"),
    [
        ("import asyncio\nasync def f():\n    asyncio.get_event_loop()\n", "asyncio.get_event_loop",
         {"asyncio.get_event_loop"}),
        ("import asyncio as aio\nclass C:\n    x = aio.locks.Lock\n", "aio.locks.Lock", {"asyncio.locks.Lock"}),
        ("import os.path\nos.path.join\n", "os.path.join", {"os.path.join"}),
        ("import os, os.path\ndef f():\n    return os.sep\n", "os.sep", {"os.sep"}),
        ("from asyncio import events\nevents.get_event_loop()\n", "events.get_event_loop",
         {"asyncio.events.get_event_loop"}),
        ("from . import events\nevents.x\n", "events.x", {".events.x"}),
        ("try:\n    import a\nexcept ImportError:\n    import b as a\na.f()\n", "a.f", {"a.f", "b.f"}),
        # A read before the import, at module level: the whole name is looked up, not the read.
        ("asyncio.Lock()\nimport asyncio\n", "asyncio.Lock", {"asyncio.Lock"}),
    ],
)
def test_a_dotted_name_through_module_level_imports_is_answered_as_the_scopes_answer_it(source, code, expected):
    module = cst.parse_module(source)
    index = FileIndex.of(module)
    node = _attribute(module, index, code)
    assert ImportedNames(index).qualified(node) == expected == _scopes_answer(resolve_scopes(module), node)


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("import asyncio\nasyncio = None\nasyncio.x\n", "asyncio.x"),
        ("import asyncio\ndef f(asyncio):\n    asyncio.x\n", "asyncio.x"),
        ("import asyncio\ndef f():\n    import trio as asyncio\n    asyncio.x\n", "asyncio.x"),
        ("def f():\n    import asyncio\n\ndef g():\n    asyncio.x\n", "asyncio.x"),
        ("import asyncio\ndef f():\n    global asyncio\n    asyncio.x\n", "asyncio.x"),
        ("import asyncio\nwith open('x') as asyncio:\n    asyncio.x\n", "asyncio.x"),
        ("import asyncio\ntry:\n    pass\nexcept Exception as asyncio:\n    asyncio.x\n", "asyncio.x"),
        ("import asyncio\nfor asyncio in []:\n    asyncio.x\n", "asyncio.x"),
        ("import asyncio\n[asyncio.x for asyncio in []]\n", "asyncio.x"),
        ("import asyncio\n(asyncio := 1)\nasyncio.x\n", "asyncio.x"),
        ("import asyncio\nclass asyncio:\n    pass\nasyncio.x\n", "asyncio.x"),
        ("import asyncio\ndel asyncio\nasyncio.x\n", "asyncio.x"),
        ("import asyncio\na, asyncio = 1, 2\nasyncio.x\n", "asyncio.x"),
        # The scopes record the read of `a.b` at the node itself, so where it is matters: a read
        # before the import sees no binding.
        ("a.b\nimport a.b\n", "a.b"),
        # Nodes of an import statement have no scope.
        ("import a.b\n", "a.b"),
        ("from a.b import c\n", "a.b"),
        # A name no import binds.
        ("x = 1\nx.y\n", "x.y"),
    ],
)
def test_a_name_bound_otherwise_or_a_node_the_scopes_treat_apart_is_left_to_them(source, code):
    module = cst.parse_module(source)
    index = FileIndex.of(module)
    assert ImportedNames(index).qualified(_attribute(module, index, code)) is None


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.py")), ids=lambda path: path.name)
def test_every_answer_on_the_fixtures_is_the_scopes_answer(fixture):
    module = cst.parse_module(fixture.read_text("utf-8"))
    index = FileIndex.of(module)
    imported = ImportedNames(index)
    scopes = resolve_scopes(module)
    for nodes in index.attributes_by_name.values():
        for node in nodes:
            answer = imported.qualified(node)
            if answer is not None:
                assert answer == _scopes_answer(scopes, node), module.code_for_node(node)


def _analysis(source: str) -> FileAnalysis:
    module = cst.parse_module(textwrap.dedent(source))
    return FileAnalysis(MetadataWrapper(module, unsafe_skip_copy=True), Catalogue.load())


def test_calls_through_imported_modules_are_found_without_resolving_the_scopes():
    analysis = _analysis(
        """
        import asyncio

        async def now():
            return asyncio.get_event_loop().time()
        """
    )
    calls = analysis.loop_uses.current_loop_calls(in_coroutine=True)
    assert [analysis.module.code_for_node(call) for call in calls] == ["asyncio.get_event_loop()"]
    assert analysis.bindings.only_imports_of("asyncio", "asyncio")
    assert not analysis.bindings.only_imports_of("asyncio", "trio")
    assert "scopes" not in vars(analysis), "the scopes were resolved"


def test_only_imports_of_a_name_bound_otherwise_asks_the_scopes():
    analysis = _analysis(
        """
        import asyncio

        def f(asyncio):
            return asyncio.get_event_loop()
        """
    )
    assert not analysis.bindings.only_imports_of("asyncio", "asyncio")
    assert "scopes" in vars(analysis)
