"""The summaries cache: module summaries stored by the content of their file, beside the results
cache, so that a warm run parses no file that did not change.

Under ``CACHE_DIR/summaries/BASE/`` (``BASE``: loopcheck's version, its code and data fingerprint
and the interpreter, as the results cache keys them, and the clients the configuration adds to
the catalogue):

- ``index.json``: a stat index, absolute path -> [size, mtime, ctime, device, inode, content key,
  import lines, seed flags]. A file whose stat is unchanged is not read at all: its import lines
  and flags are taken from here (the model needs nothing else to list it). As in the results cache, a
  stat taken within a timestamp tick of the file's last change is not trusted.
- ``XX/KEY.json``: one summary, under the hash of the content key, the module name, the path
  and whether it is a package (a summary records all three). JSON, not pickle: a file planted in
  the cache directory must not be able to run code when it is read.

Entries are written atomically; one that cannot be read or is not exactly the shape of a summary
(every field checked against the records' types) is a miss, rebuilt and overwritten, never an
error. A read-only cache directory
turns the cache off for the rest of the run.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import os
import sys
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from loopcheck import __version__
from loopcheck.data.catalogue import Catalogue
from loopcheck.files import absolute
from loopcheck.project import records
from loopcheck.project.selection import Flags, ImportSpec

SUBDIRECTORY = "summaries"
T = TypeVar("T")


# A file's stat as the caches compare it: size, mtime, ctime, device, inode.
Identity = tuple[int, ...]


@dataclass(frozen=True)
class Known:
    """What the stat index knows of an unchanged file; ``identity``: the stat it knows it for."""

    key: str
    specs: tuple[ImportSpec, ...]
    flags: Flags
    identity: Identity | None = None


def catalogue_key(catalogue: Catalogue) -> str:
    """What the configuration adds to ``catalogue`` (extra clients, the Celery pool), as the
    caches key it."""
    return repr((sorted(catalogue.extra_clients), catalogue.celery_pool))


def summaries_base(catalogue: str = "") -> str:
    """What every cached summary depends on: loopcheck's version, its code and data, the
    interpreter, and ``catalogue``: what the configuration adds to the catalogue
    (:func:`catalogue_key`)."""
    from loopcheck.run import cache

    interpreter = f"{sys.implementation.name}{tuple(sys.version_info[:3])}"
    identity = f"{__version__}\0{cache._data_fingerprint()}\0{interpreter}\0{catalogue}"
    return hashlib.sha256(identity.encode()).hexdigest()


class SummaryStore:
    """The summaries cache of one run (``directory`` None: everything in memory only)."""

    def __init__(self, directory: Path | None, catalogue: str = "") -> None:
        # The results cache's helpers: the fingerprint of loopcheck's code and data, atomic
        # writes, reads that never block (imported here: the run sits above the project model).
        from loopcheck.run import cache

        self._cache = cache
        base = self.base = summaries_base(catalogue)
        self.directory = None if directory is None else Path(directory) / SUBDIRECTORY / base[:16]
        self.usable = self.directory is not None
        self.index: dict[str, list[Any]] = {}
        self.updates: dict[str, list[Any] | None] = {}
        if self.directory is not None:
            loaded = cache._read_json(self.directory / "index.json")
            if isinstance(loaded, dict):
                self.index = {path: entry for path, entry in loaded.items() if _index_entry(entry)}

    def content_key(self, data: bytes) -> str:
        return hashlib.sha256(self.base.encode() + b"\0" + data).hexdigest()

    # -- the stat index --------------------------------------------------------------------

    def unchanged(self, path: str) -> Known | None:
        """What the index knows of ``path`` when its stat has not changed since."""
        entry = self.index.get(self.absolute(path))
        if entry is None or tuple(entry[:5]) != self._cache.identity_now(path):
            return None
        return _known(entry)

    def known_before(self, path: str) -> Known | None:
        """What the index knew of ``path`` when this run started, whatever its stat is now."""
        entry = self.index.get(self.absolute(path))
        return None if entry is None else _known(entry)

    def absolute(self, path: str) -> str:
        return absolute(path)

    def remember(self, path: str, identity: tuple[int, ...] | None, read_at: int | None, known: Known) -> None:
        """Record a file that was read (``identity``: its stat as opened, taken after
        ``read_at``); a stat within a timestamp tick of the file's change is left out."""
        if self.directory is None:
            return
        entry = None
        if self._cache.trusted(identity, read_at):
            flags = [known.flags.starts, known.flags.serves, known.flags.configures, known.flags.objects]
            entry = [*identity, known.key, [list(spec) for spec in known.specs], flags]
        self.updates[self.absolute(path)] = entry

    def save_index(self, listed: Iterable[str] = ()) -> None:
        """Write what was learned; the entries of files gone since (neither ``listed`` in this
        run nor on disk) are dropped, so that the index does not grow with every deleted file."""
        if not self.usable or self.directory is None:
            return
        here = set(map(self.absolute, listed))
        gone = [path for path in self.index if path not in here and not os.path.lexists(path)]
        if not (self.updates or gone):
            return
        merged = dict(self.index)
        for path in gone:
            del merged[path]
        for path, entry in self.updates.items():
            if entry is None:
                merged.pop(path, None)
            else:
                merged[path] = entry
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._cache._ignore_in_git(self.directory.parent.parent)
            self._cache._write_atomically(self.directory / "index.json", json.dumps(merged))
        except OSError:
            self.usable = False

    # -- summaries -------------------------------------------------------------------------

    def _entry(self, key: str, module: str, path: str, is_package: bool) -> Path | None:
        if self.directory is None:
            return None
        name = hashlib.sha256(f"{key}\0{module}\0{path}\0{is_package}".encode()).hexdigest()
        return self.directory / name[:2] / f"{name}.json"

    def load(self, key: str, module: str, path: str, is_package: bool) -> records.ModuleSummary | None:
        entry = self._entry(key, module, path, is_package)
        if entry is None:
            return None
        summary = decode(self._cache._read_json(entry), records.ModuleSummary)
        if summary is None:
            return None
        if (summary.module, summary.path, summary.is_package) != (module, path, is_package):
            return None
        return summary

    def store(self, key: str, summary: records.ModuleSummary) -> None:
        entry = self._entry(key, summary.module, summary.path, summary.is_package)
        if entry is None or not self.usable:
            return
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            self._cache._write_atomically(entry, json.dumps(encode(summary)))
        except OSError:
            self.usable = False


