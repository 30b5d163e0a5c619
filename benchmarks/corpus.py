"""The pinned corpus: fetching it, listing its files, deterministic subsets, and the scratch copy
on which the cache runs change 1% of the files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks import BenchmarkError

# The packages `corpus.sh --small` unpacks: the corpus of a --quick run.
SMALL_CORPUS_PACKAGES = ("aiohttp", "httpx")


@dataclass(frozen=True)
class FileSet:
    """Files a tool is run on, and the command-line arguments that name exactly them."""

    description: str
    files: tuple[Path, ...]
    lines: int
    arguments: tuple[str, ...]


def fetch_corpus(script: Path, corpus_dir: Path, *, small: bool) -> None:
    """Runs corpus.sh (idempotent: packages already unpacked are skipped)."""
    if not script.is_file():
        raise BenchmarkError(
            f"the corpus script {script} does not exist; pass --corpus-script or set "
            "LOOPCHECK_CORPUS_SCRIPT to the shared bench/corpus.sh"
        )
    argv = ["bash", str(script), *(["--small"] if small else []), str(corpus_dir)]
    completed = subprocess.run(argv, capture_output=True, text=True)
    if completed.returncode != 0:
        raise BenchmarkError(
            f"{script} failed (exit status {completed.returncode}):\n"
            + (completed.stderr or completed.stdout).rstrip()
        )
    print(completed.stdout.strip(), file=sys.stderr)


def package_dirs(corpus_dir: Path, *, small: bool) -> list[Path]:
    source = corpus_dir / "src"
    names = SMALL_CORPUS_PACKAGES if small else sorted(p.name for p in source.iterdir() if p.is_dir())
    dirs = [source / name for name in names]
    missing = [str(d) for d in dirs if not d.is_dir()]
    if missing or not dirs:
        raise BenchmarkError(f"the corpus is incomplete, missing: {', '.join(missing) or source}")
    return dirs


def python_files(dirs: Sequence[Path]) -> list[Path]:
    """Every .py file under ``dirs``, sorted by path: the order all subsets are taken from."""
    found = [
        Path(root, name)
        for directory in dirs
        for root, _, names in os.walk(directory)
        for name in names
        if name.endswith(".py")
    ]
    return sorted(found)


def count_lines(files: Sequence[Path]) -> int:
    """Newlines, as corpus.sh counts them."""
    total = 0
    for path in files:
        total += path.read_bytes().count(b"\n")
    return total


def whole_corpus(dirs: Sequence[Path], files: Sequence[Path]) -> FileSet:
    return FileSet(
        description=f"{len(dirs)} packages",
        files=tuple(files),
        lines=count_lines(files),
        arguments=tuple(str(d) for d in dirs),
    )


def single_file(path: Path, name: str) -> FileSet:
    """One file, described by ``name`` (its path within the corpus)."""
    return FileSet(description=name, files=(path,), lines=count_lines([path]), arguments=(str(path),))


def every_nth_file(files: Sequence[Path], n: int) -> FileSet:
    """Every n-th file of the sorted list, starting with the first: a deterministic sample that
    spreads over every package (a prefix would take whole packages). The sample for 2n is a
    subset of the sample for n."""
    chosen = tuple(files[::n])
    return FileSet(
        description="every file" if n == 1 else f"every {_ordinal(n)} file",
        files=chosen,
        lines=count_lines(chosen),
        arguments=tuple(str(p) for p in chosen),
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def read_all(files: Sequence[Path]) -> None:
    """Reads every file once so that the first timed run does not pay for the disk."""
    count_lines(files)


def make_scratch_copy(dirs: Sequence[Path], destination: Path) -> list[Path]:
    """A real copy (not hard links: appending to a hard link would change the pinned corpus) of
    the package directories; returns the copied directories."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    copies = []
    for directory in dirs:
        copy = destination / directory.name
        shutil.copytree(directory, copy)
        copies.append(copy)
    return copies


def files_to_change(files: Sequence[Path], percent: float = 1.0) -> list[Path]:
    """``percent`` of the files, chosen as every k-th file of the sorted list (at least one)."""
    stride = max(1, round(100 / percent))
    return list(files[::stride])


