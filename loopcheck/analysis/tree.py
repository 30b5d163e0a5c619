"""Where a node sits in the tree: its parent, the function or class around it, the statement and
block that hold it. Every question is answered from LibCST's parent map, resolved once per file."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import libcst as cst

from loopcheck.analysis.children import preorder
from loopcheck.prefilter.starts import Where

FunctionLike = (cst.FunctionDef, cst.Lambda)
NodeT = TypeVar("NodeT", bound=cst.CSTNode)


@dataclass(frozen=True)
class Site:
    kind: Where
    # CLASS: the class; DEFAULT, FUNCTION and COROUTINE: the function.
    owner: cst.ClassDef | cst.FunctionDef | None = None
    param: cst.Param | None = None


class Tree:
    """Navigation over one parsed module."""

    def __init__(self, module: cst.Module, parents: Mapping[cst.CSTNode, cst.CSTNode]) -> None:
        self.module = module
        self.parents = parents

    def parent(self, node: cst.CSTNode) -> cst.CSTNode:
        return self.parents[node]

    def ancestors(self, node: cst.CSTNode) -> Iterator[tuple[cst.CSTNode, cst.CSTNode]]:
        """(child, parent) pairs from ``node`` up to the module."""
        child = node
        while child is not self.module:
            up = self.parents[child]
            yield child, up
            child = up

    def within(self, node: cst.CSTNode, *containers: cst.CSTNode) -> bool:
        """Whether ``node`` lies inside (or is) one of ``containers``."""
        if any(node is container for container in containers):
            return True
        return any(up is container for _, up in self.ancestors(node) for container in containers)

    def enclosing_function(self, node: cst.CSTNode) -> cst.FunctionDef | cst.Lambda | None:
        """The function whose body holds ``node`` (decorators and defaults belong outside)."""
        for child, up in self.ancestors(node):
            if isinstance(up, FunctionLike) and child is up.body:
                return up
        return None

    def qualified_name(self, definition: cst.FunctionDef | cst.ClassDef) -> str:
        """``definition``'s name within the module, as the project model names functions: the
        names of the functions and classes around it and its own, joined by dots
        (``Worker.run``, ``outer.inner``)."""
        names = [definition.name.value]
        names += [up.name.value for _, up in self.ancestors(definition) if isinstance(up, (cst.FunctionDef, cst.ClassDef))]
        return ".".join(reversed(names))

    def enclosing_class(self, node: cst.CSTNode) -> cst.ClassDef | None:
        """The class whose body holds ``node`` directly or through its methods."""
        for child, up in self.ancestors(node):
            if isinstance(up, cst.ClassDef) and child is up.body:
                return up
        return None

    def method_class(self, function: cst.FunctionDef) -> cst.ClassDef | None:
        """The class ``function`` is a method of (defined directly in the class body)."""
        block = self.parents.get(function)
        holder = self.parents.get(block) if block is not None else None
        return holder if isinstance(holder, cst.ClassDef) else None

    def is_coroutine_function(self, node: cst.CSTNode | None) -> bool:
        return isinstance(node, cst.FunctionDef) and node.asynchronous is not None

    def in_coroutine(self, node: cst.CSTNode) -> bool:
        return self.is_coroutine_function(self.enclosing_function(node))

    def synchronous_def(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        """The ``def`` whose body holds ``node``; None in a coroutine, a lambda or module code."""
        function = self.enclosing_function(node)
        if isinstance(function, cst.FunctionDef) and function.asynchronous is None:
            return function
        return None

    def guard_of(self, node: cst.CSTNode) -> str | None:
        """"main" under ``if __name__ == "__main__":``, "type-checking" under ``if
        TYPE_CHECKING:`` (both outside any function), else None."""
        for child, up in self.ancestors(node):
            if isinstance(up, FunctionLike):
                return None
            if isinstance(up, cst.If) and child is up.body:
                if is_main_guard(up.test):
                    return "main"
                if is_type_checking(up.test):
                    return "type-checking"
        return None

    def site(self, node: cst.CSTNode) -> Site:
        """Where ``node`` sits, that is when it is evaluated: at import (module level, class
        body), once at definition (a default), at each call (the body of a function or a
        coroutine), or elsewhere."""
        owner_class: cst.ClassDef | None = None
        param: cst.Param | None = None
        for child, up in self.ancestors(node):
            if isinstance(up, cst.Param) and child is up.default:
                param = up
            elif isinstance(up, FunctionLike):
                if child is up.body:
                    if owner_class is not None or isinstance(up, cst.Lambda):
                        return Site(Where.ELSEWHERE)  # a class made at run time, a lambda
                    return Site(Where.COROUTINE if self.is_coroutine_function(up) else Where.FUNCTION, owner=up)
                if param is not None and isinstance(up, cst.FunctionDef):
                    if self.in_coroutine(up):
                        return Site(Where.ELSEWHERE)  # evaluated under the running loop
                    return Site(Where.DEFAULT, owner=up, param=param)
            elif isinstance(up, cst.ClassDef) and child is up.body and owner_class is None:
                owner_class = up
            elif isinstance(up, cst.If) and child is up.body:
                if is_main_guard(up.test) or is_type_checking(up.test):
                    return Site(Where.ELSEWHERE)
        if owner_class is not None:
            return Site(Where.CLASS, owner=owner_class)
        return Site(Where.MODULE)

    def statement_line(self, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
        """The statement line holding ``node``, when that line holds a single statement."""
        for _, up in self.ancestors(node):
            if isinstance(up, cst.SimpleStatementLine):
                return up if len(up.body) == 1 else None
            if isinstance(up, cst.BaseCompoundStatement):
                return None
        return None

    def top_level_statement(self, node: cst.CSTNode) -> cst.BaseStatement:
        """The statement of the module's body that holds ``node``."""
        for child, up in self.ancestors(node):
            if up is self.module:
                assert isinstance(child, cst.BaseStatement)
                return child
        raise ValueError("node is not in the module")

    def is_top_level(self, statement: cst.CSTNode) -> bool:
        return any(statement is top for top in self.module.body)

    def position_in_block(
        self, statement: cst.CSTNode
    ) -> tuple[Sequence[cst.BaseStatement], int | None]:
        """The statements of the block (or module) that holds ``statement``, and its index."""
        block = self.parents.get(statement)
        siblings = block.body if isinstance(block, (cst.IndentedBlock, cst.Module)) else ()
        return siblings, next((i for i, s in enumerate(siblings) if s is statement), None)

    def expression_statement(self, node: cst.CSTNode) -> cst.Expr | None:
        """The statement ``node`` makes up on its own (``loop.close()``), if it is one."""
        up = self.parents.get(node)
        return up if isinstance(up, cst.Expr) and up.value is node else None

    def enclosing_try_finally(self, statement: cst.CSTNode) -> list[cst.Try]:
        """The ``try`` statements of the same function whose ``finally`` holds ``statement``."""
        found = []
        for _, up in self.ancestors(statement):
            if isinstance(up, cst.Finally):
                owner = self.parents[up]
                if isinstance(owner, cst.Try):
                    found.append(owner)
            if isinstance(up, (cst.FunctionDef, cst.ClassDef)):
                break
        return found

    def in_try_body(self, node: cst.CSTNode) -> bool:
        """Whether an exception raised at ``node`` may be caught by an enclosing ``try``."""
        for child, up in self.ancestors(node):
            if isinstance(up, FunctionLike):
                return False
            if isinstance(up, cst.Try) and child is up.body and up.handlers:
                return True
        return False

    def in_generator_expression(self, node: cst.CSTNode) -> bool:
        return any(isinstance(up, cst.GeneratorExp) for _, up in self.ancestors(node))

    def precedes(self, first: cst.CSTNode, second: cst.CSTNode) -> bool:
        """Whether ``first`` comes before ``second`` in the source (a pre-order comparison)."""
        first_path = [first, *(up for _, up in self.ancestors(first))][::-1]
        second_path = [second, *(up for _, up in self.ancestors(second))][::-1]
        for index, (a, b) in enumerate(zip(first_path, second_path)):
            if a is not b:
                common = first_path[index - 1]
                children = list(common.children)
                return _index(children, a) < _index(children, b)
        return len(first_path) < len(second_path)  # an ancestor comes before its descendants


