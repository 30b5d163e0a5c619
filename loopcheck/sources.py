"""Finding the files to check and reading them faithfully (writing fixes back: ``writing``)."""

from __future__ import annotations

import errno
import io
import os
import stat
import time
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from loopcheck.config import Settings
from loopcheck.diagnostics import SourceError
from loopcheck.limits import DEFAULT_MAX_FILE_SIZE

SOURCE_SUFFIXES = (".py", ".pyi")


def _is_virtualenv(directory: Path) -> bool:
    return (directory / "pyvenv.cfg").is_file()


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a fifo"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _stat(path: str) -> os.stat_result | str:
    """``os.stat`` (through symbolic links), or why there is nothing to read at ``path``."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return "broken symbolic link" if os.path.islink(path) else "no such file or directory"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symbolic link loop"
        return f"cannot stat: {error.strerror or error}"


@dataclass
class Discovery:
    """The files to check, the paths that could not be checked (named on the command line, or
    unreadable directories) and the entries skipped while walking (fifos, devices, sockets,
    broken or looping symbolic links named like Python files), each with its reason."""

    files: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def discover(paths: Iterable[str], settings: Settings | None = None) -> Discovery:
    """Directories are walked for ``*.py`` and ``*.pyi`` files, skipping what ``exclude`` and
    ``extend-exclude`` name (by default version control, caches, build output) and virtual
    environments; symbolic links to directories are not followed. Files named explicitly are
    checked unless the configuration excludes them. Nothing is opened here: every candidate is
    looked at with ``stat`` first, so a fifo or a device is never read (a read would block). A file
    reached more than once (``a.py``, ``./a.py``, ``dir/../a.py``, its absolute path, a hard or
    symbolic link, a file named and inside a directory named) is checked once, under the first
    name it was reached by."""
    settings = settings or Settings()
    found: dict[tuple[int, int], str] = {}  # (device, inode) -> the first name of the file
    result = Discovery()
    for given in paths:
        status = _stat(given)
        if isinstance(status, str):
            result.errors.append((given, status))
        elif stat.S_ISDIR(status.st_mode):
            _walk(given, settings, found, result)
        elif not stat.S_ISREG(status.st_mode):
            result.errors.append((given, f"not a regular file ({_kind(status.st_mode)})"))
        elif not settings.excluded_by_user(given):
            found.setdefault(_file_identity(status), str(Path(given)))
    result.files = list(found.values())
    return result


def _file_identity(status: os.stat_result) -> tuple[int, int]:
    return (status.st_dev, status.st_ino)


def _walk(top: str, settings: Settings, found: dict[tuple[int, int], str], result: Discovery) -> None:
    def unreadable(error: OSError) -> None:
        where = error.filename or top
        result.errors.append((str(where), f"cannot read directory: {error.strerror or error}"))

    for root, directories, files in os.walk(top, onerror=unreadable):
        directories[:] = sorted(
            d
            for d in directories
            if not settings.excluded(Path(root, d)) and not _is_virtualenv(Path(root, d))
        )
        for name in sorted(files):
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            path = str(Path(root, name))
            if settings.excluded(path):
                continue
            status = _stat(path)
            if isinstance(status, str):
                result.skipped.append((path, status))
            elif not stat.S_ISREG(status.st_mode):
                result.skipped.append((path, f"not a regular file ({_kind(status.st_mode)})"))
            else:
                found.setdefault(_file_identity(status), path)


# What says a file is still the one that was read: (size, mtime, ctime, device, inode), in
# nanoseconds. The ctime is set by every change and cannot be put back (os.utime sets only the
# access and modification times).
Identity = tuple[int, int, int, int, int]


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str
    encoding: str
    # The open file's identity when read: a fix is not written over a file that changed since,
    # and the cache's stat index records it.
    identity: Identity | None = None
    data: bytes | None = None  # the bytes as read
    read_at: int | None = None  # time.time_ns() just before the identity was taken


def identity_of(status: os.stat_result) -> Identity:
    return (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_dev, status.st_ino)


def too_large(size: int, limit: int) -> SourceError:
    return SourceError(
        f"{size:,} bytes, larger than max-file-size ({limit:,} bytes); not checked "
        "(raise max-file-size in [tool.loopcheck] or --max-file-size to check it)"
    )


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


def read_source(path: str, max_size: int | None = DEFAULT_MAX_FILE_SIZE) -> SourceFile:
    """Read and decode a regular file of at most ``max_size`` bytes. The file is opened without
    blocking (a fifo put in its place after discovery does not hang the run) and must still be a
    regular file once open."""
    status = _stat(path)
    if isinstance(status, str):
        raise SourceError(status)
    if not stat.S_ISREG(status.st_mode):
        raise SourceError(f"not a regular file ({_kind(status.st_mode)})")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        handle = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}") from None
    try:
        read_at = time.time_ns()
        status = os.fstat(handle)  # before the bytes: a change while reading changes the stat
        if not stat.S_ISREG(status.st_mode):
            raise SourceError(f"not a regular file ({_kind(status.st_mode)})")
        if max_size is not None and status.st_size > max_size:
            raise too_large(status.st_size, max_size)
        chunks = []
        size = 0
        while True:
            chunk = os.read(handle, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if max_size is not None and size > max_size:
                raise too_large(size, max_size)
        data = b"".join(chunks)
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}") from None
    finally:
        os.close(handle)
    decoded = decode_source(path, data)
    return SourceFile(path, decoded.text, decoded.encoding, identity_of(status), data, read_at)
