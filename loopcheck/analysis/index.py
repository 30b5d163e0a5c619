"""One walk over the module that every later question starts from: each node's parent, and the
nodes the rules start from (calls by the name they call, functions, classes, attribute accesses,
imports, names). Rules query this index instead of walking the tree again."""

from __future__ import annotations

from collections import defaultdict

import libcst as cst

from loopcheck.analysis.children import preorder, visited_fields


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
    def of(cls, module: cst.Module, parts: dict[cst.CSTNode, FileIndex] | None = None) -> FileIndex:
        """The index of ``module``, walked without a LibCST visit's rebuilding of every node.
        ``parts``: the index of each top-level statement below it (without its own parent), of
        earlier modules that share statements with this one (a document after an edit): those
        are not walked again, the others are added, and those no longer in the module dropped."""
        if parts is None:
            return cls._walked(module)
        index = cls()
        for name in visited_fields(module):  # its header, body and footer, in a visit's order
            for child in getattr(module, name):
                index.parents[child] = module
                part = parts.get(child) if name == "body" else None
                if part is None:
                    part = cls._walked(child)
                    if name == "body":
                        parts[child] = part
                index._add(part)
        body = set(module.body)
        for statement in [s for s in parts if s not in body]:
            del parts[statement]
        return index

    @classmethod
    def _walked(cls, root: cst.CSTNode) -> FileIndex:
        """The index of ``root`` and the nodes below it (``root``'s own parent left out)."""
        index = cls()
        parents = index.parents
        for node, up in preorder(root):
            if up is not None:
                parents[node] = up
            index._note(node)
        return index

    def _add(self, part: FileIndex) -> None:
        """``part``'s nodes after those already here, in order."""
        self.parents.update(part.parents)
        for leaf, calls in part.calls_by_leaf.items():
            self.calls_by_leaf[leaf].extend(calls)
        for name, attributes in part.attributes_by_name.items():
            self.attributes_by_name[name].extend(attributes)
        self.functions += part.functions
        self.lambdas += part.lambdas
        self.classes += part.classes
        self.imports += part.imports
        self.scope_declarations += part.scope_declarations

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
