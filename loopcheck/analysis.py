"""Questions about a parsed file that several rules ask: what a name resolves to, where a node
runs (at import, in a coroutine, in a sync function) and where a name is used."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst.metadata import GlobalScope, QualifiedNameProvider, ScopeProvider

from loopcheck.catalogue import Primitive, primitives
from loopcheck.rule import Rule

FUNCTION_CACHES = frozenset({"functools.lru_cache", "functools.cache"})


def qualified_names(rule: Rule, node: cst.CSTNode) -> set[str]:
    return {qualified.name for qualified in rule.get_metadata(QualifiedNameProvider, node, set())}


def primitive_of(rule: Rule, call: cst.Call) -> Primitive | None:
    """The asyncio primitive ``call`` constructs, resolved through imports and aliases."""
    catalogue = primitives()
    for name in qualified_names(rule, call.func):
        if name in catalogue:
            return catalogue[name]
    return None


def parent(rule: Rule, node: cst.CSTNode) -> cst.CSTNode:
    return rule.get_metadata(cst.metadata.ParentNodeProvider, node)


def ancestors(rule: Rule, node: cst.CSTNode) -> Iterator[tuple[cst.CSTNode, cst.CSTNode]]:
    """(child, parent) pairs from ``node`` up to the module."""
    child = node
    while not isinstance(child, cst.Module):
        up = parent(rule, child)
        yield child, up
        child = up


def _is_main_guard(test: cst.BaseExpression) -> bool:
    main = m.SimpleString(value=m.MatchIfTrue(lambda v: v.strip("'\"") == "__main__"))
    return m.matches(
        test,
        m.Comparison(left=m.Name("__name__"), comparisons=[m.ComparisonTarget(m.Equal(), main)])
        | m.Comparison(left=main, comparisons=[m.ComparisonTarget(m.Equal(), m.Name("__name__"))]),
    )


def _is_type_checking(test: cst.BaseExpression) -> bool:
    return m.matches(test, m.Name("TYPE_CHECKING") | m.Attribute(attr=m.Name("TYPE_CHECKING")))


def enclosing_function(rule: Rule, node: cst.CSTNode) -> cst.FunctionDef | cst.Lambda | None:
    """The function whose body holds ``node`` (decorators and defaults belong to the outside)."""
    for child, up in ancestors(rule, node):
        if isinstance(up, (cst.FunctionDef, cst.Lambda)) and child is up.body:
            return up
    return None


def in_coroutine(rule: Rule, node: cst.CSTNode) -> bool:
    function = enclosing_function(rule, node)
    return isinstance(function, cst.FunctionDef) and function.asynchronous is not None


class SiteKind(enum.Enum):
    MODULE = "module level"
    CLASS = "class attribute"
    DEFAULT = "default argument"
    FUNCTION = "function body"


@dataclass(frozen=True)
class CreationSite:
    """Where a primitive is constructed, as far as the loop it will belong to is concerned."""

    call: cst.Call
    primitive: Primitive
    kind: SiteKind
    # CLASS: the class; DEFAULT and FUNCTION: the function.
    owner: cst.ClassDef | cst.FunctionDef | None = None
    param: cst.Param | None = None


def creation_site(rule: Rule, call: cst.Call) -> CreationSite | None:
    """Classify a constructor call of an asyncio primitive; None when it is not one, or when it
    runs only where a single loop is certain (``if __name__ == "__main__"``) or never
    (``if TYPE_CHECKING``)."""
    primitive = primitive_of(rule, call)
    if primitive is None:
        return None
    owner_class: cst.ClassDef | None = None
    param: cst.Param | None = None
    for child, up in ancestors(rule, call):
        if isinstance(up, cst.Param) and child is up.default:
            param = up
        elif isinstance(up, (cst.FunctionDef, cst.Lambda)):
            if child is up.body:
                if owner_class is not None or isinstance(up, cst.Lambda):
                    return None  # a class made at run time, or a lambda: not analysed
                return CreationSite(call, primitive, SiteKind.FUNCTION, owner=up)
            if param is not None and isinstance(up, cst.FunctionDef):
                if in_coroutine(rule, up):
                    return None  # the default is evaluated under the running loop
                return CreationSite(call, primitive, SiteKind.DEFAULT, owner=up, param=param)
        elif isinstance(up, cst.ClassDef) and child is up.body and owner_class is None:
            owner_class = up
        elif isinstance(up, (cst.If, cst.Else)) and child is up.body:
            test = up.test if isinstance(up, cst.If) else None
            if test is not None and (_is_main_guard(test) or _is_type_checking(test)):
                return None
    if owner_class is not None:
        return CreationSite(call, primitive, SiteKind.CLASS, owner=owner_class)
    return CreationSite(call, primitive, SiteKind.MODULE)


def statement_line(rule: Rule, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
    """The statement line holding ``node``, when that line holds a single statement."""
    for child, up in ancestors(rule, node):
        if isinstance(up, cst.SimpleStatementLine):
            return up if len(up.body) == 1 else None
        if isinstance(up, cst.BaseCompoundStatement):
            return None
    return None


def module_scope(rule: Rule) -> GlobalScope:
    scope = rule.get_metadata(ScopeProvider, rule.context.module)
    assert isinstance(scope, GlobalScope)
    return scope


def sole_module_binding(rule: Rule, name: str) -> list[cst.CSTNode] | None:
    """The nodes that read module-level ``name``, when it is bound exactly once; else None."""
    assignments = list(module_scope(rule).assignments[name])
    if len(assignments) != 1:
        return None
    return [access.node for access in assignments[0].references]


def is_module_global(rule: Rule, name: cst.Name) -> bool:
    """Whether ``name`` (read in a function) resolves to a module-level binding only."""
    scope = rule.get_metadata(ScopeProvider, name, None)
    if scope is None:
        return False
    found = scope[name.value]
    return bool(found) and all(isinstance(a.scope, GlobalScope) for a in found)


def declared_global(function: cst.FunctionDef) -> set[str]:
    names: set[str] = set()
    for statement in m.findall(function.body, m.Global()):
        assert isinstance(statement, cst.Global)
        names.update(item.name.value for item in statement.names)
    return names


def module_classes(rule: Rule) -> dict[str, cst.ClassDef]:
    return {
        statement.name.value: statement
        for statement in rule.context.module.body
        if isinstance(statement, cst.ClassDef)
    }


def is_cached_function(rule: Rule, function: cst.FunctionDef) -> bool:
    """Decorated with functools.cache / lru_cache: its result outlives the loop that made it."""
    for decorator in function.decorators:
        target = decorator.decorator
        if isinstance(target, cst.Call):
            target = target.func
        if qualified_names(rule, target) & FUNCTION_CACHES:
            return True
    return False
