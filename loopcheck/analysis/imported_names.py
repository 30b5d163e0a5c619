"""What LibCST's scope analysis says of a name that only module-level imports bind, answered
from the file's index instead: resolving the scopes costs more than parsing the file, and a file
whose candidates are dotted references through such imports (``asyncio.get_event_loop()``
under ``import asyncio``) needs nothing else from them.

A name qualifies when imports at module level bind it and every other Name node with its text
stands where Python reads it (or is an attribute's name): then no scope of the module binds it
otherwise, and every reference to it, in any scope, resolves to those imports. Any other name,
and any node this module cannot answer for exactly, is left to the scopes (None)."""

from __future__ import annotations

from collections import defaultdict

import libcst as cst
from libcst.metadata.scope_provider import ImportAssignment

from loopcheck.analysis.index import FileIndex

# Where a Name node never binds its name: (the parent's type, the parent's field holding it).
_READ_AT: frozenset[tuple[type, str]] = frozenset({
    (cst.Attribute, "value"), (cst.Attribute, "attr"), (cst.Call, "func"), (cst.Arg, "value"),
    (cst.Arg, "keyword"), (cst.Decorator, "decorator"), (cst.Annotation, "annotation"),
    (cst.Subscript, "value"), (cst.Await, "expression"), (cst.Return, "value"), (cst.Expr, "value"),
    # The names of an import statement: its bindings are the statement's, looked at on their own.
    (cst.ImportAlias, "name"), (cst.ImportFrom, "module"),
})
# Bodies whose imports bind names in a scope of their own, not the module's.
_LOCAL_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


def _recorded_names(alias: cst.ImportAlias) -> list[str]:
    """The names LibCST's scope analysis records for ``alias``: its ``as`` name, or its dotted
    name and each prefix of it (``import a.b`` records ``a.b`` and ``a``)."""
    if alias.asname is not None:
        return [alias.evaluated_alias or ""]
    parts = alias.evaluated_name.split(".")
    return [".".join(parts[:end]) for end in range(len(parts), 0, -1)]


class ImportedNames:
    def __init__(self, index: FileIndex) -> None:
        self.index = index
        # Recorded name -> the module-level import statements recording it.
        self._module_level: defaultdict[str, list[cst.Import | cst.ImportFrom]] = defaultdict(list)
        # Heads (first names) that an import inside a function or class binds.
        self._bound_locally: set[str] = set()
        for statement in index.imports:
            if isinstance(statement.names, cst.ImportStar):
                continue  # binds no name LibCST records
            local = self._in_local_scope(statement)
            for alias in statement.names:
                for name in _recorded_names(alias):
                    if local:
                        self._bound_locally.add(name.partition(".")[0])
                    elif statement not in self._module_level[name]:
                        self._module_level[name].append(statement)
        self._only_imported: dict[str, bool] = {}

    def _in_local_scope(self, node: cst.CSTNode) -> bool:
        parents = self.index.parents
        up = parents.get(node)
        while up is not None:
            if isinstance(up, _LOCAL_SCOPES):
                return True
            up = parents.get(up)
        return False

    def only_imported(self, head: str) -> bool:
        """Whether module-level imports bind ``head`` and nothing else binds it anywhere."""
        known = self._only_imported.get(head)
        if known is None:
            known = self._only_imported[head] = (
                head in self._module_level
                and head not in self._bound_locally
                and all(self._read_or_imported(name) for name in self.index.names_by_value.get(head, ()))
            )
        return known

    def _read_or_imported(self, name: cst.Name) -> bool:
        parent = self.index.parents.get(name)
        if parent is None:
            return False
        if isinstance(parent, cst.AsName):  # `import x as name` binds it; `with ... as name` too
            return isinstance(self.index.parents.get(parent), cst.ImportAlias)
        return any(
            isinstance(parent, kind) and getattr(parent, field) is name for kind, field in _READ_AT
        )

    def qualified(self, node: cst.CSTNode) -> frozenset[str] | None:
        """The qualified names the scopes give ``node``, a dotted name in code whose first name
        only module-level imports bind; None for any other node."""
        if type(node) is not cst.Attribute:
            return None
        attributes = []
        head: cst.CSTNode = node
        while type(head) is cst.Attribute:
            attributes.append(head.attr.value)  # type: ignore[attr-defined]
            head = head.value  # type: ignore[attr-defined]
        if type(head) is not cst.Name or not self.only_imported(head.value):  # type: ignore[attr-defined]
            return None
        if self._in_import(node):
            return None  # import statements' own names have no scope
        full_name = ".".join([head.value, *reversed(attributes)])  # type: ignore[attr-defined]
        if "." in full_name and full_name in self._module_level:
            # A dotted import's own name (`a.b` under `import a.b`) is what the scopes record
            # the read at: their answer then depends on where the read is.
            return None
        # As the scopes look it up: the longest prefix an import records, then what each
        # statement recording it makes of the whole name (LibCST's own code).
        prefix = full_name
        while prefix not in self._module_level:
            prefix = prefix.rpartition(".")[0]
        return frozenset(
            qualified.name
            for statement in self._module_level[prefix]
            for qualified in ImportAssignment(prefix, None, statement, 0, None).get_qualified_names_for(full_name)  # type: ignore[arg-type]
        )

    def _in_import(self, node: cst.CSTNode) -> bool:
        parents = self.index.parents
        up = parents.get(node)
        while type(up) is cst.Attribute:
            up = parents.get(up)
        return isinstance(up, (cst.ImportAlias, cst.ImportFrom))

    def statements_binding(self, head: str) -> list[cst.Import | cst.ImportFrom] | None:
        """Every binding of ``head`` in the module, all of them import statements, where
        ``head`` is only imported; else None."""
        if not self.only_imported(head):
            return None
        return [s for name, found in self._module_level.items() if name.partition(".")[0] == head for s in found]
