"""The two fixes of a shared asyncio primitive (LCK1xx):

- the per-loop accessor (unsafe): the object is created by, and cached for, the running loop;
  every read becomes a call of the accessor (or, for an instance attribute, a property keeps
  the reads as they are);
- the threading twin (unsafe): where the object only guards synchronous code, the asyncio class
  is swapped for its ``threading`` counterpart, which works there (the asyncio one cannot).
Generated code uses only the standard library: the fixed program never imports loopcheck.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import GlobalScope

from loopcheck.analysis import Held
from loopcheck.analysis.names import variable_names
from loopcheck.data.catalogue import Primitive
from loopcheck.engine.diagnostics import FixProposal, NoFix, Safety
from loopcheck.fixes.builder import FixBuilder
from loopcheck.fixes.statements import keep_comments, pass_on_spacing, place_at_top_level
from loopcheck.fixes.templates import per_loop_accessor

if TYPE_CHECKING:
    from loopcheck.analysis import Holder
    from loopcheck.analysis.tree import Tree
    from loopcheck.engine.context import LintContext


# Why a per-loop fix is declined, where the checks of the shapes the fixes rewrite (here and in
# getter.py) find it; the reasons only rules give are in rules/wording.py.
NOT_ALONE = "the fix needs it assigned to one name, on a line of its own"
UNUSED = "nothing in this module uses it"


def public_reason(name: str, exports: Collection[str]) -> NoFix | None:
    """Why a module global may not be renamed or replaced, when its name has no leading
    underscore or ``__all__`` (``exports``) lists it: another module may import it, and the fix
    cannot update that module."""
    if name.startswith("_") and name not in exports:
        return None
    listed_in = " (listed in `__all__`)" if name.startswith("_") else ""
    return NoFix(f"`{name}` is public{listed_in}; modules importing it would need changing too")


def hidden_reason(name: str, where: str = "accessor") -> str:
    return f"the constructor reads `{name}`, which the per-loop {where} cannot see"


def unfollowed_reason(name: str) -> str:
    return f"not every use of `{name}` can be found"


def rebound_reason(name: str) -> str:
    return f"`{name}` is assigned elsewhere too"


def used_outside_getter_reason(name: str, getter: str) -> str:
    return f"`{name}` is read or set outside `{getter}()` too"


def initial_none_reason(name: str) -> str:
    return f"`{name} = None` is not on a line of its own at the module's top level"


def lone_store(
    tree: Tree, creation: cst.BaseExpression, holder: Holder, kind: Held
) -> cst.SimpleStatementLine | NoFix:
    """The line that stores ``creation`` in its ``holder``, of ``kind``, when that line is one
    assignment to one name (``name = X()``, ``name: T = X()``, ``self.name = X()``): the shape
    the per-loop fixes rewrite. Else why not."""
    line = tree.statement_line(creation)
    if (
        holder.kind is not kind
        or holder.value is not creation
        or line is None
        or line.body[0] is not holder.store
        or (isinstance(holder.store, cst.Assign) and len(holder.store.targets) != 1)
        or holder.name is None
    ):
        return NoFix(NOT_ALONE)
    return line


def only_written_there(holder: Holder) -> NoFix | None:
    """Why the per-loop fixes cannot take over ``holder``: not every access to it is known, or
    something else writes it too; None when its own store is its only write."""
    if not holder.followable or holder.target not in holder.writes:
        return NoFix(unfollowed_reason(holder.name))
    if holder.writes != [holder.target]:
        return NoFix(rebound_reason(holder.name))
    return None


NOT_STORED_BY_A_METHOD = "it is not stored in the body of a method of its own class"
IN_A_REGISTRY = "it is kept in a registry, not in an attribute of its own"

# What the per-loop accessor and property name (see FixProposal.names).
ACCESSOR_NAMES = ("asyncio.get_running_loop",)


def snake_case(name: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)).strip("_").lower()


def class_case(name: str) -> str:
    """``neo4j_connector`` as a class's name: ``Neo4jConnector`` (not ``str.title``'s ``Neo4J``)."""
    return "".join(part[:1].upper() + part[1:] for part in snake_case(name).split("_"))


def install_accessor(
    builder: FixBuilder,
    tree: Tree,
    anchor: cst.BaseStatement,
    statements: list[cst.BaseStatement],
    references: Sequence[cst.CSTNode],
    accessor: str,
    *,
    where: str = "instead",
) -> None:
    """Put the accessor's ``statements`` at the top level, ``where`` says beside ``anchor`` (see
    ``place_at_top_level``), and make every read of the shared object a call of ``accessor``."""
    place_at_top_level(builder, tree, anchor, statements, where=where)
    for reference in references:
        builder.replace(reference, cst.Call(func=cst.Name(accessor)))


def move_after_class(
    builder: FixBuilder,
    tree: Tree,
    line: cst.SimpleStatementLine,
    class_def: cst.ClassDef,
    statements: list[cst.BaseStatement],
    references: Sequence[cst.CSTNode],
    accessor: str,
) -> None:
    """Take ``line`` out of the body of ``class_def`` and put the accessor's ``statements`` after
    the class, with the line's comments; every read becomes a call of ``accessor``."""
    comments = [empty for empty in line.leading_lines if empty.comment is not None]
    statements[0] = keep_comments(line.with_changes(leading_lines=comments), statements[0])
    builder.replace(line, cst.RemoveFromParent())
    pass_on_spacing(builder, tree, line, {id(line)})
    install_accessor(builder, tree, class_def, statements, references, accessor, where="after")


