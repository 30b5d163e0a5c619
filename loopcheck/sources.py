"""Finding the files to check, reading them faithfully and writing fixes back safely.

Discovery never opens what is not a regular file: a fifo, a device, a socket or a broken or
looping symbolic link is reported in one line, never waited on; symbolic links to directories
are not followed (no loops).

Writing a fix keeps the file system as it was: a symbolic link is fixed through to its target
(the link stays a link); owner, group and mode survive; a read-only file is not written. The new
text goes to a temporary file in the same directory (an unnamed one, O_TMPFILE, where Linux
allows it, so that no signal, even SIGKILL, can leave it behind while it is written), which then
replaces the file in one rename. Where a rename would lose something (a file with other hard
links, a directory that refuses new files, an owner that cannot be given back), the file is
rewritten in place instead, with SIGINT and SIGTERM held off for the one write.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import signal
import stat
import tempfile
import threading
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from loopcheck.config import Settings
from loopcheck.diagnostics import SourceError

SOURCE_SUFFIXES = (".py", ".pyi")
TEMPORARY_MARK = ".loopcheck-"  # in the names of loopcheck's temporary files
KINDS = {
    stat.S_IFIFO: "a fifo",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def _is_virtualenv(directory: Path) -> bool:
    return (directory / "pyvenv.cfg").is_file()


def not_a_file(path: str) -> str | None:
    """Why ``path`` is not a regular file loopcheck can read, or None when it is one."""
    try:
        info = os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symbolic link loop"
        if os.path.islink(path):
            return "broken symbolic link"
        return "no such file or directory" if error.errno == errno.ENOENT else (error.strerror or str(error))
    if stat.S_ISREG(info.st_mode):
        return None
    if stat.S_ISDIR(info.st_mode):
        return "a directory"
    return f"not a regular file ({KINDS.get(stat.S_IFMT(info.st_mode), 'special file')})"


def discover(
    paths: Iterable[str], settings: Settings | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    """The files to check under ``paths``, and (path, reason) for what cannot be checked.

    Directories are walked for ``*.py`` and ``*.pyi`` files, skipping what ``exclude`` and
    ``extend-exclude`` name (by default version control, caches, build output) and virtual
    environments. Files named explicitly are checked unless the configuration excludes them.
    """
    settings = settings or Settings()
    found: dict[str, None] = {}
    problems: list[tuple[str, str]] = []
    for given in paths:
        reason = not_a_file(given)
        if reason is None:
            if not settings.excluded_by_user(Path(given)):
                found[given] = None
        elif reason == "a directory":
            for path, problem in _walk(Path(given), settings):
                if problem is None:
                    found[path] = None
                else:
                    problems.append((path, problem))
        else:
            problems.append((given, reason))
    return list(found), problems


def _walk(top: Path, settings: Settings) -> Iterator[tuple[str, str | None]]:
    for root, directories, files in os.walk(top):  # links to directories are not followed
        directories[:] = sorted(
            d
            for d in directories
            if not settings.excluded(Path(root, d)) and not _is_virtualenv(Path(root, d))
        )
        for name in sorted(files):
            if not name.endswith(SOURCE_SUFFIXES) or TEMPORARY_MARK in name:
                continue
            path = Path(root, name)
            if settings.excluded(path):
                continue
            reason = not_a_file(str(path))
            if reason == "a directory":
                continue  # a directory named x.py that os.walk lists as a link: not followed
            yield str(path), reason


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


def read_bytes(path: str) -> bytes:
    reason = not_a_file(path)
    if reason is not None:
        raise SourceError(reason)
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}") from None


def read_source(path: str) -> SourceFile:
    return decode_source(path, read_bytes(path))


# -- writing -------------------------------------------------------------------------------

HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends (they then take effect), so a file is never
    left half-written by them."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def write_source(source: SourceFile, text: str) -> None:
    """Replace the file's content with ``text``, keeping its encoding and the file system's
    facts about it (see the module's documentation)."""
    try:
        data = text.encode(source.encoding)
    except UnicodeEncodeError as error:
        raise SourceError(f"the fix cannot be written in {source.encoding}: {error.reason}") from None
    target = os.path.realpath(source.path)  # a symbolic link is fixed through to its target
    try:
        info = os.stat(target)
    except OSError as error:
        raise SourceError(f"cannot write: {error.strerror or error}") from None
    if not info.st_mode & stat.S_IWUSR:
        raise SourceError("read-only file, not fixed (make it writable to apply fixes)")
    if info.st_nlink > 1:
        _rewrite_in_place(target, data)  # a rename would cut the other hard links
        return
    try:
        _replace(target, data, info)
    except _InPlace:
        _rewrite_in_place(target, data)


class _InPlace(Exception):
    """A rename cannot keep the file as it was: rewrite it in place."""


def _replace(target: str, data: bytes, info: os.stat_result) -> None:
    directory = os.path.dirname(target) or "."
    try:
        handle, temporary = _temporary_file(directory, os.path.basename(target))
    except PermissionError:
        raise _InPlace from None  # a read-only directory: the file itself is writable
    except OSError as error:
        raise SourceError(f"cannot write: {error.strerror or error}") from None
    name = temporary
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
            try:
                os.fchown(stream.fileno(), info.st_uid, info.st_gid)
            except PermissionError:
                raise _InPlace from None  # the owner cannot be given back
            os.fchmod(stream.fileno(), stat.S_IMODE(info.st_mode))
            with signals_held():
                name = _name_it(stream.fileno(), temporary, directory, os.path.basename(target))
                os.replace(name, target)
    except _InPlace:
        if name:
            Path(name).unlink(missing_ok=True)
        raise
    except OSError as error:
        if name:
            Path(name).unlink(missing_ok=True)
        raise SourceError(f"cannot write: {error.strerror or error}") from None


def _temporary_file(directory: str, name: str) -> tuple[int, str | None]:
    """An unnamed file in ``directory`` (O_TMPFILE) where the system allows one, else a named
    one; (descriptor, name or None)."""
    if hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd"):
        try:
            return os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o600), None
        except OSError as error:
            if error.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}{TEMPORARY_MARK}")
    return handle, temporary


def _name_it(descriptor: int, temporary: str | None, directory: str, name: str) -> str:
    """A name for the temporary file, to rename over the target."""
    if temporary is not None:
        return temporary
    named = os.path.join(directory, f".{name}{TEMPORARY_MARK}{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(named)  # left by a killed run of this same pid number
    os.link(f"/proc/self/fd/{descriptor}", named, follow_symlinks=True)
    return named


def _rewrite_in_place(target: str, data: bytes) -> None:
    """Write ``data`` over the file itself: the inode, its links and owner stay. SIGINT and
    SIGTERM wait for the write; only SIGKILL in its middle could leave it partial."""
    try:
        with signals_held(), open(target, "r+b") as stream:
            stream.write(data)
            stream.truncate()
            stream.flush()
            os.fsync(stream.fileno())
    except OSError as error:
        raise SourceError(f"cannot write: {error.strerror or error}") from None


def remove_stale_temporaries(directory: str) -> None:
    """Temporary files a killed run left behind (only possible for a named one): removed when
    their process is gone."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            if TEMPORARY_MARK not in entry.name or not entry.name.startswith("."):
                continue
            pid = entry.name.rsplit(TEMPORARY_MARK, 1)[1].split(".")[0]
            if pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
