"""Writing a fixed file back: all or nothing, through symbolic links, keeping what the file is.

The usual way, for a file with one name whose owner loopcheck can keep:

1. the new content goes into an anonymous file in the target's directory (``O_TMPFILE`` on
   Linux: it has no name, so a process killed at any moment, even by SIGKILL, leaves nothing
   behind), with the target's mode, owner, group and extended attributes (ACLs);
2. it is flushed to disk, then given a temporary name (``.NAME.PID.XXXXXXXX.loopcheck-tmp``) and
   renamed over the target: readers see the old file or the new one, never a mixture.

SIGINT, SIGTERM and SIGHUP are held back (blocked, then delivered) while the name exists, so
only SIGKILL or a crash in the two system calls between naming and renaming can leave the
temporary file; the next run that writes into that directory removes temporary files whose
process is gone. Without ``O_TMPFILE`` (other systems, some file systems) the temporary file is
named from the start and removed on any exception or handled signal.

Renaming gives the file a new inode, which would break hard links, lose an owner only root may
set, and is impossible in a directory loopcheck may not write. In those cases (more than one
hard link, owner or group that cannot be kept, attributes that cannot be copied, directory not
writable) the file is rewritten in place, like an editor's "backup copy" mode: the inode, links,
owner and attributes stay; space is reserved first (a full disk fails before anything is
overwritten); the handled signals are held back during the write. The trade-off: a SIGKILL, a
crash or a power cut during that one write can leave the file partly written. This is the one
case where loopcheck is not atomic; it is rare (hard-linked sources, shared group directories).

Symbolic links are followed: the target is fixed and the link stays a link. A file without any
write permission bit (0444) is never written, even by root. A file that changed since it was
read is not written either: its identity (size, mtime, ctime, device, inode) and its bytes are
compared with what was read once more immediately before the rename (or the in-place write),
with the handled signals held. What remains is the time between that comparison and the rename:
a rename is not a compare-and-swap, so a change another process makes in those few microseconds
(closing the file compared, then the rename; for the in-place write, reserving space) is lost.
So is a write through a descriptor opened on the old file before the rename: it goes to the old
inode, which no name refers to any more.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import signal
import stat
import sys
import threading
from collections.abc import Iterator

from loopcheck.engine.limits import HANDLED_SIGNALS
from loopcheck.files import SourceError
from loopcheck.run.sources import Identity, identity_of

TEMP_SUFFIX = ".loopcheck-tmp"
_TEMP_NAME = re.compile(r"^\..+\.(?P<pid>[0-9]+)\.[0-9a-f]{8}" + re.escape(TEMP_SUFFIX) + "$")
_cleaned: set[str] = set()


class _CannotReplace(Exception):
    """Replacing by rename would lose something (or is not allowed): write in place instead."""


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold back SIGINT, SIGTERM and SIGHUP in this thread; they are delivered on exit. The
    analysis thread blocks them for good, so the process gets them only through this thread."""
    if (
        not HANDLED_SIGNALS
        or not hasattr(signal, "pthread_sigmask")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def temporary_name(target: str) -> str:
    directory, name = os.path.split(target)
    return os.path.join(directory, f".{name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, but not ours to signal
    return True


def remove_stale_temporaries(directory: str) -> list[str]:
    """Remove the temporary files a killed loopcheck left in ``directory``; their names."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if not match or int(match["pid"]) == os.getpid() or _alive(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(entry.path)
    return removed


def _write_all(handle: int, data: bytes, offset: int = 0) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(handle, view, offset)
        view = view[written:]
        offset += written


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


CHANGED = "changed on disk while loopcheck ran; fix not written"


class _AsRead:
    """What the file was when read: its identity (see ``sources.identity_of``) and its bytes.
    Either may be None (not known: not compared)."""

    def __init__(self, identity: Identity | None, data: bytes | None) -> None:
        self.identity = identity
        self.data = data

    def verify(self, status: os.stat_result) -> None:
        if self.identity is not None and identity_of(status) != self.identity:
            raise SourceError(CHANGED)

    def verify_open(self, handle: int) -> None:
        """The file open as ``handle`` is still the one read, byte for byte (call with the
        handled signals held, immediately before replacing it)."""
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode):
            raise SourceError(CHANGED)
        self.verify(status)
        if self.data is not None and _read_all(handle, status.st_size + 1) != self.data:
            raise SourceError(CHANGED)

    def verify_path(self, target: str) -> None:
        """The file now at ``target`` is still the one read (see :meth:`verify_open`)."""
        if self.identity is None and self.data is None:
            return
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        try:
            handle = os.open(target, flags)  # never blocks, even on a fifo put in its place
        except OSError:
            raise SourceError(CHANGED) from None
        try:
            self.verify_open(handle)
        finally:
            os.close(handle)


def _read_all(handle: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from the start of ``handle``."""
    chunks = []
    offset = 0
    while offset < limit:
        chunk = os.pread(handle, min(limit - offset, 1 << 20), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def write_file(
    path: str, data: bytes, expected: Identity | None = None, original: bytes | None = None
) -> str:
    """Replace the content of the file at ``path`` (through symbolic links) with ``data``.
    ``expected``: its identity when read (``sources.identity_of``), ``original``: its bytes then;
    a file that no longer matches them is refused, here and again immediately before it is
    replaced. Returns how it was written: "replaced" (rename) or "in place". SourceError when
    refused."""
    target = os.path.realpath(path)
    was = _AsRead(expected, original)
    try:
        status = os.stat(target)
    except OSError as error:
        raise SourceError(f"cannot write: {error.strerror or error}") from None
    if not stat.S_ISREG(status.st_mode):
        raise SourceError("cannot write: no longer a regular file")
    was.verify(status)
    if not status.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise SourceError("read-only file; fix not written")
    directory = os.path.dirname(target)
    if directory not in _cleaned:
        _cleaned.add(directory)
        remove_stale_temporaries(directory)
    if status.st_nlink == 1:
        try:
            _replace(target, data, status, was)
            return "replaced"
        except _CannotReplace:
            pass
    try:
        _write_in_place(target, data, status, was)
    except OSError as error:
        raise SourceError(f"cannot write: {error.strerror or error}") from None
    return "in place"


_anonymous_files = hasattr(os, "O_TMPFILE") and sys.platform.startswith("linux")


def _open_temporary(target: str) -> tuple[int, str | None]:
    """A new file next to ``target``: anonymous where the system allows (name None)."""
    if _anonymous_files:
        try:
            flags = os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC
            return os.open(os.path.dirname(target), flags, 0o600), None
        except OSError as error:
            if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise _CannotReplace from None
            # EOPNOTSUPP, EISDIR, EINVAL: no O_TMPFILE on this file system; named below
    name = temporary_name(target)
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    with signals_held():  # the name exists only once the caller can remove it
        try:
            return os.open(name, flags, 0o600), name
        except OSError:
            raise _CannotReplace from None


def _link_anonymous(handle: int, name: str) -> bool:
    """Give the anonymous file ``handle`` the name ``name``: through /proc (the documented way),
    else ``linkat(AT_EMPTY_PATH)`` (where /proc is another mount, the first fails with EXDEV).
    False when neither works."""
    try:
        os.link(f"/proc/self/fd/{handle}", name, follow_symlinks=True)
        return True
    except OSError:
        pass
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        at_fdcwd, at_empty_path = -100, 0x1000
        return libc.linkat(handle, b"", at_fdcwd, os.fsencode(name), at_empty_path) == 0
    except (OSError, AttributeError):
        return False


def _copy_attributes(target: str, handle: int) -> None:
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(target)
    except OSError:
        return  # no extended attributes on this file system
    for name in names:
        try:
            os.setxattr(handle, name, os.getxattr(target, name))
        except OSError:
            raise _CannotReplace from None


def _replace(target: str, data: bytes, status: os.stat_result, was: _AsRead) -> None:
    global _anonymous_files
    handle, name = _open_temporary(target)
    try:
        _write_all(handle, data)
        mine = os.fstat(handle)
        if (mine.st_uid, mine.st_gid) != (status.st_uid, status.st_gid):
            try:
                os.fchown(handle, status.st_uid, status.st_gid)
            except OSError:
                raise _CannotReplace from None
        os.fchmod(handle, stat.S_IMODE(status.st_mode))  # after chown, which clears set-id bits
        _copy_attributes(target, handle)
        os.fsync(handle)
        with signals_held():
            if name is None:
                name = temporary_name(target)
                if not _link_anonymous(handle, name):
                    name = None
                    _anonymous_files = False  # not here: named temporary files from now on
                    return _replace(target, data, status, was)
            was.verify_path(target)  # the last look: the rename follows at once
            try:
                os.replace(name, target)
            except OSError as error:
                if error.errno in (errno.EACCES, errno.EPERM):
                    raise _CannotReplace from None
                raise SourceError(f"cannot write: {error.strerror or error}") from None
            name = None
    except OSError as error:
        if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise _CannotReplace from None
        raise SourceError(f"cannot write: {error.strerror or error}") from None
    finally:
        os.close(handle)
        if name is not None:
            with contextlib.suppress(OSError):
                os.unlink(name)


def _write_in_place(target: str, data: bytes, status: os.stat_result, was: _AsRead) -> None:
    with signals_held():
        # Open for reading too: the bytes are compared once more through this very handle.
        handle = os.open(target, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0))
        try:
            if not _same_file(os.fstat(handle), status):
                raise SourceError(CHANGED)
            was.verify_open(handle)  # the last look: the write follows at once
            if len(data) > status.st_size and hasattr(os, "posix_fallocate"):
                try:
                    os.posix_fallocate(handle, 0, len(data))
                except OSError as error:
                    if error.errno == errno.ENOSPC:
                        raise
                    # EOPNOTSUPP/EINVAL: this file system cannot reserve; write anyway
            _write_all(handle, data)
            os.ftruncate(handle, len(data))
            os.fsync(handle)
        finally:
            os.close(handle)


def write_generated(path: str, data: bytes) -> None:
    """Write a file loopcheck generates (its baseline), whether or not it exists yet: an existing
    file is replaced as a fixed file is (:func:`write_file`); a new one is written under a
    temporary name and renamed into place, so that a reader never sees part of it."""
    if os.path.lexists(path):
        write_file(path, data)
        return
    name = temporary_name(os.path.realpath(path))
    try:
        with signals_held():  # the name exists only once it can be removed again
            handle = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            _write_all(handle, data)
            os.fsync(handle)
        finally:
            os.close(handle)
        with signals_held():
            os.replace(name, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise SourceError(f"cannot write: {error.strerror or error}") from None
