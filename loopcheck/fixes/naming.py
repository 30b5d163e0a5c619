"""The names the fixes of one file give and use: new module-level names no binding or other fix
takes, and how generated code spells a standard library object (every fix of the file agrees)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.fixes.imports import ImportRequest, function_bindings, local_name_for, name_for

if TYPE_CHECKING:
    from loopcheck.engine.context import LintContext


class FixNaming:
    def __init__(self, context: LintContext) -> None:
        self.context = context
        # Names generated fixes have taken, so two fixes in one file never pick the same name.
        self.names_given: set[str] = set()
        # Local names the fixes gave, by function: another function may take the same.
        self.local_names_given: dict[cst.FunctionDef, set[str]] = {}
        # How generated code names each standard library object.
        self.spellings: dict[str, tuple[str, ImportRequest | None] | None] = {}
        # ... and where the functions around the code bind the module's name for it, by the
        # names they bind.
        self.shadowed_spellings: dict[tuple[str, frozenset[str]], tuple[str, ImportRequest | None] | None] = {}

    def fresh_module_name(self, wanted: str, used_at: Iterable[cst.CSTNode] = ()) -> str:
        """``wanted``, or ``wanted_2``..., a name no module-level binding or other fix uses, and
        that no binding shadows where generated code will name it (``used_at``: nodes whose scope,
        a function, class body or comprehension, then reads the new global)."""
        scopes = self.context.analysis.scopes
        seen = [scopes[self.context.module], *(scopes.get(node) for node in used_at)]
        return self._fresh_name(wanted, seen, self.names_given)

    def fresh_local_name(self, wanted: str, function: cst.FunctionDef) -> str:
        """``wanted``, or ``wanted_2``..., a name no binding of ``function`` or other fix uses."""
        body = function.body.body
        given = self.local_names_given.setdefault(function, set())
        return self._fresh_name(wanted, [self.context.analysis.scopes.get(body[0])] if body else [], given)

    def _fresh_name(self, wanted: str, seen: list, given: set[str]) -> str:
        """``wanted``, or the first of ``wanted_2``, ``wanted_3``... that none of the scopes
        ``seen`` (None: no scope) binds and no other fix has taken, at module level or in
        ``given``; it is added to ``given``."""
        where = [scope for scope in seen if scope is not None]
        name, number = wanted, 1
        while any(name in scope for scope in where) or name in self.names_given or name in given:
            number += 1
            name = f"{wanted}_{number}"
        given.add(name)
        return name

    def _free(self, name: str) -> bool:
        return not self.context.analysis.bindings.taken(name) and name not in self.names_given

    def spelling(self, qualified: str, at: cst.CSTNode | None = None) -> tuple[str, ImportRequest | None] | None:
        """How generated code names ``qualified`` (a standard library object) wherever it puts
        it, and the import that adds the name; None when no spelling is sure (fixes that need
        it are then declined, see :meth:`unspellable`). ``at``: where this code goes, when the
        function there may import it itself (see ``imports.local_name_for``)."""
        if at is not None:
            scope = self.context.analysis.scopes.get(at)
            local = local_name_for(scope, qualified, lambda node: self._before(node, at))
            found = self.spelling(qualified)
            if local is not None and found is not None:
                return local, None
            shadowed = frozenset(function_bindings(scope))
            if found is None or found[0].partition(".")[0] not in shadowed:
                return found
            # The module's name is a local of the function there, set later or to something else.
            key = (qualified, shadowed)
            if key not in self.shadowed_spellings:
                self.shadowed_spellings[key] = self._given(self._module_spelling(qualified, shadowed))
            return self.shadowed_spellings[key]
        if qualified not in self.spellings:
            self.spellings[qualified] = self._given(self._module_spelling(qualified))
        return self.spellings[qualified]

    def _module_spelling(self, qualified: str, shadowed: frozenset[str] = frozenset()) -> tuple[str, ImportRequest | None] | None:
        analysis = self.context.analysis
        return name_for(analysis.imports, analysis.bindings, qualified, self._free, shadowed)

    def _given(self, found: tuple[str, ImportRequest | None] | None) -> tuple[str, ImportRequest | None] | None:
        """``found``, its imported name taken (no other fix gives that name to something else)."""
        if found is not None and found[1] is not None and found[1].asname is not None:
            self.names_given.add(found[1].asname)
        elif found is not None and found[1] is not None and found[1].name is not None:
            self.names_given.add(found[1].name)
        return found

    def _before(self, imported: cst.CSTNode, at: cst.CSTNode) -> bool:
        """Whether the import ``imported`` is a statement of its function's own body that runs
        before ``at`` (not one that a branch may skip)."""
        tree = self.context.analysis.tree
        line = tree.parents.get(imported)
        block = tree.parents.get(line) if line is not None else None
        names = self.context.analysis.names
        return isinstance(tree.parents.get(block), cst.FunctionDef) and names.index_order(imported) < names.index_order(at)

    def unspellable(self, qualified_names: tuple[str, ...]) -> str | None:
        """Why generated code cannot name one of ``qualified_names`` for sure; None if it can."""
        missing = [name for name in qualified_names if self.spelling(name) is None]
        if not missing:
            return None
        star = self.context.analysis.bindings.star_imports[0]
        return f"`{self.context.module.code_for_node(star).strip()}` may rebind any name given to `{missing[0]}`"
