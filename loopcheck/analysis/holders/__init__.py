"""Where a loop-bound object lives once created, and every place that reads or rewrites it.

The same question is asked of a lock, a queue, an event loop and an async client: after
``x = <creation>``, who holds ``x``? A local variable (each binding on its own), a module global,
a class attribute, an instance attribute (of a process-wide singleton or not), a container at
module or class level (a registry), a function cache, a default argument, a closure variable;
or nothing, when the object is used where it is made, or it escapes to code this module does not
show. Rules decide from the holder whether more than one event loop can reach the object.

``kinds`` has the holder types, ``classify`` finds a value's holder, ``singletons`` the classes
the process shares one instance of, ``accesses`` the reads and writes of a holder, ``values``
what names are bound to. Rules ask :class:`Holders` (``analysis.holders``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.analysis.holders.accesses import Accesses, lazy_global_getter
from loopcheck.analysis.holders.classify import Classifier
from loopcheck.analysis.holders.kinds import (
    LAZY_HOLDERS,
    ClassAttribute,
    ClassRegistry,
    ClosureVariable,
    DefaultArgument,
    Escapes,
    FunctionCache,
    Held,
    Holder,
    InstanceAttribute,
    LocalRegistry,
    LocalVariable,
    ModuleGlobal,
    ModuleRegistry,
    Registry,
    SharedBy,
    Singleton,
    SingletonAttribute,
    SingletonRegistry,
    Temporary,
)
from loopcheck.analysis.holders.values import BoundValues

if TYPE_CHECKING:
    from loopcheck.analysis import FileAnalysis

__all__ = [
    "LAZY_HOLDERS", "ClassAttribute", "ClassRegistry", "ClosureVariable", "DefaultArgument", "Escapes",
    "FunctionCache", "Held", "Holder", "Holders", "InstanceAttribute", "LocalRegistry", "LocalVariable",
    "ModuleGlobal", "ModuleRegistry", "Registry", "SharedBy", "Singleton", "SingletonAttribute",
    "SingletonRegistry", "Temporary", "lazy_global_getter",
]


class Holders:
    """The holder facts of one file, computed as rules ask for them."""

    def __init__(self, analysis: FileAnalysis) -> None:
        self.values = BoundValues(analysis)
        self.classifier = Classifier(analysis, self.values)
        self.accesses = Accesses(analysis, self.classifier)

    # -- where a value goes ---------------------------------------------------------------

    def of(self, creation: cst.BaseExpression) -> Holder:
        """The holder of the object ``creation`` makes (or of any value expression)."""
        return self.classifier.of(creation)

    def outer_value(self, node: cst.BaseExpression) -> cst.BaseExpression:
        """``node`` extended through the expressions that pass it on unchanged."""
        return self.classifier.outer_value(node)

    def defined_in_class_body(self, class_def: cst.ClassDef, name: str) -> bool:
        return self.classifier.defined_in_class_body(class_def, name)

    # -- what names are bound to ------------------------------------------------------------

    def assigned_values(self, name: cst.Name) -> list[cst.BaseExpression | None]:
        return self.values.assigned_values(name)

    def value_bound_by(self, bound: cst.CSTNode) -> cst.BaseExpression | None:
        return self.values.value_bound_by(bound)

    def under_loop_change(self, node: cst.CSTNode) -> bool:
        return self.values.under_loop_change(node)

    # -- reads and writes -------------------------------------------------------------------

    def accesses_of(self, holder: Holder) -> list[cst.CSTNode] | None:
        return self.accesses.of(holder)

    def name_accesses(self, name: cst.Name) -> list[cst.CSTNode]:
        """Every binding and read of the variable ``name`` belongs to, in source order."""
        return self.accesses.name_accesses(name)

    def attribute_accesses(self, class_def: cst.ClassDef, name: str) -> list[cst.CSTNode] | None:
        return self.accesses.attribute_accesses(class_def, name)

    def kept_parameter(self, name: cst.Name) -> str | None:
        return self.accesses.kept_parameter(name)

    def calls_of(self, function: cst.FunctionDef) -> Iterator[cst.Call]:
        return self.accesses.calls_of(function)

    def getters(self, holder: Holder) -> list[cst.FunctionDef]:
        return self.accesses.getters(holder)
