"""The summaries of a project's modules, and names resolved across them; how they are built.

A name as written in a module (``helpers.run_async``, ``self.pool``, ``redis_client.get``) is
resolved to what it stands for in the project: a function, a class, a holder of a loop-bound
object, a module-level instance, or a module. Names the project does not define (the standard
library, installed packages) resolve to None: the reach stops there.
"""

from __future__ import annotations

import functools
import os
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from loopcheck.data.catalogue import Catalogue
from loopcheck.files import SourceError, absolute
from loopcheck.project.pytest_config import PytestAsyncio, collects_tests
from loopcheck.project.records import ModuleSummary
from loopcheck.project.roots import Roots, find_roots
from loopcheck.project.selection import SeedTest, import_edges, import_lines, import_specs
from loopcheck.project.store import Identity, Known, SummaryStore, catalogue_key
from loopcheck.settings.config import Settings

if TYPE_CHECKING:
    from loopcheck.project.early import Offered, Offers
    from loopcheck.run.sources import SourceFile

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
    """The summaries of one project, by module name: those given (the entry modules, when built
    by :func:`build_model`), and each other listed module once a name resolves into it
    (``loader``: a module's summary, or None when it cannot be read or parsed). ``importers``:
    by module, the modules whose import lines name it. ``objects``: the modules whose text may
    make a primitive or client of the catalogue (``selection.Flags.objects``)."""

    def __init__(
        self,
        summaries: Iterable[ModuleSummary],
        listed: Iterable[str] = (),
        loader: Callable[[str], ModuleSummary | None] | None = None,
        importers: Mapping[str, Iterable[str]] | None = None,
        objects: Iterable[str] = (),
        pytest_asyncio: Callable[[str], PytestAsyncio | None] | None = None,
    ) -> None:
        # The summaries loaded so far: the entry modules, then those a name resolved into.
        self.modules: dict[str, ModuleSummary] = {s.module: s for s in summaries}
        self.by_path: dict[str, ModuleSummary] = {s.path: s for s in self.modules.values()}
        # Every module of the projects, summarised or not (see build_model).
        self.listed: frozenset[str] = frozenset(listed) | frozenset(self.modules)
        self._entries = frozenset(self.modules)
        self._loader = loader
        self._tried: set[str] = set(self.modules)
        self._importers = {module: frozenset(found) for module, found in (importers or {}).items()}
        self.objects: frozenset[str] = frozenset(objects) & self.listed
        # By a file's path, what its project's pytest configuration changes of pytest-asyncio's defaults.
        self.pytest_asyncio: Callable[[str], PytestAsyncio | None] = pytest_asyncio or (lambda path: None)

    def entry_modules(self) -> frozenset[str]:
        """The modules summarised when the model was built: those whose text may start a loop or
        run code on a server's loop."""
        return self._entries

    def summary(self, module: str) -> ModuleSummary | None:
        """The summary of ``module``, made (or taken from the cache) the first time it is asked
        for; None when the project has no such module or it cannot be read or parsed."""
        found = self.modules.get(module)
        if found is not None or self._loader is None or module in self._tried or module not in self.listed:
            return found
        self._tried.add(module)
        found = self._loader(module)
        if found is not None:
            self.modules[module] = found
            self.by_path[found.path] = found
        return found

    def asked(self) -> frozenset[str]:
        """The modules whose summaries were made or asked for so far (those that could not be
        read or parsed included): all the model's answers depend on of the modules' texts."""
        return frozenset(self._tried)

    def importers(self, module: str) -> frozenset[str]:
        """The modules of ``module``'s project whose import lines name it (read from their text)."""
        return self._importers.get(module, frozenset())

    def resolve(self, module: str, dotted: str, within_class: str | None = None) -> Target | None:
        """What ``dotted``, written in ``module`` (inside a method of ``within_class``, where
        ``self.x``/``cls.x`` name the class's members), stands for; None when the project does not
        define it."""
        summary = self.summary(module)
        if summary is None:
            return None
        head, *rest = dotted.split(".")
        if head in ("self", "cls") and within_class is not None:
            start: Target | None = Target("class", module, within_class)
            for part in rest:
                if start is None:
                    return None
                start = self._member(start, part)
            return start
        return self._dotted(summary, dotted, 0)

    def _global(self, summary: ModuleSummary, name: str, hops: int) -> Target | None:
        """A name bound at the top of ``summary``'s module."""
        if summary.holder(name) is not None:
            return Target("holder", summary.module, name)
        if summary.function(name) is not None:
            return Target("function", summary.module, name)
        if any(c.name == name for c in summary.classes):
            return Target("class", summary.module, name)
        instance = summary.kept_instance(name)
        imported = dict(summary.imports).get(name)
        derived = dict(summary.derived).get(name)
        if instance is not None:
            made_by = None
            if instance.partition(".")[0] == name:  # ``client = client()``: the name's import made it
                if imported is not None and hops < MAX_ALIAS_HOPS:
                    made_by = self._absolute(f"{imported}{instance[len(name) :]}", hops + 1)
            elif hops < MAX_ALIAS_HOPS:
                made_by = self._dotted(summary, instance, hops + 1)
            if made_by is None and derived is not None:
                # A library's object made from a holder (``async_sessionmaker(engine)``): using
                # it uses the holder's object. A project class's instance is followed instead.
                return Target("holder", summary.module, derived)
            return Target("instance", summary.module, name, made_by)
        if derived is not None:  # ``async_session = session_factory``: another name for it
            return Target("holder", summary.module, derived)
        if imported is not None and hops < MAX_ALIAS_HOPS:
            return self._absolute(imported, hops + 1)
        if not name.startswith("_") and hops < MAX_ALIAS_HOPS:
            # ``from module import *`` of a project module: its public names, last import first.
            for star in reversed(summary.star_imports):
                source = self.summary(star)
                found = self._global(source, name, hops + 1) if source is not None else None
                if found is not None:
                    return found
        return None

    def _dotted(self, summary: ModuleSummary, dotted: str, hops: int) -> Target | None:
        """``dotted`` written at the top of ``summary``'s module, ``hops`` aliases deep."""
        head, *rest = dotted.split(".")
        target = self._global(summary, head, hops)
        imported = dict(summary.imports).get(head)
        if target is None and rest and imported is not None and hops < MAX_ALIAS_HOPS:
            # ``import a.b.c`` binds ``a``, whose package the model may not have summarised.
            return self._absolute(".".join([imported, *rest]), hops + 1)
        for part in rest:
            if target is None:
                return None
            target = self._member(target, part, hops)
        return target

    def _absolute(self, dotted: str, hops: int) -> Target | None:
        """An absolute dotted name: the longest module prefix the project has, then its members."""
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            module = ".".join(parts[:cut])
            if self.summary(module) is not None:
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
            summary = self.summary(target.module)
            if summary is None:
                return None
            submodule = f"{target.module}.{name}"
            found = self._global(summary, name, hops)
            if found is None and self.summary(submodule) is not None:
                return Target("module", submodule)
            return found
        if target.kind == "instance":
            return self._member(target.of, name, hops) if target.of is not None else None
        if target.kind == "function":  # ``get_engine().count``: a member of the instance it hands out
            handed = self.handed_out(target, hops + 1) if hops < MAX_ALIAS_HOPS else None
            return self._member(handed, name, hops + 1) if handed is not None else None
        if target.kind == "class":
            return self._class_member(target.module, target.name, name, set())
        return None

    def handed_out(self, function: Target, hops: int = 0) -> Target | None:
        """The instance a getter hands out: the module global it binds on first use and returns
        (``get_engine`` of ``global _engine; if _engine is None: _engine = Engine(); return
        _engine``); None for any other function."""
        summary = self.summary(function.module)
        kept = summary.handed_out_by(function.name) if summary is not None else None
        return self._global(summary, kept, hops) if summary is not None and kept is not None else None

    def _class_member(self, module: str, cls: str, name: str, seen: set[tuple[str, str]]) -> Target | None:
        """``name`` on class ``cls`` of ``module``, or on one of its bases the project defines."""
        if (module, cls) in seen:
            return None
        seen.add((module, cls))
        summary = self.summary(module)
        if summary is None:
            return None
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


