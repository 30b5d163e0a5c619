"""Where a loop-bound object lives once created, and every place that reads or rewrites it.

The same question is asked of a lock, a queue, an event loop and an async client: after
``x = <creation>``, who holds ``x``? A local variable (each binding on its own), a module global,
a class attribute, an instance attribute (of a process-wide singleton or not), a container at
module or class level (a registry), a function cache, a default argument, a closure variable;
or nothing, when the object is used where it is made, or it escapes to code this module does not
show. Rules decide from the holder whether more than one event loop can reach the object.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ClassScope, FunctionScope, GlobalScope

from loopcheck.analysis.tree import DOCSTRING, all_params

if TYPE_CHECKING:
    from loopcheck.analysis import FileAnalysis

# Expressions that hand a value on unchanged (one of their operands) on its way to a holder.
PASS_THROUGH = (cst.BooleanOperation, cst.IfExp, cst.Await)
FUNCTION_CACHES = frozenset({"functools.lru_cache", "functools.cache", "functools.cached_property"})
CLOSING = frozenset({"contextlib.closing"})
CLASS_METHOD = frozenset({"builtins.classmethod", "classmethod"})
CONTAINER_STORES = frozenset({"setdefault", "append", "add", "insert", "update"})


class Held(enum.Enum):
    LOCAL = "a local variable"
    MODULE_GLOBAL = "a module global"
    CLASS_ATTRIBUTE = "a class attribute"
    INSTANCE_ATTRIBUTE = "an instance attribute"
    SINGLETON_ATTRIBUTE = "an attribute of a process-wide instance"
    MODULE_CONTAINER = "a module-level container"
    CLASS_CONTAINER = "a class-level container"
    FUNCTION_CACHE = "a function cache"
    DEFAULT_ARGUMENT = "a default argument"
    CLOSURE = "a closure variable"
    TEMPORARY = "nothing: it is used where it is made"
    ESCAPES = "code this module does not show"

    @property
    def outlives_a_call(self) -> bool:
        """Whether the object stays reachable after the code that made it returns."""
        return self not in (Held.LOCAL, Held.TEMPORARY, Held.ESCAPES, Held.INSTANCE_ATTRIBUTE)


# How messages name the place a lazily created object is kept in.
KEPT_IN = {
    Held.MODULE_GLOBAL: "the module global",
    Held.MODULE_CONTAINER: "the module-level container",
    Held.CLASS_ATTRIBUTE: "the class attribute",
    Held.CLASS_CONTAINER: "the class-level container",
    Held.FUNCTION_CACHE: "the cache of",
}


@dataclass(frozen=True)
class Singleton:
    """Why instances of a class are shared by the whole process."""

    label: str  # "the module-level instance `manager`"
    node: cst.CSTNode  # the statement or function that makes the shared instance


@dataclass
class Holder:
    kind: Held
    label: str  # how messages name it: `_lock`, `Worker._loop`, `manager.lock`, `_locks`
    value: cst.BaseExpression  # the stored expression: the creation, or `x or <creation>`
    store: cst.CSTNode | None = None  # Assign, AnnAssign, Param, WithItem, Return, or the call
    target: cst.CSTNode | None = None  # Name, Attribute or Subscript that takes the value
    owner: cst.CSTNode | None = None  # the class of an attribute, the function of a local
    name: str | None = None  # the variable or attribute name
    container: cst.BaseExpression | None = None  # the registry a container holder stores into
    keyed_by_loop: bool = False  # a container keyed by the running loop: one entry per loop
    singleton: Singleton | None = None
    analysis: FileAnalysis | None = field(default=None, repr=False, compare=False)

    @property
    def per_loop(self) -> bool:
        """Whether each event loop gets an object of its own: a registry keyed by the running
        loop, or a holder that is replaced (or cleared) whenever the running loop differs from
        the loop stored beside it."""
        return self.keyed_by_loop or self.replaced_when_loop_changes

    @cached_property
    def replaced_when_loop_changes(self) -> bool:
        """``if self._sem is None or self._loop is not asyncio.get_running_loop(): self._sem =
        Semaphore(); self._loop = loop``: some write of the holder (this creation, or a reset
        elsewhere) runs only when the running loop is not the one the object was made for."""
        assert self.analysis is not None
        holders = self.analysis.holders
        stores = (self.writes if self.followable else []) or [self.value]
        return any(holders.under_loop_change(store) for store in stores)

    # -- reads and writes ----------------------------------------------------------------

    @cached_property
    def accesses(self) -> list[cst.CSTNode] | None:
        """Every expression that names the holder (reads and writes), in source order; None
        when some access cannot be told apart (``obj.lock`` through an unknown object)."""
        assert self.analysis is not None
        return self.analysis.holders.accesses_of(self)

    @property
    def followable(self) -> bool:
        return self.accesses is not None

    @cached_property
    def reads(self) -> list[cst.CSTNode]:
        """The expressions that evaluate to the held object."""
        assert self.analysis is not None
        tree = self.analysis.tree
        return [a for a in self.accesses or () if not _is_store(tree.parents, a)]

    @cached_property
    def writes(self) -> list[cst.CSTNode]:
        """The targets that (re)bind the holder, this holder's own store among them."""
        assert self.analysis is not None
        tree = self.analysis.tree
        return [a for a in self.accesses or () if _is_store(tree.parents, a)]


