"""What a name is bound to, and which values are the running loop: a registry keyed by the
running loop, or a holder replaced whenever the running loop changes, gives each loop its own
object."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.analysis.tree import descendants

if TYPE_CHECKING:
    from loopcheck.analysis import FileAnalysis


class BoundValues:
    def __init__(self, analysis: FileAnalysis) -> None:
        self.analysis = analysis
        self.tree = analysis.tree

    def assigned_values(self, name: cst.Name) -> list[cst.BaseExpression | None]:
        """The values each binding of ``name`` (as seen from where it is read) assigns, None for a
        binding that is not ``name = value`` (a parameter, an import, a loop target...)."""
        scope = self.analysis.scopes.get(name)
        values: list[cst.BaseExpression | None] = []
        for assignment in scope[name.value] if scope is not None else ():
            bound = getattr(assignment, "node", None)  # builtins have no node
            values.append(None if bound is None else self.value_bound_by(bound))
        return values

    def value_bound_by(self, bound: cst.CSTNode) -> cst.BaseExpression | None:
        target = self.tree.parents.get(bound)
        assign = self.tree.parents.get(target) if isinstance(target, cst.AssignTarget) else None
        if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
            return assign.value
        if isinstance(target, cst.AnnAssign) and target.target is bound:
            return target.value
        return None

    def is_running_loop(self, key: cst.BaseExpression) -> bool:
        """``asyncio.get_running_loop()``, or a local bound to it: a registry keyed by it is per
        event loop, as it should be."""
        running = self.analysis.catalogue.loop_api.running_loop
        if isinstance(key, cst.Call):
            return self.analysis.names.calls(key, running)
        if isinstance(key, cst.Name):
            values = self.assigned_values(key)
            return bool(values) and all(
                v is not None and self.analysis.names.calls(v, running) for v in values
            )
        return False

    def under_loop_change(self, node: cst.CSTNode) -> bool:
        """Whether ``node`` runs only under an ``if`` (of its own function) whose test tells the
        running loop apart from another one (``stored is not asyncio.get_running_loop()``)."""
        for child, up in self.tree.ancestors(node):
            if isinstance(up, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return False
            if isinstance(up, cst.If) and child is up.body and self.tells_loops_apart(up.test):
                return True
        return False

    def tells_loops_apart(self, test: cst.BaseExpression) -> bool:
        """A comparison ``x is not loop`` / ``x != loop`` (either way round) with the running
        loop, anywhere in ``test`` (``self._sem is None or self._loop is not loop``)."""
        for comparison in descendants(test, cst.Comparison):
            left = comparison.left
            for target in comparison.comparisons:
                if isinstance(target.operator, (cst.IsNot, cst.NotEqual)) and (
                    self.is_running_loop(left) or self.is_running_loop(target.comparator)
                ):
                    return True
                left = target.comparator
        return False
