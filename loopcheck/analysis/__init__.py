"""Facts about one file, computed once and shared by every rule: where nodes sit (tree), what names
refer to (names, definitions), which binding each read sees (flow), where each function runs
(contexts), where loop-bound objects are held (holders), what code does with a loop (loop_uses),
which loops are kept for reuse (kept_loops) or got from "the current loop or a new one"
(current_or_new), which locks never wait (quiet_locks), and what code running in a thread of its own reaches (thread_reach). Each is
computed the first time a rule asks, so a file pays only for the facts its candidates need."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider
from libcst.metadata.scope_provider import Scope

from loopcheck.analysis.exports import exported_names
from loopcheck.analysis.imported_names import ImportedNames
from loopcheck.analysis.index import FileIndex
from loopcheck.analysis.names import Bindings, ImportTable, Names
from loopcheck.analysis.positions import Positions
from loopcheck.analysis.scopes import resolve_scopes
from loopcheck.analysis.tree import Tree
from loopcheck.data.catalogue import Catalogue, Client, Primitive

if TYPE_CHECKING:
    from loopcheck.analysis.contexts import ExecutionContexts, Runs
    from loopcheck.analysis.coroutines import Coroutines
    from loopcheck.analysis.current_or_new import CurrentOrNewLoops
    from loopcheck.analysis.definitions import Definitions
    from loopcheck.analysis.flow import ReachingBindings
    from loopcheck.analysis.holders import Held, Holder, Holders
    from loopcheck.analysis.kept_loops import KeptLoops
    from loopcheck.analysis.loop_uses import LoopUses
    from loopcheck.analysis.thread_reach import ThreadReach

__all__ = ["FileAnalysis", "Held", "Holder", "Runs"]

# The module of each fact is imported by the property that computes it, so that a check imports
# only what its file's rules ask for (the holders' many frozen classes take longer to import
# than many files take to check). The names this package exports from them, likewise:
_EXPORTED_FROM = {"Held": "loopcheck.analysis.holders", "Holder": "loopcheck.analysis.holders",
                  "Runs": "loopcheck.analysis.contexts"}


def __getattr__(name: str) -> Any:
    module = _EXPORTED_FROM.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


class FileAnalysis:
    def __init__(
        self,
        wrapper: MetadataWrapper,
        catalogue: Catalogue,
        statement_lines: Sequence[int] | None = None,
        index_parts: dict[cst.CSTNode, FileIndex] | None = None,
    ) -> None:
        self.wrapper = wrapper
        # The line of each top-level statement of the interpreter's tree of the same text, where
        # the caller has it (see Positions).
        self.statement_lines = statement_lines
        self.module = wrapper.module
        self.catalogue = catalogue
        self.index = FileIndex.of(self.module, index_parts)  # parts: see FileIndex.of
        self.tree = Tree(self.module, self.index.parents)

    @cached_property
    def scopes(self) -> Mapping[cst.CSTNode, Scope | None]:
        return resolve_scopes(self.module)

    @cached_property
    def positions(self) -> Mapping[cst.CSTNode, cst.metadata.CodeRange]:
        return Positions(
            self.module, self.index.parents, lambda: self.wrapper.resolve(PositionProvider), self.statement_lines
        )

    @cached_property
    def exports(self) -> frozenset[str]:
        """The names ``__all__`` lists: public whatever their spelling, since ``from module
        import *`` imports them."""
        return exported_names(self.module)

    @cached_property
    def imported_names(self) -> ImportedNames:
        return ImportedNames(self.index)

    @cached_property
    def names(self) -> Names:
        return Names(lambda: self.scopes, self.index, self.imported_names)

    @cached_property
    def imports(self) -> ImportTable:
        return self.names.module_imports()

    @cached_property
    def bindings(self) -> Bindings:
        return Bindings(lambda: self.scopes, self.imported_names)

    @cached_property
    def definitions(self) -> Definitions:
        from loopcheck.analysis.definitions import Definitions

        return Definitions(self.tree, self.names, self.scopes, self.index.classes)

    @cached_property
    def flow(self) -> ReachingBindings:
        from loopcheck.analysis.flow import ReachingBindings

        return ReachingBindings(self.tree, self.scopes)

    @cached_property
    def contexts(self) -> ExecutionContexts:
        from loopcheck.analysis.contexts import ExecutionContexts

        return ExecutionContexts(
            self.tree, self.index, self.names, self.definitions, self.catalogue.context_seeds
        )

    @cached_property
    def holders(self) -> Holders:
        from loopcheck.analysis.holders import Holders

        return Holders(self)

    @cached_property
    def primitive_creations(self) -> list[tuple[cst.Call, Primitive]]:
        """Every construction of a catalogued asyncio primitive, in source order."""
        found = []
        for call in self.names.calls_to(self.catalogue.primitives):
            primitive = self.catalogue.primitive_of(self.names.qualified(call.func))
            if primitive is not None:
                found.append((call, primitive))
        return found

    def never_waited_event(self, primitive: Primitive) -> bool:
        """Whether ``primitive`` is an Event no code of this file waits on (no ``.wait``
        anywhere): an Event binds to a loop only in ``wait()``; ``set()``, ``clear()`` and
        ``is_set()`` never bind, so such an Event only flags, under any number of loops."""
        return primitive.name == "Event" and not self.index.attributes_by_name.get("wait")

    def never_waiting_lock(self, creation: cst.Call, primitive: Primitive) -> bool:
        """Whether ``creation`` makes a Lock that never waits, so never binds to a loop (see
        ``quiet_locks``)."""
        from loopcheck.analysis.quiet_locks import never_waits

        return primitive.name == "Lock" and never_waits(self.holders.of(creation), self.tree, self.exports)

    @cached_property
    def client_creations(self) -> list[tuple[cst.BaseExpression, Client]]:
        """Every expression that makes a catalogued async client: the constructor call, or the
        call of a method the catalogue says gives the client, on the constructor's result or on
        a variable holding it (``async_playwright().start()``, ``session.create_client(...)``)."""
        found = []
        for call in self.names.calls_to(self.catalogue.clients):
            for client in self.catalogue.clients_of(self.names.qualified(call.func)):
                if not client.through:
                    if not self.confined_by_argument(call, client):
                        found.append((call, client))
                    continue
                found.extend((made, client) for made in self._made_through(call, client.through))
        return found

    def confined_by_argument(self, call: cst.Call, client: Client) -> bool:
        """Whether a keyword argument of ``call``, the client's constructor, keeps it off every
        loop but the one using it (the catalogue's ``confined-by``: an async engine made with
        ``poolclass=NullPool``): such a client is never shared, however many loops use it."""
        return any(
            arg.keyword is not None
            and arg.keyword.value == confinement.argument
            and not self.names.qualified(arg.value).isdisjoint(confinement.values)
            for confinement in client.confined_by
            for arg in call.args
        )

    def _made_through(self, call: cst.Call, methods: tuple[str, ...]) -> list[cst.BaseExpression]:
        """The calls of ``methods`` (in turn) on what ``call`` returns, inline or through a
        variable bound to it once."""
        from loopcheck.analysis.holders import Held

        made: list[cst.BaseExpression] = [call]
        for method in methods:
            following: list[cst.BaseExpression] = []
            for value in made:
                holder = self.holders.of(value)
                reads = holder.reads if holder.kind in (Held.LOCAL, Held.MODULE_GLOBAL) else []
                for receiver in [value, *reads]:
                    attribute = self.tree.parents.get(receiver)
                    outer = self.tree.parents.get(attribute) if attribute is not None else None
                    if (
                        isinstance(attribute, cst.Attribute)
                        and attribute.value is receiver
                        and attribute.attr.value == method
                        and isinstance(outer, cst.Call)
                        and outer.func is attribute
                    ):
                        following.append(outer)
            made = following
        return made

    @cached_property
    def loop_uses(self) -> LoopUses:
        from loopcheck.analysis.loop_uses import LoopUses

        return LoopUses(self)

    @cached_property
    def coroutines(self) -> Coroutines:
        from loopcheck.analysis.coroutines import Coroutines

        return Coroutines(self)

    @cached_property
    def current_or_new(self) -> CurrentOrNewLoops:
        from loopcheck.analysis.current_or_new import CurrentOrNewLoops

        return CurrentOrNewLoops(self)

    @cached_property
    def kept_loops(self) -> KeptLoops:
        from loopcheck.analysis.kept_loops import KeptLoops

        return KeptLoops(self)

    @cached_property
    def thread_reach(self) -> ThreadReach:
        from loopcheck.analysis.thread_reach import ThreadReach

        return ThreadReach(self)

    def line_of(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line