# What a module that cannot be summarised raises (its syntax, null bytes, absurd nesting): the
# model skips it, and the per-file stage reports the file.
UNPARSABLE = (SyntaxError, ValueError, RecursionError, MemoryError)


def build_model(
    files: Iterable[str],
    catalogue: Catalogue,
    cache_dir: Path | None = None,
    *,
    settings: Settings | None = None,
    walked: Iterable[str] = (),
    texts: Mapping[str, str] | None = None,
) -> ProjectModel:
    """The model of the projects ``files`` (the files the run checks, as the runner names them)
    belong to: their files are found (:func:`project_files`) and their modules listed
    (:func:`list_project`), and the *entry modules* (those whose text may start a loop or run
    code on a server's loop) are summarised; every other module is summarised the first time a
    name resolves into it (:meth:`ProjectModel.summary`). Nothing is imported or run; a file
    that cannot be read or parsed is left out."""
    found = project_files(files, settings=settings, walked=walked, texts=texts)
    return list_project(found, catalogue, cache_dir, settings=settings).model()


@dataclass
class ProjectFiles:
    """The files of the projects a run's files belong to, before any is read: ``roots``, their
    layout; ``paths``, the checked files first, then the others of their projects (as the
    runner names them); ``texts``: files whose text is not on disk, by absolute path."""

    roots: Roots
    paths: list[str]
    texts: dict[str, str]


