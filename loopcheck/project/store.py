"""The summaries cache: module summaries stored by the content of their file, beside the results
cache, so that a warm run parses no file that did not change.

Under ``CACHE_DIR/summaries/BASE/`` (``BASE``: loopcheck's version, its code and data fingerprint
and the interpreter, as the results cache keys them, and the clients the configuration adds to
the catalogue):

- ``index.json``: a stat index, ``{"journal": NAME, "entries": {absolute path: [size, mtime,
  ctime, device, inode, content key, import lines, seed flags]}}``, the import lines in one
  string (``import a.b`` and ``from .. import c`` as ``:a.b ..:c``: each string is some list of
  imports, so it needs no check when read, and it parses in a fraction of the time of a list of
  lists). A file whose stat is
  unchanged is not read at all: its import lines and flags are taken from here (the model needs
  nothing else to list it). As in the results cache, a stat taken within a timestamp tick of the
  file's last change is not trusted.
- ``NAME.journal``: what runs learned since ``index.json`` was written, one JSON object a line
  (path -> entry, or null for a path gone), applied in order when the index is read. A run that
  changed a few files appends one line instead of rewriting the whole index (megabytes for a
  large project); once the journal grows past a quarter of the index (``COMPACT_SHARE``), the
  run that would append writes a new ``index.json`` under a new journal name instead. A line
  cut short or of another shape (two runs appending at once, a crash) is skipped: its files
  are read again, as for any miss.
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
import re
import secrets
import stat
import sys
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from loopcheck import __version__
from loopcheck.data.catalogue import Catalogue
from loopcheck.files import absolute, json_of, regular_bytes
from loopcheck.project import records
from loopcheck.project.selection import Flags, ImportSpec

SUBDIRECTORY = "summaries"
T = TypeVar("T")
# The journal is folded into a new index once it is this share of the index's size: a read
# then parses at most a quarter more than the index itself.
COMPACT_SHARE = 0.25


# A file's stat as the caches compare it: size, mtime, ctime, device, inode.
Identity = tuple[int, ...]


class Known:
    """What the stat index knows of an unchanged file; ``identity``: the stat it knows it for.
    The import lines of an entry read from the index are made into tuples when first asked for:
    a run whose files kept their import lines (most) never asks, but for the files that changed."""

    __slots__ = ("key", "flags", "identity", "_specs", "_stored")

    def __init__(
        self, key: str, specs: tuple[ImportSpec, ...], flags: Flags, identity: Identity | None = None
    ) -> None:
        self.key, self.flags, self.identity = key, flags, identity
        self._specs: tuple[ImportSpec, ...] | None = specs
        self._stored = ""

    @classmethod
    def stored(cls, key: str, specs: str, flags: Flags, identity: Identity) -> Known:
        """An entry of the index, its import lines as they were written (``_plain_specs``)."""
        known = cls(key, (), flags, identity)
        known._specs, known._stored = None, specs
        return known

    @property
    def specs(self) -> tuple[ImportSpec, ...]:
        if self._specs is None:
            self._specs = _read_specs(self._stored)
        return self._specs


def _plain_specs(specs: Iterable[ImportSpec]) -> str:
    """Import lines as the index writes them: ``from .. import c`` as ``..:c``, space between.
    (Names as the import lines' pattern finds them hold neither spaces nor colons.)"""
    return " ".join(f"{'.' * level}:{name}" for level, name in specs)


def _read_specs(text: str) -> tuple[ImportSpec, ...]:
    """What :func:`_plain_specs` wrote; any string gives a list of imports."""
    if not text:
        return ()
    return tuple([(len(dots), name) for dots, _, name in (item.partition(":") for item in text.split(" "))])


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
        # The journal the index names (None: no index to extend), and the sizes that decide
        # whether the next save appends to it or writes a new index.
        self._journal: str | None = None
        self._index_size = self._journal_size = 0
        if self.directory is not None:
            self._read_index(self.directory)

    def _read_index(self, directory: Path) -> None:
        """The index as written, then each line of its journal applied in turn."""
        data = regular_bytes(directory / "index.json")
        loaded = json_of(data) if data is not None else None
        if type(loaded) is not dict or set(loaded) != {"journal", "entries"}:
            return
        journal, entries = loaded["journal"], loaded["entries"]
        if type(journal) is not str or not JOURNAL_NAME.fullmatch(journal) or type(entries) is not dict:
            return
        assert data is not None
        self.index = {path: entry for path, entry in entries.items() if _index_entry(entry)}
        self._journal, self._index_size = journal, len(data)
        lines = regular_bytes(directory / f"{journal}.journal") or b""
        self._journal_size = len(lines)
        for line in lines.splitlines():
            changes = json_of(line)
            if type(changes) is not dict:
                continue  # cut short by a crash, or two runs' lines run together
            for path, entry in changes.items():
                if _index_entry(entry):
                    self.index[path] = entry
                else:  # gone, or of another shape: unknown
                    self.index.pop(path, None)

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
            entry = [*identity, known.key, _plain_specs(known.specs), flags]
        self.updates[self.absolute(path)] = entry

    def save_index(self, listed: Iterable[str] = ()) -> None:
        """Write what was learned; the entries of files gone since (neither ``listed`` in this
        run nor on disk) are dropped, so that the index does not grow with every deleted file.
        Appended to the journal while it is small beside the index, else a new index."""
        if not self.usable or self.directory is None:
            return
        here = set(map(self.absolute, listed))
        changes: dict[str, list[Any] | None] = {
            path: None for path in self.index if path not in here and not os.path.lexists(path)
        }
        changes.update(self.updates)
        if not changes:
            return
        line = (json.dumps(changes) + "\n").encode()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._cache._ignore_in_git(self.directory.parent.parent)
            if self._journal is not None and self._journal_size + len(line) <= COMPACT_SHARE * self._index_size:
                _append(self.directory / f"{self._journal}.journal", line)
            else:
                self._compact(self.directory, changes)
        except OSError:
            self.usable = False

    def _compact(self, directory: Path, changes: dict[str, list[Any] | None]) -> None:
        """A new index with ``changes`` applied, under a new journal name; the journals of
        earlier indexes (this one's, and any a crash or another run left) are removed."""
        merged = dict(self.index)
        for path, entry in changes.items():
            if entry is None:
                merged.pop(path, None)
            else:
                merged[path] = entry
        journal = secrets.token_hex(8)
        self._cache._write_atomically(directory / "index.json", json.dumps({"journal": journal, "entries": merged}))
        for old in directory.glob("*.journal"):
            if old.name != f"{journal}.journal":
                old.unlink(missing_ok=True)

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


# The name of a journal, as :meth:`SummaryStore._compact` makes it: a file name, nothing else.
JOURNAL_NAME = re.compile(r"[0-9a-f]{16}")


def _append(path: Path, line: bytes) -> None:
    """Append ``line`` with one write: lines of runs appending at once do not interleave. Only
    to a regular file: opening a fifo in its place to write fails at once (no reader) instead
    of waiting for one."""
    handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o600)
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise OSError("the journal of the summaries index is not a regular file")
        written = os.write(handle, line)
    finally:
        os.close(handle)
    if written != len(line):
        raise OSError("the journal of the summaries index could not be written whole")


def _index_entry(entry: Any) -> bool:
    """Whether ``entry`` has the shape :meth:`SummaryStore.remember` writes."""
    if type(entry) is not list or len(entry) != 8:
        return False
    *identity, key, specs, flags = entry
    return (
        all(type(number) is int for number in identity)
        and type(key) is type(specs) is str
        and type(flags) is list
        and len(flags) == 4
        and all(type(flag) is bool for flag in flags)
    )


@functools.cache  # sixteen of them: one each, not one per file
def _flags(starts: bool, serves: bool, configures: bool, objects: bool) -> Flags:
    return Flags(starts, serves, configures, objects)


def _known(entry: list[Any]) -> Known:
    key, specs, flags = entry[5:]
    return Known.stored(key, specs, _flags(*flags), tuple(entry[:5]))
