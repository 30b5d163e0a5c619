"""Whether the project model can change what a run reports in a file, decided from that file
alone, so that a run over a few files the model cannot touch does not build it (a model summarises
every entry module of the project: most of a one-file run's time).

The model changes a file's result in two ways (``run/project.py``):

- the project rules add findings, each at a place of the module's own summary: a holder's
  creation (LCK107, LCK307), a loop start (LCK207, LCK406) or a module-level instance of a class
  another module defines (LCK306). A module with no holder, no loop start and no instance that can
  resolve into another module of the project holds no such place (:func:`may_hold_project_findings`);
- its per-file findings get evidence, a note or a dropped line (``evidence.attach``) when they
  are of the object families LCK1xx and LCK3xx (about a holder, or noted where no loop reaches it)
  or of the loop family LCK2xx (a loop started, or served, on their line); LCK4xx findings only on
  a holder's line, which such a module has none of; and a fix whose safety waits on the callers
  (``Fix.safe_when``) is made safe by what the model proves (:func:`findings_need_reach`).

An instance ``name = callee(...)`` resolves as ``ProjectModel.resolve`` resolves ``callee``: a
name the module defines as a function, class or holder stays in the module; another instance is
followed to its own callee; an imported name (or one a ``from x import *`` may bring) may lead into
the project only when the first part of the module it names is the name of a directory or module
of the project (every module name is made of those: ``project_parts``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.project.evidence import LOOP_FAMILY, LOOP_LOOKUPS, OBJECT_FAMILIES
from loopcheck.project.records import ModuleSummary

# The families whose findings the reach changes wherever they are (see the module's description).
_REACHED_FAMILIES = tuple(family for family in (*OBJECT_FAMILIES, LOOP_FAMILY) if family != LOOP_LOOKUPS)


def findings_need_reach(diagnostics: Iterable[Diagnostic]) -> bool:
    """Whether the reach can change any of ``diagnostics`` (per-file findings of a module with no
    holder: see the module's description)."""
    return any(
        d.code.startswith(_REACHED_FAMILIES) or (d.fix is not None and d.fix.safe_when is not None)
        for d in diagnostics
    )


def may_hold_project_findings(summary: ModuleSummary, in_project: Callable[[str], bool]) -> bool:
    """Whether a project rule may report in ``summary``'s module: it keeps a loop-bound object,
    starts a loop, or makes a module-level instance of something that may come from another module
    of the project. ``in_project``: whether a top-level name may be a module of the project."""
    if summary.holders or any(function.starts for function in summary.functions):
        return True
    return any(_may_leave(summary, callee, in_project, set()) for _, callee in summary.instances)


def _may_leave(summary: ModuleSummary, dotted: str, in_project: Callable[[str], bool], seen: set[str]) -> bool:
    """Whether ``dotted``, written at the top of ``summary``'s module, may resolve to something of
    another module of the project (as ``ProjectModel._global`` looks a name up, in its order)."""
    head = dotted.partition(".")[0]
    if head in seen:
        return False
    seen.add(head)
    if summary.holder(head) is not None or summary.function(head) is not None:
        return False
    if any(c.name == head for c in summary.classes):
        return False
    imported = dict(summary.imports).get(head)
    instance = dict(summary.instances).get(head)
    if instance is not None:
        if instance.partition(".")[0] != head and _may_leave(summary, instance, in_project, seen):
            return True
        # ``client = client()``: the instance is made by the import of its own name.
    if imported is not None:
        return in_project(imported.partition(".")[0])
    if instance is not None or head.startswith("_"):
        return False
    return any(in_project(star.partition(".")[0]) for star in summary.star_imports)


def project_parts(paths: Iterable[str], renamed: Iterable[str] = ()) -> frozenset[str]:
    """Every name a module of the project at ``paths`` (its Python files) can begin with: each
    directory and file stem on those paths, and each part of a package name its configuration
    gives a directory (``renamed``)."""
    parts: set[str] = set()
    for path in paths:
        directory, name = os.path.split(os.path.abspath(path))
        parts.add(name[:-3] if name.endswith(".py") else name)
        parts.update(directory.split(os.sep))
    for name in renamed:
        parts.update(name.split("."))
    return frozenset(parts)
