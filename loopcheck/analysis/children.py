"""A module's nodes in the order LibCST's visitors meet them, without what a LibCST visit does
besides: every visit rebuilds every node it passes (a read-only visitor included), which is
most of its cost. Which fields a kind of node visits, and in what order, is learned from
LibCST itself, once per class: its ``_visit_and_replace_children`` reports each field it visits
to the visitor before visiting it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import libcst as cst

# The fields each class of node visits, in order; and the fields it has but did not visit when
# learned (a field LibCST visits only when it is set, such as an f-string part's format spec).
_VISITED: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {}


class _FieldRecorder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False  # the node's own fields only

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.fields.append(attribute)


def _learn(node: cst.CSTNode) -> tuple[tuple[str, ...], tuple[str, ...]]:
    recorder = _FieldRecorder()
    node._visit_and_replace_children(recorder)
    visited = tuple(dict.fromkeys(recorder.fields))
    others = tuple(f.name for f in dataclasses.fields(node) if f.name not in visited)  # type: ignore[arg-type]
    return visited, others


# Whether values of a type are nodes, by type: ``isinstance`` against CSTNode, an abstract base
# class, goes through ``ABCMeta.__instancecheck__`` on every call, a dictionary look-up does not.
_IS_NODE: dict[type, bool] = {}


def _is_node(value: object) -> bool:
    kind = type(value)
    known = _IS_NODE.get(kind)
    if known is None:
        known = _IS_NODE[kind] = isinstance(value, cst.CSTNode)
    return known


def _holds_nodes(value: object) -> bool:
    if _is_node(value):
        return True
    return isinstance(value, (list, tuple)) and any(_is_node(item) for item in value)


def visited_fields(node: cst.CSTNode) -> tuple[str, ...]:
    """The fields ``node`` visits, in order."""
    known = _VISITED.get(type(node))
    if known is None:
        known = _VISITED[type(node)] = _learn(node)
    visited, others = known
    if others and any(_holds_nodes(getattr(node, name)) for name in others):
        return _learn(node)[0]  # this node visits a field the learned one left unset
    return visited


def preorder(root: cst.CSTNode) -> Iterator[tuple[cst.CSTNode, cst.CSTNode | None]]:
    """``root`` (a module or any node) and every node below it, each with its parent (None for
    ``root``), in the order a visitor's ``on_visit`` meets them."""
    stack: list[tuple[cst.CSTNode, cst.CSTNode | None]] = [(root, None)]
    pop, push = stack.pop, stack.append
    while stack:
        node, parent = pop()
        yield node, parent
        for child in reversed(visited_children(node)):
            push((child, node))


def visited_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The nodes a visit of ``node`` visits next, in order: the nodes of its visited fields."""
    is_node = _is_node
    found: list[cst.CSTNode] = []
    for name in visited_fields(node):
        value = getattr(node, name)
        if is_node(value):
            found.append(value)
        elif type(value) is tuple or type(value) is list:
            found.extend(item for item in value if is_node(item))
    return found