def _is_store(parents: dict, node: cst.CSTNode) -> bool:
    up = parents.get(node)
    if isinstance(up, (cst.AssignTarget, cst.Del)) or isinstance(up, cst.AsName):
        return True
    if isinstance(up, (cst.AnnAssign, cst.AugAssign)) and up.target is node:
        return True
    if isinstance(up, (cst.For, cst.CompFor)) and up.target is node:
        return True
    if isinstance(up, cst.NameItem):  # `global name`, `nonlocal name`
        return True
    return isinstance(up, cst.Param) and up.name is node


class Holders:
    def __init__(self, analysis: FileAnalysis) -> None:
        self.analysis = analysis
        self.tree = analysis.tree
        self._memo: dict[cst.CSTNode, Holder] = {}
        # While the shared instances are being found, holders are asked where each instance
        # goes; they must not ask for the shared instances in turn.
        self._finding_singletons = False

    # -- where a value goes ---------------------------------------------------------------

    def of(self, creation: cst.BaseExpression) -> Holder:
        """The holder of the object ``creation`` makes (or of any value expression)."""
        found = self._memo.get(creation)
        if found is None:
            found = self._holder(creation)
            if not self._finding_singletons:  # those answers lack the singleton facts
                self._memo[creation] = found
        return found

    def outer_value(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """``node`` extended through the expressions that pass it on unchanged."""
        value = node
        while True:
            up = self.tree.parents.get(value)
            if isinstance(up, PASS_THROUGH) and _operand(up, value):
                value = up
            elif isinstance(up, cst.Arg) and self._is_closing_argument(up):
                value = self.tree.parents[up]  # contextlib.closing(loop) is the loop
            else:
                return value

    def _is_closing_argument(self, arg: cst.Arg) -> bool:
        call = self.tree.parents.get(arg)
        return (
            isinstance(call, cst.Call)
            and len(call.args) == 1
            and self.analysis.names.calls(call, CLOSING)
        )

    def _holder(self, creation: cst.BaseExpression) -> Holder:
        value = self.outer_value(creation)
        up = self.tree.parents.get(value)
        make = lambda kind, label, **more: Holder(kind, label, value, analysis=self.analysis, **more)  # noqa: E731
        if isinstance(up, cst.Param) and up.default is value:
            function = self._function_of_param(up)
            return make(Held.DEFAULT_ARGUMENT, up.name.value, store=up, target=up.name, owner=function, name=up.name.value)
        if isinstance(up, (cst.Assign, cst.AnnAssign)) and up.value is value:
            targets = [t.target for t in up.targets] if isinstance(up, cst.Assign) else [up.target]
            holders = [self._stored_in(target, value, up) for target in targets]
            # `a = b = Lock()`: the holder that outlives the call the longest speaks for all.
            return next((h for h in holders if h.kind.outlives_a_call), holders[0])
        if isinstance(up, cst.WithItem) and up.item is value:
            if isinstance(up.asname, cst.AsName) and isinstance(up.asname.name, cst.Name):
                return self._stored_in(up.asname.name, value, up)
            return make(Held.TEMPORARY, "the `with` statement", store=up)
        if isinstance(up, cst.Arg) and up.value is value:
            return self._passed(up, value)
        if isinstance(up, cst.Return) and up.value is value:
            function = self.tree.enclosing_function(up)
            if isinstance(function, cst.FunctionDef) and self.is_cached_function(function):
                return make(
                    Held.FUNCTION_CACHE, f"the cache of {function.name.value}()", store=up, owner=function,
                    name=function.name.value,
                )
            return make(Held.ESCAPES, "the caller", store=up)
        if isinstance(up, (cst.Yield, cst.Return, cst.Element, cst.DictElement, cst.StarredElement)):
            return make(Held.ESCAPES, "a container or the caller", store=up)
        return make(Held.TEMPORARY, "nothing", store=up)

    def _function_of_param(self, param: cst.Param) -> cst.FunctionDef | cst.Lambda | None:
        for _, up in self.tree.ancestors(param):
            if isinstance(up, (cst.FunctionDef, cst.Lambda)):
                return up
        return None

    def _passed(self, arg: cst.Arg, value: cst.BaseExpression) -> Holder:
        """A value passed to a call: into a container (``registry.setdefault(key, value)``,
        ``items.append(value)``), or to code that may keep it."""
        call = self.tree.parents[arg]
        assert isinstance(call, cst.Call)
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in CONTAINER_STORES:
            key = call.args[0].value if call.func.attr.value == "setdefault" and call.args else None
            return self._container(call.func.value, key, value, call)
        return Holder(Held.ESCAPES, "the call it is passed to", value, store=call, analysis=self.analysis)

    def _stored_in(self, target: cst.BaseExpression, value: cst.BaseExpression, store: cst.CSTNode) -> Holder:
        make = lambda kind, label, **more: Holder(  # noqa: E731
            kind, label, value, store=store, target=target, analysis=self.analysis, **more
        )
        if isinstance(target, cst.Name):
            scope = self._binding_scope(target)
            name = target.value
            if isinstance(scope, GlobalScope):
                return make(Held.MODULE_GLOBAL, f"the module global `{name}`", name=name)
            if isinstance(scope, ClassScope):
                owner = self.tree.enclosing_class(target)
                label = f"`{owner.name.value}.{name}`" if owner else f"`{name}`"
                return make(Held.CLASS_ATTRIBUTE, label, owner=owner, name=name)
            function = self.tree.enclosing_function(target)
            if isinstance(scope, FunctionScope) and getattr(scope, "node", None) is not function:
                return make(Held.CLOSURE, f"the closure variable `{name}`", owner=scope.node, name=name)
            return make(Held.LOCAL, f"`{name}`", owner=function, name=name)
        if isinstance(target, cst.Attribute):
            return self._attribute(target, make)
        if isinstance(target, cst.Subscript) and len(target.slice) == 1:
            index = target.slice[0].slice
            key = index.value if isinstance(index, cst.Index) else None
            return self._container(target.value, key, value, store, target)
        return make(Held.ESCAPES, "a target this analysis does not follow")

    def _attribute(self, target: cst.Attribute, make) -> Holder:  # type: ignore[no-untyped-def]
        definitions = self.analysis.definitions
        name = target.attr.value
        receiver = target.value
        if self.is_class_receiver(receiver):
            owner = definitions.own_class(target)
            if owner is not None:
                return make(Held.CLASS_ATTRIBUTE, f"`{owner.name.value}.{name}`", owner=owner, name=name)
        if definitions.is_self(receiver):
            owner = definitions.own_class(target)
            if owner is None:
                return make(Held.ESCAPES, "an attribute of an unknown object", name=name)
            singleton = self.singleton(owner)
            if singleton is not None:
                return make(
                    Held.SINGLETON_ATTRIBUTE, f"`{owner.name.value}.{name}`", owner=owner, name=name,
                    singleton=singleton,
                )
            return make(Held.INSTANCE_ATTRIBUTE, f"`{owner.name.value}.{name}`", owner=owner, name=name)
        classes = definitions.classes_named(receiver)
        if classes:
            return make(Held.CLASS_ATTRIBUTE, f"`{classes[0].name.value}.{name}`", owner=classes[0], name=name)
        instances = definitions.instance_classes(receiver) if isinstance(receiver, cst.Name) else []
        if instances and definitions.is_module_level_name(receiver):  # type: ignore[arg-type]
            label = f"`{receiver.value}.{name}`"  # type: ignore[attr-defined]
            singleton = Singleton(f"the module-level instance `{receiver.value}`", receiver)  # type: ignore[attr-defined]
            return make(Held.SINGLETON_ATTRIBUTE, label, owner=instances[0], name=name, singleton=singleton)
        return make(Held.ESCAPES, "an attribute of an unknown object", name=name)

    def _container(
        self,
        container: cst.BaseExpression,
        key: cst.BaseExpression | None,
        value: cst.BaseExpression,
        store: cst.CSTNode,
        target: cst.CSTNode | None = None,
    ) -> Holder:
        """A value stored in ``container[key]`` (or added to ``container``)."""
        keyed = key is not None and self.is_running_loop(key)
        make = lambda kind, label, **more: Holder(  # noqa: E731
            kind, label, value, store=store, target=target, container=container, keyed_by_loop=keyed,
            analysis=self.analysis, **more,
        )
        if isinstance(container, cst.Name):
            scope = self._binding_scope(container, reading=True)
            if isinstance(scope, GlobalScope):
                return make(Held.MODULE_CONTAINER, f"the module-level `{container.value}`", name=container.value)
            if isinstance(scope, ClassScope):
                return make(Held.CLASS_CONTAINER, f"the class-level `{container.value}`", name=container.value)
            return make(Held.LOCAL, f"`{container.value}`", name=container.value)
        if isinstance(container, cst.Attribute):
            attribute = container.attr.value
            owner = self.analysis.definitions.own_class(container)
            class_level = self.is_class_receiver(container.value) or (
                self.analysis.definitions.is_self(container.value)
                and owner is not None
                and self.defined_in_class_body(owner, attribute)
            )
            if class_level and owner is not None:
                label = f"the class-level `{owner.name.value}.{attribute}`"
                return make(Held.CLASS_CONTAINER, label, owner=owner, name=attribute)
            if self.analysis.definitions.is_self(container.value) and owner is not None:
                singleton = self.singleton(owner)
                if singleton is not None:
                    label = f"`{owner.name.value}.{attribute}`"
                    return make(
                        Held.SINGLETON_ATTRIBUTE, label, owner=owner, name=attribute, singleton=singleton
                    )
            classes = self.analysis.definitions.classes_named(container.value)
            if classes:
                label = f"the class-level `{classes[0].name.value}.{attribute}`"
                return make(Held.CLASS_CONTAINER, label, owner=classes[0], name=attribute)
        return make(Held.ESCAPES, "a container this analysis does not follow")

    # -- facts the holders rest on -------------------------------------------------------

    def _binding_scope(self, name: cst.Name, reading: bool = False):  # type: ignore[no-untyped-def]
        """The scope a name is bound in (``global``/``nonlocal`` move it out of the function)."""
        scope = self.analysis.scopes.get(name)
        if scope is None:
            return None
        for assignment in scope[name.value]:
            if getattr(assignment, "node", None) is name or reading:
                return assignment.scope
        return scope

    def is_class_receiver(self, receiver: cst.BaseExpression) -> bool:
        """``cls`` in a classmethod, ``self.__class__``, ``type(self)``."""
        definitions = self.analysis.definitions
        if m.matches(receiver, m.Attribute(attr=m.Name("__class__"))):
            return definitions.is_self(receiver.value)  # type: ignore[attr-defined]
        if m.matches(receiver, m.Call(func=m.Name("type"), args=[m.Arg()])):
            return definitions.is_self(receiver.args[0].value)  # type: ignore[attr-defined]
        if not definitions.is_self(receiver):
            return False
        function = self.tree.enclosing_function(receiver)
        while isinstance(function, cst.Lambda) or (
            function is not None and self.tree.method_class(function) is None  # type: ignore[arg-type]
        ):
            function = self.tree.enclosing_function(function)
        if not isinstance(function, cst.FunctionDef):
            return False
        return function.name.value in ("__new__", "__init_subclass__", "__class_getitem__") or any(
            self.analysis.names.qualified(d.decorator) & CLASS_METHOD
            or m.matches(d.decorator, m.Name("classmethod"))
            for d in function.decorators
        )

    def defined_in_class_body(self, class_def: cst.ClassDef, name: str) -> bool:
        return any(
            m.matches(line, m.SimpleStatementLine([m.Assign([m.AssignTarget(m.Name(name))]) | m.AnnAssign(m.Name(name))]))
            for line in class_def.body.body
        )

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
        for comparison in m.findall(test, m.Comparison()):
            assert isinstance(comparison, cst.Comparison)
            left = comparison.left
            for target in comparison.comparisons:
                if isinstance(target.operator, (cst.IsNot, cst.NotEqual)) and (
                    self.is_running_loop(left) or self.is_running_loop(target.comparator)
                ):
                    return True
                left = target.comparator
        return False

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

    def is_cached_function(self, function: cst.FunctionDef) -> bool:
        """Decorated with functools.cache / lru_cache: its result outlives the loop that made it."""
        for decorator in function.decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call):
                target = target.func
            if self.analysis.names.qualified(target) & FUNCTION_CACHES:
                return True
        return False

    @cached_property
    def _singletons(self) -> dict[cst.ClassDef, Singleton]:
        self._finding_singletons = True
        try:
            return self._find_singletons()
        finally:
            self._finding_singletons = False

    def _find_singletons(self) -> dict[cst.ClassDef, Singleton]:
        found: dict[cst.ClassDef, Singleton] = {}
        definitions = self.analysis.definitions
        for class_def in self.analysis.index.classes:
            for call in self.analysis.index.calls_by_leaf.get(class_def.name.value, ()):
                if class_def not in definitions.classes_named(call.func) and not (
                    definitions.is_self(call.func) or m.matches(call.func, m.Name("cls"))
                ):
                    continue
                reason = self._shared_instance(call)
                if reason is not None:
                    found.setdefault(class_def, reason)
            for call in self.analysis.index.calls_by_leaf.get("cls", ()):
                if self.analysis.definitions.own_class(call) is class_def:
                    reason = self._shared_instance(call)
                    if reason is not None:
                        found.setdefault(class_def, reason)
            # `def __new__(cls): if cls._instance is None: cls._instance = super().__new__(cls)`
            for call in self.analysis.index.calls_by_leaf.get("__new__", ()):
                method = self.tree.enclosing_function(call)
                if (
                    isinstance(method, cst.FunctionDef)
                    and method.name.value == "__new__"
                    and self.tree.method_class(method) is class_def
                ):
                    reason = self._shared_instance(call)
                    if reason is not None:
                        found.setdefault(class_def, reason)
        return found

    def singleton(self, class_def: cst.ClassDef) -> Singleton | None:
        """Why one instance of ``class_def`` is shared by the process: a module-level instance, a
        global singleton getter, a cached factory, a class-level ``_instance`` (set by a
        classmethod or by ``__new__``)."""
        if self._finding_singletons:
            return None
        return self._singletons.get(class_def)

    def _shared_instance(self, call: cst.Call) -> Singleton | None:
        if self.tree.guard_of(call) is not None:
            return None  # a script's own instance, or one for type checkers
        holder = self.of(call)
        if holder.kind is Held.MODULE_GLOBAL:
            function = self.tree.enclosing_function(call)
            if function is None:
                return Singleton(f"the module-level instance `{holder.name}`", holder.store or call)
            return Singleton(f"the global singleton `{holder.name}`", function)
        if holder.kind is Held.FUNCTION_CACHE:
            return Singleton(f"the instance cached by `{holder.name}()`", holder.owner or call)
        if holder.kind is Held.CLASS_ATTRIBUTE:
            return Singleton(f"the shared instance {holder.label}", holder.store or call)
        return None

    # -- accesses ------------------------------------------------------------------------

    def accesses_of(self, holder: Holder) -> list[cst.CSTNode] | None:
        kind = holder.kind
        if kind is Held.LOCAL and isinstance(holder.target, cst.Name):
            flow = self.analysis.flow
            return sorted([holder.target, *flow.reads_of(holder.target)], key=self.analysis.names.index_order)
        if kind in (Held.MODULE_GLOBAL, Held.CLOSURE, Held.MODULE_CONTAINER, Held.LOCAL) and holder.name:
            node = holder.target if isinstance(holder.target, cst.Name) else holder.container
            return self.name_accesses(node) if isinstance(node, cst.Name) else None
        if kind is Held.DEFAULT_ARGUMENT and isinstance(holder.target, cst.Name):
            return self.name_accesses(holder.target)
        if kind in (Held.CLASS_ATTRIBUTE, Held.SINGLETON_ATTRIBUTE, Held.INSTANCE_ATTRIBUTE, Held.CLASS_CONTAINER):
            if isinstance(holder.owner, cst.ClassDef) and holder.name:
                return self.attribute_accesses(holder.owner, holder.name)
        if kind is Held.FUNCTION_CACHE and isinstance(holder.owner, cst.FunctionDef):
            return [call for call in self.calls_of(holder.owner)]
        return None

    def name_accesses(self, name: cst.Name) -> list[cst.CSTNode]:
        """Every binding and read of the variable ``name`` belongs to, in source order."""
        scope = self.analysis.scopes.get(name)
        found: dict[int, cst.CSTNode] = {}
        for assignment in scope[name.value] if scope is not None else ():
            if isinstance(getattr(assignment, "node", None), cst.Name):
                found[id(assignment.node)] = assignment.node
            for access in assignment.references:
                found[id(access.node)] = access.node
        return sorted(found.values(), key=self.analysis.names.index_order)

    def attribute_accesses(self, class_def: cst.ClassDef, name: str) -> list[cst.CSTNode] | None:
        """``self.name``/``cls.name``/``Class.name``/``instance.name`` for ``class_def`` (and
        ``name = ...`` in its body); None when some ``x.name`` goes through an object that may be
        an instance of it, or through a subclass."""
        definitions = self.analysis.definitions
        related = {id(class_def)} | {id(c) for c in definitions.subclasses(class_def)}
        found: list[cst.CSTNode] = []
        for attribute in self.analysis.index.attributes_by_name.get(name, ()):
            classes = definitions.receiver_classes(attribute.value)
            if self.is_class_receiver(attribute.value):
                owner = definitions.own_class(attribute)
                classes = [owner] if owner is not None else []
            if not classes:
                return None  # through an object this analysis cannot place
            if any(id(c) in related for c in classes):
                if any(id(c) != id(class_def) for c in classes):
                    return None  # a subclass: it may override the attribute
                found.append(attribute)
        for line in class_def.body.body:
            if isinstance(line, cst.SimpleStatementLine):
                for small in line.body:
                    targets = small.targets if isinstance(small, cst.Assign) else [small] if isinstance(small, cst.AnnAssign) else []
                    for target in targets:
                        if m.matches(target.target, m.Name(name)):
                            found.append(target.target)
        return sorted(found, key=self.analysis.names.index_order)

    def calls_of(self, function: cst.FunctionDef) -> Iterable[cst.Call]:
        for call in self.analysis.index.calls_by_leaf.get(function.name.value, ()):
            if any(f is function for f in self.analysis.definitions.functions(call.func)):
                yield call

    def getters(self, holder: Holder) -> list[cst.FunctionDef]:
        """Functions and methods that hand the held object out: they take no argument but
        ``self``/``cls``, and every ``return`` of theirs returns a read of the holder."""
        reads = {id(read) for read in holder.reads}
        found: list[cst.FunctionDef] = []
        for read in holder.reads:
            function = self.tree.enclosing_function(read)
            if (
                not isinstance(self.tree.parents.get(read), cst.Return)
                or not isinstance(function, cst.FunctionDef)
                or any(f is function for f in found)
            ):
                continue
            method = self.tree.method_class(function) is not None
            if len(all_params(function.params)) > (1 if method else 0):
                continue
            returns = [
                r for r in m.findall(function.body, m.Return())
                if self.tree.enclosing_function(r) is function
            ]
            if all(isinstance(r, cst.Return) and id(r.value) in reads for r in returns):
                found.append(function)
        return found

    def defining_parameter(self, function: cst.FunctionDef | cst.Lambda, name: str) -> cst.Param | None:
        return next((p for p in all_params(function.params) if p.name.value == name), None)