def encode(value: Any) -> Any:
    """A record as JSON data: each record a list of its fields' values, tuples as lists, an
    enumeration's member as its value."""
    if dataclasses.is_dataclass(value):
        return [encode(getattr(value, item.name)) for item in dataclasses.fields(value)]
    if isinstance(value, tuple):
        return [encode(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


class _NotTheShape(Exception):
    pass


def decode(data: Any, cls: type[T]) -> T | None:
    """The record of class ``cls`` (or of a type such as ``tuple[Record, ...]``) :func:`encode`
    gave ``data``, or None when ``data`` is not exactly such a record."""
    try:
        return _decoder(cls)(data)  # type: ignore[no-any-return]
    except (_NotTheShape, RecursionError):
        return None


Decoder = Callable[[Any], Any]
EXACT = (str, int, bool)


@functools.cache
def _decoder(hint: Any) -> Decoder:
    """A function that checks ``data`` against ``hint`` and builds its value, made once per
    type: the types are looked at here, not for every value (a warm run decodes a few hundred
    summaries, hundreds of thousands of values)."""
    if hint in EXACT:
        return functools.partial(_exact, hint)
    if hint is type(None):
        return _none
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return functools.partial(_member, hint)
    if dataclasses.is_dataclass(hint):
        return _record_decoder(hint)
    arguments = typing.get_args(hint)
    if typing.get_origin(hint) is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return _many_decoder(arguments[0])
        return _fixed_decoder(arguments)
    if arguments:  # a union: ``str | None``
        return _union_decoder(arguments)
    raise TypeError(f"no decoder for {hint!r}")


def _exact(kind: type, data: Any) -> Any:
    if type(data) is not kind:
        raise _NotTheShape
    return data


def _none(data: Any) -> None:
    if data is not None:
        raise _NotTheShape


def _member(kind: type[enum.Enum], data: Any) -> Any:
    try:
        return kind(data)
    except ValueError:
        raise _NotTheShape from None


def _record_decoder(cls: type) -> Decoder:
    # The fields' decoders are made on the first record (a record type may refer to itself).
    fields: list[tuple[type | None, Decoder]] = []
    count = len(dataclasses.fields(cls))

    def record(data: Any) -> Any:
        if type(data) is not list or len(data) != count:
            raise _NotTheShape
        if not fields:
            fields.extend((hint if hint in EXACT else None, _decoder(hint)) for hint in _hints(cls))
        values = []
        for (exact, decoder), item in zip(fields, data):
            if exact is None:
                values.append(decoder(item))
            elif type(item) is exact:  # strings and numbers checked here: most of the values
                values.append(item)
            else:
                raise _NotTheShape
        return cls(*values)

    return record


def _many_decoder(hint: Any) -> Decoder:
    def many(data: Any) -> tuple[Any, ...]:
        if type(data) is not list:
            raise _NotTheShape
        if hint in EXACT:
            if any(type(item) is not hint for item in data):
                raise _NotTheShape
            return tuple(data)
        item = _decoder(hint)
        return tuple([item(value) for value in data])

    return many


def _fixed_decoder(hints: tuple[Any, ...]) -> Decoder:
    def fixed(data: Any) -> tuple[Any, ...]:
        if type(data) is not list or len(data) != len(hints):
            raise _NotTheShape
        return tuple([_decoder(hint)(value) for hint, value in zip(hints, data)])

    return fixed


def _union_decoder(options: tuple[Any, ...]) -> Decoder:
    def either(data: Any) -> Any:
        if data is None and type(None) in options:
            return None
        for option in options:
            try:
                return _decoder(option)(data)
            except _NotTheShape:
                continue
        raise _NotTheShape

    return either


@functools.cache
def _hints(cls: type) -> tuple[Any, ...]:
    """The types of a record's fields, in order."""
    hints = typing.get_type_hints(cls)
    return tuple(hints[item.name] for item in dataclasses.fields(cls))


def _index_entry(entry: Any) -> bool:
    """Whether ``entry`` has the shape :meth:`SummaryStore.remember` writes."""
    if type(entry) is not list or len(entry) != 8:
        return False
    *identity, key, specs, flags = entry
    return (
        all(type(number) is int for number in identity)
        and type(key) is str
        and type(specs) is list
        and all(
            type(spec) is list and len(spec) == 2 and type(spec[0]) is int and type(spec[1]) is str for spec in specs
        )
        and type(flags) is list
        and len(flags) == 4
        and all(type(flag) is bool for flag in flags)
    )


def _known(entry: list[Any]) -> Known:
    key, specs, flags = entry[5:]
    return Known(key, tuple(map(tuple, specs)), Flags(*flags), tuple(entry[:5]))
