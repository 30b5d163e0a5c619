"""The scopes loopcheck resolves (loopcheck/analysis/scopes.py, its own walk of LibCST's scope
visitors) are LibCST's own, node for node and binding for binding, on the fixtures, the programs
and on sources made to reach the visitors' corners; and that walk rebuilds no node LibCST's own
walk would."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, Scope, ScopeProvider
from libcst.metadata.scope_provider import Access, BaseAssignment

from loopcheck.analysis.children import preorder
from loopcheck.analysis.scopes import resolve_scopes

TESTS = Path(__file__).parent
SOURCES = sorted([*TESTS.glob("fixtures/LCK*.py"), *TESTS.glob("programs/*.py")])

# What the visitors handle themselves: class bases and keywords (field hooks), decorators,
# defaults and annotations, string annotations, comprehensions, lambdas, global and nonlocal,
# imports, walrus, f-string format specs, match, exception names, deletion, augmented targets.
CORNERS = '''
from __future__ import annotations
import os.path as p, sys
from typing import TYPE_CHECKING, List
if TYPE_CHECKING:
    from collections import OrderedDict
counter = 0
def deco(f): return f
class Base: ...
class Child(Base, metaclass=type, flag=counter):
    attr: "List[Child]" = []
    other: List["OrderedDict[str, int]"]
    @deco
    def method(self, a: "Base", b=counter, *args: int, c: int = 1, **kw: "int") -> "Child":
        global counter
        counter += 1
        x = [y for y in range(a) if (z := y)]
        def inner():
            nonlocal x
            x = {k: v for k, v in kw.items()}
            return lambda q=x: q + z
        return inner
def f(*, key=lambda: sys):
    try:
        pass
    except (ValueError, OSError) as error:
        del error
    for i, (j, k) in enumerate([]):
        print(f"{i!r:>{j}} {k:{p.sep}}")
    with open(p.join("a")) as (handle):
        a, *rest = handle
    match rest:
        case [first, *others] if first:
            return others
        case {"k": value, **more}:
            return value, more
        case Base(attr=found) | found:
            return found
    return (g for g in rest if g), {s for s in rest}, a
x: int
x += 1
print(__name__, __file__, undefined)
'''


def _sources() -> list[tuple[str, str]]:
    return [("corners", CORNERS), *((path.name, path.read_text("utf-8")) for path in SOURCES)]


SOURCE_TEXTS = _sources()


def _described(module: cst.Module, scopes: Mapping[cst.CSTNode, Scope | None]) -> Any:
    """Each node's scope, and every scope's bindings and accesses, with nodes named by their
    place in the module and scopes by the order they are first met (what makes the scopes of
    two resolutions comparable)."""
    place = {id(node): number for number, (node, _) in enumerate(preorder(module))}
    numbers: dict[int, int] = {}
    met: list[Scope] = []

    def node_name(node: cst.CSTNode) -> object:
        # Nodes the scope visitor parses itself (string annotations) are not in the module.
        return place[id(node)] if id(node) in place else (type(node).__name__, module.code_for_node(node))

    def scope_number(scope: Scope) -> int:
        if id(scope) not in numbers:
            numbers[id(scope)] = len(numbers)
            met.append(scope)
        return numbers[id(scope)]

    def value(item: object, deep: bool) -> object:
        if isinstance(item, cst.CSTNode):
            return ("node", node_name(item))
        if isinstance(item, Scope):
            return ("scope", scope_number(item))
        if isinstance(item, (Access, BaseAssignment)):
            return record(item, deep=False)
        if isinstance(item, (set, frozenset)):
            return sorted(repr(value(each, deep)) for each in item)
        if isinstance(item, (list, tuple)):
            return [value(each, deep) for each in item]
        if isinstance(item, Mapping):
            return sorted((repr(value(key, deep)), repr(value(each, deep))) for key, each in item.items())
        return repr(item)

    def record(item: object, deep: bool) -> object:
        fields = dict(getattr(item, "__dict__", {}))
        for klass in type(item).__mro__:
            slots = getattr(klass, "__slots__", ())
            fields.update((name, getattr(item, name)) for name in slots if hasattr(item, name))
        shown = []
        for name, each in sorted(fields.items()):
            refers = isinstance(each, (set, frozenset, list)) and any(
                isinstance(one, (Access, BaseAssignment)) for one in each
            )
            shown.append((name, len(each) if refers and not deep else value(each, deep)))
        return (type(item).__name__, repr(shown))

    def order(node: cst.CSTNode) -> tuple[int, str]:
        name = node_name(node)
        return (name, "") if isinstance(name, int) else (len(place), repr(name))

    in_order = sorted(scopes.items(), key=lambda item: order(item[0]))
    by_node = [(node_name(node), scope_number(scope) if scope else None) for node, scope in in_order]
    described = []
    for scope in met:  # grows as the scopes' records meet parent scopes
        described.append((type(scope).__name__, record(scope, deep=True)))
    return by_node, described


def _libcst_scopes(module: cst.Module) -> Mapping[cst.CSTNode, Scope | None]:
    return MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)


@pytest.mark.parametrize("name,text", SOURCE_TEXTS, ids=[name for name, _ in SOURCE_TEXTS])
def test_the_scopes_are_libcst_s_own(name, text):
    module = cst.parse_module(text)
    assert _described(module, resolve_scopes(module)) == _described(module, _libcst_scopes(module))


def test_the_walk_rebuilds_few_nodes(monkeypatch):
    """LibCST's walk makes a copy of every node it passes; this one, only of what the visitors
    walk with LibCST's visitors of their own (assignment targets)."""
    module = cst.parse_module(CORNERS + "".join(text for _, text in SOURCE_TEXTS[1:20]))
    nodes = sum(1 for _ in preorder(module))
    made = 0
    post_init = cst.CSTNode.__post_init__

    def counted(node: cst.CSTNode) -> None:
        nonlocal made
        made += 1
        post_init(node)

    monkeypatch.setattr(cst.CSTNode, "__post_init__", counted)
    resolve_scopes(module)
    assert made < nodes // 5, (made, nodes)
