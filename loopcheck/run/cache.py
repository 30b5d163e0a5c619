"""The results cache: what checking a file found, stored under the hash of everything that
decides it (loopcheck's version, code and data, LibCST's version, the interpreter's version, the
effective configuration for that file, and the file's bytes), so a file checked before is not
checked again.

Entries are files written atomically (a temporary file renamed into place), so concurrent runs
can share a cache: two runs storing one entry store the same thing. A stat index (size, mtime,
ctime, device and inode of each path, with the profile it was checked with, its entry's key and
whether the entry is empty) lets a run that finds a file unchanged skip reading it, and most
entries too, as Ruff's cache does; its profiles (a file's codes and fix target: one or a few per
run, each a long string) are written once, each entry naming its own by number. A
file whose stat changed is read and hashed again. The stat recorded is the one taken on the open
file when its bytes were read, so a file replaced or edited while it was checked is read again
next time. The ctime is in it because nothing but a change sets it (``os.utime`` can put an mtime
back, not a ctime). A stat taken within a timestamp tick of the file's last change cannot tell a
later change in that tick apart, so such a file is left out of the index until it is older (the
"racy clean" case Git knows): it is read and hashed again, and its entry still serves.

Everything read from the cache directory is checked for the shape loopcheck writes: anything else
(a hand-edited, truncated or foreign file) is a miss, and is overwritten, never an error.

The cache lives in ``.loopcheck_cache/`` beside the configuration (or in the working directory),
with a ``.gitignore`` of its own; ``--cache-dir`` or ``LOOPCHECK_CACHE_DIR`` put it elsewhere and
``--no-cache`` turns it off."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopcheck import __version__
from loopcheck.data import DIRECTORY as DATA_DIRECTORY
from loopcheck.engine.diagnostics import Diagnostic, Evidence, Fix, Location, Safety, SafeWhen, Withheld
from loopcheck.files import absolute, json_of, regular_bytes
from loopcheck.run.sources import Identity, identity_of

DIRECTORY = ".loopcheck_cache"
ENVIRONMENT = "LOOPCHECK_CACHE_DIR"
# How long after a file's last change (its ctime) a stat taken of it may be trusted: longer than
# a file system timestamp tick (the kernel's coarse clock: 1-10 ms) on file systems that keep
# sub-second times, longer than their 1-2 s granularity on those that do not.
RACY_MARGIN_NS = 100_000_000
COARSE_RACY_MARGIN_NS = 3_000_000_000
# The shape of a stored finding (see _plain): raised when it changes, so that a run never reads
# entries an older loopcheck wrote as misses one by one (2: with the finding's evidence; 3: with
# the fix only the project model offers).
ENTRY_FORMAT = 3


@functools.cache  # the same for the whole run: the results cache and the model's caches ask
def _data_fingerprint() -> str:
    """The catalogues, the rule index, loopcheck's own code (by size and modification time, so
    that an editable install being worked on never serves results of older code) and LibCST's
    version: a change to any of them changes every result."""
    digest = hashlib.sha256()
    data = Path(DATA_DIRECTORY)  # as the catalogues are read (``loopcheck.data.data_text``)
    for name in sorted(entry.name for entry in data.iterdir() if entry.name.endswith((".toml", ".json"))):
        digest.update(name.encode())
        digest.update((data / name).read_bytes())
    package = Path(__file__).parents[1]
    for module in sorted(package.rglob("*.py")):
        info = module.stat()
        digest.update(f"{module.relative_to(package)}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    digest.update(_libcst_version())
    return digest.hexdigest()


def _libcst_version() -> bytes:
    """LibCST's version file, found without importing LibCST (a run that needs no parse never
    pays for the import): another parser may find other things."""
    try:
        spec = importlib.util.find_spec("libcst")
        origin = spec.origin if spec is not None else None
        return (Path(origin).parent / "_version.py").read_bytes() if origin else b""
    except (ImportError, OSError, ValueError):
        return b""


def default_directory(root: Path) -> Path:
    override = os.environ.get(ENVIRONMENT)
    return Path(override) if override else root / DIRECTORY


@dataclass(frozen=True)
class Remembered:
    """What checking a file taught the cache, for the parent to save (see :meth:`Cache.save_index`):
    the stat-index entry (None when the stat cannot be trusted yet), the entry key and whether
    the file has no finding."""

    entry: list[Any] | None
    key: str
    empty: bool


class Cache:
    def __init__(self, directory: Path, settings_key: str) -> None:
        # Every key starts with the version, the entry format, the data, LibCST's version and the
        # interpreter (the grammar, and what compile() accepts, change with it).
        interpreter = f"{sys.implementation.name}{tuple(sys.version_info[:3])}"
        base = f"{__version__}\0{ENTRY_FORMAT}\0{_data_fingerprint()}\0{interpreter}\0{settings_key}"
        self.base = hashlib.sha256(base.encode()).hexdigest()
        self.directory = directory / self.base[:16]
        self.index_path = self.directory / "index.json"
        # Keys of files with no finding: most files, kept in one file rather than one each.
        self.empty_path = self.directory / "empty.json"
        self.usable = True
        # By absolute path: [size, mtime, ctime, device, inode, profile, key, empty].
        self.index: dict[str, list[Any]] = _read_index(self.index_path)
        loaded = _read_json(self.empty_path)
        valid = type(loaded) is list and all(type(key) is str for key in loaded)
        self.empty_keys: set[str] = set(loaded) if valid else set()
        # A file of another shape is rewritten by the next save, even when nothing is new.
        self._rewrite_empty = not valid and self.empty_path.exists()

    # -- keys ------------------------------------------------------------------------------

    def key(self, profile: str, data: bytes) -> str:
        """The entry key of a file's bytes checked as ``profile`` says (its codes and the
        Python its fixes target: see runner.Checker.profile)."""
        digest = hashlib.sha256(self.base.encode())
        digest.update(profile.encode())
        digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def unchanged(self, path: str, profile: str) -> tuple[str, bool] | None:
        """The entry key of ``path``, and whether the entry is empty (no finding), when its stat
        says it has not changed since it was read and stored with this profile, else None."""
        known = self.index.get(absolute(path))
        if known is None:
            return None
        *identity, stored_profile, key, empty = known
        if tuple(identity) != identity_now(path) or stored_profile != profile:
            return None
        return key, empty

    def remember(
        self, identity: Identity | None, read_at: int | None, profile: str, key: str, empty: bool
    ) -> Remembered:
        """What to save for a file whose bytes (stored under ``key``) were read at ``read_at``
        (``time.time_ns()`` before its stat ``identity`` was taken). The stat goes into the index
        only when the file's last change is older than a timestamp tick at that moment: a change
        in the same tick would leave the stat as it is."""
        entry = [*identity, profile, key, empty] if trusted(identity, read_at) else None
        return Remembered(entry, key, empty)

    # -- entries ---------------------------------------------------------------------------

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def load(self, key: str, path: str, codes: Iterable[str]) -> list[Diagnostic] | None:
        """The findings stored under ``key`` for a file checked with ``codes`` (files that could
        not be checked are never stored), or None when there is no entry or it is not one this
        cache wrote (another shape, another key, a code the file was not checked for)."""
        if key in self.empty_keys:
            return []
        data = _read_json(self._entry(key))
        if not isinstance(data, dict) or data.get("key") != key:
            return None
        items = data.get("diagnostics")
        if not isinstance(items, list) or not items:  # an empty result is never stored here
            return None
        allowed = set(codes)
        found = [_diagnostic(path, item, allowed) for item in items]
        return None if None in found else found  # type: ignore[return-value]

    def store(self, key: str, diagnostics: list[Diagnostic]) -> None:
        if not self.usable or not diagnostics:
            return  # an empty result is remembered in the index (see save_index)
        entry = self._entry(key)
        payload = json.dumps({"key": key, "diagnostics": [_plain(d) for d in diagnostics]})
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(entry, payload)
        except OSError:
            self.usable = False  # a read-only cache directory: the run goes on without it

    def save_index(self, updates: dict[str, Remembered]) -> None:
        """Merge what this run learned (by absolute path) into the stat index and the set of
        empty results (written atomically). A path whose stat cannot be trusted yet leaves the
        index."""
        if not self.usable or not (updates or self._rewrite_empty):
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _ignore_in_git(self.directory.parent)
            merged = {**self.index}
            for path, learned in updates.items():
                if learned.entry is None:
                    merged.pop(path, None)
                else:
                    merged[path] = learned.entry
            _write_atomically(self.index_path, json.dumps(_plain_index(merged)))
            # Every key known to be empty, also those only the index still holds (a list of
            # another shape was dropped when read).
            empty = self.empty_keys | {learned.key for learned in updates.values() if learned.empty}
            empty.update(entry[6] for entry in merged.values() if entry[7])
            if empty != self.empty_keys or self._rewrite_empty:
                _write_atomically(self.empty_path, json.dumps(sorted(empty)))
        except OSError:
            self.usable = False


def identity_now(path: str) -> Identity | None:
    """The stat identity of ``path`` now, or None when it cannot be taken."""
    try:
        return identity_of(os.stat(path))
    except OSError:
        return None


def trusted(identity: Identity | None, read_at: int | None) -> bool:
    """Whether a stat ``identity`` taken after ``read_at`` (``time.time_ns()``) may go into a stat
    index: the file's last change is older than a timestamp tick at that moment (a change in the
    same tick would leave the stat as it is)."""
    if identity is None or read_at is None:
        return False
    ctime = identity[2]
    margin = COARSE_RACY_MARGIN_NS if ctime % 1_000_000_000 == 0 else RACY_MARGIN_NS
    return ctime < read_at - margin


def _read_json(path: Path) -> Any:
    """The JSON in the regular file ``path``, or None when it cannot be read or is not JSON
    (shape is checked by the caller). Read as source files are (``files.read_regular``): a fifo
    in the cache's place must not hang every run."""
    data = regular_bytes(path)
    return None if data is None else json_of(data)


