"""Finding the files to check and reading them faithfully (writing fixes back: ``writing``)."""

from __future__ import annotations

import codecs
import functools
import io
import os
import stat
import string
import time
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from loopcheck.files import DEFAULT_MAX_FILE_SIZE, SourceError, not_regular, read_regular, stat_or_reason
from loopcheck.notebooks import Notebook, is_notebook
from loopcheck.run import ignores
from loopcheck.settings.config import Settings

SOURCE_SUFFIXES = (".py", ".pyi", ".ipynb")  # and Jupyter notebooks (``loopcheck.notebooks``)


def _is_virtualenv(directory: Path) -> bool:
    return (directory / "pyvenv.cfg").is_file()


@dataclass
class Discovery:
    """The files to check, the paths that could not be checked (named on the command line, or
    unreadable directories) and the entries skipped while walking (fifos, devices, sockets,
    broken or looping symbolic links named like Python files), each with its reason; and the
    directories named that were walked."""

    files: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    walked: list[str] = field(default_factory=list)


def discover(paths: Iterable[str], settings: Settings | None = None) -> Discovery:
    """Directories are walked for ``*.py`` and ``*.pyi`` files, skipping what ``exclude`` and
    ``extend-exclude`` name (by default version control, caches, build output), what
    ``.gitignore`` files ignore (unless ``respect-gitignore`` is off; see ``ignores``) and virtual
    environments; symbolic links to directories are not followed. Files named explicitly are
    checked unless the configuration excludes them (``.gitignore`` never leaves them out).
    Nothing is opened here: every candidate is looked at with ``stat`` first, so a fifo or a
    device is never read (a read would block). A file reached more than once (``a.py``,
    ``./a.py``, ``dir/../a.py``, its absolute path, a hard or symbolic link, a file named and
    inside a directory named) is checked once, under the first name it was reached by."""
    settings = settings or Settings()
    found: dict[tuple[int, int], str] = {}  # (device, inode) -> the first name of the file
    result = Discovery()
    for given in paths:
        status = stat_or_reason(given)
        if isinstance(status, str):
            result.errors.append((given, status))
        elif stat.S_ISDIR(status.st_mode):
            result.walked.append(given)
            _walk(given, settings, found, result)
        elif not stat.S_ISREG(status.st_mode):
            result.errors.append((given, not_regular(status.st_mode)))
        elif not settings.excluded_by_user(given):
            found.setdefault(_file_identity(status), str(Path(given)))
    result.files = list(found.values())
    return result


def _file_identity(status: os.stat_result) -> tuple[int, int]:
    return (status.st_dev, status.st_ino)


def _walk(top: str, settings: Settings, found: dict[tuple[int, int], str], result: Discovery) -> None:
    """Depth first, each directory's files (sorted) before its subdirectories (sorted), as
    ``os.walk`` gives them; iterative, so that no depth of directories overflows the stack
    (``os.walk`` recurses on Python 3.10 and 3.11)."""
    # (directory, whether it was tested against the exclusions: the one named was not, the
    # .gitignore layers in force in it)
    above = ignores.layers_above(top, str(settings.root)) if settings.respect_gitignore else None
    pending = [(top, False, above)]
    while pending:
        root, tested, layers = pending.pop()
        try:
            with os.scandir(root) as entries:
                listed = list(entries)
        except OSError as error:
            where = error.filename or root
            result.errors.append((str(where), f"cannot read directory: {error.strerror or error}"))
            continue
        directories, files = [], []
        for entry in listed:
            try:
                is_directory = entry.is_dir()  # through symbolic links, as os.walk lists them
            except OSError:
                is_directory = False
            (directories if is_directory else files).append(entry)
        # ``root`` as pathlib names it (``./src`` is ``src``), so that a file's name is
        # ``str(Path(root, name))`` without a Path made for each entry.
        shown = str(Path(root))
        prefix = "" if shown == "." else shown if shown.endswith(os.sep) else shown + os.sep
        absolute = os.path.abspath(root) + os.sep  # what .gitignore patterns are matched below
        if layers is not None:
            layers = ignores.enter(layers, absolute)
        subdirectories = sorted(
            entry.name
            for entry in directories
            if not _is_symlink(entry)  # listed, but never walked into
            and not settings.excluded(prefix + entry.name, within_included=tested)
            and not _is_virtualenv(Path(prefix + entry.name))
            and not (layers and ignores.ignored(layers, absolute + entry.name, is_directory=True))
        )
        file_excluded = settings.files_excluded_in(os.path.abspath(root)) if tested else None
        for name in sorted(entry.name for entry in files):
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            path = prefix + name
            if file_excluded(name) if file_excluded is not None else settings.excluded(path):
                continue
            if layers and ignores.ignored(layers, absolute + name, is_directory=False):
                continue
            status = stat_or_reason(path)
            if isinstance(status, str):
                result.skipped.append((path, status))
            elif not stat.S_ISREG(status.st_mode):
                result.skipped.append((path, not_regular(status.st_mode)))
            else:
                found.setdefault(_file_identity(status), path)
        pending.extend((os.path.join(root, name), True, layers) for name in reversed(subdirectories))


