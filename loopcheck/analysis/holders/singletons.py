"""Classes the whole process shares one instance of: a module-level instance, a global singleton
getter, a cached factory, a class-level ``_instance`` (set by a classmethod or by ``__new__``).
An attribute of such an instance is reached by every event loop of the process."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst

from loopcheck.analysis.holders.kinds import ClassAttribute, FunctionCache, ModuleGlobal, SharedBy, Singleton
from loopcheck.analysis.tree import is_name

if TYPE_CHECKING:
    from loopcheck.analysis import FileAnalysis
    from loopcheck.analysis.holders.classify import Classifier


class SharedInstances:
    def __init__(self, analysis: FileAnalysis, classifier: Classifier) -> None:
        self.analysis = analysis
        self.tree = analysis.tree
        self.classifier = classifier
        # While the shared instances are being found, holders are asked where each instance
        # goes; they must not ask for the shared instances in turn.
        self.searching = False

    def singleton(self, class_def: cst.ClassDef) -> Singleton | None:
        """Why one instance of ``class_def`` is shared by the process, if it is."""
        if self.searching:
            return None
        return self._singletons.get(class_def)

    @cached_property
    def _singletons(self) -> dict[cst.ClassDef, Singleton]:
        self.searching = True
        try:
            return self._find_singletons()
        finally:
            self.searching = False

    def _find_singletons(self) -> dict[cst.ClassDef, Singleton]:
        found: dict[cst.ClassDef, Singleton] = {}
        for class_def in self.analysis.index.classes:
            for call in self._instantiations(class_def):
                reason = self._shared_instance(call)
                if reason is not None:
                    found.setdefault(class_def, reason)
        return found

    def _instantiations(self, class_def: cst.ClassDef) -> Iterator[cst.Call]:
        """The calls that make an instance of ``class_def``: ``Class()``, ``cls()`` in its
        methods, ``super().__new__(cls)`` in its ``__new__``."""
        definitions = self.analysis.definitions
        calls_by_leaf = self.analysis.index.calls_by_leaf
        for call in calls_by_leaf.get(class_def.name.value, ()):
            if (
                class_def in definitions.classes_named(call.func)
                or definitions.is_self(call.func)
                or is_name(call.func, "cls")
            ):
                yield call
        for call in calls_by_leaf.get("cls", ()):
            if definitions.own_class(call) is class_def:
                yield call
        # `def __new__(cls): if cls._instance is None: cls._instance = super().__new__(cls)`
        for call in calls_by_leaf.get("__new__", ()):
            method = self.tree.enclosing_function(call)
            if (
                isinstance(method, cst.FunctionDef)
                and method.name.value == "__new__"
                and self.tree.method_class(method) is class_def
            ):
                yield call

    def _shared_instance(self, call: cst.Call) -> Singleton | None:
        if self.tree.guard_of(call) is not None:
            return None  # a script's own instance, or one for type checkers
        holder = self.classifier.of(call)
        if isinstance(holder, ModuleGlobal):
            function = self.tree.enclosing_function(call)
            if function is None:
                return Singleton(SharedBy.MODULE_INSTANCE, holder.name, holder.store)
            return Singleton(SharedBy.GLOBAL_SINGLETON, holder.name, function)
        if isinstance(holder, FunctionCache):
            return Singleton(SharedBy.CACHED_FACTORY, holder.name, holder.owner)
        if isinstance(holder, ClassAttribute):
            return Singleton(SharedBy.CLASS_ATTRIBUTE, f"{holder.owner.name.value}.{holder.name}", holder.store)
        return None