def _read_index(path: Path) -> dict[str, list[Any]]:
    """The stat index :func:`_plain_index` wrote at ``path``, each entry with its profile
    again; entries of another shape are dropped (the next save rewrites the file)."""
    loaded = _read_json(path)
    if type(loaded) is not dict or set(loaded) != {"profiles", "entries"}:
        return {}
    profiles, entries = loaded["profiles"], loaded["entries"]
    if type(profiles) is not list or type(entries) is not dict or not all(type(p) is str for p in profiles):
        return {}
    index = {}
    for path, entry in entries.items():
        if _index_entry(entry) and 0 <= entry[5] < len(profiles):
            entry[5] = profiles[entry[5]]
            index[path] = entry
    return index


def _plain_index(index: dict[str, list[Any]]) -> dict[str, Any]:
    """``index`` as written: each distinct profile once, each entry naming its own by number."""
    numbers: dict[str, int] = {}
    entries = {}
    for path, entry in index.items():
        number = numbers.setdefault(entry[5], len(numbers))
        entries[path] = [*entry[:5], number, *entry[6:]]
    return {"profiles": list(numbers), "entries": entries}


def _is_int(value: Any) -> bool:
    return type(value) is int  # JSON gives exact ints; a bool is not one


def _index_entry(entry: Any) -> bool:
    """Whether ``entry`` is a stat-index entry as :func:`_plain_index` writes them: the five
    numbers of the stat, the number of its profile (codes and fix target), the entry key,
    whether it is empty. (Run on every entry of the index at each run: kept to exact type tests,
    about 0.5 microseconds an entry.)"""
    if type(entry) is not list or len(entry) != 8:
        return False
    size, mtime, ctime, device, inode, profile, key, empty = entry
    return (
        type(size) is type(mtime) is type(ctime) is type(device) is type(inode) is type(profile) is int
        and type(key) is str
        and type(empty) is bool
    )


