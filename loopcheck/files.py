"""Looking at a path before reading it, and reading only regular files, without blocking: a
fifo, a device or a socket named like a source or configuration file is never opened for a read
that would wait forever. Below every package: the run reads sources with it, the settings
configuration files, and the engine raises ``SourceError`` too."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from typing import Any

DEFAULT_MAX_FILE_SIZE = 1 << 20  # bytes; ``max-file-size``, see engine/limits.py


class SourceError(Exception):
    """A file that cannot be checked: the message is one line, shown to the user as is."""

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a fifo"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


# ``absolute``'s answers for the current directory they were made in.
_absolute: dict[str, str] = {}
_absolute_in: list[str] = [""]


def absolute(path: str) -> str:
    """``os.path.abspath(path)``, made once per path and current directory: the results cache,
    the summaries index and the project listing each look every file up by its absolute path."""
    here = os.getcwd()
    if here != _absolute_in[0]:
        _absolute.clear()
        _absolute_in[0] = here
    found = _absolute.get(path)
    if found is None:
        found = _absolute[path] = os.path.abspath(path)
    return found


def kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def not_regular(mode: int) -> str:
    return f"not a regular file ({kind(mode)})"


def stat_or_reason(path: str) -> os.stat_result | str:
    """``os.stat`` (through symbolic links), or why there is nothing to read at ``path``."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return "broken symbolic link" if os.path.islink(path) else "no such file or directory"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symbolic link loop"
        return f"cannot stat: {error.strerror or error}"


def _too_large(size: int, limit: int) -> SourceError:
    return SourceError(f"{size:,} bytes, larger than {limit:,} bytes")


def regular_bytes(path: str | os.PathLike[str]) -> bytes | None:
    """The bytes of the regular file ``path`` (:func:`read_regular`: a fifo in its place never
    blocks), or None when it cannot be read."""
    try:
        return read_regular(os.fspath(path))[0]
    except SourceError:
        return None


def json_of(data: bytes) -> Any:
    """The JSON value ``data`` holds (UTF-8), or None when it holds none (the caller checks its
    shape)."""
    import json  # the caches' files only: not every run reads one

    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
        return None


def read_regular(
    path: str,
    max_size: int | None = None,
    too_large: Callable[[int, int], SourceError] = _too_large,
) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file at ``path`` and its status as opened, or SourceError with a
    one-line reason. The file is opened without blocking and must still be a regular file once
    open (a fifo put in its place after the ``stat`` does not hang the run). Past ``max_size``
    bytes, ``too_large(size, max_size)`` is raised."""
    status = stat_or_reason(path)
    if isinstance(status, str):
        raise SourceError(status)
    if not stat.S_ISREG(status.st_mode):
        raise SourceError(not_regular(status.st_mode))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        handle = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}") from None
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode):
            raise SourceError(not_regular(status.st_mode))
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
        return b"".join(chunks), status
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}") from None
    finally:
        os.close(handle)