def _index(nodes: list[cst.CSTNode], node: cst.CSTNode) -> int:
    return next(i for i, other in enumerate(nodes) if other is node)


def argument(call: cst.Call, position: int | None = None, keyword: str | None = None) -> cst.BaseExpression | None:
    """What ``call`` passes for a parameter: its ``position``-th positional argument (a starred
    one counts as one) or the argument named ``keyword``; None where it passes neither."""
    positional = [arg for arg in call.args if arg.keyword is None]
    if position is not None and position < len(positional):
        return positional[position].value
    named = [arg for arg in call.args if arg.keyword is not None and arg.keyword.value == keyword]
    return named[0].value if keyword is not None and named else None


def has_docstring(body: Sequence[cst.BaseStatement]) -> bool:
    return bool(body) and is_docstring(body[0])


def all_params(params: cst.Parameters) -> list[cst.Param]:
    star = [params.star_arg] if isinstance(params.star_arg, cst.Param) else []
    star_kwarg = [params.star_kwarg] if params.star_kwarg is not None else []
    return [*params.posonly_params, *params.params, *star, *params.kwonly_params, *star_kwarg]


# Shapes of code, as plain predicates (LibCST's matchers cost every process a fifth of a second
# to import).


def descendants(node: cst.CSTNode, kind: type[NodeT]) -> Iterator[NodeT]:
    """``node`` itself and every node below it that is a ``kind``, in source order; nested
    functions, lambdas and comprehensions included."""
    return (found for found, _ in preorder(node) if isinstance(found, kind))