def _is_symlink(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return False


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
    # A notebook's cells (``text`` is their joined code; fixes are written back through it).
    notebook: Notebook | None = None


def identity_of(status: os.stat_result) -> Identity:
    return (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_dev, status.st_ino)


def too_large(size: int, limit: int) -> SourceError:
    return SourceError(
        f"{size:,} bytes, larger than max-file-size ({limit:,} bytes); not checked "
        "(to check it, raise max-file-size in [tool.loopcheck], or set it to 0 for no limit)"
    )


# ASCII text a source encoding must leave as it is, both ways: the printable characters and
# whitespace, and what escape-decoding and shifting codecs would read as more than itself.
_ASCII_PROBES = (string.printable, "\\u0041 \\x41 \\101 \\N{DIGIT ONE} +AEE- xn--a ~{ ~~")


@functools.cache
def _ascii_transparent(codec: str) -> bool:
    """Whether ``codec`` is a text encoding in which ASCII text is its own bytes. Only then is
    what a fix inserts written as written (``unicode_escape`` writes a newline as ``\\n``,
    ``punycode`` and ``idna`` rewrite every word, ``utf-7`` shifts ``+``)."""
    try:
        info = codecs.lookup(codec)
        if not getattr(info, "_is_text_encoding", True):
            return False
        return all(
            probe.encode("ascii").decode(info.name) == probe
            and probe.encode(info.name) == probe.encode("ascii")
            for probe in _ASCII_PROBES
        )
    except (LookupError, UnicodeError, ValueError, TypeError):
        return False


def decode_source(path: str, data: bytes) -> SourceFile:
    """Decode Python source the way the interpreter does (BOM, PEP 263 declaration, else UTF-8).
    Only encodings in which a fixed text can be written back faithfully are accepted: ASCII is
    itself in them, and the file's bytes decode and encode back to themselves."""
    if b"\0" in data:
        raise SourceError("binary file (contains NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        if "invalid or missing encoding declaration" not in str(error):
            raise SourceError(f"bad encoding declaration: {error}") from None
        encoding = "utf-8"  # undeclared and not UTF-8: say where, below
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise SourceError(f"bad encoding declaration: unknown encoding {encoding}") from None
    faithful = codec in ("utf-8", "utf-8-sig")  # the common case, round-trips by definition
    if not faithful and not _ascii_transparent(codec):
        raise SourceError(
            f"unsupported source encoding '{encoding}' (loopcheck reads and writes encodings in"
            " which ASCII text is itself, such as UTF-8 or Latin-1)"
        )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise SourceError(
            f"not valid {encoding}: byte 0x{data[error.start]:02x} at offset {error.start}"
            " (save the file as UTF-8 or declare its encoding, PEP 263)"
        ) from None
    if not faithful:
        try:
            same = text.encode(encoding) == data
        except UnicodeError:
            same = False
        if not same:
            raise SourceError(
                f"unsupported source encoding '{encoding}' for this file: its bytes do not"
                f" decode and encode back to themselves in {encoding}"
            )
    return SourceFile(path, text, encoding)


def read_source(path: str, max_size: int | None = DEFAULT_MAX_FILE_SIZE) -> SourceFile:
    """Read and decode a regular file of at most ``max_size`` bytes (see ``files.read_regular``:
    a fifo is never waited on)."""
    read_at = time.time_ns()  # before the file's stat is taken (see SourceFile.read_at)
    if is_notebook(path):
        return _read_notebook(path, max_size, read_at)
    data, status = read_regular(path, max_size, too_large)
    decoded = decode_source(path, data)
    return SourceFile(path, decoded.text, decoded.encoding, identity_of(status), data, read_at)


# A notebook's outputs (images, tables) can dwarf its code: ``max-file-size`` bounds its joined
# code cells, and the file may be this many times larger.
NOTEBOOK_FILE_FACTOR = 32


def _read_notebook(path: str, max_size: int | None, read_at: int) -> SourceFile:
    def too_large_file(size: int, limit: int) -> SourceError:
        return SourceError(
            f"notebook of {size:,} bytes, larger than {NOTEBOOK_FILE_FACTOR} times max-file-size"
            f" ({limit:,} bytes); not checked (raise max-file-size in [tool.loopcheck], or set it to 0)"
        )

    limit = None if max_size is None else max_size * NOTEBOOK_FILE_FACTOR
    data, status = read_regular(path, limit, too_large_file)
    decoded = decode(path, data)
    size = len(decoded.text.encode("utf-8"))
    if max_size is not None and size > max_size:
        raise SourceError(
            f"code cells of {size:,} bytes, more than max-file-size ({max_size:,} bytes); not checked"
            " (to check it, raise max-file-size in [tool.loopcheck], or set it to 0 for no limit)"
        )
    return replace(decoded, identity=identity_of(status), read_at=read_at)


def decode(path: str, data: bytes) -> SourceFile:
    """A file's bytes as the text to check: a notebook's joined code cells, else Python source."""
    if is_notebook(path):
        notebook = Notebook(data)
        return SourceFile(path, notebook.text, "utf-8", data=data, notebook=notebook)
    return decode_source(path, data)