def _operand(expression: cst.CSTNode, value: cst.CSTNode) -> bool:
    if isinstance(expression, cst.BooleanOperation):
        return value is expression.left or value is expression.right
    if isinstance(expression, cst.IfExp):
        return value is expression.body or value is expression.orelse
    if isinstance(expression, cst.Await):
        return value is expression.expression
    return False


def lazy_global_getter(function: cst.FunctionDef, creation: cst.CSTNode) -> str | None:
    """The global's name when ``function`` is exactly the lazy-getter idiom around ``creation``:
    ``global name`` / ``if name is None: name = <creation>`` / ``return name``."""
    body = list(function.body.body)
    if body and m.matches(body[0], DOCSTRING):
        body = body[1:]
    if len(body) != 3:
        return None
    declare, check, give = body
    if not m.matches(declare, m.SimpleStatementLine(body=[m.Global(names=[m.NameItem()])])):
        return None
    name = declare.body[0].names[0].name.value  # type: ignore[attr-defined]
    is_unset = m.Comparison(
        left=m.Name(name), comparisons=[m.ComparisonTarget(m.Is(), m.Name("None"))]
    ) | m.UnaryOperation(operator=m.Not(), expression=m.Name(name))
    store = m.SimpleStatementLine(
        body=[m.Assign(targets=[m.AssignTarget(m.Name(name))], value=m.MatchIfTrue(lambda v: v is creation))]
    )
    if not m.matches(check, m.If(test=is_unset, body=m.IndentedBlock(body=[store]), orelse=None)):
        return None
    if not m.matches(give, m.SimpleStatementLine(body=[m.Return(value=m.Name(name))])):
        return None
    return name
