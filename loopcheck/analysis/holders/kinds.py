"""The kinds of holder, one frozen type each: what a lock, a queue, an event loop or an async
client is kept in once made, with the facts that kind has (its name, the node that takes the
value, the class or function it belongs to), and the reads and writes of it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

import libcst as cst

if TYPE_CHECKING:
    from loopcheck.analysis import FileAnalysis


class Held(enum.Enum):
    LOCAL = enum.auto()
    MODULE_GLOBAL = enum.auto()
    CLASS_ATTRIBUTE = enum.auto()
    INSTANCE_ATTRIBUTE = enum.auto()
    SINGLETON_ATTRIBUTE = enum.auto()  # an attribute of a process-wide instance
    MODULE_CONTAINER = enum.auto()
    CLASS_CONTAINER = enum.auto()
    FUNCTION_CACHE = enum.auto()
    DEFAULT_ARGUMENT = enum.auto()
    CLOSURE = enum.auto()
    TEMPORARY = enum.auto()  # nothing: it is used where it is made
    ESCAPES = enum.auto()  # kept by code this module does not show

    @property
    def outlives_a_call(self) -> bool:
        """Whether the object stays reachable after the code that made it returns."""
        return self not in (Held.LOCAL, Held.TEMPORARY, Held.ESCAPES, Held.INSTANCE_ATTRIBUTE)


# Holders a function can fill lazily (``if x is None: x = <creation>``) whose object then outlives
# the loop that made it.
LAZY_HOLDERS = frozenset(
    {Held.MODULE_GLOBAL, Held.CLASS_ATTRIBUTE, Held.MODULE_CONTAINER, Held.CLASS_CONTAINER, Held.FUNCTION_CACHE}
)


class SharedBy(enum.Enum):
    """How the process comes to share one instance of a class."""

    MODULE_INSTANCE = "module-level instance"  # `manager = Manager()`
    GLOBAL_SINGLETON = "global singleton"  # `global _manager; _manager = Manager()` in a getter
    CACHED_FACTORY = "cached factory"  # `@lru_cache def manager(): return Manager()`
    CLASS_ATTRIBUTE = "class attribute"  # `cls._instance = cls()`, `__new__`


@dataclass(frozen=True)
class Singleton:
    """Why instances of a class are shared by the whole process."""

    shared_by: SharedBy
    name: str  # the variable, the getter's global, the cached factory, or `Class.attribute`
    node: cst.CSTNode  # the statement or function that makes the shared instance


@dataclass(frozen=True, eq=False, kw_only=True)
class Holder:
    """Where the value ``value`` (the creation, or ``x or <creation>``) is kept; ``store`` is the
    node that puts it there (an Assign, AnnAssign, Param, WithItem, Return, or the call it is
    passed to). Each kind is a subclass."""

    kind: ClassVar[Held]
    value: cst.BaseExpression
    store: cst.CSTNode
    analysis: FileAnalysis = field(repr=False)

    @property
    def per_loop(self) -> bool:
        """Whether each event loop gets an object of its own: the holder is replaced (or
        cleared) whenever the running loop differs from the loop stored beside it (a registry
        keyed by the running loop also counts, see :class:`Registry`)."""
        return self.replaced_when_loop_changes

    @cached_property
    def replaced_when_loop_changes(self) -> bool:
        """``if self._sem is None or self._loop is not asyncio.get_running_loop(): self._sem =
        Semaphore(); self._loop = loop``: some write of the holder (this creation, or a reset
        elsewhere) runs only when the running loop is not the one the object was made for."""
        holders = self.analysis.holders
        stores = (self.writes if self.followable else []) or [self.value]
        return any(holders.under_loop_change(store) for store in stores)

    @cached_property
    def accesses(self) -> list[cst.CSTNode] | None:
        """Every expression that names the holder (reads and writes), in source order; None
        when some access cannot be told apart (``obj.lock`` through an unknown object)."""
        return self.analysis.holders.accesses_of(self)

    @property
    def followable(self) -> bool:
        return self.accesses is not None

    @cached_property
    def reads(self) -> list[cst.CSTNode]:
        """The expressions that evaluate to the held object."""
        parents = self.analysis.tree.parents
        return [a for a in self.accesses or () if not is_store(parents, a)]

    @cached_property
    def writes(self) -> list[cst.CSTNode]:
        """The targets that (re)bind the holder, this holder's own store among them."""
        parents = self.analysis.tree.parents
        return [a for a in self.accesses or () if is_store(parents, a)]


