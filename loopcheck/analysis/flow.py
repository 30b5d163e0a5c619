"""Which binding of a variable each read may see: a small reaching-definitions analysis over the
structured statements of one function (or the module).

LibCST's scopes know every binding and every read of a name, but not which read sees which
binding: ``loop = a`` in one branch and ``loop = b`` in another are two bindings whose reads
differ. Rules about a value (a loop, a lock) need the reads of *its* binding, so this follows
the statements: branches join, loops repeat, ``try`` handlers may start anywhere in their body,
``return``/``raise``/``break``/``continue`` end a path. Reads inside nested functions run later
and may see any binding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import libcst as cst
from libcst.metadata import GlobalScope, Scope

from loopcheck.analysis.tree import Tree

State = frozenset  # of binding nodes (the Name a binding binds)


class _NameFlow:
    """The flow of one name through one scope's statements."""

    def __init__(self, tree: Tree, scope: Scope, name: str, body: cst.CSTNode) -> None:
        self.tree = tree
        self.body = body
        assignments = [a for a in scope.assignments[name] if a.scope is scope]
        self.bindings = [a.node for a in assignments if hasattr(a, "node")]
        self.all = State(self.bindings)
        accesses = {id(access.node): access.node for a in assignments for access in a.references}
        # Anchor every binding and read at the statement (or compound header) it belongs to.
        self.events: dict[int, list[tuple[str, cst.CSTNode]]] = {}
        self.late_reads: list[cst.CSTNode] = []  # reads inside nested functions
        for kind, node in [("bind", b) for b in self.bindings] + [("read", r) for r in accesses.values()]:
            anchor = self._anchor(node)
            if anchor is None:
                if kind == "read":
                    self.late_reads.append(node)
                continue
            self.events.setdefault(id(anchor), []).append((kind, node))
        self.reaching: dict[cst.CSTNode, State] = {}
        # (continue states, break states) of the loops around the statement being followed
        self._loops: list[tuple[list[State], list[State]]] = []

    def _anchor(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The statement or compound-statement header whose execution binds or reads ``node``;
        None when that happens inside a nested function or class body, which runs elsewhere."""
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            return node  # `def name` binds name where the def statement runs
        anchor: cst.CSTNode | None = None
        for child, up in self.tree.ancestors(node):
            if up is self.body:
                return anchor
            if isinstance(up, (cst.FunctionDef, cst.Lambda, cst.ClassDef)) and child is up.body:
                return None  # runs when the nested function is called
            if anchor is not None:
                continue
            if isinstance(child, cst.BaseSmallStatement):
                anchor = child
            elif isinstance(up, (cst.FunctionDef, cst.ClassDef)):
                anchor = up  # decorators, defaults, bases: evaluated where the def statement runs
            elif isinstance(up, cst.BaseCompoundStatement) and not isinstance(
                child, (cst.BaseSuite, cst.Else, cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally)
            ):
                anchor = up  # the header: an if test, a for target, a with item...
        return anchor

    def run(self) -> None:
        entry = State(
            b for b in self.bindings
            if isinstance(b, cst.Param) or isinstance(self.tree.parents.get(b), cst.Param)
        )
        if isinstance(self.body, (cst.Module, cst.IndentedBlock, cst.SimpleStatementSuite)):
            self._block(self.body.body, entry)
        for read in self.late_reads:
            self.reaching[read] = self.all

    # -- statements ----------------------------------------------------------------------

    def _events(self, anchor: cst.CSTNode, state: State) -> State:
        events = self.events.get(id(anchor), ())
        for kind, node in events:  # reads see the state before the statement binds
            if kind == "read":
                self.reaching[node] = state
        binds = [node for kind, node in events if kind == "bind"]
        return State(binds[-1:]) if binds else state

    def _block(self, statements: Sequence[cst.CSTNode], state: State) -> State:
        for statement in statements:
            state = self._statement(statement, state)
        return state

    def _suite(self, suite: cst.CSTNode | None, state: State) -> State:
        if suite is None:
            return state
        if isinstance(suite, (cst.Else, cst.Finally, cst.ExceptHandler, cst.ExceptStarHandler)):
            suite = suite.body
        return self._block(getattr(suite, "body", ()), state)

    def _statement(self, statement: cst.CSTNode, state: State) -> State:
        if isinstance(statement, cst.SimpleStatementLine):
            return self._small_statements(statement.body, state)
        if isinstance(statement, cst.If):
            test = self._events(statement, state)
            taken = self._suite(statement.body, test)
            if isinstance(statement.orelse, cst.If):
                return taken | self._statement(statement.orelse, test)
            return taken | self._suite(statement.orelse, test)
        if isinstance(statement, (cst.For, cst.While)):
            return self._loop(statement, state)
        if isinstance(statement, (cst.Try, cst.TryStar)):
            body_out = self._suite(statement.body, state)
            anywhere = state | body_out | self._bound_within(statement.body)
            handled = State().union(*(self._suite(h, anywhere) for h in statement.handlers))
            normal = self._suite(statement.orelse, body_out) if statement.orelse else body_out
            if statement.finalbody is None:
                return normal | handled
            out = self._suite(statement.finalbody, anywhere | normal | handled)
            return out if normal | handled else State()
        if isinstance(statement, cst.With):
            return self._suite(statement.body, self._events(statement, state))
        if isinstance(statement, cst.Match):
            subject = self._events(statement, state)
            return subject.union(*(self._suite(case.body, subject) for case in statement.cases))
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            return self._events(statement, state)
        return state

    def _small_statements(self, statements: Sequence[cst.BaseSmallStatement], state: State) -> State:
        for small in statements:
            state = self._events(small, state)
            if isinstance(small, (cst.Return, cst.Raise)):
                return State()
            if isinstance(small, (cst.Break, cst.Continue)) and self._loops:
                continues, breaks = self._loops[-1]
                (breaks if isinstance(small, cst.Break) else continues).append(state)
                return State()
        return state

    def _loop(self, statement: cst.For | cst.While, state: State) -> State:
        """A loop body runs any number of times: iterate until the states stop growing."""
        self._loops.append(([], []))
        entry = state
        while True:
            head = self._events(statement, entry)  # the test, or the iterator and the target
            out = self._suite(statement.body, head)
            continues, _ = self._loops[-1]
            grown = entry | out | State().union(*continues)
            if grown == entry:
                break
            entry = grown
        _, breaks = self._loops.pop()
        return self._suite(statement.orelse, entry | head) | State().union(*breaks)

    def _bound_within(self, suite: cst.CSTNode) -> State:
        return State(b for b in self.bindings if self.tree.within(b, suite))


class ReachingBindings:
    """Memoised per (scope, name)."""

    def __init__(self, tree: Tree, scopes: Mapping[cst.CSTNode, Scope | None]) -> None:
        self.tree = tree
        self.scopes = scopes
        self._flows: dict[tuple[int, str], _NameFlow] = {}

    def _flow(self, node: cst.Name) -> _NameFlow | None:
        scope = self.scopes.get(node)
        if scope is None:
            return None
        owners = [a.scope for a in scope[node.value]]
        if not owners:
            return None
        owner = owners[0]
        key = (id(owner), node.value)
        flow = self._flows.get(key)
        if flow is None:
            body = self._body_of(owner, node)
            if body is None:
                return None
            flow = self._flows[key] = _NameFlow(self.tree, owner, node.value, body)
            flow.run()
        return flow

    def _body_of(self, scope: Scope, node: cst.CSTNode) -> cst.CSTNode | None:
        scope_node = getattr(scope, "node", None)
        if isinstance(scope_node, (cst.FunctionDef, cst.Lambda)):
            return scope_node.body
        if isinstance(scope, GlobalScope):  # it keeps no node: the module is the tree's
            return self.tree.module
        return None

    def reads_of(self, binding: cst.Name) -> list[cst.CSTNode]:
        """The reads that may see ``binding`` (the Name a binding binds), in source order."""
        flow = self._flow(binding)
        if flow is None:
            return []
        return [read for read, state in flow.reaching.items() if binding in state]

    def reaching(self, read: cst.Name) -> State:
        """The bindings ``read`` may see."""
        flow = self._flow(read)
        return flow.reaching.get(read, State()) if flow is not None else State()

    def bindings_of(self, node: cst.Name) -> list[cst.CSTNode]:
        flow = self._flow(node)
        return list(flow.bindings) if flow is not None else []

    def sole_binding_of(self, reads: Iterable[cst.CSTNode], binding: cst.CSTNode) -> bool:
        """Whether every read in ``reads`` can only see ``binding``."""
        return all(
            self.reaching(read) == State([binding]) for read in reads if isinstance(read, cst.Name)
        )