def _write_atomically(path: Path, text: str) -> None:
    import tempfile

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _ignore_in_git(directory: Path) -> None:
    marker = directory / ".gitignore"
    if not marker.exists():
        marker.write_text("# Created by loopcheck: its results cache.\n*\n", encoding="utf-8")


def _plain_fix(fix: Fix | None) -> list[Any] | None:
    if fix is None:
        return None
    plain: list[Any] = [fix.safety.value, fix.description]
    if fix.safe_when is not None:
        safe_when = fix.safe_when
        plain += [[list(parameter) for parameter in safe_when.parameters], safe_when.title, list(safe_when.removes)]
    return plain


def _plain(d: Diagnostic) -> dict[str, Any]:
    withheld = d.withheld
    return {
        "at": [d.line, d.column, d.end_line, d.end_column],
        "cell": d.cell,
        "code": d.code,
        "message": d.message,
        "fix": _plain_fix(d.fix),
        "withheld": None if withheld is None else [
            list(withheld.names), withheld.reason, _plain_fix(withheld.alone), _plain_fix(withheld.imported)
        ],
        "evidence": [
            [e.message, _plain_location(e.location), [_plain_location(step) for step in e.steps]]
            for e in d.evidence
        ],
    }


def _plain_location(location: Location) -> list[Any]:
    return [location.path, location.line, location.column, location.message]


