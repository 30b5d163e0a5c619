"""The names a module's ``__all__`` lists: public whatever their spelling, since ``from module
import *`` imports them. The same names as LibCST's ``GatherExportsVisitor`` finds, without
importing ``libcst.codemod``, which brings LibCST's matchers (a fifth of a second per process)."""

from __future__ import annotations

import libcst as cst
from libcst.helpers import get_full_name_for_node

Literal = (cst.List, cst.Tuple, cst.Set)


def exported_names(module: cst.Module) -> frozenset[str]:
    visitor = _Exports()
    module.visit(visitor)
    return frozenset(visitor.names)


class _Exports(cst.CSTVisitor):
    """The strings of the literals assigned to ``__all__`` (``__all__ = [...]``, ``__all__:
    list[str] = [...]``, ``__all__ += [...]``, ``__all__, x = [...], ...``), wherever the
    assignment stands. Other assignments are not entered; inside such a literal, a nested
    literal is not entered either."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self._assigned: set[cst.CSTNode] = set()  # literals assigned to __all__, not yet left
        self._inside: set[cst.CSTNode] = set()  # those of them being visited

    def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
        return node.value is not None and self._assign(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        if (
            isinstance(node.target, cst.Name)
            and node.target.value == "__all__"
            and isinstance(node.operator, cst.AddAssign)
            and isinstance(node.value, (cst.List, cst.Tuple))
        ):
            self._assigned.add(node.value)
            return True
        return False

    def visit_Assign(self, node: cst.Assign) -> bool:
        return any(self._assign(target.target, node.value) for target in node.targets)

    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression) -> bool:
        """Whether ``target = value`` assigns a literal to ``__all__`` (noted for the visit)."""
        if get_full_name_for_node(target) == "__all__":  # `__all__`, also `__all__[:]`
            if isinstance(value, Literal):
                self._assigned.add(value)
                return True
        elif isinstance(target, cst.Tuple) and isinstance(value, cst.Tuple):
            for index, element in enumerate(target.elements):
                if get_full_name_for_node(element.value) != "__all__" or index >= len(value.elements):
                    continue
                element_value = value.elements[index].value
                if isinstance(element_value, Literal):
                    self._assigned.update((value, element_value))
                    return True
        return False

    def _enter(self, node: cst.List | cst.Tuple | cst.Set) -> bool:
        if node in self._assigned:
            self._inside.add(node)
            return True
        return False

    def _leave(self, node: cst.List | cst.Tuple | cst.Set) -> None:
        self._assigned.discard(node)
        self._inside.discard(node)

    visit_List = visit_Tuple = visit_Set = _enter
    leave_List = leave_Tuple = leave_Set = _leave

    def visit_SimpleString(self, node: cst.SimpleString) -> bool:
        self._name(node)
        return False

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> bool:
        self._name(node)
        return False

    def _name(self, node: cst.SimpleString | cst.ConcatenatedString) -> None:
        if self._inside:
            name = node.evaluated_value
            if isinstance(name, str):
                self.names.add(name)