def project_files(
    files: Iterable[str],
    *,
    settings: Settings | None = None,
    walked: Iterable[str] = (),
    texts: Mapping[str, str] | None = None,
) -> ProjectFiles:
    """The files of the projects ``files`` (the files the run checks, as the runner names them)
    belong to: their roots are found (``roots``), and every Python file under them is listed
    (as the run's ``discover`` walks, with ``settings``' excludes). ``walked``: directories the
    run has walked already (with the same ``settings``): the files under them are the checked
    ones, and they are not walked again. ``texts``: files whose text is not on disk (standard
    input's buffer stands for the file of that name), by absolute path."""
    checked = [path for path in files if path.endswith(".py")]
    found = find_roots(checked)
    given = {os.path.abspath(path): text for path, text in (texts or {}).items()}
    return ProjectFiles(found, _project_files(checked, found, settings or Settings(), walked), given)


@dataclass
class Listing:
    """The modules of the projects, as their texts list them, before any is summarised:
    ``shape``: the modules (each one's path and whether it is a package), their importers and the
    entry modules (see ``Shape``); ``keys``: each
    module's content key (summaries of the same key are the same); ``load``: a module's
    summary, or None when it cannot be read or parsed. Everything the model is made of but the
    summaries themselves. ``identities``: by path, the stat each file had when it was read
    (None: not known, or too close to the file's last change to tell a later change).
    ``cached``: the summary the cache keeps for a module under a content key (its text of an
    earlier run), or None. ``offered``: the summaries made where the files were checked."""

    shape: Shape
    keys: dict[str, str]
    load: Callable[[str], ModuleSummary | None]
    identities: dict[str, Identity | None]
    cached: Callable[[str, str], ModuleSummary | None]
    offered: Offers | None = None
    roots: Roots | None = None

    @property
    def modules(self) -> dict[str, tuple[str, bool]]:
        return self.shape.modules

    @property
    def importers(self) -> dict[str, set[str]]:
        return self.shape.importers

    @property
    def entries(self) -> list[str]:
        return self.shape.entries

    def model(self) -> ProjectModel:
        """The model: the entry modules summarised, the others when asked for. Where checks
        offer summaries (``early``), the entries none is expected for are summarised first,
        then the others, each smallest first (the checks take the largest files first): so
        the offers have the most time to arrive."""
        offered = self.offered
        if offered is not None:
            expected = {module: offered.expected(self.modules[module][0]) for module in self.entries}
            for module in sorted(self.entries, key=lambda module: (expected[module], self._size(module))):
                self.load(module)
            offered.settled()
        entries = [summary for summary in map(self.load, self.entries) if summary is not None]
        configured = self.roots.pytest_asyncio_of if self.roots is not None else None
        return ProjectModel(entries, self.modules, self.load, self.importers, self.shape.objects, configured)

    def _size(self, module: str) -> int:
        try:
            return os.stat(self.modules[module][0]).st_size
        except OSError:
            return 0


@dataclass(frozen=True)
class Shape:
    """What a listing's modules, importers and entry modules are made of, beside the projects'
    layout: every listed file's import lines and seed flags. A run whose files have the same
    paths and, where a file changed, the same import lines and seed flags as before has the
    same modules, importers and entries (``list_project`` takes them from ``kept``).
    ``objects``: the modules whose text may make a primitive or client (their ``objects`` flag)."""

    modules: dict[str, tuple[str, bool]]
    importers: dict[str, set[str]]
    entries: list[str]
    objects: list[str]


