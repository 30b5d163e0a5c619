"""Where a module global that a fix would make per-loop is used outside coroutines.

A per-loop object (an instance per event loop, or a proxy that keeps a public name importable and
forwards to the running loop's object) is picked by the running loop: code that reads the name
where no loop runs (a plain function, a module's import-time code, a lambda or class body
there) gets a RuntimeError instead of the object. Such a fix stands only where the model sees
every use: in the name's module, in the modules importing it (``from m import x``, ``m.x``
through ``import m``, ``from m import *``), and in those importing it from a module that
re-exports it (a package's ``__init__``). A module of the project that imports one of them but could not be read or
parsed (newer syntax than the Python running loopcheck, say) may use it anywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from loopcheck.project.records import MODULE_CODE

if TYPE_CHECKING:
    from loopcheck.project.model import ProjectModel
    from loopcheck.project.records import ModuleSummary

# The kinds of target a module global resolves to: a module-level instance of a project class, or
# a holder of a loop-bound object.
GLOBAL_KINDS = ("instance", "holder")
# How many re-exports (an importer that binds the name again) are followed.
MAX_REEXPORTS = 8


class OutsideUse(NamedTuple):
    """A place that keeps a per-loop fix of a module global from standing: ``place`` names the
    function (``app.tasks: cleanup()``, ``its import-time code`` in the global's own module) or
    the module that could not be read; ``unread``: it is such a module, whose uses are unknown."""

    place: str
    unread: bool = False

    def reason(self, outside: str) -> str:
        """Why the fix is declined; ``outside``: what the fix's object does where no loop runs
        (``no loop runs to pick an instance by``)."""
        if self.unread:
            return (
                f"{self.place} may import it, and loopcheck could not read or parse that module: its uses are not known"
            )
        return f"{self.place} uses it outside coroutines, where {outside}"


def unread_importer(model: ProjectModel, module: str) -> OutsideUse | None:
    """The first module of the project whose import lines name ``module`` that could not be read
    or parsed: any of ``module``'s globals may be used there, and how is not known."""
    unread = next((name for name in sorted(model.importers(module)) if model.summary(name) is None), None)
    return None if unread is None else OutsideUse(unread, unread=True)


def outside_use(model: ProjectModel, module: str, name: str, *, own: bool = True) -> OutsideUse | None:
    """The first use of ``name``, a global of ``module``, outside a coroutine: in ``module``
    itself (with ``own``), in a module importing it, or importing it from a module that
    re-exports it; or the first such importer that could not be read. None when every use the
    model sees is in a coroutine."""
    # Where the global can be imported from, as (module, name there): its own, then re-exports.
    sources = [(module, name)]
    readers = [module] if own else []
    readers += sorted(model.importers(module))
    seen: set[str] = set()
    while readers:
        reader = readers.pop(0)
        if reader in seen:
            continue
        seen.add(reader)
        summary = model.summary(reader)
        if summary is None:
            return OutsideUse(reader, unread=True)
        heads, bound = _heads(summary, sources)
        if reader == module:
            heads.add(name)
        if bound and len(sources) <= MAX_REEXPORTS:  # a re-export: its importers may use it too
            sources += [(reader, local) for local in bound]
            readers += sorted(model.importers(reader))
        found = _first_outside(model, summary, heads, f"{module}.{name}")
        if found is not None:
            return OutsideUse(found if reader == module else f"{reader}: {found}")
    return None


def _heads(summary: ModuleSummary, sources: list[tuple[str, str]]) -> tuple[set[str], list[str]]:
    """The names a reference to the global starts with in ``summary``'s module (an import of it,
    of its module or of a package above; a star import's), and, for a package, those of them
    that bind the global itself (it re-exports the global under them)."""
    heads: set[str] = set()
    bound: list[str] = []
    for source, global_name in sources:
        qualified = f"{source}.{global_name}"
        for local, imported in summary.imports:
            if f"{qualified}.".startswith(f"{imported}."):
                heads.add(local)
                if summary.is_package and imported == qualified and (summary.module, local) not in sources:
                    bound.append(local)
        if source in summary.star_imports and not global_name.startswith("_"):
            heads.add(global_name)
            if summary.is_package and (summary.module, global_name) not in sources:
                bound.append(global_name)
    return heads, bound


def _first_outside(model: ProjectModel, summary: ModuleSummary, heads: set[str], qualified: str) -> str | None:
    """The first function of ``summary``'s module, not a coroutine, with a reference that starts
    with one of ``heads`` and goes through the global ``qualified``: ``f()``, or ``its
    import-time code``."""
    for function in summary.functions:
        if function.is_async:
            continue
        for reference in function.references:
            head = reference.dotted.partition(".")[0]
            if head in heads and _names(model, summary.module, reference.dotted, qualified):
                return "its import-time code" if function.name == MODULE_CODE else f"{function.name}()"
    return None


def _names(model: ProjectModel, written_in: str, dotted: str, qualified: str) -> bool:
    """Whether ``dotted``, written in ``written_in``, goes through the module global ``qualified``."""
    parts = dotted.split(".")
    for cut in range(1, len(parts) + 1):
        target = model.resolve(written_in, ".".join(parts[:cut]))
        if target is not None and target.kind in GLOBAL_KINDS and f"{target.module}.{target.name}" == qualified:
            return True
    return False