def is_store(parents: dict, node: cst.CSTNode) -> bool:
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


# -- variables -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class LocalVariable(Holder):
    kind = Held.LOCAL
    name: str
    target: cst.Name


@dataclass(frozen=True, eq=False, kw_only=True)
class ModuleGlobal(Holder):
    kind = Held.MODULE_GLOBAL
    name: str
    target: cst.Name
    owner: cst.Module  # the scope the name belongs to


@dataclass(frozen=True, eq=False, kw_only=True)
class ClosureVariable(Holder):
    kind = Held.CLOSURE
    name: str
    target: cst.Name
    owner: cst.CSTNode  # the function whose variable it is (its `nonlocal` users are inside)


@dataclass(frozen=True, eq=False, kw_only=True)
class DefaultArgument(Holder):
    kind = Held.DEFAULT_ARGUMENT
    name: str
    target: cst.Name  # the parameter's name
    owner: cst.FunctionDef | cst.Lambda


# -- attributes ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class ClassAttribute(Holder):
    kind = Held.CLASS_ATTRIBUTE
    name: str
    target: cst.Name | cst.Attribute  # `name = ...` in the class body, or `cls.name = ...`
    owner: cst.ClassDef


@dataclass(frozen=True, eq=False, kw_only=True)
class InstanceAttribute(Holder):
    kind = Held.INSTANCE_ATTRIBUTE
    name: str
    target: cst.Attribute
    owner: cst.ClassDef


@dataclass(frozen=True, eq=False, kw_only=True)
class SingletonAttribute(Holder):
    """An attribute of the one instance the process shares (``self.lock`` of a class whose
    instance is module-level, ``manager.lock = ...``)."""

    kind = Held.SINGLETON_ATTRIBUTE
    name: str
    target: cst.Attribute
    owner: cst.ClassDef
    singleton: Singleton
    through: str  # what code reaches the attribute through: the class's name or the instance's


# -- registries ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class Registry(Holder):
    """A container the value is stored in: ``registry[key] = value`` (``target`` is the
    subscript) or ``registry.setdefault(key, value)`` (no target)."""

    name: str  # the container's variable or attribute
    container: cst.BaseExpression
    target: cst.Subscript | None
    keyed_by_loop: bool  # a container keyed by the running loop: one entry per loop

    @property
    def per_loop(self) -> bool:
        return self.keyed_by_loop or super().per_loop


@dataclass(frozen=True, eq=False, kw_only=True)
class ModuleRegistry(Registry):
    kind = Held.MODULE_CONTAINER


@dataclass(frozen=True, eq=False, kw_only=True)
class ClassRegistry(Registry):
    kind = Held.CLASS_CONTAINER
    owner: cst.ClassDef | None  # None for a bare name filled in the class body itself


@dataclass(frozen=True, eq=False, kw_only=True)
class LocalRegistry(Registry):
    kind = Held.LOCAL


@dataclass(frozen=True, eq=False, kw_only=True)
class SingletonRegistry(Registry):
    """A registry kept in an attribute of the one instance the process shares."""

    kind = Held.SINGLETON_ATTRIBUTE
    owner: cst.ClassDef
    singleton: Singleton
    through: str


# -- kept by no variable of this module ------------------------------------------------------


@dataclass(frozen=True, eq=False, kw_only=True)
class FunctionCache(Holder):
    """What a cached function returns (``store`` is the ``return``)."""

    kind = Held.FUNCTION_CACHE
    name: str
    owner: cst.FunctionDef
    target: ClassVar[None] = None


@dataclass(frozen=True, eq=False, kw_only=True)
class Temporary(Holder):
    """Used where it is made: an argument of nothing, a ``with`` item without ``as``."""

    kind = Held.TEMPORARY
    target: ClassVar[None] = None


@dataclass(frozen=True, eq=False, kw_only=True)
class Escapes(Holder):
    """Handed to code this module does not show: returned, passed to a call, stored in a target
    or an object this analysis does not follow."""

    kind = Held.ESCAPES
    target: ClassVar[None] = None