def list_project(
    files: ProjectFiles,
    catalogue: Catalogue,
    cache_dir: Path | None = None,
    *,
    settings: Settings | None = None,
    kept: Shape | None = None,
    offered: Offers | None = None,
) -> Listing:
    """The modules of the projects' ``files``, each with its import lines and seed flags
    (``selection``) and the module name they give it (``roots``). Files whose stat has not
    changed are not read (the stat index of ``store``); summaries go through the cache under
    ``cache_dir`` (None: in memory only). A file that cannot be read is left out. The files given
    as ``texts`` have their facts and summaries made from that text, never cached. ``kept``: the
    shape of the last listing of the same files in the same layout (``Shape``), taken as it is
    when no file's import lines or seed flags changed since. ``offered``: summaries made
    elsewhere (``early``), by path as listed, taken where they fit."""
    from loopcheck.run.cache import trusted  # the run sits above the model

    settings = settings or Settings()
    given = files.texts
    store = SummaryStore(cache_dir, catalogue_key(catalogue))
    seeds = SeedTest(catalogue)
    known: dict[str, Known] = {}
    identities: dict[str, Identity | None] = {}
    reshaped = kept is None or bool(given)  # whether the kept shape cannot stand
    # The files to read, each read here or taken as another process read it (``read_elsewhere``:
    # those last, giving them time to be read).
    unknown: list[str] = []
    for path in files.paths:
        identities[path] = None
        text = given.get(os.path.abspath(path)) if given else None
        if text is not None:
            key = store.content_key(text.encode("utf-8", "surrogatepass"))
            imports = import_lines(text)
            specs = tuple(import_specs(imports))
            known[path] = Known(key, specs, seeds.flags(text, specs, imports))
            continue
        entry = store.unchanged(path)
        if entry is None:
            unknown.append(path)
        else:
            identities[path] = entry.identity
            known[path] = entry
    elsewhere = offered.read_elsewhere if offered is not None else {}
    read = {path: read_file(path, store, seeds, settings.max_file_size) for path in unknown if path not in elsewhere}
    for path in unknown:
        found = read[path] if path in read else _read_elsewhere(elsewhere[path])
        if found is None:  # when it was read elsewhere, it cannot be read here either
            found = read_file(path, store, seeds, settings.max_file_size)
        if found.known is None:
            # Left out; as long as its stat stays as it is now, it cannot be read either.
            identities[path] = found.identity if trusted(found.identity, found.read_at) else None
            reshaped = True
            continue
        entry = found.known
        before = store.known_before(path)
        reshaped = reshaped or before is None or (before.specs, before.flags) != (entry.specs, entry.flags)
        store.remember(path, found.identity, found.read_at, entry)
        if trusted(found.identity, found.read_at):
            identities[path] = found.identity
        known[path] = entry
    # In the order of the files (the checked files first: theirs is the name a module goes by).
    known = {path: known[path] for path in files.paths if path in known}
    store.save_index(files.paths)
    if kept is not None and not reshaped:
        shape = kept
    else:
        shape = _shape(files, known)
    load, cached = _loaders(shape.modules, known, given, store, catalogue, settings, offered.found if offered else {})
    keys = {module: known[path].key for module, (path, _) in shape.modules.items()}
    return Listing(shape, keys, load, identities, cached, offered, files.roots)


@dataclass(frozen=True)
class FileRead:
    """What the listing learns of a file by reading it: ``known``, its content key, import lines
    and seed flags (None: it cannot be read); its stat then (``identity``: as opened, or as it
    is now when it cannot be read), taken after ``read_at`` (``time.time_ns()``)."""

    known: Known | None
    identity: Identity | None
    read_at: int | None


def read_file(path: str, store: SummaryStore, seeds: SeedTest, max_file_size: int | None) -> FileRead:
    """The file at ``path`` read for the listing (in whichever process reads it)."""
    from loopcheck.run.cache import identity_now  # the run sits above the model
    from loopcheck.run.sources import read_source

    read_at = time.time_ns()
    try:
        source = read_source(path, max_file_size)
    except SourceError:
        return FileRead(None, identity_now(path), read_at)
    assert source.data is not None
    imports = import_lines(source.text)
    specs = tuple(import_specs(imports))
    known = Known(store.content_key(source.data), specs, seeds.flags(source.text, specs, imports))
    return FileRead(known, source.identity, source.read_at)


def _read_elsewhere(result: Callable[[], FileRead]) -> FileRead | None:
    """What another process's read gave; None when it failed (the file is read here then)."""
    try:
        return result()
    except Exception:
        return None


def _shape(files: ProjectFiles, known: Mapping[str, Known]) -> Shape:
    """The modules, importers and entry modules of the ``known`` files."""
    found = files.roots
    found.use_imports({name for entry in known.values() for level, name in entry.specs if not level})
    modules: dict[str, tuple[str, bool]] = {}
    for path in known:  # the checked files first: theirs is the name a module goes by
        named = found.module_name(path, {name.partition(".")[0] for level, name in known[path].specs if not level})
        if named is not None:
            modules.setdefault(named[0], (path, named[1]))
    # Compared for every import line: as text.
    projects = {module: str(found.project_of_file(path)) for module, (path, _) in modules.items()}
    importers: dict[str, set[str]] = {}
    for module, (path, package) in modules.items():
        for imported in import_edges(known[path].specs, module, package, projects, projects[module]):
            importers.setdefault(imported, set()).add(module)
    entries = [
        module
        for module in sorted(modules)
        if known[modules[module][0]].flags.entry or _auto_tests(found, module, modules[module][0])
    ]
    objects = [module for module in sorted(modules) if known[modules[module][0]].flags.objects]
    return Shape(modules, importers, entries, objects)


