"""What names refer to: qualified names resolved through imports and aliases (``import asyncio as
aio``, ``from asyncio import Lock``), computed on demand from LibCST's scopes for the nodes a rule
asks about, and matching calls against the catalogues."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from functools import cached_property

import libcst as cst
from libcst.metadata import BuiltinScope, GlobalScope, Scope
from libcst.metadata.scope_provider import ImportAssignment

from loopcheck.analysis.imported_names import ImportedNames
from loopcheck.analysis.index import FileIndex, leaf_name
from loopcheck.analysis.tree import descendants


class Names:
    def __init__(
        self, scopes: Callable[[], Mapping[cst.CSTNode, Scope | None]], index: FileIndex, imported: ImportedNames
    ) -> None:
        # The scopes are resolved on first use: names only imports bind are answered without.
        self._scopes = scopes
        self.index = index
        self.imported = imported
        self._qualified: dict[cst.CSTNode, frozenset[str]] = {}

    @property
    def scopes(self) -> Mapping[cst.CSTNode, Scope | None]:
        return self._scopes()

    def qualified(self, node: cst.CSTNode) -> frozenset[str]:
        """Every qualified name ``node`` (a name or dotted name) may refer to."""
        found = self._qualified.get(node)
        if found is None:
            found = self.imported.qualified(node)
            if found is None:
                scope = self.scopes.get(node)
                names = scope.get_qualified_names_for(node) if scope is not None else ()
                found = frozenset(q.name for q in names)
            self._qualified[node] = found
        return found

    def calls(self, call: cst.CSTNode, names: Collection[str]) -> bool:
        """Whether ``call`` calls something known by one of ``names``."""
        return isinstance(call, cst.Call) and not self.qualified(call.func).isdisjoint(names)

    def calls_to(self, names: Iterable[str]) -> list[cst.Call]:
        """The calls of anything known by one of ``names``, in source order. Only calls whose
        last name (or the local alias of it) matches are resolved, so the cost follows the
        number of candidates, not the size of the file."""
        wanted = frozenset(names)
        leaves = {name.rpartition(".")[2] for name in wanted} | self.aliases_of(wanted)
        found = [
            call
            for leaf in leaves
            for call in self.index.calls_by_leaf.get(leaf, ())
            if self.calls(call, wanted)
        ]
        return sorted(found, key=self.index_order)

    def index_order(self, node: cst.CSTNode) -> int:
        return self._order().get(node, 0)

    def _order(self) -> dict[cst.CSTNode, int]:
        # The parent map is filled in visiting order, so it is the source order of nodes.
        order = getattr(self, "_order_map", None)
        if order is None:
            order = self._order_map = {node: i for i, node in enumerate(self.index.parents)}
        return order

    def aliases_of(self, names: Collection[str]) -> set[str]:
        """Local names that imports bind to one of ``names`` under another name
        (``from asyncio import Lock as AsyncLock`` binds AsyncLock)."""
        found = set()
        for statement in self.index.imports:
            if isinstance(statement, cst.ImportFrom) and not isinstance(statement.names, cst.ImportStar):
                for alias in statement.names:
                    if alias.asname is not None and any(
                        name.endswith("." + alias.evaluated_name) for name in names
                    ):
                        found.add(alias.evaluated_alias or "")
        return found

    def free_variables(self, expression: cst.CSTNode) -> list[cst.Name]:
        """The names in ``expression`` bound in a function or class scope (not module globals,
        builtins, attribute names or keywords): what ties the expression to where it stands."""
        found = []
        for name in descendants(expression, cst.Name):
            scope = self.scopes.get(name)
            if scope is None:
                continue  # an attribute or keyword name, not a variable
            bindings = scope[name.value]
            if bindings and not all(isinstance(b.scope, (GlobalScope, BuiltinScope)) for b in bindings):
                found.append(name)
        return found

    def module_imports(self) -> ImportTable:
        return ImportTable.of_module(self.index.imports, self.index.parents)


class ImportTable:
    """How the module's top-level imports name things: ``asyncio`` may be ``aio``, and
    ``asyncio.Lock`` may be ``Lock``. Generated code uses these names rather than adding
    imports the module already has."""

    def __init__(self) -> None:
        self.modules: dict[str, str] = {}  # "asyncio" → the local name of the module
        self.objects: dict[str, str] = {}  # "asyncio.Lock" → the local name of the object

    @classmethod
    def of_module(
        cls, imports: Iterable[cst.Import | cst.ImportFrom], parents: Mapping[cst.CSTNode, cst.CSTNode]
    ) -> ImportTable:
        table = cls()
        for statement in imports:
            line = parents.get(statement)
            if not isinstance(line, cst.SimpleStatementLine) or not isinstance(
                parents.get(line), cst.Module
            ):
                continue  # imports inside functions or conditions do not name things everywhere
            if isinstance(statement, cst.Import):
                for alias in statement.names:
                    name = alias.evaluated_name
                    table.modules.setdefault(name, alias.evaluated_alias or name)
            elif statement.relative == () and statement.module is not None and not isinstance(
                statement.names, cst.ImportStar
            ):
                module = cst.Module(body=[]).code_for_node(statement.module)
                for alias in statement.names:
                    qualified = f"{module}.{alias.evaluated_name}"
                    table.objects.setdefault(qualified, alias.evaluated_alias or alias.evaluated_name)
        return table


class Bindings:
    """Every binding of every name in the module, in any scope (imports, assignments, parameters,
    definitions, loop and ``with`` targets...), and every name the module reads: what decides
    whether a name generated code uses means what it should wherever it is used."""

    def __init__(self, scopes: Callable[[], Mapping[cst.CSTNode, Scope | None]], imported: ImportedNames) -> None:
        # The scopes are resolved on first use: names only imports bind are answered without.
        self._scopes = scopes
        self.imported = imported

    @cached_property
    def of(self) -> dict[str, list[cst.CSTNode]]:
        return self._table[0]

    @cached_property
    def read(self) -> set[str]:
        return self._table[1]

    @cached_property
    def star_imports(self) -> list[cst.ImportFrom]:
        """``from x import *``: the names it binds are unknown here."""
        return self._table[2]

    @cached_property
    def _table(self) -> tuple[dict[str, list[cst.CSTNode]], set[str], list[cst.ImportFrom]]:
        of: dict[str, list[cst.CSTNode]] = {}
        read: set[str] = set()
        star_imports: list[cst.ImportFrom] = []
        scopes = self._scopes()
        for scope in {scope for scope in scopes.values() if scope is not None}:
            for assignment in scope.assignments:
                local = assignment.name.partition(".")[0]  # `import a.b` binds `a`
                node = getattr(assignment, "node", None)
                if node is not None:
                    of.setdefault(local, []).append(node)
            for access in scope.accesses:
                if isinstance(access.node, cst.Name):
                    read.add(access.node.value)
        for node in scopes:
            if isinstance(node, cst.ImportFrom) and isinstance(node.names, cst.ImportStar):
                star_imports.append(node)
        return of, read, star_imports

    def taken(self, name: str) -> bool:
        """Whether ``name`` is bound or read anywhere in the module."""
        return name in self.of or name in self.read

    def only_imports_of(self, name: str, qualified: str) -> bool:
        """Whether every binding of ``name`` in the module, wherever it is, is an import that
        binds it to ``qualified`` (a module, or ``module.object``): then ``name`` means that at
        any place the generated code can be, whatever runs before."""
        found = self.imported.statements_binding(name)
        if found is None:
            found = self.of.get(name)
        return bool(found) and all(imports_as(node, name, qualified) for node in found)


def imports_as(node: cst.CSTNode, name: str, qualified: str) -> bool:
    """Whether ``node`` is an import that binds ``name`` to ``qualified`` (a module, or
    ``module.object``)."""
    if isinstance(node, cst.Import):
        return any(
            (alias.evaluated_alias or alias.evaluated_name.partition(".")[0]) == name
            and (alias.evaluated_name == qualified if alias.asname else name == qualified)
            for alias in node.names
        )
    if isinstance(node, cst.ImportFrom) and not node.relative and node.module is not None:
        if isinstance(node.names, cst.ImportStar):
            return False
        module = cst.Module(body=[]).code_for_node(node.module)
        return any(
            (alias.evaluated_alias or alias.evaluated_name) == name
            and f"{module}.{alias.evaluated_name}" == qualified
            for alias in node.names
        )
    return False


def is_module_global(scopes: Mapping[cst.CSTNode, Scope | None], name: cst.Name) -> bool:
    """Whether ``name`` (read anywhere) resolves to module-level bindings only."""
    scope = scopes.get(name)
    if scope is None:
        return False
    found = scope[name.value]
    return bool(found) and all(isinstance(a.scope, GlobalScope) for a in found)


def variable_names(node: cst.CSTNode) -> list[cst.Name]:
    """The names ``node`` uses as variables: not attribute names (``.Lock``) nor keywords of
    arguments (``maxsize=``)."""
    found: list[cst.Name] = []

    class Reader(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

        def visit_Arg(self, arg: cst.Arg) -> bool:
            arg.value.visit(self)
            return False

    node.visit(Reader())
    return found


def is_import_binding(assignment: object) -> bool:
    return isinstance(assignment, ImportAssignment)


__all__ = [
    "Bindings", "ImportTable", "Names", "imports_as", "is_import_binding", "is_module_global", "leaf_name",
    "variable_names",
]
