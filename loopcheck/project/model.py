"""The summaries of a project's modules, and names resolved across them.

A name as written in a module (``helpers.run_async``, ``self.pool``, ``redis_client.get``) is
resolved to what it stands for in the project: a function, a class, a holder of a loop-bound
object, a module-level instance, or a module. Names the project does not define (the standard
library, installed packages) resolve to None: the reach stops there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from loopcheck.project.records import ModuleSummary

# How many re-exports (``from .x import y`` in a package ``__init__``) a name is followed through.
MAX_ALIAS_HOPS = 8


@dataclass(frozen=True)
class Target:
    """What a name stands for. ``kind``: ``function`` (``name`` is its qualified name in
    ``module``, methods as ``Class.method``), ``class``, ``holder`` (``name`` as in
    :class:`~loopcheck.project.records.Holder`), ``instance`` (a module-level instance; ``name``
    is the global, ``of`` the class's target when the model knows it) or ``module``."""

    kind: str
    module: str
    name: str = ""
    of: Target | None = None


class ProjectModel:
    """The summaries of one project, by module name."""

    def __init__(self, summaries: Iterable[ModuleSummary]) -> None:
        self.modules: dict[str, ModuleSummary] = {s.module: s for s in summaries}
        self.by_path: dict[str, ModuleSummary] = {s.path: s for s in self.modules.values()}

    def resolve(self, module: str, dotted: str, within_class: str | None = None) -> Target | None:
        """What ``dotted``, written in ``module`` (inside a method of ``within_class``, where
        ``self.x``/``cls.x`` name the class's members), stands for; None when the project does not
        define it."""
        summary = self.modules.get(module)
        if summary is None:
            return None
        head, *rest = dotted.split(".")
        if head in ("self", "cls") and within_class is not None:
            start: Target | None = Target("class", module, within_class)
        else:
            start = self._global(summary, head, 0)
        for part in rest:
            if start is None:
                return None
            start = self._member(start, part)
        return start

    def _global(self, summary: ModuleSummary, name: str, hops: int) -> Target | None:
        """A name bound at the top of ``summary``'s module."""
        if summary.holder(name) is not None:
            return Target("holder", summary.module, name)
        if summary.function(name) is not None:
            return Target("function", summary.module, name)
        if any(c.name == name for c in summary.classes):
            return Target("class", summary.module, name)
        instance = dict(summary.instances).get(name)
        if instance is not None:
            return Target("instance", summary.module, name, self.resolve(summary.module, instance))
        imported = dict(summary.imports).get(name)
        if imported is not None and hops < MAX_ALIAS_HOPS:
            return self._absolute(imported, hops + 1)
        return None

    def _absolute(self, dotted: str, hops: int) -> Target | None:
        """An absolute dotted name: the longest module prefix the project has, then its members."""
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            module = ".".join(parts[:cut])
            if module in self.modules:
                target: Target | None = Target("module", module)
                for part in parts[cut:]:
                    if target is None:
                        return None
                    target = self._member(target, part, hops)
                return target
        return None

    def _member(self, target: Target, name: str, hops: int = 0) -> Target | None:
        """``name`` looked up on what ``target`` stands for."""
        if target.kind == "module":
            summary = self.modules.get(target.module)
            if summary is None:
                return None
            submodule = f"{target.module}.{name}"
            found = self._global(summary, name, hops)
            if found is None and submodule in self.modules:
                return Target("module", submodule)
            return found
        if target.kind == "instance":
            return self._member(target.of, name, hops) if target.of is not None else None
        if target.kind == "class":
            return self._class_member(target.module, target.name, name, set())
        return None

    def _class_member(self, module: str, cls: str, name: str, seen: set[tuple[str, str]]) -> Target | None:
        """``name`` on class ``cls`` of ``module``, or on one of its bases the project defines."""
        if (module, cls) in seen:
            return None
        seen.add((module, cls))
        summary = self.modules[module]
        qualified = f"{cls}.{name}"
        if summary.holder(qualified) is not None:
            return Target("holder", module, qualified)
        if summary.function(qualified) is not None:
            return Target("function", module, qualified)
        record = next((c for c in summary.classes if c.name == cls), None)
        for base in record.bases if record is not None else ():
            found = self.resolve(module, base)
            if found is not None and found.kind == "class":
                member = self._class_member(found.module, found.name, name, seen)
                if member is not None:
                    return member
        return None
