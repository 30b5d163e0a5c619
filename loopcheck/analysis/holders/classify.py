"""Where a value goes once made: from the expression around a creation to its holder (a local,
a module global, a class attribute, an attribute of a shared instance, a registry, a function
cache, a default argument, a closure variable, nothing, or code this module does not show)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import ClassScope, FunctionScope, GlobalScope
from libcst.metadata.scope_provider import Scope

from loopcheck.analysis.holders.kinds import (
    ClassAttribute,
    ClassRegistry,
    ClosureVariable,
    DefaultArgument,
    Escapes,
    FunctionCache,
    Holder,
    InstanceAttribute,
    LocalRegistry,
    LocalVariable,
    ModuleGlobal,
    ModuleRegistry,
    SharedBy,
    Singleton,
    SingletonAttribute,
    SingletonRegistry,
    Temporary,
)
from loopcheck.analysis.holders.singletons import SharedInstances
from loopcheck.analysis.holders.values import BoundValues
from loopcheck.analysis.tree import is_name, sole_statement, sole_target
from loopcheck.data.catalogue import holder_shapes

if TYPE_CHECKING:
    from loopcheck.analysis import FileAnalysis

# The nodes of the expressions that hand a value on unchanged on its way to a holder
# (data/holders.toml names them; _operand says which operand passes), and the calls that do.
NODES_OF_PASS_THROUGH = {"boolean-operation": cst.BooleanOperation, "conditional": cst.IfExp, "await": cst.Await}
PASS_THROUGH = tuple(NODES_OF_PASS_THROUGH[name] for name in holder_shapes().pass_through_expressions)
PASS_THROUGH_CALLS = holder_shapes().pass_through_calls


class Classifier:
    def __init__(self, analysis: FileAnalysis, values: BoundValues) -> None:
        self.analysis = analysis
        self.tree = analysis.tree
        self.values = values
        self.shared = SharedInstances(analysis, self)
        self._memo: dict[cst.CSTNode, Holder] = {}

    def of(self, creation: cst.BaseExpression) -> Holder:
        """The holder of the object ``creation`` makes (or of any value expression)."""
        found = self._memo.get(creation)
        if found is None:
            found = self.classify(creation)
            if not self.shared.searching:  # those answers lack the singleton facts
                self._memo[creation] = found
        return found

    def outer_value(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """``node`` extended through the expressions that pass it on unchanged."""
        value = node
        while True:
            up = self.tree.parents.get(value)
            if isinstance(up, PASS_THROUGH) and _operand(up, value):
                value = up
            elif isinstance(up, cst.Arg) and self._is_passed_through(up):
                value = self.tree.parents[up]  # contextlib.closing(loop) is the loop
            else:
                return value

    def _is_passed_through(self, arg: cst.Arg) -> bool:
        call = self.tree.parents.get(arg)
        return (
            isinstance(call, cst.Call)
            and len(call.args) == 1
            and self.analysis.names.calls(call, PASS_THROUGH_CALLS)
        )

    def classify(self, creation: cst.BaseExpression) -> Holder:
        value = self.outer_value(creation)
        up = self.tree.parents.get(value)
        common = {"value": value, "store": value if up is None else up, "analysis": self.analysis}
        if isinstance(up, cst.Param) and up.default is value:
            function = self._function_of_param(up)
            return DefaultArgument(**common, name=up.name.value, target=up.name, owner=function)
        if isinstance(up, (cst.Assign, cst.AnnAssign)) and up.value is value:
            targets = [t.target for t in up.targets] if isinstance(up, cst.Assign) else [up.target]
            holders = [self._stored_in(target, value, up) for target in targets]
            # `a = b = Lock()`: the holder that outlives the call the longest speaks for all.
            return next((h for h in holders if h.kind.outlives_a_call), holders[0])
        if isinstance(up, cst.WithItem) and up.item is value:
            if isinstance(up.asname, cst.AsName) and isinstance(up.asname.name, cst.Name):
                return self._stored_in(up.asname.name, value, up)
            return Temporary(**common)
        if isinstance(up, cst.Arg) and up.value is value:
            return self._passed(up, value)
        if isinstance(up, cst.Return) and up.value is value:
            function = self.tree.enclosing_function(up)
            if isinstance(function, cst.FunctionDef) and self.is_cached_function(function):
                return FunctionCache(**common, name=function.name.value, owner=function)
            return Escapes(**common)
        if isinstance(up, (cst.Yield, cst.Return, cst.Element, cst.DictElement, cst.StarredElement)):
            return Escapes(**common)
        return Temporary(**common)

    def _function_of_param(self, param: cst.Param) -> cst.FunctionDef | cst.Lambda:
        return next(up for _, up in self.tree.ancestors(param) if isinstance(up, (cst.FunctionDef, cst.Lambda)))

    def _passed(self, arg: cst.Arg, value: cst.BaseExpression) -> Holder:
        """A value passed to a call: into a container (``registry.setdefault(key, value)``,
        ``items.append(value)``), or to code that may keep it."""
        call = self.tree.parents[arg]
        shapes = holder_shapes()
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute):
            if call.func.attr.value in shapes.container_stores:
                key = call.args[0].value if call.func.attr.value == shapes.keyed_store and call.args else None
                return self._container(call.func.value, key, value, call)
        return Escapes(value=value, store=call, analysis=self.analysis)

    def _stored_in(self, target: cst.BaseExpression, value: cst.BaseExpression, store: cst.CSTNode) -> Holder:
        common = {"value": value, "store": store, "analysis": self.analysis}
        if isinstance(target, cst.Name):
            scope = self.binding_scope(target)
            name = target.value
            if isinstance(scope, GlobalScope):
                return ModuleGlobal(**common, name=name, target=target, owner=self.analysis.module)
            if isinstance(scope, ClassScope):
                owner = self.tree.enclosing_class(target)
                if owner is not None:  # always, for a name bound in a class body
                    return ClassAttribute(**common, name=name, target=target, owner=owner)
            function = self.tree.enclosing_function(target)
            if isinstance(scope, FunctionScope) and scope.node is not function:
                return ClosureVariable(**common, name=name, target=target, owner=scope.node)
            return LocalVariable(**common, name=name, target=target)
        if isinstance(target, cst.Attribute):
            return self._attribute(target, value, store)
        if isinstance(target, cst.Subscript) and len(target.slice) == 1:
            index = target.slice[0].slice
            key = index.value if isinstance(index, cst.Index) else None
            return self._container(target.value, key, value, store, target)
        return Escapes(**common)

    def _attribute(self, target: cst.Attribute, value: cst.BaseExpression, store: cst.CSTNode) -> Holder:
        definitions = self.analysis.definitions
        common = {"value": value, "store": store, "analysis": self.analysis, "target": target}
        name = target.attr.value
        receiver = target.value
        if self.is_class_receiver(receiver):
            owner = definitions.own_class(target)
            if owner is not None:
                return ClassAttribute(**common, name=name, owner=owner)
        if definitions.is_self(receiver):
            owner = definitions.own_class(target)
            if owner is None:
                return Escapes(value=value, store=store, analysis=self.analysis)
            singleton = self.shared.singleton(owner)
            if singleton is not None:
                return SingletonAttribute(
                    **common, name=name, owner=owner, singleton=singleton, through=owner.name.value
                )
            return InstanceAttribute(**common, name=name, owner=owner)
        classes = definitions.classes_named(receiver)
        if classes:
            return ClassAttribute(**common, name=name, owner=classes[0])
        if isinstance(receiver, cst.Name) and definitions.is_module_level_name(receiver):
            instances = definitions.instance_classes(receiver)
            if instances:
                singleton = Singleton(SharedBy.MODULE_INSTANCE, receiver.value, receiver)
                return SingletonAttribute(
                    **common, name=name, owner=instances[0], singleton=singleton, through=receiver.value
                )
        return Escapes(value=value, store=store, analysis=self.analysis)

    def _container(
        self,
        container: cst.BaseExpression,
        key: cst.BaseExpression | None,
        value: cst.BaseExpression,
        store: cst.CSTNode,
        target: cst.Subscript | None = None,
    ) -> Holder:
        """A value stored in ``container[key]`` (or added to ``container``)."""
        keyed = key is not None and self.values.is_running_loop(key)
        common = {
            "value": value, "store": store, "analysis": self.analysis, "container": container,
            "target": target, "keyed_by_loop": keyed,
        }
        if isinstance(container, cst.Name):
            scope = self.binding_scope(container, reading=True)
            if isinstance(scope, GlobalScope):
                return ModuleRegistry(**common, name=container.value)
            if isinstance(scope, ClassScope):
                return ClassRegistry(**common, name=container.value, owner=None)
            return LocalRegistry(**common, name=container.value)
        if isinstance(container, cst.Attribute):
            registry = self._registry_attribute(container, common)
            if registry is not None:
                return registry
        return Escapes(value=value, store=store, analysis=self.analysis)

    def _registry_attribute(self, container: cst.Attribute, common: dict) -> Holder | None:
        """A registry in an attribute: of the class (``cls._locks``, ``Class._locks``, or
        ``self._locks`` declared in the class body), or of a shared instance."""
        definitions = self.analysis.definitions
        attribute = container.attr.value
        owner = definitions.own_class(container)
        class_level = self.is_class_receiver(container.value) or (
            definitions.is_self(container.value)
            and owner is not None
            and self.defined_in_class_body(owner, attribute)
        )
        if class_level and owner is not None:
            return ClassRegistry(**common, name=attribute, owner=owner)
        if definitions.is_self(container.value) and owner is not None:
            singleton = self.shared.singleton(owner)
            if singleton is not None:
                return SingletonRegistry(
                    **common, name=attribute, owner=owner, singleton=singleton, through=owner.name.value
                )
        classes = definitions.classes_named(container.value)
        if classes:
            return ClassRegistry(**common, name=attribute, owner=classes[0])
        return None

    # -- facts the holders rest on -------------------------------------------------------

    def binding_scope(self, name: cst.Name, reading: bool = False) -> Scope | None:
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
        if isinstance(receiver, cst.Attribute) and receiver.attr.value == "__class__":
            return definitions.is_self(receiver.value)
        if isinstance(receiver, cst.Call) and is_name(receiver.func, "type") and len(receiver.args) == 1:
            return definitions.is_self(receiver.args[0].value)
        if not definitions.is_self(receiver):
            return False
        function = self.tree.enclosing_function(receiver)
        while isinstance(function, cst.Lambda) or (
            function is not None and self.tree.method_class(function) is None
        ):
            function = self.tree.enclosing_function(function)
        if not isinstance(function, cst.FunctionDef):
            return False
        shapes = holder_shapes()
        return function.name.value in shapes.class_taking_methods or any(
            self.analysis.names.qualified(d.decorator) & shapes.class_methods
            or is_name(d.decorator, "classmethod")
            for d in function.decorators
        )

    def defined_in_class_body(self, class_def: cst.ClassDef, name: str) -> bool:
        for line in class_def.body.body:
            statement = sole_statement(line)  # `name = ...` or `name: T = ...`, alone on its line
            target = statement.target if isinstance(statement, cst.AnnAssign) else sole_target(statement)
            if is_name(target, name):
                return True
        return False

    def is_cached_function(self, function: cst.FunctionDef) -> bool:
        """Decorated with functools.cache / lru_cache: its result outlives the loop that made it."""
        for decorator in function.decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call):
                target = target.func
            if self.analysis.names.qualified(target) & holder_shapes().function_caches:
                return True
        return False


def _operand(expression: cst.CSTNode, value: cst.CSTNode) -> bool:
    if isinstance(expression, cst.BooleanOperation):
        return value is expression.left or value is expression.right
    if isinstance(expression, cst.IfExp):
        return value is expression.body or value is expression.orelse
    if isinstance(expression, cst.Await):
        return value is expression.expression
    return False
