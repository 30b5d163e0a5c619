"""One run over files (or standard input): which rules apply to which file, checking or fixing
each (in several processes for many files), with the results cache, and handing each file's
results on in a stable order as they come. Nothing here prints findings."""

from __future__ import annotations

import difflib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopcheck.cache import Cache
from loopcheck.catalogue import Catalogue
from loopcheck.config import Settings
from loopcheck.diagnostics import Diagnostic, SourceError
from loopcheck.engine import Linter
from loopcheck.limits import run_deep
from loopcheck.registry import RuleInfo, rule_index
from loopcheck.selection import select_rules
from loopcheck.sources import (
    SourceFile,
    decode_source,
    discover,
    read_bytes,
    remove_stale_temporaries,
    write_source,
)

# Below this many files, one process checks them all (a pool costs more than it saves).
PARALLEL_THRESHOLD = 32
CHUNK = 8  # files a worker takes at a time


@dataclass(frozen=True)
class Mode:
    fix: bool = False
    unsafe: bool = False
    diff: bool = False
    # Build every fix's edits (JSON and SARIF print them); plain checks never build them.
    build_fixes: bool = False
    # Keep each file's text with its results (for reporters that print source lines).
    keep_sources: bool = False


@dataclass
class FileResult:
    """What checking one file gave."""

    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: str | None = None  # why the file could not be checked
    source: str | None = None  # its (fixed) text, when Mode.keep_sources and it has findings
    fixed: int = 0
    changed: bool = False
    diff: str | None = None
    cached: list[Any] | None = None  # a stat-index entry for the parent to save


@dataclass(frozen=True)
class Job:
    """Everything a worker process needs to check files (picklable)."""

    settings: Settings
    enabled: tuple[str, ...]
    mode: Mode
    cache_dir: str | None


class Checker:
    """The linter for each file: the enabled rules minus what `per-file-ignores` switches off."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.settings = job.settings
        self.rules: dict[str, RuleInfo] = rule_index()
        self._linters: dict[tuple[str, ...], Linter] = {}
        self.catalogue = Catalogue.load(tuple(self.settings.extra_clients))
        self.cache = (
            Cache(Path(job.cache_dir), settings_key(job)) if job.cache_dir is not None else None
        )

    def codes_for(self, path: str) -> tuple[str, ...]:
        ignored = self.settings.ignored_codes(path)
        if not ignored:
            return self.job.enabled
        return tuple(r.code for r in select_rules(self.rules, list(self.job.enabled), ignored))

    def linter(self, codes: tuple[str, ...]) -> Linter:
        if codes not in self._linters:
            self._linters[codes] = Linter(
                [self.rules[code] for code in codes],
                target_version=self.settings.target_version,
                fix_target=self.settings.fix_target,
                catalogue=self.catalogue,
            )
        return self._linters[codes]


def settings_key(job: Job) -> str:
    """What of the configuration decides a file's findings (per-file codes are keyed apart)."""
    settings = job.settings
    return json.dumps(
        [settings.target_version, settings.fix_target, list(settings.extra_clients)], default=str
    )


def unified_diff(path: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path.lstrip('/')}",
        tofile=f"b/{path.lstrip('/')}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
        for line in lines
    )


def check_source(
    checker: Checker, source: SourceFile, mode: Mode, write: Callable[[SourceFile, str], None]
) -> FileResult:
    """Check (or fix) one decoded file; ``write`` stores a fixed text."""
    path = source.path
    linter = checker.linter(checker.codes_for(path))
    result = FileResult(path)
    if not (mode.fix or mode.diff):
        result.diagnostics = run_deep(
            lambda: linter.lint_source(source.text, path, build_fixes=mode.build_fixes)
        )
        if mode.keep_sources and result.diagnostics:
            result.source = source.text
        return result
    outcome = run_deep(
        lambda: linter.fix_source(source.text, path, unsafe=mode.unsafe, build_fixes=mode.build_fixes)
    )
    if outcome.source != source.text:
        result.changed = True
        if mode.diff:
            result.diff = unified_diff(path, source.text, outcome.source)
        else:
            write(source, outcome.source)
    result.fixed = outcome.fixed
    result.diagnostics = outcome.remaining
    if mode.keep_sources and result.diagnostics:
        result.source = outcome.source
    return result