_SAFETIES = {safety.value: safety for safety in Safety}


def _diagnostic(path: str, item: Any, codes: set[str]) -> Diagnostic | None:
    """The finding :func:`_plain` stored, or None when ``item`` is not one."""
    if not isinstance(item, dict) or set(item) != {"at", "cell", "code", "message", "fix", "withheld", "evidence"}:
        return None
    at, code, message = item["at"], item["code"], item["message"]
    if not (isinstance(at, list) and len(at) == 4 and all(_is_int(n) for n in at)):
        return None
    if not isinstance(code, str) or code not in codes or not isinstance(message, str):
        return None
    cell = item["cell"]
    if cell is not None and not _is_int(cell):
        return None
    fix = _fix(item["fix"])
    if fix is None and item["fix"] is not None:
        return None
    withheld = _withheld(item["withheld"])
    if withheld is None and item["withheld"] is not None:
        return None
    evidence = _evidence(item["evidence"])
    if evidence is None:
        return None
    return Diagnostic(path, *at, code, message, fix, evidence, cell, withheld)


def _fix(fix: Any) -> Fix | None:
    """The fix :func:`_plain_fix` stored, or None when ``fix`` is not one."""
    if not (
        isinstance(fix, list)
        and len(fix) in (2, 5)
        and isinstance(fix[0], str)
        and fix[0] in _SAFETIES
        and isinstance(fix[1], str)
    ):
        return None
    safe_when = _safe_when(fix[2:])
    if len(fix) == 5 and safe_when is None:
        return None
    return Fix(_SAFETIES[fix[0]], fix[1], safe_when=safe_when)


def _withheld(item: Any) -> Withheld[Fix] | None:
    """What :func:`_plain` stored of a finding's ``withheld`` fix, or None when ``item`` is not that."""
    if not (isinstance(item, list) and len(item) == 4 and isinstance(item[0], list) and isinstance(item[1], str)):
        return None
    names, reason, alone, imported = item[0], item[1], _fix(item[2]), _fix(item[3])
    if not all(isinstance(name, str) for name in names) or alone is None or (imported is None and item[3] is not None):
        return None
    return Withheld(tuple(names), reason, alone, imported)


def _safe_when(item: list[Any]) -> SafeWhen | None:
    """What :func:`_plain` stored of a fix's ``safe_when`` (``[[[function, parameter], ...],
    title, [removed name, ...]]``), or None when ``item`` is not that."""
    if len(item) != 3 or not all(isinstance(part, t) for part, t in zip(item, (list, str, list))):
        return None
    pairs, title, removes = item
    if not all(isinstance(p, list) and len(p) == 2 and all(isinstance(n, str) for n in p) for p in pairs):
        return None
    if not all(isinstance(name, str) for name in removes):
        return None
    return SafeWhen(tuple((function, parameter) for function, parameter in pairs), title, tuple(removes))


def _evidence(items: Any) -> tuple[Evidence, ...] | None:
    """The evidence :func:`_plain` stored, or None when ``items`` is not what it stores."""
    if not isinstance(items, list):
        return None
    evidence = []
    for item in items:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)):
            return None
        message, location, steps = item
        if not isinstance(steps, list):
            return None
        places = [_location(place) for place in (location, *steps)]
        if None in places:
            return None
        evidence.append(Evidence(message, places[0], tuple(places[1:])))  # type: ignore[arg-type]
    return tuple(evidence)


def _location(item: Any) -> Location | None:
    if not (isinstance(item, list) and len(item) == 4):
        return None
    path, line, column, message = item
    if not (isinstance(path, str) and _is_int(line) and _is_int(column) and isinstance(message, str)):
        return None
    return Location(path, line, column, message)
