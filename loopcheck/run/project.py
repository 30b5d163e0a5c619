"""The project model in a run: built once, before any file's findings are shown, from the files
the run checks and the rest of the projects they belong to.

It changes a file's result in four ways (:meth:`ProjectView.finish`): findings about an object
get the loops that reach it as evidence; findings about an object one loop only ever reaches are
dropped (a single-loop design, not a bug); a fix that is unsafe only because a helper's parameter
may not be a coroutine is safe where every caller passes one (:meth:`proven`); and the project
rules add what only the model can see.
With fixing, the confined objects' findings must not be fixed either: :meth:`held_back` gives the
lines the pipeline leaves alone in each file.

The per-file results cache keeps findings without evidence (evidence depends on other files):
evidence is attached here, after the cache, on every run; the model caches its own summaries,
and its outcome (the reach and the project rules' findings) is kept for the next run, reused
while nothing it depends on has changed (``project.outcome``).
A model that cannot be built (an unexpected error) costs the evidence, never the findings: the
run says so in one line and goes on as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from loopcheck.data.catalogue import Catalogue
from loopcheck.engine.diagnostics import Diagnostic, Proven
from loopcheck.engine.limits import describe
from loopcheck.project.early import Offers
from loopcheck.project.evidence import attach, confined_lines, declined_fixes, proven_facts
from loopcheck.project.model import ProjectFiles, ProjectModel, list_project, project_files
from loopcheck.project.reach import Reach, compute_reach, real_path
from loopcheck.project.records import ModuleSummary
from loopcheck.project.relevance import may_hold_project_findings, project_parts
from loopcheck.project.roots import Roots
from loopcheck.project.selection import import_specs
from loopcheck.project.store import SummaryStore, catalogue_key
from loopcheck.run.sources import read_source
from loopcheck.settings.config import Settings

if TYPE_CHECKING:
    from loopcheck.project.outcome import Outcome


@dataclass
class ProjectView:
    """What the model says about the files of one run."""

    model: ProjectModel | None = None
    reach: Reach | None = None
    # Findings of the project rules, by absolute path.
    found: Mapping[str, list[Diagnostic]] = field(default_factory=dict)
    # Report objects one loop only reaches too (``--include-confined``), with that loop.
    keep_confined: bool = False
    # The files are fixed: the findings whose fix the fixing of their file builds (granted())
    # come back among that file's findings.
    fixing: bool = False
    _proven: dict[str, Proven] | None = field(default=None, init=False, repr=False)

    def finish(self, diagnostics: list[Diagnostic], path: str) -> list[Diagnostic]:
        """``diagnostics`` of ``path`` with their evidence, without those about confined objects,
        with the project rules' findings in ``path``; in the order findings are shown."""
        if self.reach is None:
            return diagnostics
        # Most files have no finding: no path is made real for them.
        fixable = any(d.fix is not None or d.withheld is not None for d in diagnostics)
        proven = self.proven().get(real_path(path)) if fixable else None
        if proven is not None:  # as fixing applies them (the results cache keeps them as the file alone has them)
            diagnostics = [d.proven(proven) for d in diagnostics]
        attached = attach(diagnostics, self.reach, keep_confined=self.keep_confined)
        extra = self.found.get(os.path.abspath(path), []) if self.found else []
        if self.fixing:
            extra = [d for d in extra if d.granted is None]
        return sorted([*attached, *extra], key=Diagnostic.sort_key) if extra else attached

    def held_back(self) -> dict[str, frozenset[int]]:
        """The lines of each file (by real path) whose findings the fixes leave alone."""
        return confined_lines(self.reach) if self.reach is not None and not self.keep_confined else {}

    def proven(self) -> dict[str, Proven]:
        """What the model shows of each file (by real path) that makes fixes unsafe only for
        want of it safe: the parameters every caller gives a coroutine, the names other modules
        import from it."""
        if self._proven is None:
            self._proven = proven_facts(self.reach) if self.reach is not None else {}
        return self._proven

    def granted(self) -> dict[str, tuple[Diagnostic, ...]]:
        """By real path, the project rules' findings whose fix is built where their file is fixed
        (``Diagnostic.granted``)."""
        granted: dict[str, tuple[Diagnostic, ...]] = {}
        for path, found in self.found.items():
            mine = tuple(d for d in found if d.granted is not None)
            if mine:
                granted[real_path(path)] = mine
        return granted

    def declined(self) -> dict[str, dict[int, str]]:
        """The lines of each file (by real path) whose findings keep no fix, with the reason."""
        return declined_fixes(self.reach) if self.reach is not None and not self.keep_confined else {}