def check_file(checker: Checker, path: str) -> FileResult:
    """Check one file, from the cache where it can: never raises."""
    mode = checker.job.mode
    cache = checker.cache if not (mode.fix or mode.diff) else None
    codes = checker.codes_for(path)
    try:
        if cache is not None:
            key = cache.unchanged(path, codes)
            if key is not None:
                found = cache.load(key, path)
                if found is not None and not (found[0] and (mode.build_fixes or mode.keep_sources)):
                    return FileResult(path, diagnostics=found[0], error=found[1])
        data = read_bytes(path)
        key = cache.key(codes, data) if cache is not None else None
        if cache is not None and key is not None:
            found = cache.load(key, path)
            if found is not None and not (found[0] and (mode.build_fixes or mode.keep_sources)):
                return FileResult(path, diagnostics=found[0], error=found[1], cached=cache.remember(path, codes, key))
        if mode.fix:
            remove_stale_temporaries(os.path.dirname(os.path.realpath(path)) or ".")
        try:
            result = check_source(checker, decode_source(path, data), mode, write_source)
        except SourceError as error:
            result = FileResult(path, error=str(error))
        except RecursionError:
            result = FileResult(path, error="too deeply nested to analyse")
        if cache is not None and key is not None:
            cache.store(key, result.diagnostics, result.error)
            result.cached = cache.remember(path, codes, key)
        return result
    except SourceError as error:
        return FileResult(path, error=str(error))
    except Exception as error:  # one file's internal error must not end the run
        return FileResult(path, error=f"internal error: {type(error).__name__}: {error}")


# -- many files ---------------------------------------------------------------------------

_worker_checker: Checker | None = None


def _start_worker(job: Job) -> None:
    global _worker_checker
    _worker_checker = Checker(job)


def _check_chunk(paths: Sequence[str]) -> list[FileResult]:
    assert _worker_checker is not None
    return [check_file(_worker_checker, path) for path in paths]


def check_files(files: Sequence[str], job: Job, jobs: int) -> Iterator[FileResult]:
    """Each file's result, in the order of ``files``, as soon as it and those before it are
    done; in ``jobs`` processes when there are enough files."""
    checker = Checker(job)
    if jobs <= 1 or len(files) < PARALLEL_THRESHOLD:
        updates: dict[str, Any] = {}
        for path in files:
            result = check_file(checker, path)
            _collect(result, updates)
            yield result
        _save(checker, updates)
        return
    chunks = [files[i : i + CHUNK] for i in range(0, len(files), CHUNK)]
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    updates = {}
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(job,)) as pool:
        try:
            for chunk_results in pool.map(_check_chunk, chunks):
                for result in chunk_results:
                    _collect(result, updates)
                    yield result
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    _save(checker, updates)


def _collect(result: FileResult, updates: dict[str, Any]) -> None:
    if result.cached is not None:
        updates[os.path.abspath(result.path)] = result.cached
        result.cached = None


def _save(checker: Checker, updates: dict[str, Any]) -> None:
    if checker.cache is not None:
        checker.cache.save_index(updates)


def find_files(paths: list[str], settings: Settings) -> tuple[list[str], list[tuple[str, str]]]:
    return discover(paths, settings)


def check_stdin(data: bytes, filename: str, job: Job) -> tuple[FileResult, bytes]:
    """Standard input, named ``filename`` for messages, per-file-ignores and exclusion: the
    result, and the bytes to give back with ``--fix``: the fixed source, or the input exactly as
    it came when it cannot be checked or nothing applies (an editor replaces its buffer with
    what it gets back)."""
    checker = Checker(job)
    try:
        source = decode_source(filename, data)
    except SourceError as error:
        return FileResult(filename, error=str(error)), data
    if checker.settings.excluded_by_user(filename):
        return FileResult(filename), data
    fixed: list[str] = []
    try:
        result = check_source(checker, source, job.mode, lambda _, text: fixed.append(text))
    except SourceError as error:
        return FileResult(filename, error=str(error)), data
    except RecursionError:
        return FileResult(filename, error="too deeply nested to analyse"), data
    except Exception as error:
        return FileResult(filename, error=f"internal error: {type(error).__name__}: {error}"), data
    if not fixed:
        return result, data
    try:
        return result, fixed[-1].encode(source.encoding)
    except UnicodeEncodeError:
        return FileResult(filename, error=f"the fix cannot be written in {source.encoding}"), data
