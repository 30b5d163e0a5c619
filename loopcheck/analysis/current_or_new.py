"""The get-or-create idiom: code that takes the thread's current loop or, when there is none,
makes a new one (usually also making it current). It survives "no current loop", but each thread
that runs it keeps a loop nobody closes. Each ``new_event_loop()`` call is matched once per file,
in the two places the alternatives meet:

- one variable (``bound``): ``try: loop = get_event_loop() / except RuntimeError: loop =
  new_event_loop(); set_event_loop(loop)`` (the ``try`` may also raise ``RuntimeError`` when
  ``loop.is_closed()``), or ``loop = get_event_loop() / if loop.is_closed():
  loop = new_event_loop(); set_event_loop(loop)``: exactly these statements, the fallback block
  making the new loop and only setting it current (a call of ``get_running_loop()`` is not this
  form; the ``set_event_loop()`` lines may be absent);
- a helper's ``return`` (``handed_out``): a synchronous function returns the current or running
  loop somewhere, and elsewhere a new loop of a local that it makes current, never closes and
  returns, whatever the statements around them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.analysis.holders import Held, Holder
from loopcheck.analysis.loop_uses import Use, method_call, of_kind
from loopcheck.analysis.tree import descendants, is_name, sole_statement, sole_target

if TYPE_CHECKING:
    from loopcheck.analysis import FileAnalysis


@dataclass(frozen=True)
class CurrentOrNew:
    """A new loop made where the thread's current loop is missing (or closed)."""

    creation: cst.Call  # the new_event_loop() call
    variable: str | None  # the name bound to the new loop by an assignment of its own
    # The one-variable form: the `try` or the `if` that rebinds the variable to the new loop,
    # and the line that first binds it to the current loop (None when not that form).
    statement: cst.If | cst.Try | None
    current_line: cst.CSTNode | None
    # The helper form: the synchronous function that returns the current loop or this one.
    helper: cst.FunctionDef | None