class PerLoopFixes:
    def __init__(self, context: LintContext) -> None:
        self.context = context
        self.analysis = context.analysis
        self.tree = context.analysis.tree

    def names(self, base: str, used_at: Sequence[cst.CSTNode] = ()) -> tuple[str, str]:
        """Fresh private module-level names for the cache and the accessor of ``base``; nothing
        may shadow the accessor where the fix calls it (``used_at``)."""
        cache = self.context.naming.fresh_module_name(f"_{base}_by_loop")
        accessor = self.context.naming.fresh_module_name(f"_get_{base}", used_at)
        return cache, accessor

    def accessor_statements(
        self, builder: FixBuilder, primitive: Primitive, call: cst.Call, cache: str, accessor: str
    ) -> list[cst.BaseStatement]:
        return per_loop_accessor(
            cache, accessor, primitive.name.lower(), call, builder.name("asyncio.get_running_loop")
        )

    def cannot_move(self, constructor: cst.Call, keeps_self: bool = False) -> str | None:
        """Why ``constructor`` cannot move into the accessor (or, with ``keeps_self``, into a
        property, whose ``self`` it may read), which runs it later, once per loop: it reads a
        variable of a class body or function the accessor cannot see, or a module global that
        may hold another value by then (bound again further down, or by a function). None when
        it can move."""
        names = self.analysis.names
        for name in names.free_variables(constructor):
            if not self.bound_within(name, constructor) and not (keeps_self and self.on_self(name) is not None):
                return hidden_reason(name.value, "property" if keeps_self else "accessor")
        scopes, here = self.analysis.scopes, names.index_order(constructor)
        for name in variable_names(constructor):
            scope = scopes.get(name)
            for binding in scope[name.value] if scope is not None else ():  # type: ignore[index]
                node = getattr(binding, "node", None)  # builtins have none
                if isinstance(binding.scope, GlobalScope) and node is not None and (
                    names.index_order(node) > here or self.tree.enclosing_function(node) is not None
                ):
                    return f"the constructor reads `{name.value}`, which the module binds again later"
        return None

    def bound_within(self, name: cst.Name, constructor: cst.CSTNode) -> bool:
        """Whether every binding of ``name`` lies inside ``constructor`` (a lambda's parameter, a
        comprehension's variable), which moves with it."""
        scope = self.analysis.scopes.get(name)
        bindings = list(scope[name.value]) if scope is not None else []
        nodes = [getattr(binding, "node", None) for binding in bindings]
        return bool(nodes) and all(node is not None and self.tree.within(node, constructor) for node in nodes)

    def on_self(self, name: cst.Name) -> cst.BaseExpression | None:
        """What a property reads for the variable ``name`` of the method that makes the object:
        ``self`` for its ``self``, ``self.attr`` for a parameter the method keeps unchanged in
        ``self.attr``; None for any other variable (the property cannot see it)."""
        if name.value == "self" and self.analysis.definitions.is_self(name):
            return name
        kept = self.analysis.holders.kept_parameter(name)
        return cst.Attribute(value=cst.Name("self"), attr=cst.Name(kept)) if kept is not None else None

    def read_from_self(self, constructor: cst.BaseExpression) -> cst.BaseExpression:
        """``constructor`` as a property runs it: each parameter of the method it reads, which
        the method keeps in an attribute of ``self``, read from that attribute."""
        read = {id(name): self.on_self(name) for name in self.analysis.names.free_variables(constructor)}
        stand_ins = {key: value for key, value in read.items() if value is not None}
        if not stand_ins:
            return constructor
        return constructor.visit(_StandIns(stand_ins))  # type: ignore[return-value]

    def stored_by_own_method(
        self, class_def: cst.CSTNode, method: cst.FunctionDef, line: cst.SimpleStatementLine
    ) -> bool:
        """True when ``line`` is a statement of the body of ``method``, a method of ``class_def``:
        the store a per-loop property of ``class_def`` takes over."""
        tree = self.tree
        return (
            isinstance(class_def, cst.ClassDef)
            and tree.method_class(method) is class_def
            and tree.parents.get(tree.parents.get(line)) is method
        )

    def property_declined(self, call: cst.Call, class_def: cst.ClassDef, attribute: str, cache: str) -> str | None:
        """Why ``attribute`` cannot become a per-loop property of ``class_def`` kept in
        ``cache``, if it cannot."""
        holders, definitions = self.analysis.holders, self.analysis.definitions
        if holders.defined_in_class_body(class_def, "__slots__"):
            # A property cannot share its name with a slot (ValueError when the class is made),
            # and the cache needs a slot of its own.
            return f"`{class_def.name.value}` declares `__slots__`"
        if not self.analysis.tree.is_top_level(class_def):
            return f"`{class_def.name.value}` is not defined at the module's top level"
        methods = set(definitions.methods(class_def))
        if holders.defined_in_class_body(class_def, attribute) or attribute in methods:
            return f"the body of `{class_def.name.value}` also defines `{attribute}`"
        if cache in methods | {attribute} or self.analysis.index.attributes_by_name.get(cache):
            return f"the module already uses `{cache}`, the name the fix needs"
        return self.cannot_move(call, keeps_self=True)

    def all_in_coroutines(self, references: Sequence[cst.CSTNode]) -> bool:
        """True when every reference runs under a running loop."""
        return bool(references) and all(self.tree.in_coroutine(ref) for ref in references)

    def threading_twin(
        self, primitive: Primitive, call: cst.Call, references: Sequence[cst.CSTNode]
    ) -> FixProposal | NoFix:
        """Swap in the threading counterpart when every use is synchronous and supported by it;
        else why not (for an object some use of which runs outside a coroutine)."""
        twin = primitive.threading_twin
        if not references:
            return NoFix(UNUSED)
        if twin is None:
            return NoFix(f"it is used outside coroutines, and asyncio.{primitive.name} has no `threading` counterpart")
        if any(self.tree.in_coroutine(ref) for ref in references):
            return NoFix("it is used both in coroutines and in synchronous code")
        if not all(self.is_sync_use(ref, primitive.sync_methods) for ref in references):
            return NoFix(f"a synchronous use of it is not one `{twin}` supports")

        def build() -> tuple:
            builder = FixBuilder(self.context)
            builder.replace(call.func, builder.expression(twin))
            builder.drop_imports_used_by(call.func)
            return builder.build()

        return FixProposal(
            Safety.UNSAFE,
            f"Replace asyncio.{primitive.name} with `{twin}`: it only guards synchronous code",
            build,
            (twin,),
        )

    def is_sync_use(self, ref: cst.CSTNode, methods: frozenset[str]) -> bool:
        """``with ref:`` or ``ref.method(...)`` (not awaited), outside any coroutine."""
        parents = self.tree.parents
        function = self.tree.enclosing_function(ref)
        if not isinstance(function, cst.FunctionDef) or function.asynchronous is not None:
            return False
        up = parents.get(ref)
        if isinstance(up, cst.WithItem) and up.item is ref:
            with_statement = parents.get(up)
            return isinstance(with_statement, cst.With) and with_statement.asynchronous is None
        if isinstance(up, cst.Attribute) and up.value is ref and up.attr.value in methods:
            call = parents.get(up)
            return isinstance(call, cst.Call) and not isinstance(parents.get(call), cst.Await)
        return False


class _StandIns(cst.CSTTransformer):
    """Replaces the names (by identity) the map gives expressions for."""

    def __init__(self, stand_ins: dict[int, cst.BaseExpression]) -> None:
        super().__init__()
        self.stand_ins = stand_ins

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self.stand_ins.get(id(original_node), updated_node)
