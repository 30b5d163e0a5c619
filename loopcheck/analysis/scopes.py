"""LibCST's scopes, resolved without the walks its batched resolution adds: ScopeProvider and
the ExpressionContextProvider it depends on each walk the module from their ``visit_Module``,
then the batched visitor walks the whole module again, calling nothing (their ``visit_Module``
does not stop it). The same providers and visitors, so the same scopes, in half the walks.

Nor do their walks rebuild the module: LibCST's ``CSTNode.visit`` makes a new copy of every node
it passes, a read-only visitor's walk included (most of its cost). Here each node's children are
walked in the order LibCST's walk meets them (``children.visited_children``), with the same
calls of the visitor's ``on_visit`` and ``on_leave``; the calls LibCST makes around each field
(``on_visit_attribute``) reach the visitor only for the kinds of node it has field hooks for
(``visit_ClassDef_bases``): those are walked by LibCST itself."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

import libcst as cst
from libcst.metadata import ExpressionContext, ExpressionContextProvider, Scope, ScopeProvider
from libcst.metadata.expression_context_provider import ExpressionContextVisitor
from libcst.metadata.scope_provider import ScopeVisitor

from loopcheck.analysis.children import visited_children

# ``visit_<Node>_<field>`` and ``leave_<Node>_<field>``: a visitor's hooks around a field.
_FIELD_HOOK = re.compile(r"(?:visit|leave)_([A-Z][A-Za-z]*)_\w+")


def _field_hooked(visitor: type[cst.CSTVisitor]) -> frozenset[str] | None:
    """The kinds of node whose fields ``visitor`` has hooks for (LibCST's visitor base declares
    every one, doing nothing); None when it handles every field itself."""
    base = cst.CSTVisitor
    if (visitor.on_visit_attribute, visitor.on_leave_attribute) != (base.on_visit_attribute, base.on_leave_attribute):
        return None
    return frozenset(
        hook.group(1)
        for name in dir(visitor)
        if (hook := _FIELD_HOOK.fullmatch(name)) and getattr(visitor, name) is not getattr(base, name, None)
    )


class _InPlace(cst.CSTVisitor):
    """Walks the children of each node it visits itself, without LibCST rebuilding them (see the
    module's description); put before a LibCST visitor in the bases."""

    # The kinds of node LibCST walks for this visitor (None: all); see _field_hooked.
    libcst_walks: frozenset[str] | None = None

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.libcst_walks = _field_hooked(cls)

    def on_visit(self, node: cst.CSTNode) -> bool:
        if super().on_visit(node):
            walks = self.libcst_walks
            if walks is None or type(node).__name__ in walks:
                node._visit_and_replace_children(self)
            else:
                for child in visited_children(node):
                    self.on_visit(child)
                    self.on_leave(child)
        return False  # the children are visited: LibCST's visit goes on to ``on_leave``


class _Contexts(_InPlace, ExpressionContextVisitor):
    pass


class _Scopes(_InPlace, ScopeVisitor):
    pass


def resolve_scopes(module: cst.Module) -> Mapping[cst.CSTNode, Scope | None]:
    """What ``MetadataWrapper(module).resolve(ScopeProvider)`` gives."""
    contexts = ExpressionContextProvider()
    module.visit(_Contexts(contexts, ExpressionContext.LOAD))
    scopes = ScopeProvider()
    scopes.metadata = {ExpressionContextProvider: MappingProxyType(contexts._computed)}
    visitor = _Scopes(scopes)
    module.visit(visitor)
    visitor.infer_accesses()
    return MappingProxyType(scopes._computed)
