"""The model's outcome kept across runs: the reach and the project rules' findings of the last run,
reused while nothing they depend on has changed, so that a warm run neither loads summaries nor
walks the loops again.

The outcome depends on what the model is made of (``model.Listing``): the modules with their
paths, which modules import which, the entry modules (from the seed flags), and the summaries
of the modules the model summarised or asked for (:meth:`ProjectModel.asked`): a text changed in
nothing its summary keeps (a comment) changes nothing. A module the model never asked for is no
part of the outcome, whatever its text says, as long as its imports and seed flags leave the
listing as it was: editing the body of such a module reuses the outcome. Besides
those: loopcheck's version, code, data and interpreter and the clients the configuration adds to
the catalogue (the summaries cache's base), the project rules that run, and the working
directory (findings' paths are written as the run names the files).

Two keys say whether a kept outcome is still this run's:

- the *quick* key, taken before any file is read: the projects' layout (``roots``: the roots,
  the project each listed directory belongs to, what pytest's configuration says of pytest-asyncio), every listed file's path and stat. When no
  file changed (as the stat index of the summaries cache judges it, a stat taken within a
  timestamp tick of the file's last change is not trusted), the listing is what it was;
- the *listing's* key, when some file changed: the modules, their importers, the entry
  modules and those that may make objects; and each module the outcome asked for has the content key it had, or the summary the
  cache keeps under that key is the one its text gives now. A kept outcome that still fits is
  kept again under the files' new stats and content keys.

Beside it, ``NAME.shape.json`` keeps the listing's shape (``model.Shape``: the modules, their
importers, the entry modules, those that may make objects) under the layout and the files'
paths: when files changed but none in its import lines or seed flags (an edited function body),
the next listing takes that shape instead of naming every module and following every import line
again. The shape's part of the
listing's key is kept with it, so that a listing that takes the shape does not hash it again.

Under ``CACHE_DIR/outcomes/BASE/NAME.json``, ``NAME`` naming the projects' directories, the working
directory and the rules (one file per way of running the same projects, rewritten when its
outcome changes). JSON, not pickle (a file planted in the cache directory must not run code when
it is read), every field checked against the records' types when read; a file that is not
exactly an outcome of this run is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopcheck.data.catalogue import Catalogue
from loopcheck.engine.diagnostics import Diagnostic
from loopcheck.project.reach import Chain, Loop, ObjectReach, Reach
from loopcheck.project.roots import directories_of
from loopcheck.project.store import Identity, catalogue_key, decode, encode, summaries_base

if TYPE_CHECKING:
    from loopcheck.project.model import Listing, ProjectFiles, Shape

SUBDIRECTORY = "outcomes"
# The shape of the file: changed whenever what is written changes.
FORMAT = 6


@dataclass(frozen=True)
class Outcome:
    """What the model says about a run's files: the reach, and the project rules' findings by
    absolute path."""

    reach: Reach
    found: Mapping[str, list[Diagnostic]]


class OutcomeStore:
    """The kept outcome of the projects of ``files`` (``directory``: the cache directory; None:
    nothing is kept), checked with ``catalogue`` and the ``enabled`` rules."""

    def __init__(
        self, directory: Path | None, files: ProjectFiles, catalogue: Catalogue, enabled: Iterable[str]
    ) -> None:
        from loopcheck.run import cache  # atomic writes, reads that never block

        self._cache = cache
        self._files = files
        self._data: list[Any] | None = None  # the file as read, once
        # The shape last read or kept, with its listing key (see listing_key).
        self._shape: tuple[Shape, str] | None = None
        self.file: Path | None = None
        self._base: list[Any] = []
        if directory is None:
            return  # nothing is kept: no key is needed
        cwd = os.getcwd()
        rules = sorted(set(enabled))
        roots = files.roots
        # What every key starts with: loopcheck, the catalogue, the rules, the working directory,
        # the projects' layout (the project of each directory holding a listed file).
        base = summaries_base(catalogue_key(catalogue))
        self._base = [
            FORMAT,
            base,
            cwd,
            rules,
            [sorted(map(str, found)) for found in (roots.roots, roots.declared, roots.listed, roots.beside)],
            sorted([str(folder), name] for folder, name in roots.packages.items()),
            [[name, str(roots.project_of_directory(Path(name)))] for name in directories_of(files.paths)],
            # what each project's pytest configuration says of pytest-asyncio
            sorted([str(project), str(said.path), said.scope, said.auto] for project, said in roots.pytest_asyncio.items()),
        ]
        name = _digest([cwd, rules, sorted(map(str, roots.listed))])
        self.file = Path(directory) / SUBDIRECTORY / base[:16] / f"{name[:32]}.json"

    def quick_key(self, identities: Sequence[Identity | None]) -> str | None:
        """The quick key of the listed files with these stats (in their order); None when one
        is not known (or a file's text is not on disk): no quick key, then."""
        if self._files.texts or any(identity is None for identity in identities):
            return None
        stats = [[path, list(identity or ())] for path, identity in zip(self._files.paths, identities)]
        return _digest([*self._base, stats])

    def shape(self) -> Shape | None:
        """The shape of the last listing of these files in this layout (see ``model.Shape``);
        None when there is none, or the file is not exactly one."""
        from loopcheck.project.model import Shape

        if self.file is None or self._files.texts:
            return None
        data = self._cache._read_json(self._shape_file())
        if type(data) is not dict or data.get("key") != self._shape_key():
            return None
        modules, importers, entries = data.get("modules"), data.get("importers"), data.get("entries")
        objects = data.get("objects")
        if type(modules) is not dict or type(importers) is not dict or type(entries) is not list:
            return None
        if not all(
            type(item) is list and len(item) == 2 and type(item[0]) is str and type(item[1]) is bool
            for item in modules.values()
        ):
            return None
        if not all(type(found) is list and all(type(name) is str for name in found) for found in importers.values()):
            return None
        if type(objects) is not list or not all(type(name) is str and name in modules for name in [*entries, *objects]):
            return None
        shape = Shape(
            {module: (path, package) for module, (path, package) in modules.items()},
            {module: set(found) for module, found in importers.items()},
            entries,
            objects,
        )
        listing = data.get("listing")
        self._shape = (shape, listing) if type(listing) is str else None
        return shape

    def keep_shape(self, shape: Shape) -> None:
        """Keep ``shape`` for the next listing of these files (see :meth:`shape`)."""
        if self.file is None or self._files.texts:
            return
        listing = self._listing_key(shape)
        self._shape = (shape, listing)
        data = {
            "key": self._shape_key(),
            "modules": {module: [path, package] for module, (path, package) in shape.modules.items()},
            "importers": {module: sorted(found) for module, found in shape.importers.items()},
            "entries": shape.entries,
            "objects": shape.objects,
            "listing": listing,
        }
        self._write(data, self._shape_file())

    def _shape_file(self) -> Path:
        assert self.file is not None
        return self.file.with_suffix(".shape.json")

    def _shape_key(self) -> str:
        return _digest([*self._base, self._files.paths])

    def listing_key(self, listing: Listing) -> str:
        if self._shape is not None and listing.shape is self._shape[0]:
            return self._shape[1]  # the shape as read or kept: its key with it
        return self._listing_key(listing.shape)

    def _listing_key(self, shape: Shape) -> str:
        return _digest(
            [
                *self._base,
                sorted([module, path, package] for module, (path, package) in shape.modules.items()),
                sorted([module, sorted(found)] for module, found in shape.importers.items()),
                shape.entries,
                shape.objects,
            ]
        )

    def load(self, listing: Listing | None = None) -> Outcome | None:
        """The kept outcome when no listed file changed (``listing`` None), or when ``listing``
        (made because some did) is still what the outcome was made of; else None."""
        if self.file is None:
            return None
        data = self._kept()
        if type(data) is not dict:
            return None
        if listing is None:
            from loopcheck.run.cache import identity_now

            quick = self.quick_key([identity_now(path) for path in self._files.paths])
            if quick is None or data.get("quick") != quick:
                return None
        else:
            asked = data.get("asked")
            if data.get("key") != self.listing_key(listing) or type(asked) is not dict:
                return None
            if not all(_summarised_alike(listing, module, key) for module, key in asked.items()):
                return None
            data["asked"] = {module: listing.keys[module] for module in asked}
        reach = decode_reach(data.get("reach"))
        found = _decode_found(data.get("found"))
        if reach is None or found is None:
            return None
        if listing is not None:
            # Fits still: kept under the files' new stats, so that the next run finds it quickly.
            data["quick"] = self.quick_key([listing.identities[path] for path in self._files.paths])
            self._write(data)
        return Outcome(reach, found)

    def _kept(self) -> Any:
        """The outcome file as read (once per run: read again only after a write)."""
        if self._data is None:
            assert self.file is not None
            self._data = [self._cache._read_json(self.file)]
        return self._data[0]

    def save(self, listing: Listing, asked: Iterable[str], outcome: Outcome) -> None:
        """Keep ``outcome``, made from ``listing`` with the modules ``asked`` for summarised."""
        if self.file is None:
            return
        keys = listing.keys
        self._write(
            {
                "quick": self.quick_key([listing.identities[path] for path in self._files.paths]),
                "key": self.listing_key(listing),
                "asked": {module: keys[module] for module in sorted({*asked, *listing.entries}) if module in keys},
                "reach": encode_reach(outcome.reach),
                "found": [[path, encode(tuple(found))] for path, found in outcome.found.items()],
            }
        )

    def _write(self, data: dict[str, Any], file: Path | None = None) -> None:
        if self.file is None:
            return
        file = file or self.file
        if file == self.file:
            self._data = None
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            self._cache._ignore_in_git(file.parent.parent.parent)
            self._cache._write_atomically(file, json.dumps(data))
        except OSError:
            pass  # a read-only cache: the next run makes the outcome again


def _summarised_alike(listing: Listing, module: Any, key: Any) -> bool:
    """Whether ``module``, whose text had content ``key`` when the outcome was made, has the
    same summary now: its text is the same, or what changed is nothing the summary keeps (a
    comment, say): the model would answer every question as it did."""
    now = listing.keys.get(module) if type(module) is str else None
    if now is None or type(key) is not str:
        return False
    if now == key:
        return True
    before = listing.cached(module, key)
    return before is not None and before == listing.load(module)


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()


def encode_reach(reach: Reach) -> list[Any]:
    """``reach`` as JSON data (see :func:`decode_reach`)."""
    return [
        encode(reach.objects),
        encode(reach.loops),
        [[path, line, encode(found)] for (path, line), found in reach.starts.items()],
        reach.loop_starts,
        None if reach.loaded is None else sorted(reach.loaded),
        sorted(map(list, reach.coroutine_parameters)),
        sorted(map(list, reach.imported_names)),
        sorted(reach.importers_known),
        [[path, line, list(found)] for (path, line), found in reach.unfollowed.items()],
        sorted(map(list, reach.outside_uses)),
    ]


def decode_reach(data: Any) -> Reach | None:
    """The reach :func:`encode_reach` gave ``data``, or None when ``data`` is not exactly one."""
    if type(data) is not list or len(data) != 10:
        return None
    objects, loops, starts, loop_starts, loaded, parameters, imported, known, unfollowed, outside = data
    found_objects = decode(objects, tuple[ObjectReach, ...])  # type: ignore[arg-type]
    found_loops = decode(loops, tuple[Loop, ...])  # type: ignore[arg-type]
    found_loaded = decode(loaded, tuple[str, ...] | None)  # type: ignore[arg-type]
    if found_objects is None or found_loops is None or type(loop_starts) is not int or type(starts) is not list:
        return None
    if found_loaded is None and loaded is not None:
        return None
    found_parameters = decode(parameters, tuple[tuple[str, str, str], ...])  # type: ignore[arg-type]
    found_imported = decode(imported, tuple[tuple[str, str], ...])  # type: ignore[arg-type]
    found_known = decode(known, tuple[str, ...])  # type: ignore[arg-type]
    found_unfollowed = decode(unfollowed, tuple[tuple[str, int, tuple[str, str]], ...])  # type: ignore[arg-type]
    found_outside = decode(outside, tuple[tuple[str, str, str, bool], ...])  # type: ignore[arg-type]
    if found_parameters is None or found_imported is None or found_known is None or found_unfollowed is None:
        return None
    if found_outside is None:
        return None
    found_starts: dict[tuple[str, int], tuple[tuple[ObjectReach, Chain], ...]] = {}
    for item in starts:
        if type(item) is not list or len(item) != 3 or type(item[0]) is not str or type(item[1]) is not int:
            return None
        pairs = decode(item[2], tuple[tuple[ObjectReach, Chain], ...])  # type: ignore[arg-type]
        if pairs is None:
            return None
        found_starts[(item[0], item[1])] = pairs
    return Reach(
        found_objects,
        found_loops,
        found_starts,
        loop_starts,
        None if found_loaded is None else frozenset(found_loaded),
        frozenset(found_parameters),
        frozenset(found_imported),
        frozenset(found_known),
        {(path, line): found for path, line, found in found_unfollowed},
        frozenset(found_outside),
    )


def _decode_found(data: Any) -> dict[str, list[Diagnostic]] | None:
    if type(data) is not list:
        return None
    found: dict[str, list[Diagnostic]] = {}
    for item in data:
        if type(item) is not list or len(item) != 2 or type(item[0]) is not str:
            return None
        diagnostics = decode(item[1], tuple[Diagnostic, ...])  # type: ignore[arg-type]
        if diagnostics is None:
            return None
        found[item[0]] = list(diagnostics)
    return found