def is_name(node: cst.CSTNode | None, value: str) -> bool:
    """``node`` is the bare name ``value``."""
    return isinstance(node, cst.Name) and node.value == value


def is_none(node: cst.CSTNode | None) -> bool:
    return is_name(node, "None")


def sole_statement(line: cst.CSTNode | None) -> cst.BaseSmallStatement | None:
    """The statement of a line that holds exactly one (``x = 1``; not ``x = 1; y = 2``)."""
    if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
        return line.body[0]
    return None


def sole_target(statement: cst.CSTNode | None) -> cst.BaseAssignTargetExpression | None:
    """What an assignment to one target binds (``x`` in ``x = 1``; None for ``x = y = 1``)."""
    if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
        return statement.targets[0].target
    return None


def comparison_parts(
    node: cst.CSTNode | None,
) -> tuple[cst.BaseExpression, cst.BaseCompOp, cst.BaseExpression] | None:
    """``(left, operator, right)`` of a comparison with one operator (not ``a < b < c``)."""
    if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
        target = node.comparisons[0]
        return node.left, target.operator, target.comparator
    return None


def is_docstring(statement: cst.CSTNode | None) -> bool:
    """A line holding only a string literal (plain or implicitly concatenated)."""
    small = sole_statement(statement)
    return isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString))


def is_main_guard(test: cst.CSTNode) -> bool:
    """``__name__ == "__main__"``, either way round."""
    parts = comparison_parts(test)
    if parts is None or not isinstance(parts[1], cst.Equal):
        return False
    left, _, right = parts
    return (is_name(left, "__name__") and _is_main_string(right)) or (
        _is_main_string(left) and is_name(right, "__name__")
    )


def _is_main_string(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.SimpleString) and node.value.strip("'\"") == "__main__"


def is_type_checking(test: cst.CSTNode) -> bool:
    """``TYPE_CHECKING`` or ``<anything>.TYPE_CHECKING``."""
    return is_name(test, "TYPE_CHECKING") or (isinstance(test, cst.Attribute) and test.attr.value == "TYPE_CHECKING")
