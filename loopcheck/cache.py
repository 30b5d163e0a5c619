"""The results cache: what checking a file found, stored under the hash of everything that
decides it (loopcheck's version and data, the effective configuration for that file, the
interpreter's grammar, and the file's bytes), so a file checked before is not checked again.

Entries are files written atomically (a temporary file renamed into place), so concurrent runs
can share a cache: two runs storing one entry store the same thing. A stat index (size, mtime and
inode of each path, with its entry's key and whether the entry is empty) lets a run that finds a
file unchanged skip reading it, and most entries too, as Ruff's cache does; a file whose stat
changed is read and hashed again.

The cache lives in ``.loopcheck_cache/`` beside the configuration (or in the working directory),
with a ``.gitignore`` of its own; ``--cache-dir`` or ``LOOPCHECK_CACHE_DIR`` put it elsewhere and
``--no-cache`` turns it off."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from loopcheck import __version__
from loopcheck.diagnostics import Diagnostic, Fix, Safety

DIRECTORY = ".loopcheck_cache"
ENVIRONMENT = "LOOPCHECK_CACHE_DIR"


def _data_fingerprint() -> str:
    """The catalogues, the rule index and loopcheck's own code (by size and modification time,
    so that an editable install being worked on never serves results of older code): a change to
    any of them changes every result."""
    digest = hashlib.sha256()
    data = resources.files("loopcheck.data")
    for name in sorted(entry.name for entry in data.iterdir() if entry.name.endswith((".toml", ".json"))):
        digest.update(name.encode())
        digest.update(data.joinpath(name).read_bytes())
    package = Path(__file__).parent
    for module in sorted(package.rglob("*.py")):
        info = module.stat()
        digest.update(f"{module.relative_to(package)}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def default_directory(root: Path) -> Path:
    override = os.environ.get(ENVIRONMENT)
    return Path(override) if override else root / DIRECTORY


class Cache:
    def __init__(self, directory: Path, settings_key: str) -> None:
        # Every key starts with the version, the data and the interpreter's grammar.
        base = f"{__version__}\0{_data_fingerprint()}\0{sys.version_info[:2]}\0{settings_key}"
        self.base = hashlib.sha256(base.encode()).hexdigest()
        self.directory = directory / self.base[:16]
        self.index_path = self.directory / "index.json"
        # Keys of files with no finding: most files, kept in one file rather than one each.
        self.empty_path = self.directory / "empty.json"
        self.empty_keys: set[str] = set()
        self.index: dict[str, list[Any]] = {}
        self.usable = True
        try:
            self.index = json.loads(self.index_path.read_text("utf-8"))
        except (OSError, ValueError):
            self.index = {}
        try:
            self.empty_keys = set(json.loads(self.empty_path.read_text("utf-8")))
        except (OSError, ValueError, TypeError):
            self.empty_keys = set()

    # -- keys ------------------------------------------------------------------------------

    def key(self, profile: str, data: bytes) -> str:
        """The entry key of a file's bytes checked as ``profile`` says (its codes and the
        Python its fixes target: both decide its findings)."""
        digest = hashlib.sha256(self.base.encode())
        digest.update(profile.encode())
        digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def unchanged(self, path: str, profile: str) -> tuple[str, bool] | None:
        """The entry key of ``path``, and whether the entry is empty (no finding), when its stat
        says it has not changed since it was stored with this profile, else None."""
        known = self.index.get(os.path.abspath(path))
        if known is None or len(known) != 6:
            return None
        try:
            stat = os.stat(path)
        except OSError:
            return None
        size, mtime, inode, stored_profile, key, empty = known
        if (size, mtime, inode, stored_profile) != (stat.st_size, stat.st_mtime_ns, stat.st_ino, profile):
            return None
        return key, empty

    def remember(self, path: str, profile: str, key: str, empty: bool) -> list[Any] | None:
        """The stat-index entry for ``path`` (the caller hands it to :meth:`save_index`)."""
        try:
            stat = os.stat(path)
        except OSError:
            return None
        return [stat.st_size, stat.st_mtime_ns, stat.st_ino, profile, key, empty]

    # -- entries ---------------------------------------------------------------------------

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def load(self, key: str, path: str) -> list[Diagnostic] | None:
        """The findings stored under ``key`` (files that could not be checked are never
        stored), or None when there is no entry."""
        if key in self.empty_keys:
            return []
        try:
            data = json.loads(self._entry(key).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return [_diagnostic(path, item) for item in data["diagnostics"]]

    def store(self, key: str, diagnostics: list[Diagnostic]) -> None:
        if not self.usable or not diagnostics:
            return  # an empty result is remembered in the index (see save_index)
        entry = self._entry(key)
        payload = json.dumps({"diagnostics": [_plain(d) for d in diagnostics]})
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(entry, payload)
        except OSError:
            self.usable = False  # a read-only cache directory: the run goes on without it

    def save_index(self, updates: dict[str, list[Any]]) -> None:
        """Merge what this run learned into the stat index (written atomically)."""
        if not updates or not self.usable:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _ignore_in_git(self.directory.parent)
            merged = {**self.index, **updates}
            _write_atomically(self.index_path, json.dumps(merged))
            empty = self.empty_keys | {entry[4] for entry in updates.values() if entry[5]}
            if empty != self.empty_keys:
                _write_atomically(self.empty_path, json.dumps(sorted(empty)))
        except OSError:
            self.usable = False


def _write_atomically(path: Path, text: str) -> None:
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


def _plain(d: Diagnostic) -> dict[str, Any]:
    fix = None if d.fix is None else [d.fix.safety.value, d.fix.description]
    return {"at": [d.line, d.column, d.end_line, d.end_column], "code": d.code, "message": d.message, "fix": fix}


def _diagnostic(path: str, item: dict[str, Any]) -> Diagnostic:
    line, column, end_line, end_column = item["at"]
    fix = None if item["fix"] is None else Fix(Safety(item["fix"][0]), item["fix"][1])
    return Diagnostic(path, line, column, end_line, end_column, item["code"], item["message"], fix)
