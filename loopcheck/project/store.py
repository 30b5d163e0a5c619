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
import functools
import hashlib
import json
import os
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from loopcheck import __version__
from loopcheck.project import records
from loopcheck.project.selection import Flags, ImportSpec

SUBDIRECTORY = "summaries"
T = TypeVar("T")


@dataclass(frozen=True)
class Known:
    """What the stat index knows of an unchanged file."""

    key: str
    specs: tuple[ImportSpec, ...]
    flags: Flags


class SummaryStore:
    """The summaries cache of one run (``directory`` None: everything in memory only)."""

    def __init__(self, directory: Path | None, catalogue: str = "") -> None:
        # The results cache's helpers: the fingerprint of loopcheck's code and data, atomic
        # writes, reads that never block (imported here: the run sits above the project model).
        from loopcheck.run import cache

        self._cache = cache
        interpreter = f"{sys.implementation.name}{tuple(sys.version_info[:3])}"
        # ``catalogue``: what the configuration adds to the catalogue (extra clients).
        identity = f"{__version__}\0{cache._data_fingerprint()}\0{interpreter}\0{catalogue}"
        base = hashlib.sha256(identity.encode()).hexdigest()
        self.base = base
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
        entry = self.index.get(os.path.abspath(path))
        if entry is None or tuple(entry[:5]) != self._cache.identity_now(path):
            return None
        key, specs, flags = entry[5:]
        return Known(key, tuple((level, name) for level, name in specs), Flags(*flags))

    def remember(self, path: str, identity: tuple[int, ...] | None, read_at: int | None, known: Known) -> None:
        """Record a file that was read (``identity``: its stat as opened, taken after
        ``read_at``); a stat within a timestamp tick of the file's change is left out."""
        if self.directory is None:
            return
        entry = None
        if self._cache.trusted(identity, read_at):
            flags = [known.flags.starts, known.flags.serves]
            entry = [*identity, known.key, [list(spec) for spec in known.specs], flags]
        self.updates[os.path.abspath(path)] = entry

    def save_index(self) -> None:
        if not (self.usable and self.updates) or self.directory is None:
            return
        merged = dict(self.index)
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
    """A record as JSON data: each record a list of its fields' values, tuples as lists."""
    if dataclasses.is_dataclass(value):
        return [encode(getattr(value, item.name)) for item in dataclasses.fields(value)]
    if isinstance(value, tuple):
        return [encode(item) for item in value]
    return value


class _NotTheShape(Exception):
    pass


def decode(data: Any, cls: type[T]) -> T | None:
    """The record of class ``cls`` :func:`encode` gave ``data``, or None when ``data`` is not
    exactly such a record."""
    try:
        return _decode(data, cls)  # type: ignore[no-any-return]
    except (_NotTheShape, RecursionError):
        return None


def _decode(data: Any, hint: Any) -> Any:
    if hint in (str, int, bool):
        if type(data) is not hint:
            raise _NotTheShape
        return data
    if hint is type(None):
        if data is not None:
            raise _NotTheShape
        return None
    if dataclasses.is_dataclass(hint):
        fields = _hints(hint)
        if type(data) is not list or len(data) != len(fields):
            raise _NotTheShape
        return hint(*(_decode(item, field_hint) for item, field_hint in zip(data, fields)))
    arguments = typing.get_args(hint)
    if typing.get_origin(hint) is tuple:
        if type(data) is not list:
            raise _NotTheShape
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return tuple(_decode(item, arguments[0]) for item in data)
        if len(data) != len(arguments):
            raise _NotTheShape
        return tuple(_decode(item, item_hint) for item, item_hint in zip(data, arguments))
    for option in arguments:  # a union: ``str | None``
        try:
            return _decode(data, option)
        except _NotTheShape:
            continue
    raise _NotTheShape


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
        and len(flags) == 2
        and all(type(flag) is bool for flag in flags)
    )