# A module whose text starts a loop: the project model always summarises it (an entry module).
LOOP_START = b"asyncio.run("


def file_with_loop_start(files: Sequence[Path]) -> Path:
    """The first of ``files`` (sorted) whose text starts a loop with ``asyncio.run()``: a
    module the project model loads on every run, so that changing it makes the model again."""
    for path in sorted(files):
        if LOOP_START in path.read_bytes():
            return path
    raise BenchmarkError(f"no file of the corpus calls {LOOP_START.decode()}")


# Text of the constructs loopcheck looks for (event loops, asyncio and anyio primitives, clients,
# pools, threads): a file with none of these words has no candidate construct at all, so a run
# over it measures what loopcheck costs a file it has nothing to say about.
CANDIDATE_WORDS = (b"async", b"await", b"loop", b"Lock", b"Semaphore", b"Event", b"Queue",
                   b"Condition", b"Barrier", b"Client", b"Session", b"Pool", b"Future", b"Task",
                   b"Thread", b"Executor", b"trio")
# A file of the single-file rows has at least this many lines: a module of some size, not an
# empty __init__.py.
SINGLE_FILE_MIN_LINES = 100
# The text a candidate of a single-file row must have before loopcheck is asked about it.
CANDIDATE_TEXT = b"asyncio."
CANDIDATE_TRIES = 50


def file_without_candidate(files: Sequence[Path]) -> Path:
    """The first of ``files`` (sorted) with at least SINGLE_FILE_MIN_LINES lines and none of the
    CANDIDATE_WORDS."""
    for path in sorted(files):
        text = path.read_bytes()
        if text.count(b"\n") >= SINGLE_FILE_MIN_LINES and not any(word in text for word in CANDIDATE_WORDS):
            return path
    raise BenchmarkError("no file of the corpus is without a candidate construct")


def file_reported_on(files: Sequence[Path], reports: Callable[[Path], bool]) -> Path:
    """The first of ``files`` (sorted) with at least SINGLE_FILE_MIN_LINES lines and the text
    ``asyncio.`` that loopcheck reports on when it checks the file alone (``reports(path)``);
    at most CANDIDATE_TRIES files are tried."""
    tried = 0
    for path in sorted(files):
        text = path.read_bytes()
        if text.count(b"\n") < SINGLE_FILE_MIN_LINES or CANDIDATE_TEXT not in text:
            continue
        if reports(path):
            return path
        tried += 1
        if tried == CANDIDATE_TRIES:
            break
    raise BenchmarkError(f"loopcheck reports on none of the first {CANDIDATE_TRIES} files that use asyncio")


# The text the file of the server's re-check must have: coroutines and asyncio, so that the rules
# have work to do (a file without them is done by the candidate stage's text test alone).
ASYNC_TEXTS = (CANDIDATE_TEXT, b"async def")


def file_nearest_lines(files: Sequence[Path], lines: int) -> Path:
    """Of the files with every one of ASYNC_TEXTS, the one whose line count is nearest
    ``lines``; the first in sorted order among equals."""
    counted = [(abs(text.count(b"\n") - lines), path) for path in sorted(files)
               if all(word in (text := path.read_bytes()) for word in ASYNC_TEXTS)]
    if not counted:
        raise BenchmarkError("no file of the corpus has coroutines and uses asyncio")
    return min(counted)[1]


@contextmanager
def changed_files(files: Sequence[Path]) -> Iterator[Callable[[str], None]]:
    """Yields ``change(tag)``, which appends a comment line carrying ``tag`` to every file (a new
    tag gives new bytes, so a content-addressed cache misses on each call); the files' original
    bytes are restored on exit, even after a failure."""
    originals = {path: path.read_bytes() for path in files}

    def change(tag: str) -> None:
        comment = f"# loopcheck benchmark: changed ({tag})\n".encode()
        for path in files:
            current = path.read_bytes()
            # A last line without a newline would otherwise swallow the comment.
            separator = b"\n" if current and not current.endswith(b"\n") else b""
            path.write_bytes(current + separator + comment)

    try:
        yield change
    finally:
        for path, content in originals.items():
            path.write_bytes(content)
