"""Which function or class of this module an expression refers to: ``f``, ``self.method``,
``cls.method``, ``Class.method``, ``instance.method`` of a module-level instance, a lambda,
``functools.partial(f, ...)``, and what a call runs (``Class()`` runs ``Class.__init__``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import libcst as cst
from libcst.metadata import GlobalScope, Scope

from loopcheck.analysis.names import Names
from loopcheck.analysis.tree import Tree
from loopcheck.data.catalogue import holder_shapes

Function = cst.FunctionDef | cst.Lambda
PARTIAL = frozenset({"functools.partial"})


class Definitions:
    def __init__(
        self,
        tree: Tree,
        names: Names,
        scopes: Mapping[cst.CSTNode, Scope | None],
        classes: Iterable[cst.ClassDef],
    ) -> None:
        self.tree = tree
        self.names = names
        self.scopes = scopes
        self.classes = list(classes)
        self._methods: dict[cst.ClassDef, dict[str, cst.FunctionDef]] = {}

    # -- classes -------------------------------------------------------------------------

    def methods(self, class_def: cst.ClassDef) -> dict[str, cst.FunctionDef]:
        """The functions defined directly in the class body, by name."""
        found = self._methods.get(class_def)
        if found is None:
            found = self._methods[class_def] = {
                s.name.value: s for s in class_def.body.body if isinstance(s, cst.FunctionDef)
            }
        return found

    def method(self, class_def: cst.ClassDef, name: str) -> cst.FunctionDef | None:
        """``name`` of ``class_def`` or of a base class defined in this module."""
        seen: set[int] = set()
        pending = [class_def]
        while pending:
            current = pending.pop(0)
            if id(current) in seen:
                continue
            seen.add(id(current))
            found = self.methods(current).get(name)
            if found is not None:
                return found
            pending.extend(self.base_classes(current))
        return None

    def base_classes(self, class_def: cst.ClassDef) -> list[cst.ClassDef]:
        return [c for base in class_def.bases for c in self.classes_named(base.value)]

    def base_names(self, class_def: cst.ClassDef) -> frozenset[str]:
        """Qualified names of the bases, with those of module base classes, transitively."""
        found: set[str] = set()
        for base in class_def.bases:
            found |= self.names.qualified(base.value)
            for inner in self.classes_named(base.value):
                if inner is not class_def:
                    found |= self.base_names(inner)
        return frozenset(found)

    def subclasses(self, class_def: cst.ClassDef) -> list[cst.ClassDef]:
        return [c for c in self.classes if any(b is class_def for b in self.base_classes(c))]

    def classes_named(self, node: cst.BaseExpression) -> list[cst.ClassDef]:
        """The module classes ``node`` (a name) may refer to."""
        return [d for d in self._bound(node) if isinstance(d, cst.ClassDef)]

    def _bound(self, node: cst.BaseExpression) -> list[cst.CSTNode]:
        if not isinstance(node, cst.Name):
            return []
        scope = self.scopes.get(node)
        if scope is None:
            return []
        return [a.node for a in scope[node.value] if hasattr(a, "node")]  # builtins have none

    def own_class(self, node: cst.CSTNode) -> cst.ClassDef | None:
        """The class of the method that holds ``node`` (what ``self``/``cls`` mean there)."""
        function = self.tree.enclosing_function(node)
        while isinstance(function, cst.Lambda):
            function = self.tree.enclosing_function(function)
        if function is None:
            return None
        owner = self.tree.method_class(function)
        if owner is None:  # a function nested in a method still sees its self
            return self.own_class(function)
        return owner

    def is_self(self, node: cst.BaseExpression) -> bool:
        """``self`` or ``cls``: the first parameter of the method holding ``node``."""
        if not isinstance(node, cst.Name):
            return False
        function = self.tree.enclosing_function(node)
        while function is not None:
            if isinstance(function, cst.FunctionDef) and self.tree.method_class(function):
                if self._static(function):
                    return False  # its first parameter is whatever the caller passes
                params = function.params.params or function.params.posonly_params
                return bool(params) and params[0].name.value == node.value
            function = self.tree.enclosing_function(function)
        return False

    def _static(self, function: cst.FunctionDef) -> bool:
        static = holder_shapes().static_methods
        return any(self.names.qualified(d.decorator) & static for d in function.decorators)

    def instance_classes(self, node: cst.BaseExpression) -> list[cst.ClassDef]:
        """The module classes of which ``node`` (a module-level name) is an instance, when every
        binding of the name is ``name = Class(...)``."""
        found: list[cst.ClassDef] = []
        for bound in self._bound(node):
            assign = self._assign_of(bound)
            if assign is None or not isinstance(assign.value, cst.Call):
                return []
            classes = self.classes_named(assign.value.func)
            if not classes:
                return []
            found.extend(classes)
        return found

    def _assign_of(self, bound: cst.CSTNode) -> cst.Assign | None:
        target = self.tree.parents.get(bound)
        assign = self.tree.parents.get(target) if isinstance(target, cst.AssignTarget) else None
        return assign if isinstance(assign, cst.Assign) else None

    def receiver_classes(self, receiver: cst.BaseExpression) -> list[cst.ClassDef]:
        """The classes whose attributes ``receiver.attr`` reads: ``self``/``cls`` in a method,
        a class name, a module-level instance."""
        if self.is_self(receiver):
            owner = self.own_class(receiver)
            return [owner] if owner is not None else []
        return self.classes_named(receiver) or self.instance_classes(receiver)

    # -- functions -----------------------------------------------------------------------

    def functions(self, node: cst.BaseExpression, wrappers: frozenset[str] = frozenset()) -> list[Function]:
        """The functions of this module a callable expression may be: ``f``, a method through
        ``self``/``cls``/a class/an instance, a lambda, ``partial(f, ...)`` (or a call of one of
        ``wrappers`` with ``f`` first), a list of those."""
        if isinstance(node, cst.Lambda):
            return [node]
        if isinstance(node, cst.Name):
            found: list[Function] = []
            for bound in self._bound(node):
                if isinstance(bound, cst.FunctionDef):
                    found.append(bound)
                else:
                    assign = self._assign_of(bound)
                    if assign is not None and isinstance(assign.value, cst.Lambda):
                        found.append(assign.value)
            return found
        if isinstance(node, cst.Attribute):
            return [
                method
                for class_def in self.receiver_classes(node.value)
                if (method := self.method(class_def, node.attr.value)) is not None
            ]
        if isinstance(node, cst.Call) and self.names.calls(node, PARTIAL | wrappers) and node.args:
            return self.functions(node.args[0].value, wrappers)
        if isinstance(node, (cst.List, cst.Tuple)):
            return [f for element in node.elements for f in self.functions(element.value, wrappers)]
        return []

    def callees(self, call: cst.Call) -> list[Function]:
        """What calling ``call`` runs in this module: functions, methods, and ``__init__`` (and
        ``__post_init__``) of a class being instantiated."""
        found = self.functions(call.func)
        for class_def in self.classes_named(call.func):
            for name in ("__init__", "__post_init__"):
                method = self.method(class_def, name)
                if method is not None:
                    found.append(method)
        return found

    def is_module_level_name(self, node: cst.Name) -> bool:
        scope = self.scopes.get(node)
        return isinstance(scope, GlobalScope)
