"""The plain predicates over LibCST nodes (loopcheck/analysis/tree.py, exports.py) answer as the
LibCST matchers and the ``GatherExportsVisitor`` they replace did, on the fixtures, the programs
and on sources made to reach their corners."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import libcst.matchers as m
import pytest
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import GatherExportsVisitor

from loopcheck.analysis.children import preorder
from loopcheck.analysis.exports import exported_names
from loopcheck.analysis.tree import (
    comparison_parts,
    descendants,
    is_docstring,
    is_main_guard,
    is_name,
    is_none,
    is_type_checking,
    sole_statement,
    sole_target,
)

TESTS = Path(__file__).parent
SOURCES = sorted([*TESTS.glob("fixtures/LCK*.py"), *TESTS.glob("programs/*.py")])

# The matchers as they stood before the predicates.
DOCSTRING = m.SimpleStatementLine(body=[m.Expr(m.SimpleString() | m.ConcatenatedString())])
MAIN_STRING = m.SimpleString(value=m.MatchIfTrue(lambda v: v.strip("'\"") == "__main__"))
MAIN_GUARD = m.Comparison(
    left=m.Name("__name__"), comparisons=[m.ComparisonTarget(m.Equal(), MAIN_STRING)]
) | m.Comparison(left=MAIN_STRING, comparisons=[m.ComparisonTarget(m.Equal(), m.Name("__name__"))])
TYPE_CHECKING = m.Name("TYPE_CHECKING") | m.Attribute(attr=m.Name("TYPE_CHECKING"))

CORNERS = '''
"""A docstring."""
"implicitly" "concatenated"
f"not a docstring"
"two"; x = 1
b"bytes"
if __name__ == "__main__": pass
if "__main__" == __name__: pass
if __name__ == '__main__': pass
if __name__ != "__main__": pass
if __name__ == "__main__" == other: pass
if __name__ is "__main__": pass
if __name__ == b"__main__": pass
if __name__ == f"__main__": pass
if (__name__ == "__main__"): pass
if TYPE_CHECKING: pass
if typing.TYPE_CHECKING: pass
if not TYPE_CHECKING: pass
if TYPE_CHECKING(): pass
x = y = None
x: int = None
x, y = None, None
x = None
loop is None
loop is not None
None is loop
a < b < c
def f(): return
def g():
    return (lambda: [n for n in range(3) if n is None])()
'''


def _modules() -> list[tuple[str, cst.Module]]:
    found = [("corners", cst.parse_module(CORNERS))]
    found += [(path.name, cst.parse_module(path.read_text("utf-8"))) for path in SOURCES]
    return found


MODULES = _modules()


def _nodes(module: cst.Module) -> list[cst.CSTNode]:
    return [node for node, _ in preorder(module)]


@pytest.mark.parametrize("name,module", MODULES, ids=[name for name, _ in MODULES])
def test_descendants_are_what_findall_finds(name, module):
    roots = [module, *(f for f in _nodes(module) if isinstance(f, (cst.FunctionDef, cst.If)))]
    for root in roots:
        for kind in (cst.Name, cst.Call, cst.Return, cst.Comparison, cst.Lambda):
            found = list(descendants(root, kind))
            expected = m.findall(root, getattr(m, kind.__name__)())
            assert len(found) == len(expected) and all(a is b for a, b in zip(found, expected)), (name, kind)


def test_descendants_include_the_node_itself_and_nested_scopes():
    module = cst.parse_module(CORNERS)
    g = next(f for f in descendants(module, cst.FunctionDef) if f.name.value == "g")
    # In a lambda, in a comprehension: every name, in source order.
    assert [n.value for n in descendants(g, cst.Name)] == ["g", "n", "n", "range", "n", "None"]
    assert len(list(descendants(g, cst.Comparison))) == 1
    name = cst.Name("x")
    assert list(descendants(name, cst.Name)) == [name]
    assert list(descendants(name, cst.Call)) == []


@pytest.mark.parametrize("name,module", MODULES, ids=[name for name, _ in MODULES])
def test_predicates_answer_as_the_matchers(name, module):
    for node in _nodes(module):
        assert is_docstring(node) == m.matches(node, DOCSTRING), (name, node)
        assert is_main_guard(node) == m.matches(node, MAIN_GUARD), (name, node)
        assert is_type_checking(node) == m.matches(node, TYPE_CHECKING), (name, node)
        assert is_none(node) == m.matches(node, m.Name("None")), (name, node)
        assert is_name(node, "loop") == m.matches(node, m.Name("loop")), (name, node)


def _test_of(line: str) -> cst.BaseExpression:
    statement = cst.parse_statement(line)
    assert isinstance(statement, cst.If)
    return statement.test


@pytest.mark.parametrize(
    "line,expected",
    [
        ('if __name__ == "__main__": pass', True),
        ("if '__main__' == __name__: pass", True),
        ('if __name__ != "__main__": pass', False),
        ('if __name__ is "__main__": pass', False),
        ('if __name__ == "__main__" == other: pass', False),
        ('if __name__ == b"__main__": pass', False),
        ('if name == "__main__": pass', False),
    ],
)
def test_main_guard(line, expected):
    assert is_main_guard(_test_of(line)) is expected


@pytest.mark.parametrize(
    "line,expected",
    [("if TYPE_CHECKING: pass", True), ("if typing.TYPE_CHECKING: pass", True), ("if not TYPE_CHECKING: pass", False)],
)
def test_type_checking(line, expected):
    assert is_type_checking(_test_of(line)) is expected


@pytest.mark.parametrize(
    "line,expected",
    [('"""Doc."""', True), ('"a" "b"', True), ('f"x"', False), ('"a"; x = 1', False), ("x = 1", False)],
)
def test_docstring(line, expected):
    assert is_docstring(cst.parse_statement(line)) is expected


def test_sole_statement_and_target():
    assert isinstance(sole_statement(cst.parse_statement("x = 1")), cst.Assign)
    assert sole_statement(cst.parse_statement("x = 1; y = 2")) is None
    assert sole_statement(cst.parse_statement("if x: pass")) is None
    assert sole_statement(None) is None
    assert is_name(sole_target(sole_statement(cst.parse_statement("x = 1"))), "x")
    assert sole_target(sole_statement(cst.parse_statement("x = y = 1"))) is None
    assert sole_target(sole_statement(cst.parse_statement("x: int = 1"))) is None


def test_comparison_parts():
    left, operator, right = comparison_parts(cst.parse_expression("loop is not None"))
    assert is_name(left, "loop") and isinstance(operator, cst.IsNot) and is_none(right)
    assert comparison_parts(cst.parse_expression("a < b < c")) is None
    assert comparison_parts(cst.parse_expression("not a")) is None


EXPORTS = '''
__all__ = ["a", "b"]
__all__ += ("c",)
__all__ -= ["not_subtracted"]
__all__: list[str] = ["d"]
__all__: list[str]
__all__, other = ["e"], "f"
__all__[:] = ["g"]
x = ["not_exported"]
__all__.extend(["not_extended"])
def function():
    __all__ = ["h"]
__all__ = ["i" "j", ("not_nested",), "k" + "l"]
__all__ = exports = {"m"}
__all__ = [b"bytes"]
module.__all__ = ["not_ours"]
'''


def _gathered(module: cst.Module) -> frozenset[str]:
    visitor = GatherExportsVisitor(CodemodContext())
    module.visit(visitor)
    return frozenset(visitor.explicit_exported_objects)


def test_exports_are_what_gather_exports_finds():
    module = cst.parse_module(EXPORTS)
    expected = {"a", "b", "c", "d", "e", "f", "g", "h", "ij", "k", "l", "m"}
    assert exported_names(module) == _gathered(module) == expected
    for _, module in MODULES:
        assert exported_names(module) == _gathered(module)


def test_exports_of_an_unpacking_too_short_are_none():
    # LibCST's visitor fails here with an IndexError; the module cannot run either.
    assert exported_names(cst.parse_module('x, __all__ = ["a"],\n')) == frozenset()
