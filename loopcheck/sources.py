"""Finding the files to check, reading them faithfully and writing fixes back atomically."""

from __future__ import annotations

import io
import os
import stat
import tempfile
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from loopcheck.config import Settings
from loopcheck.diagnostics import SourceError

SOURCE_SUFFIXES = (".py", ".pyi")


def _is_virtualenv(directory: Path) -> bool:
    return (directory / "pyvenv.cfg").is_file()


def discover(
    paths: Iterable[str], settings: Settings | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    """The files to check under ``paths``, and (path, reason) for paths that do not exist.

    Directories are walked for ``*.py`` and ``*.pyi`` files, skipping what ``exclude`` and
    ``extend-exclude`` name (by default version control, caches, build output) and virtual
    environments. Files named explicitly are checked unless the configuration excludes them.
    """
    settings = settings or Settings()
    found: dict[str, None] = {}
    missing: list[tuple[str, str]] = []
    for given in paths:
        path = Path(given)
        if path.is_file():
            if not settings.excluded_by_user(path):
                found[str(path)] = None
        elif path.is_dir():
            for root, directories, files in os.walk(path):
                directories[:] = sorted(
                    d
                    for d in directories
                    if not settings.excluded(Path(root, d)) and not _is_virtualenv(Path(root, d))
                )
                for name in sorted(files):
                    if name.endswith(SOURCE_SUFFIXES) and not settings.excluded(Path(root, name)):
                        found[str(Path(root, name))] = None
        elif path.exists():
            missing.append((given, "not a regular file or directory"))
        else:
            missing.append((given, "no such file or directory"))
    return list(found), missing


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str
    encoding: str


def decode_source(path: str, data: bytes) -> SourceFile:
    """Decode Python source the way the interpreter does (BOM, PEP 263 declaration, else UTF-8)."""
    if b"\0" in data:
        raise SourceError("binary file (contains NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        if "invalid or missing encoding declaration" not in str(error):
            raise SourceError(f"bad encoding declaration: {error}") from None
        encoding = "utf-8"  # undeclared and not UTF-8: say where, below
    try:
        text = data.decode(encoding)
    except LookupError:
        raise SourceError(f"bad encoding declaration: unknown encoding {encoding}") from None
    except UnicodeDecodeError as error:
        raise SourceError(
            f"not valid {encoding}: byte 0x{data[error.start]:02x} at offset {error.start}"
            " (save the file as UTF-8 or declare its encoding, PEP 263)"
        ) from None
    return SourceFile(path, text, encoding)


def read_source(path: str) -> SourceFile:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}") from None
    return decode_source(path, data)


def write_source(source: SourceFile, text: str) -> None:
    """Replace the file's content atomically, keeping its encoding, line endings and mode."""
    try:
        data = text.encode(source.encoding)
    except UnicodeEncodeError as error:
        raise SourceError(f"the fix cannot be written in {source.encoding}: {error.reason}") from None
    target = Path(source.path)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".loopcheck"
        )
    except OSError as error:
        raise SourceError(f"cannot write: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise SourceError(f"cannot write: {error.strerror or error}") from None
