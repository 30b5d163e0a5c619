"""LibCST's scopes, resolved without the walks its batched resolution adds: ScopeProvider and
the ExpressionContextProvider it depends on each walk the module from their ``visit_Module``,
then the batched visitor walks the whole module again, calling nothing (their ``visit_Module``
does not stop it). The same providers and visitors, so the same scopes, in half the walks."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import libcst as cst
from libcst.metadata import ExpressionContext, ExpressionContextProvider, Scope, ScopeProvider
from libcst.metadata.expression_context_provider import ExpressionContextVisitor
from libcst.metadata.scope_provider import ScopeVisitor


def resolve_scopes(module: cst.Module) -> Mapping[cst.CSTNode, Scope | None]:
    """What ``MetadataWrapper(module).resolve(ScopeProvider)`` gives."""
    contexts = ExpressionContextProvider()
    module.visit(ExpressionContextVisitor(contexts, ExpressionContext.LOAD))
    scopes = ScopeProvider()
    scopes.metadata = {ExpressionContextProvider: MappingProxyType(contexts._computed)}
    visitor = ScopeVisitor(scopes)
    module.visit(visitor)
    visitor.infer_accesses()
    return MappingProxyType(scopes._computed)
