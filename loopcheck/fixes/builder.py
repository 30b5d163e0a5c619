"""A fix as a value (safety, title, and the text edits), built only when someone needs the edits.

A rule proposes a fix with :class:`FixProposal`: its safety and title are known at once, the
edits are built by a callback, only for ``--fix``, ``--diff``, JSON and SARIF output. Plain checks
and the flake8 plugin never build them. :class:`FixBuilder` turns node changes on the parsed
module into text edits, so reporters and the fix loop never need the tree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Union

import libcst as cst

from loopcheck.analysis.names import is_import_binding
from loopcheck.analysis.tree import descendants, has_docstring
from loopcheck.engine.diagnostics import Edit
from loopcheck.engine.edits import diff_edits
from loopcheck.fixes.imports import ImportRequest, add_imports, remove_unused
from loopcheck.fixes.layout import ModuleText, visit_statements

if TYPE_CHECKING:
    from loopcheck.engine.context import LintContext

Replacement = Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel]
# A change to a node, given the node as already rewritten below it (so that changes nest).
Change = Callable[[cst.CSTNode], Replacement]


class _Replacer(cst.CSTTransformer):
    def __init__(self, changes: Mapping[cst.CSTNode, Change]) -> None:
        super().__init__()
        self.changes = changes

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def]
        change = self.changes.get(original_node)
        return updated_node if change is None else change(updated_node)


def rewrite_subtree(node: cst.CSTNode, changes: Mapping[cst.CSTNode, Change]) -> Replacement:
    """``node`` with ``changes`` applied to it and below it."""
    return node.visit(_Replacer(changes))


class FixBuilder:
    """Collects the changes of one fix against the file's parsed module."""

    def __init__(self, context: LintContext) -> None:
        self.context = context
        self.changes: dict[cst.CSTNode, Change] = {}
        self.imports: list[ImportRequest] = []
        self.unused_import_sources: list[cst.CSTNode] = []

    def replace(self, original: cst.CSTNode, new: Replacement) -> FixBuilder:
        return self.change(original, lambda _: new)

    def change(self, original: cst.CSTNode, change: Change) -> FixBuilder:
        """Rewrite ``original``; changes to one node apply in the order they were asked for."""
        earlier = self.changes.get(original)
        if earlier is None:
            self.changes[original] = change
        else:
            self.changes[original] = lambda updated: change(earlier(updated))  # type: ignore[arg-type]
        return self

    def insert_after(self, statement: cst.BaseStatement, new: list[cst.BaseStatement]) -> FixBuilder:
        return self.change(statement, lambda updated: cst.FlattenSentinel([updated, *new]))

    def name(self, qualified: str, at: cst.CSTNode | None = None) -> str:
        """How generated code refers to ``qualified`` (``asyncio.run``) in this module: through
        an import it already has (``aio.run``, ``run``) whose name nothing else rebinds, else
        through one this fix adds (see imports.name_for); ``at``, the node the code replaces or
        goes beside, through an import of the function there first. The proposal names
        ``qualified`` in its ``names``, so a fix that cannot name it is declined before it is built."""
        found = self.context.naming.spelling(qualified, at)
        if found is None:
            raise AssertionError(f"a fix named {qualified} without declaring it in its proposal")
        text, request = found
        if request is not None and request not in self.imports:
            self.imports.append(request)
        return text

    def expression(self, qualified: str, at: cst.CSTNode | None = None) -> cst.BaseExpression:
        return cst.parse_expression(self.name(qualified, at))

    def _imported_names_in(self, nodes: list[cst.CSTNode]) -> dict[str, set[str]]:
        """The local names the imports of the module bind that ``nodes`` use, each with the
        functions (qualified names; the module is ``""``) whose imports bind it there."""
        scopes, tree = self.context.analysis.scopes, self.context.analysis.tree
        found: dict[str, set[str]] = {}
        for node in nodes:
            for name in descendants(node, cst.Name):
                scope = scopes.get(name)
                if scope is None:
                    continue
                for assignment in scope[name.value]:
                    if is_import_binding(assignment):
                        function = tree.enclosing_function(assignment.node)
                        qualified = tree.qualified_name(function) if isinstance(function, cst.FunctionDef) else ""
                        found.setdefault(name.value, set()).add(qualified)
        return found

    def drop_imports_used_by(self, node: cst.CSTNode) -> FixBuilder:
        """Remove the imports ``node`` refers to, if nothing else uses them after the fix."""
        self.unused_import_sources.append(node)
        return self

    def build(self) -> tuple[Edit, ...]:
        """The fix's text edits: only the top-level statements it changes are rewritten and
        compared with the source (see ``layout``), unless the module's shape needs the whole."""
        text = self.context.module_text
        touched = self._touched(text) if text.usable else None
        if touched is not None:
            edits = self._build(text, touched)
            if edits is not None:
                return edits
        return self.build_whole()

    def build_whole(self) -> tuple[Edit, ...]:
        """The same edits, from the whole module rewritten and compared with the source."""
        module = self.context.module
        tree = module.visit(_Replacer(self.changes))
        tree = remove_unused(tree, self._imported_names_in(self.unused_import_sources))
        if self.imports:
            tree = add_imports(tree, self.imports)
        tree = keep_docstring_spacing(module, tree)
        return diff_edits(self.context.source, tree.code)

    def _touched(self, text: ModuleText) -> list[int] | None:
        """The positions of the top-level statements holding a changed node (None: a change
        outside any statement)."""
        parents = self.context.analysis.tree.parents
        module = self.context.module
        touched = set()
        for node in self.changes:
            while node in parents and parents[node] is not module:
                node = parents[node]
            number = text.index.get(id(node))
            if number is None or text.body[number] is not node:
                return None  # the module itself, its header or footer, or a node not in it
            touched.add(number)
        return sorted(touched)

    def _build(self, text: ModuleText, touched: list[int]) -> tuple[Edit, ...] | None:
        module = self.context.module
        body = visit_statements(module.body, touched, _Replacer(self.changes))
        tree = module.with_changes(body=body)
        tree = remove_unused(tree, self._imported_names_in(self.unused_import_sources), text)
        if self.imports:
            tree = add_imports(tree, self.imports)
        tree = keep_docstring_spacing(module, tree)
        return text.edits(tree)


def keep_docstring_spacing(before: cst.Module, after: cst.Module) -> cst.Module:
    """The blank line under the module docstring survives removing the statement below it (an
    import a fix made unused). Only a blank line that stood right under the docstring is put
    back: a comment there (a header) keeps its place, with nothing added above it."""
    if len(before.body) < 2 or len(after.body) < 2 or not has_docstring(after.body):
        return after
    if not any(e.comment is None for e in before.body[1].leading_lines[:1]):
        return after
    second = after.body[1]
    if any(e.comment is None for e in second.leading_lines[:1]):
        return after
    spaced = second.with_changes(leading_lines=[cst.EmptyLine(), *second.leading_lines])
    return after.with_changes(body=[after.body[0], spaced, *after.body[2:]])