def project_view(
    files: Sequence[str],
    settings: Settings,
    catalogue: Catalogue,
    enabled: Sequence[str],
    cache_dir: str | None,
    notify: Callable[[str], None],
    *,
    walked: Sequence[str] = (),
    texts: Mapping[str, str] | None = None,
    keep_confined: bool = False,
    found: ProjectFiles | None = None,
    offered: Offers | None = None,
) -> ProjectView:
    """The model of the projects ``files`` belong to, and the reach over it. ``walked``: the
    directories the run has listed already; ``texts``: files whose text is not on disk
    (standard input), by absolute path; ``found``: the projects' files, where
    :func:`model_files` found them already; ``offered``: summaries made where the files were
    checked (``project.early``)."""
    # Imported here: a run whose files the model cannot touch never builds it.
    from loopcheck.project.outcome import OutcomeStore

    try:
        directory = Path(cache_dir) if cache_dir else None
        files_of = found or model_files(files, settings, walked, texts)
        # The last run's reach and findings, when nothing they depend on has changed: no file
        # at all, or nothing the listing of the modules shows.
        kept = OutcomeStore(directory, files_of, catalogue, enabled)
        outcome = kept.load()
        model = None
        if outcome is None:
            shape = kept.shape()
            listing = list_project(files_of, catalogue, directory, settings=settings, kept=shape, offered=offered)
            if listing.shape is not shape:
                kept.keep_shape(listing.shape)
            outcome = kept.load(listing)
            if outcome is None:
                model = listing.model()
                outcome = _outcome(model, catalogue, enabled)
                kept.save(listing, model.asked(), outcome)
        return ProjectView(model, outcome.reach, outcome.found, keep_confined)
    except Exception as error:  # the findings stand without evidence
        notify(f"the project model could not be built ({describe(error)}); findings carry no evidence")
        return ProjectView()


def model_files(
    files: Sequence[str], settings: Settings, walked: Sequence[str] = (), texts: Mapping[str, str] | None = None
) -> ProjectFiles:
    """The files of the projects ``files`` belong to and their layout (``model.project_files``)."""
    return project_files(files, settings=settings, walked=[path for path in walked if os.path.isdir(path)], texts=texts)


# Up to this many files, a run asks each of them whether the model can change what it reports
# before building it (a summary each); more files all but always hold a place it can.
FEW_FILES = 8


def model_may_matter(
    files: Sequence[str],
    settings: Settings,
    catalogue: Catalogue,
    cache_dir: str | None,
    *,
    texts: Mapping[str, str] | None = None,
) -> bool:
    """Whether the project model may add a finding in one of ``files`` (see
    ``project/relevance.py``), asked of each file's own summary before the model is built. True
    where it cannot be told: a file that cannot be read or parsed, or whose module name depends on
    the import lines of the rest of its project (a folder without ``__init__.py``). ``texts``:
    files whose text is not on disk (standard input), by absolute path."""
    found = project_files(files, settings=settings, texts=texts)
    roots = found.roots
    in_project = project_parts(found.paths, roots.packages.values()).__contains__
    # Without a cache, no store: its key fingerprints loopcheck's code and data.
    store = SummaryStore(Path(cache_dir), catalogue_key(catalogue)) if cache_dir else None
    for path in files:
        if not path.endswith(".py"):
            continue  # the model lists Python files only: no project finding is in another
        try:
            summary = _own_summary(path, found.texts.get(os.path.abspath(path)), roots, store, settings, catalogue)
        except Exception:  # unreadable, unparsable: the model decides, as without this question
            return True
        if summary is None or may_hold_project_findings(summary, in_project):
            return True
    return False


def _own_summary(
    path: str, given: str | None, roots: Roots, store: SummaryStore | None, settings: Settings, catalogue: Catalogue
) -> ModuleSummary | None:
    """The summary the model would make of the file at ``path`` (``given``: its text, when not on
    disk; never cached then), under the module name the model would give it; None when that name
    depends on the import lines of other files (``Roots.imported``) or there is none."""
    text, data = given, None
    if text is None:
        source = read_source(path, settings.max_file_size)
        text, data = source.text, source.data
    asked = _Asked()
    roots.imported = asked  # type: ignore[assignment]
    named = roots.module_name(path, {name.partition(".")[0] for level, name in import_specs(text) if not level})
    if named is None or asked.asked:
        return None
    module, package = named
    key = store.content_key(data) if store is not None and given is None and data is not None else None
    summary = store.load(key, module, path, package) if store is not None and key is not None else None
    if summary is None:
        from loopcheck.project.summary import summarise

        summary = summarise(text, module, path, package, catalogue)
        if store is not None and key is not None:
            store.store(key, summary)
    return summary


class _Asked:
    """Stands for the import lines of the rest of the project while one file's module name is
    found: records that the name depends on them."""

    asked = False

    def __contains__(self, name: object) -> bool:
        self.asked = True
        return False


def _outcome(model: ProjectModel, catalogue: Catalogue, enabled: Sequence[str]) -> Outcome:
    """The reach over ``model``, and the findings of the ``enabled`` project rules by absolute path."""
    from loopcheck.project.outcome import Outcome
    from loopcheck.rules.project import check_project

    reach = compute_reach(model, catalogue)
    found: dict[str, list[Diagnostic]] = {}
    for d in check_project(model, reach, catalogue, frozenset(enabled)):
        found.setdefault(os.path.abspath(d.path), []).append(d)
    return Outcome(reach, found)