class CurrentOrNewLoops:
    def __init__(self, analysis: FileAnalysis) -> None:
        self.analysis = analysis

    @cached_property
    def found(self) -> list[CurrentOrNew]:
        """Every get-or-create, in the source order of the new loops."""
        analysis = self.analysis
        found = []
        for creation in analysis.names.calls_to(analysis.catalogue.loop_api.new_loop):
            variable = self._bound_name(creation)
            statement, current_line = (None, None) if variable is None else self._one_variable(creation, variable)
            helper = self._helper(creation)
            if statement is not None or helper is not None:
                found.append(CurrentOrNew(creation, variable, statement, current_line, helper))
        return found

    def fallback(self, holder: Holder) -> cst.If | cst.Try | None:
        """For a variable bound (by ``holder``) to the current loop, the ``try`` or ``if`` that
        rebinds it to a new loop in the one-variable form (the ``if`` form also needs its first
        assignment deleted); None when the variable is bound any other way."""
        target = holder.target
        if not isinstance(target, cst.Name) or len(self.analysis.flow.bindings_of(target)) != 2:
            return None
        line = self.analysis.tree.parents.get(holder.store)  # type: ignore[arg-type]
        for found in self.found:
            if found.current_line is line and line is not None and found.variable == target.value:
                return found.statement
        return None

    def references(self, holder: Holder, fallback: cst.CSTNode) -> list[cst.CSTNode]:
        """The reads of a variable that holds the current loop or a new one (``holder`` binds
        it to the current loop, ``fallback`` to the new one), outside the fallback: each sees
        either loop."""
        analysis = self.analysis
        target = holder.target
        assert isinstance(target, cst.Name)
        bindings = analysis.flow.bindings_of(target)
        return [
            access
            for access in analysis.holders.name_accesses(target)
            if access not in bindings and not analysis.tree.within(access, fallback)
        ]

    def helpers(self) -> list[cst.FunctionDef]:
        """Functions that hand out the current loop or a new one, each once, in source order."""
        found: list[cst.FunctionDef] = []
        for each in self.found:
            if each.helper is not None and not any(f is each.helper for f in found):
                found.append(each.helper)
        return found

    def _bound_name(self, creation: cst.Call) -> str | None:
        """``name`` when the new loop is bound by ``name = <creation>`` alone."""
        assign = self.analysis.tree.parents.get(creation)
        if (
            isinstance(assign, cst.Assign)
            and assign.value is creation
            and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
        ):
            return assign.targets[0].target.value
        return None

    def _one_variable(
        self, creation: cst.Call, name: str
    ) -> tuple[cst.If | cst.Try | None, cst.CSTNode | None]:
        """The ``try`` or ``if`` whose fallback block starts with ``name = <creation>``, and the
        line before the fallback that binds ``name`` to the current loop."""
        tree = self.analysis.tree
        line = tree.parents.get(tree.parents[creation])
        block = tree.parents.get(line) if line is not None else None
        owner = tree.parents.get(block) if block is not None else None
        if not (isinstance(block, cst.IndentedBlock) and block.body[0] is line and self._creates(block, name)):
            return None, None
        if isinstance(owner, cst.ExceptHandler):
            statement = tree.parents.get(owner)
            if (
                isinstance(statement, cst.Try)
                and self._takes_current(statement.body.body, name)  # type: ignore[union-attr]
                and len(statement.handlers) == 1
                and statement.orelse is None
                and statement.finalbody is None
            ):
                return statement, statement.body.body[0]  # type: ignore[union-attr]
            return None, None
        if (
            isinstance(owner, cst.If)
            and block is owner.body
            and owner.orelse is None
            and _is_closed_test(owner.test, name)
        ):
            siblings, index = tree.position_in_block(owner)
            if index:
                return owner, siblings[index - 1]
        return None, None

    @staticmethod
    def _takes_current(statements: Sequence[cst.BaseStatement], name: str) -> bool:
        """A ``try`` body of the one-variable form: the line binding ``name`` (to the current
        loop), alone or followed by ``if name.is_closed(): raise RuntimeError(...)``, which sends a
        closed current loop to the same fallback."""
        if len(statements) == 1:
            return True
        if len(statements) != 2 or not isinstance(statements[1], cst.If) or statements[1].orelse is not None:
            return False
        check = statements[1]
        raised = sole_statement(check.body.body[0]) if len(check.body.body) == 1 else None  # type: ignore[union-attr]
        return (
            _is_closed_test(check.test, name)
            and isinstance(raised, cst.Raise)
            and isinstance(raised.exc, cst.Call)
            and is_name(raised.exc.func, "RuntimeError")
        )

    def _creates(self, block: cst.IndentedBlock, name: str) -> bool:
        """``block`` makes a new loop in ``name`` and does nothing else but make it current."""
        analysis = self.analysis
        api = analysis.catalogue.loop_api
        statements = list(block.body)
        first = sole_statement(statements[0])  # `name = new_event_loop()`
        if not (
            isinstance(first, cst.Assign)
            and is_name(sole_target(first), name)
            and analysis.names.calls(first.value, api.new_loop)
        ):
            return False
        for statement in statements[1:]:
            small = sole_statement(statement)  # `set_event_loop(name)`
            call = small.value if isinstance(small, cst.Expr) else None
            if not (
                isinstance(call, cst.Call)
                and len(call.args) == 1
                and is_name(call.args[0].value, name)
                and analysis.names.calls(call, api.set_loop)
            ):
                return False
        return True

    def _helper(self, creation: cst.Call) -> cst.FunctionDef | None:
        """The synchronous function that returns the new loop ``creation`` makes (kept in a local,
        made current, never closed) and, somewhere, the current or running loop."""
        analysis = self.analysis
        function = analysis.tree.synchronous_def(creation)
        if function is None:
            return None
        holder = analysis.holders.of(creation)
        if holder.kind is not Held.LOCAL:
            return None
        uses = analysis.loop_uses.uses_of(holder.reads)
        returned = [u for u in of_kind(uses, Use.ESCAPE) if isinstance(analysis.tree.parents.get(u.node), cst.Return)]
        if not returned or not of_kind(uses, Use.SET_CURRENT) or of_kind(uses, Use.TEARDOWN):
            return None
        return function if self._returns_current_loop(function) else None

    def _returns_current_loop(self, function: cst.FunctionDef) -> bool:
        """Some ``return`` of ``function`` gives the thread's current or running loop."""
        analysis = self.analysis
        api = analysis.catalogue.loop_api
        wanted = api.current_loop | api.running_loop
        for node in descendants(function.body, cst.Return):
            if node.value is None or analysis.tree.enclosing_function(node) is not function:
                continue
            if analysis.names.calls(node.value, wanted):
                return True
            if isinstance(node.value, cst.Name) and any(
                v is not None and analysis.names.calls(v, wanted)
                for v in analysis.holders.assigned_values(node.value)
            ):
                return True
        return False


def _is_closed_test(test: cst.BaseExpression, name: str) -> bool:
    """``name.is_closed()``."""
    call = method_call(test, ("is_closed",))
    return call is not None and is_name(call.func.value, name)  # type: ignore[attr-defined]
