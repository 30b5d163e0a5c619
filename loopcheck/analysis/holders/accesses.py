"""Every place that reads or rewrites a holder: the bindings and reads of a variable, the
accesses of an attribute of a class, the calls of a cached function; the getters that hand the
held object out, and the lazy-getter idiom (``global x`` / ``if x is None: x = ...`` /
``return x``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.analysis.holders.kinds import (
    ClassAttribute,
    ClassRegistry,
    ClosureVariable,
    DefaultArgument,
    FunctionCache,
    Holder,
    InstanceAttribute,
    LocalRegistry,
    LocalVariable,
    ModuleGlobal,
    ModuleRegistry,
    SingletonAttribute,
    SingletonRegistry,
    is_store,
)
from loopcheck.analysis.tree import (
    all_params,
    comparison_parts,
    descendants,
    has_docstring,
    is_name,
    is_none,
    sole_statement,
    sole_target,
)

if TYPE_CHECKING:
    from loopcheck.analysis import FileAnalysis
    from loopcheck.analysis.holders.classify import Classifier


class Accesses:
    def __init__(self, analysis: FileAnalysis, classifier: Classifier) -> None:
        self.analysis = analysis
        self.tree = analysis.tree
        self.classifier = classifier

    def of(self, holder: Holder) -> list[cst.CSTNode] | None:
        """Every expression that names ``holder``, in source order; None when some access cannot
        be told apart."""
        if isinstance(holder, LocalVariable):
            reads = self.analysis.flow.reads_of(holder.target)
            return sorted([holder.target, *reads], key=self.analysis.names.index_order)
        if isinstance(holder, (ModuleGlobal, ClosureVariable, DefaultArgument)):
            return self.name_accesses(holder.target)
        if isinstance(holder, (ModuleRegistry, LocalRegistry)):
            container = holder.container
            return self.name_accesses(container) if isinstance(container, cst.Name) else None
        if isinstance(holder, (ClassAttribute, InstanceAttribute, SingletonAttribute, SingletonRegistry)):
            return self.attribute_accesses(holder.owner, holder.name)
        if isinstance(holder, ClassRegistry) and holder.owner is not None:
            return self.attribute_accesses(holder.owner, holder.name)
        if isinstance(holder, FunctionCache):
            return list(self.calls_of(holder.owner))
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
            if self.classifier.is_class_receiver(attribute.value):
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
                        if is_name(target.target, name):
                            found.append(target.target)
        return sorted(found, key=self.analysis.names.index_order)

    def kept_parameter(self, name: cst.Name) -> str | None:
        """The attribute of ``self`` in which a method keeps its parameter ``name`` reads:
        ``self.attr = name``, a statement of the method's own body before the one that reads
        ``name``, where the parameter is bound nowhere else and the attribute is written
        nowhere else in this module, so that ``self.attr`` holds the argument from then on.
        None otherwise."""
        scope, tree = self.analysis.scopes.get(name), self.tree
        bindings = list(scope[name.value]) if scope is not None else []
        param = getattr(bindings[0], "node", None) if len(bindings) == 1 else None
        method = tree.parents.get(tree.parents.get(param)) if isinstance(param, cst.Param) else None
        if not isinstance(method, cst.FunctionDef) or not isinstance(method.body, cst.IndentedBlock):
            return None
        class_def = tree.method_class(method)
        body = list(method.body.body)
        reading = next((i for i, statement in enumerate(body) if tree.within(name, statement)), len(body))
        for statement in body[:reading] if class_def is not None else ():
            assign = sole_statement(statement)
            target = sole_target(assign)
            if (
                isinstance(assign, cst.Assign)
                and isinstance(target, cst.Attribute)
                and is_name(assign.value, name.value)
                and self.analysis.definitions.is_self(target.value)
            ):
                accesses = self.attribute_accesses(class_def, target.attr.value)
                if accesses is not None and [a for a in accesses if is_store(tree.parents, a)] == [target]:
                    return target.attr.value
        return None

    def calls_of(self, function: cst.FunctionDef) -> Iterator[cst.Call]:
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
                r for r in descendants(function.body, cst.Return)
                if self.tree.enclosing_function(r) is function
            ]
            if all(id(r.value) in reads for r in returns):
                found.append(function)
        return found


def lazy_global_getter(function: cst.FunctionDef, creation: cst.CSTNode) -> str | None:
    """The global's name when ``function`` is exactly the lazy-getter idiom around ``creation``:
    ``global name`` / ``if name is None: name = <creation>`` / ``return name``."""
    body = list(function.body.body)
    if has_docstring(body):
        body = body[1:]
    if len(body) != 3:
        return None
    declare, check, give = body
    declared = sole_statement(declare)
    if not (isinstance(declared, cst.Global) and len(declared.names) == 1):
        return None
    name = declared.names[0].name.value
    if not (isinstance(check, cst.If) and check.orelse is None and _is_unset(check.test, name)):
        return None
    block = check.body
    stored = sole_statement(block.body[0]) if isinstance(block, cst.IndentedBlock) and len(block.body) == 1 else None
    if not (isinstance(stored, cst.Assign) and is_name(sole_target(stored), name) and stored.value is creation):
        return None
    given = sole_statement(give)
    if not (isinstance(given, cst.Return) and is_name(given.value, name)):
        return None
    return name


def _is_unset(test: cst.BaseExpression, name: str) -> bool:
    """``name is None`` or ``not name``."""
    if isinstance(test, cst.UnaryOperation):
        return isinstance(test.operator, cst.Not) and is_name(test.expression, name)
    parts = comparison_parts(test)
    return parts is not None and is_name(parts[0], name) and isinstance(parts[1], cst.Is) and is_none(parts[2])