def _auto_tests(roots: Roots, module: str, path: str) -> bool:
    """Whether ``module`` is a test module pytest-asyncio's ``auto`` mode runs the ``async def``
    tests of, marked or not: each may run on a loop of its own."""
    if not collects_tests(module):
        return False
    configured = roots.pytest_asyncio_of(path)
    return configured is not None and configured.auto


def _loaders(
    modules: Mapping[str, tuple[str, bool]],
    known: Mapping[str, Known],
    given: Mapping[str, str],
    store: SummaryStore,
    catalogue: Catalogue,
    settings: Settings,
    offered: Mapping[str, Offered],
) -> tuple[Callable[[str], ModuleSummary | None], Callable[[str, str], ModuleSummary | None]]:
    """A module's summary (``load``), and the one the cache keeps under a content key (``cached``)."""
    from loopcheck.run.sources import read_source

    @functools.cache  # the outcome's check and the model ask for the same modules
    def load(module: str) -> ModuleSummary | None:
        path, package = modules[module]
        text = given.get(os.path.abspath(path))
        if text is not None:
            return _summarise_text(text, module, path, package, catalogue)
        key = known[path].key
        found = store.load(key, module, path, package)
        if found is not None:
            return found
        early = offered.get(path)
        if early is not None and early.fits(key, module, path, package):
            store.store(key, early.summary)
            return early.summary
        return _summarise(store, read_source, path, module, package, catalogue, settings)

    def cached(module: str, key: str) -> ModuleSummary | None:
        path, package = modules[module]
        return store.load(key, module, path, package)

    return load, cached


def _summarise_text(text: str, module: str, path: str, package: bool, catalogue: Catalogue) -> ModuleSummary | None:
    """The summary of ``text`` as the module at ``path``; None when it cannot be parsed."""
    from loopcheck.project.summary import summarise

    try:
        with warnings.catch_warnings():
            # Invalid escape sequences and the like: the per-file stage's to judge, and a check
            # that summarises the module from its own parse (``early``) prints none either.
            warnings.simplefilter("ignore")
            return summarise(text, module, path, package, catalogue)
    except UNPARSABLE:
        return None


def _summarise(
    store: SummaryStore,
    read_source: Callable[..., SourceFile],
    path: str,
    module: str,
    package: bool,
    catalogue: Catalogue,
    settings: Settings,
) -> ModuleSummary | None:
    """The summary of the file at ``path``, read again (only the texts of the modules used are
    needed, so none is kept while all are listed), stored under the key of the bytes read now."""
    try:
        source = read_source(path, settings.max_file_size)
    except SourceError:
        return None
    summary = _summarise_text(source.text, module, path, package, catalogue)
    if summary is not None:
        assert source.data is not None
        store.store(store.content_key(source.data), summary)
    return summary


def _project_files(checked: list[str], found: Roots, settings: Settings, walked: Iterable[str]) -> list[str]:
    """The checked files, then every other ``.py`` file of their projects, each once (the run's
    walk: its excludes, no virtual environment; and no hidden directory)."""
    from loopcheck.run.sources import discover

    listed: dict[str, str] = {}
    for path in checked:
        listed.setdefault(absolute(path), path)
    done = [Path(os.path.abspath(directory)) for directory in walked]
    deep = sorted(
        str(directory)
        for directory in found.listed - found.beside
        if not any(directory == top or top in directory.parents for top in done)
    )
    for directory in deep:
        for path in discover([directory], settings).files:
            # Hidden directories (tool caches, editor backups) hold no module of the project.
            inside = os.path.relpath(path, directory).split(os.sep)
            if path.endswith(".py") and not any(part.startswith(".") for part in inside[:-1]):
                listed.setdefault(absolute(path), path)
    for directory in sorted(found.beside):
        try:
            with os.scandir(directory) as entries:
                names = sorted(entry.name for entry in entries if entry.name.endswith(".py") and entry.is_file())
        except OSError:
            continue
        for name in names:
            path = str(directory / name)
            if not settings.excluded(path):
                listed.setdefault(absolute(path), path)
    return list(listed.values())
