"""One walk over the module that every later question starts from: each node's parent, and the
nodes the rules start from (calls by the name they call, functions, classes, attribute accesses,
imports, names). Rules query this index instead of walking the tree again."""

from __future__ import annotations

from collections import defaultdict

import libcst as cst

from loopcheck.analysis.children import preorder


def leaf_name(node: cst.BaseExpression) -> str | None:
    """The last name of a dotted expression: ``Lock`` for ``asyncio.Lock`` and ``Lock``."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


class FileIndex:
    """Made by :meth:`of`: a parent map (what LibCST's ParentNodeProvider gives, in the order a
    visitor meets the nodes), in the same walk that collects the index."""

    def __init__(self) -> None:
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self.calls_by_leaf: defaultdict[str, list[cst.Call]] = defaultdict(list)
        self.attributes_by_name: defaultdict[str, list[cst.Attribute]] = defaultdict(list)
        self.functions: list[cst.FunctionDef] = []
        self.lambdas: list[cst.Lambda] = []
        self.classes: list[cst.ClassDef] = []
        self.imports: list[cst.Import | cst.ImportFrom] = []
        self.scope_declarations: list[cst.Global | cst.Nonlocal] = []
        # Every Name node by its text, wherever it stands (reads, bindings, attribute names).
        self.names_by_value: defaultdict[str, list[cst.Name]] = defaultdict(list)

    @classmethod
    def of(cls, module: cst.Module) -> FileIndex:
        """The index of ``module``, walked without a LibCST visit's rebuilding of every node."""
        index = cls()
        parents = index.parents
        for node, parent in preorder(module):
            if parent is not None:
                parents[node] = parent
            index._note(node)
        return index

    def _note(self, node: cst.CSTNode) -> None:
        kind = type(node)
        if kind is cst.Name:
            self.names_by_value[node.value].append(node)  # type: ignore[attr-defined]
        elif kind is cst.Call:
            leaf = leaf_name(node.func)  # type: ignore[attr-defined]
            if leaf is not None:
                self.calls_by_leaf[leaf].append(node)  # type: ignore[arg-type]
        elif kind is cst.Attribute:
            self.attributes_by_name[node.attr.value].append(node)  # type: ignore[attr-defined]
        elif kind is cst.FunctionDef:
            self.functions.append(node)  # type: ignore[arg-type]
        elif kind is cst.Lambda:
            self.lambdas.append(node)  # type: ignore[arg-type]
        elif kind is cst.ClassDef:
            self.classes.append(node)  # type: ignore[arg-type]
        elif kind is cst.Import or kind is cst.ImportFrom:
            self.imports.append(node)  # type: ignore[arg-type]
        elif kind is cst.Global or kind is cst.Nonlocal:
            self.scope_declarations.append(node)  # type: ignore[arg-type]
