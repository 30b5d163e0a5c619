"""One run over files (or standard input): which rules apply to which file, checking or fixing
each (in several processes for many files), with the results cache, and handing each file's
results on in a stable order as they come. Nothing here prints findings."""

from __future__ import annotations

import ast
import functools
import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopcheck.engine import pipeline
from loopcheck.engine.diagnostics import Diagnostic, Proven
from loopcheck.engine.engine import Linter
from loopcheck.engine.limits import describe
from loopcheck.engine.registry import RuleInfo, rule_index
from loopcheck.files import SourceError
from loopcheck.project.early import EarlySummaries, Offered, Offers
from loopcheck.project.model import FileRead, ProjectFiles
from loopcheck.project.reach import real_path
from loopcheck.project.relevance import findings_need_reach
from loopcheck.project.roots import Roots
from loopcheck.run.cache import Cache, Remembered
from loopcheck.run.collector import collection_paused, tune_collector
from loopcheck.run.project import FEW_FILES, ProjectView, model_files, model_may_matter, project_view
from loopcheck.run.sources import (
    SourceFile,
    decode,
    read_source,
    too_large,
)
from loopcheck.settings.config import Settings, fix_target
from loopcheck.settings.selection import select_rules

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from loopcheck.data.catalogue import Catalogue

# Below this many files, one process checks them all (a pool costs more than it saves).
PARALLEL_THRESHOLD = 32
CHUNK = 8  # files a worker takes at a time
# Files a worker reads at a time for the model's listing (project.early), and which of the
# projects' files it reads in a cold run: two in five (see _read_by_workers).
READ_CHUNK = 64
READ_BY_WORKERS = (1, 3)  # positions out of READ_EVERY
READ_EVERY = 5
# A forked worker starts at once; a spawned one imports loopcheck first (too slow for a few files).
# (Where os.fork exists, multiprocessing offers "fork": asked so, a run that starts no worker never
# imports multiprocessing.)
_FORKS = hasattr(os, "fork") and sys.platform != "win32"


@dataclass(frozen=True)
class Mode:
    fix: bool = False
    unsafe: bool = False
    diff: bool = False
    # Build every fix's edits (JSON and SARIF print them); plain checks never build them.
    build_fixes: bool = False
    # Keep each file's text with its results (for reporters that print source lines).
    keep_sources: bool = False

    @property
    def needs_text(self) -> bool:
        """Whether results need the file itself (the cache holds only the findings)."""
        return self.build_fixes or self.keep_sources


@dataclass
class FileResult:
    """What checking one file gave."""

    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: str | None = None  # why the file could not be checked
    write_error: str | None = None  # why its fixes could not be written (it was checked)
    source: str | None = None  # its (fixed) text, when Mode.keep_sources and it has findings
    fixed: int = 0
    changed: bool = False
    diff: bytes | None = None  # the patch, in the file's own encoding
    cached: Remembered | None = None  # what the cache learned, for the parent to save
    offered: Offered | None = None  # its module's summary, for the model (taken by the parent)


@dataclass(frozen=True)
class Job:
    """Everything a worker process needs to check files (picklable)."""

    settings: Settings
    enabled: tuple[str, ...]
    mode: Mode
    cache_dir: str | None
    # Lines of each file (by real path) whose findings are about objects one loop only
    # reaches: with fixing, neither fixed nor reported (see run/project.py).
    held_back: Mapping[str, frozenset[int]] = field(default_factory=dict)
    # Lines of each file (by real path) whose findings keep no fix, with the reason: a kept loop
    # that alone uses an object (reported, never fixed; see run/project.py).
    declined: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    # What the project model shows of each file (by real path) that makes fixes unsafe only for
    # want of it safe (see run/project.py).
    proven: Mapping[str, Proven] = field(default_factory=dict)
    # The project rules' findings in each file (by real path) whose fixes its fixing builds (see
    # run/project.py).
    granted: Mapping[str, tuple[Diagnostic, ...]] = field(default_factory=dict)
    # Where the project model keeps its summaries (None: built in memory).
    model_cache_dir: str | None = None
    # Report the objects one loop only reaches too (they are dropped by default).
    include_confined: bool = False
    # The projects' layout, where the model is built after the files are checked: the entry
    # modules the checks parse are summarised from the same tree for it (project/early.py).
    model_roots: Roots | None = None


class Checker:
    """The linter for each file: the enabled rules minus what `per-file-ignores` switches off."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.settings = job.settings
        self.rules: dict[str, RuleInfo] = rule_index()
        self._linters: dict[tuple[tuple[str, ...], tuple[int, int]], Linter] = {}
        self._targets: dict[str, tuple[int, int]] = {}
        self._declared: dict[Path, tuple[int, int] | None] = {}  # what each directory resolves to
        self.catalogue = self.settings.catalogue()
        self.early = _early_summaries(job, self.catalogue)
        # Whether the model has taken all the summaries it takes (none is offered then).
        self.settled: Callable[[], bool] = lambda: False
        # Fixing and diffing always start from the file itself: no cache then.
        self.cache = (
            Cache(Path(job.cache_dir), settings_key(job))
            if job.cache_dir is not None and not (job.mode.fix or job.mode.diff)
            else None
        )

    def offering(self, job: Job) -> None:
        """Take ``job``: this checker's with the projects' layout (``model_roots``) found since,
        so that the checks offer the summaries of the modules they parse."""
        self.job = job
        self.early = _early_summaries(job, self.catalogue)

    def codes_for(self, path: str) -> tuple[str, ...]:
        ignored = self.settings.ignored_codes(path)
        if not ignored:
            return self.job.enabled
        return tuple(r.code for r in select_rules(self.rules, list(self.job.enabled), ignored))

    def fix_target_for(self, path: str) -> tuple[int, int]:
        """The oldest Python the fixes of ``path`` must run on: its own project's (see
        config.fix_target), looked up once per directory."""
        # By the directory as written (made absolute once per directory, not per file).
        written = os.path.dirname(path)
        target = self._targets.get(written)
        if target is None:
            directory = os.path.dirname(os.path.abspath(path))
            target = self._targets[written] = fix_target(Path(directory), self.settings.target_version, self._declared)
        return target

    def profile(self, path: str, codes: tuple[str, ...]) -> str:
        """What decides the findings of ``path`` beyond its bytes and the run's settings: its
        ``codes`` (from :meth:`codes_for`) and its fix target (the cache keys on both)."""
        return f"{','.join(codes)}|{'.'.join(map(str, self.fix_target_for(path)))}"

    def linter(self, path: str) -> Linter:
        """The linter for ``path``: its codes, and the Python its fixes target."""
        key = (self.codes_for(path), self.fix_target_for(path))
        if key not in self._linters:
            codes, target = key
            self._linters[key] = Linter(
                [self.rules[code] for code in codes],
                target_version=self.settings.target_version,
                fix_target=target,
                catalogue=self.catalogue,
            )
        return self._linters[key]


def _early_summaries(job: Job, catalogue: Catalogue) -> EarlySummaries | None:
    """What the checks of ``job`` offer the model; fixing builds the model first: nothing then."""
    if job.model_roots is None or job.mode.fix or job.mode.diff:
        return None
    return EarlySummaries(job.model_roots, catalogue)


def settings_key(job: Job) -> str:
    """What of the configuration decides a file's result, for the cache's key. Keyed here:
    ``target-version`` (the grammar, and with it syntax errors and fixes), ``extra-clients`` (what
    the client rules know) and ``max-file-size`` (a file over the limit is refused, so a cached
    result must not stand for it: the stat index answers without reading the file). Keyed per
    file, in the entry key (see Checker.profile): the codes that apply to it, from ``select``,
    ``extend-select``, ``ignore``, their command-line options and ``per-file-ignores``, and the
    Python its fixes target (which fixes exist, and how safe they are: its own project's).

    Not keyed, because no file's result depends on them: ``exclude``/``extend-exclude`` and
    ``respect-gitignore`` (which files are checked, not what a file gives), ``baseline`` (which
    findings are shown, after the cache), the configuration's location (``root``,
    ``source``: patterns are resolved into the codes above), and the options that only choose
    how results are printed or where the cache is (``--output-format``, ``--statistics``,
    ``--quiet``, ``-j``, ``--no-cache``, ``--cache-dir``, and ``--config`` itself: what it reads
    is keyed as above), and the baseline with the options that act on findings after they are
    found (``baseline``, ``--write-baseline``, ``--add-noqa``, ``--exit-zero``, ``-o``,
    ``--show-fixes``). ``--fix``, ``--unsafe-fixes`` and ``--diff`` do not use the cache, nor
    does standard input (``-``, ``--stdin-filename``); ``--explain``, ``--list-rules`` and
    ``--version`` check nothing. Output formats that print fixes' edits or source lines take only
    empty results from the cache (``Mode.needs_text``). Loopcheck's code and data, LibCST's
    version and the interpreter's are keyed by the cache itself (``Cache.__init__``)."""
    settings = job.settings
    return json.dumps(
        [settings.target_version, list(settings.extra_clients), settings.max_file_size, settings.celery_pool], default=str
    )


# A line as patch tools read one: up to and including LF, or the unterminated rest. (Python
# also ends lines at a lone CR, git and patch do not: such a line is part of a longer one here.)
_PATCH_LINE = re.compile(rb"[^\n]*\n|[^\n]+\Z")


def unified_diff(path: str, before: bytes, after: bytes) -> bytes:
    """A unified diff that ``git apply`` and ``patch`` accept: of the file's bytes (in its own
    encoding), lines split at LF only (not at the form feeds, U+2028 and other separators
    ``str.splitlines`` knows), and the marker for a last line without one."""
    name = os.fsencode(path).lstrip(b"/")
    import difflib

    lines = difflib.diff_bytes(
        difflib.unified_diff,
        _PATCH_LINE.findall(before),
        _PATCH_LINE.findall(after),
        fromfile=b"a/" + name,
        tofile=b"b/" + name,
    )
    return b"".join(
        line if line.endswith(b"\n") else line + b"\n\\ No newline at end of file\n"
        for line in lines
    )


def encode(source: SourceFile, text: str) -> bytes:
    """A fixed text in the file's own encoding (a notebook's: the notebook with its cells fixed)."""
    if source.notebook is not None:
        return source.notebook.render(text)
    try:
        return text.encode(source.encoding)
    except UnicodeEncodeError as error:
        raise SourceError(f"the fix cannot be written in {source.encoding}: {error.reason}") from None


def write_source(source: SourceFile, text: str) -> None:
    """Write a fixed text back (see ``writing``), unless the file is no longer what was read."""
    from loopcheck.run.writing import write_file  # (tempfile and the rest: for fixing only)

    write_file(source.path, encode(source, text), source.identity, source.data)


def check_source(
    checker: Checker,
    source: SourceFile,
    mode: Mode,
    write: Callable[[SourceFile, str], None],
    parsed: Callable[[ast.Module], None] | None = None,
) -> FileResult:
    """Check (or fix) one decoded file; ``write`` stores a fixed text, or raises SourceError
    (the file then keeps its findings, and the result says why it was not written).
    ``parsed``: given the file's tree when checking parses it."""
    path = source.path
    linter = checker.linter(path)
    result = FileResult(path)
    if not (mode.fix or mode.diff):
        shown = source.text
        result.diagnostics = pipeline.check_file(linter, shown, path, build_fixes=mode.build_fixes, parsed=parsed)
    else:
        outcome = pipeline.fix_file(
            linter,
            source.text,
            path,
            unsafe=mode.unsafe,
            build_fixes=mode.build_fixes,
            held_back=checker.job.held_back.get(real_path(path), frozenset()),
            declined=checker.job.declined.get(real_path(path), {}),
            proven=checker.job.proven.get(real_path(path), Proven()),
            granted=checker.job.granted.get(real_path(path), ()),
        )
        shown, result.diagnostics, result.fixed = outcome.source, outcome.remaining, outcome.fixed
        if outcome.source != source.text:
            try:
                if mode.diff:  # the bytes --fix would write (a fix the encoding cannot hold fails)
                    result.diff = unified_diff(path, encode(source, source.text), encode(source, outcome.source))
                else:
                    write(source, outcome.source)
                result.changed = True
            except SourceError as error:
                result.write_error = str(error)
                shown, result.diagnostics, result.fixed = source.text, outcome.found, 0
    if mode.keep_sources and result.diagnostics:
        result.source = shown
    if source.notebook is not None:
        from loopcheck.engine.cells import in_cells

        result.diagnostics = in_cells(result.diagnostics, shown)
    return result


def _unexpected(error: Exception) -> str:
    return f"internal error: {describe(error)}"


def _servable(found: list[Diagnostic] | None, mode: Mode) -> bool:
    """Whether findings loaded from the cache can stand for checking the file."""
    return found is not None and not (found and mode.needs_text)


def cached_result(checker: Checker, path: str) -> FileResult | None:
    """The result of an unchanged file from the cache's stat index, without reading the file;
    None when it must be checked (changed, never seen, no cache, or its text is needed)."""
    cache = checker.cache
    if cache is None:
        return None
    codes = checker.codes_for(path)
    known = cache.unchanged(path, checker.profile(path, codes))
    if known is None:
        return None
    key, empty = known
    found = [] if empty else cache.load(key, path, codes)
    return FileResult(path, diagnostics=found) if _servable(found, checker.job.mode) else None


def check_file(checker: Checker, path: str) -> FileResult:
    """Check one file that :func:`cached_result` did not answer for (the content-addressed
    entries may still hold its bytes' findings): never raises (but KeyboardInterrupt). No
    garbage collection runs meanwhile (see ``run.collector``)."""
    with collection_paused():
        return _check_file(checker, path)


def _check_file(checker: Checker, path: str) -> FileResult:
    cache = checker.cache
    try:
        codes = checker.codes_for(path)
        profile = checker.profile(path, codes)
        source = read_source(path, checker.settings.max_file_size)
        key = cache.key(profile, source.data) if cache is not None and source.data is not None else None
        if cache is not None and key is not None:
            found = cache.load(key, path, codes)
            if _servable(found, checker.job.mode):
                learned = cache.remember(source.identity, source.read_at, profile, key, not found)
                return FileResult(path, diagnostics=found, cached=learned)
        trees: list[ast.Module] = []
        offering = checker.early is not None and source.notebook is None
        try:
            result = check_source(checker, source, checker.job.mode, write_source, trees.append if offering else None)
        except SourceError as error:
            result = FileResult(path, error=str(error))
        if trees and checker.early is not None and source.data is not None and not checker.settled():
            result.offered = checker.early.offer(path, source.data, source.text, trees[0])
        if cache is not None and key is not None and result.error is None:
            cache.store(key, result.diagnostics)
            # The stat taken when the bytes were read: a file replaced since is checked again.
            result.cached = cache.remember(source.identity, source.read_at, profile, key, not result.diagnostics)
        return result
    except SourceError as error:
        return FileResult(path, error=str(error))
    except Exception as error:  # one file's bug must not end the run
        return FileResult(path, error=_unexpected(error))


# -- many files ---------------------------------------------------------------------------

_worker_checker: Checker | None = None
# Held while a worker checks (and perhaps writes) a file: a worker whose parent is gone waits
# for it, then exits, so no file is left half-done and no worker is left behind.
_busy = threading.Lock()
ORPHAN_CHECK_INTERVAL = 0.2  # seconds


def _start_worker(job: Job, settled: Any, checker: Checker | None = None) -> None:
    global _worker_checker
    # Interruption is the parent's to handle: it stops handing out files and waits for the
    # workers' current files, so that no fix is cut short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tune_collector()  # forked workers have it from the parent already, spawned ones do not
    # A forked worker has the parent's checker (``job``'s) in its memory: its cache's index is
    # not read again.
    _worker_checker = checker if checker is not None else Checker(job)
    _worker_checker.settled = settled.is_set
    parent = os.getppid()
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    """A killed parent (SIGKILL) cannot stop its workers, and they would wait for work forever."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_INTERVAL)
    with _busy:
        os._exit(1)


def _read_chunk(max_file_size: int | None, paths: Sequence[str]) -> list[FileRead]:
    """``paths`` read for the model's listing (``project.early``)."""
    assert _worker_checker is not None and _worker_checker.early is not None
    return [_worker_checker.early.read(path, max_file_size) for path in paths]


def _result_at(future: Any, place: int) -> Any:
    return future.result()[place]


def _check_chunk(paths: Sequence[str]) -> list[FileResult]:
    assert _worker_checker is not None
    results = []
    for path in paths:
        with _busy:
            results.append(check_file(_worker_checker, path))
    return results


def check_files(
    files: Sequence[str],
    job: Job,
    jobs: int,
    notify: Callable[[str], None] = lambda note: None,
    walked: Sequence[str] = (),
    checked: Callable[[int], None] = lambda count: None,
) -> Iterator[FileResult]:
    """Each file's result, in the order of ``files``, as soon as it and those before it are
    done. Unchanged files come from the cache's stat index here; the others are checked in
    ``jobs`` processes when there are enough of them, else (or when no worker process can be
    started: ``notify`` is told why) in this one; in a warm run the workers start at the first
    changed file a rule may report on, before the stat index has answered for the files after
    it (see :func:`_starts_early`). The project model gives the findings their
    evidence before any is shown: it is built while the worker processes check the files, or
    first when fixing (it decides which findings are left unfixed), and in one process after
    the files are checked. ``checked`` is told how many more files are checked as they finish
    (from another thread with worker processes), for a progress display: the results wait for
    the model, and workers take the largest files first, so the first result may come last.
    Checks that parse an entry module of the model offer its summary (``project.early``),
    but for those of workers started early: the model, built meanwhile, is ahead of them."""
    checker = Checker(job)
    # The projects' files, for the model; found below, but for workers started early (see
    # start_early): the model finds them once the workers have started, not on their way.
    found: ProjectFiles | None = None
    offers = Offers()

    def model() -> ProjectView:
        with collection_paused():  # (see run.collector)
            return project_view(
                files,
                job.settings,
                checker.catalogue,
                job.enabled,
                job.model_cache_dir,
                notify,
                walked=walked,
                keep_confined=job.include_confined,
                found=found,
                offered=offers,
            )

    view = None
    if job.mode.fix or job.mode.diff:
        found = _files_of_model(files, job.settings, walked)
        view = model()
        job = _fixing_job(job, view)
        checker = Checker(job)
    known: dict[str, FileResult] = {}
    # A few files the project rules cannot report in need the model only for their findings,
    # asked once they are known: no model at all for most of them.
    later = view is None and len(files) <= FEW_FILES and not model_may_matter(
        files, job.settings, checker.catalogue, job.model_cache_dir
    )
    todo: list[str] = []
    early: Workers | None = None
    # In a warm run the first changed file worth a worker starts the workers at once: they load
    # LibCST and the rules and check it while this process asks the stat index about the files
    # after it (a tenth of a second for thousands) and builds the model. Every file missed is
    # then asked about here (none is left to ask about below).
    asked = start_early = view is None and not later and _starts_early(checker, jobs)
    if view is None and not start_early:
        found = _files_of_model(files, job.settings, walked)
        if found is not None:
            # A copy: the model goes on to learn the projects' import lines into its own.
            job = replace(job, model_roots=replace(found.roots))
            checker.offering(job)
    failed = False  # the workers could not start: not tried again
    try:
        for path in files:
            result = cached_result(checker, path)
            if result is not None:
                known[path] = result
                continue
            todo.append(path)
            if start_early and _worth_a_worker(checker, [path]):
                start_early = False
                try:
                    workers = Workers(job, jobs, checked, checker, offers)
                    workers.submit([path])
                    early = workers
                except NoWorkers as error:
                    failed = True
                    notify(f"cannot start {jobs} worker processes ({error}); checking in one process")
        if known:
            checked(len(known))
        fresh: Generator[FileResult, None, None] | None = None
        if early is not None:
            fresh, offers.settled = early.results(todo), early.settled.set
            offers.expected = functools.partial(_may_offer, checker, frozenset(todo), offers.returned)
    except BaseException:
        if early is not None:
            early.close()
        raise
    if early is None and not failed and not later:
        workers = _workers_for(
            len(todo), jobs, overlap=lambda: view is None and not asked and _worth_a_worker(checker, todo)
        )
        if workers:
            try:
                reads = _read_by_workers(found, checker)
                fresh, offers.settled = _check_in_processes(todo, job, workers, checked, checker, offers, reads)
                offers.expected = functools.partial(_may_offer, checker, frozenset(todo), offers.returned)
            except NoWorkers as error:
                notify(f"cannot start {jobs} worker processes ({error}); checking in one process")
    if fresh is None:
        fresh = _check_here(checker, todo, checked)
        if view is None:
            # Checked before the model is built: no result goes out before it anyway, and the
            # progress advances from the start. (Fixing built it first: each file is fixed and
            # reported in turn.)
            done = list(fresh)
            for result in done:
                _take_offer(result, offers)
            fresh = _results_of(done)
            if later and not any(
                findings_need_reach(r.diagnostics) for r in (*known.values(), *done) if r.error is None
            ):
                view = ProjectView()
    updates: dict[str, Any] = {}
    try:
        view = view or model()
        for path in files:
            result = known.get(path) or next(fresh)
            _collect(result, updates)
            yield _finished(result, view, checker)
        for _ in fresh:  # runs the checks' own ending (the process pool shuts down)
            raise AssertionError("more results than files")
    finally:
        fresh.close()
    _save(checker, updates)


def _fixing_job(job: Job, view: ProjectView) -> Job:
    """``job`` with what the model says of fixing each file; ``view`` then leaves the findings
    whose fixes the files' fixing builds to it."""
    view.fixing = True
    return replace(
        job, held_back=view.held_back(), declined=view.declined(), proven=view.proven(), granted=view.granted()
    )


def _files_of_model(files: Sequence[str], settings: Settings, walked: Sequence[str]) -> ProjectFiles | None:
    """The files of the projects ``files`` belong to, for the model (see ``run.project``);
    None when they cannot be found (the model, trying again, says why)."""
    try:
        return model_files(files, settings, walked)
    except Exception:
        return None


def _read_by_workers(found: ProjectFiles | None, checker: Checker) -> list[str]:
    """The projects' files the workers read for the model's listing before they check theirs
    (``project.early``): in a cold run (the stat index answers for no file), two in five. This
    process reads the others meanwhile; its share is the larger, as the workers' checks are
    less than the model, which it goes on to build."""
    if found is None or checker.early is None or (checker.cache is not None and checker.cache.index):
        return []
    return [path for number, path in enumerate(found.paths) if number % READ_EVERY in READ_BY_WORKERS]


def _take_offer(result: FileResult, offers: Offers) -> None:
    """Move the summary a check offers the model into ``offers``, and note the check came back."""
    if result.offered is not None:
        offers.found[result.path] = result.offered
        result.offered = None
    offers.returned.add(result.path)


def _workers_for(files: int, jobs: int, *, overlap: Callable[[], bool]) -> int:
    """How many worker processes check ``files`` files (0: this process does). Many files are
    shared among ``jobs`` workers. A few files are checked in a forked worker too when the model
    is still to be built and a worker is worth it (``overlap``, asked only then: it reads the
    files): the worker loads LibCST and the rules and checks them while this process builds the
    model (a changed file in a warm run; a run over one file), instead of one after the other."""
    if jobs < 2 or not files:
        return 0
    if files >= PARALLEL_THRESHOLD:
        return jobs
    if _FORKS and overlap():
        return min(jobs, -(-files // CHUNK))
    return 0


def _worth_a_worker(checker: Checker, files: Sequence[str]) -> bool:
    """Whether a few files are worth a forked worker while the model is built: only when one of
    them passes the candidate stage's text test (the worker loads LibCST and the rules and runs
    them). A file no rule can report on is done here in a moment; starting a process for it
    costs more than its check (a one-file run, as pre-commit makes on a file without any loop
    or client). A file that cannot be read goes the usual way, which reports it."""
    return any(_kept_by_text_test(checker, path) is not False for path in files)


def _may_offer(checker: Checker, checking: frozenset[str], returned: set[str], path: str) -> bool:
    """Whether a worker may still offer the summary of ``path`` (``project.early``): its checks
    offer summaries, it checks the file, that check has not come back yet (one that has brought
    its offer, if any), and it parses the file (the text test keeps it: read again for that)."""
    if checker.early is None or path not in checking or path in returned:
        return False
    return bool(_kept_by_text_test(checker, path))


def _kept_by_text_test(checker: Checker, path: str) -> bool | None:
    """Whether the text of ``path`` passes the candidate stage's text test; None when the file
    cannot be read."""
    try:
        text = read_source(path, checker.settings.max_file_size).text
    except (SourceError, OSError):
        return None
    return checker.linter(path).candidates.may_match(text)


def _check_here(
    checker: Checker, files: Sequence[str], checked: Callable[[int], None]
) -> Generator[FileResult, None, None]:
    for path in files:
        result = check_file(checker, path)
        checked(1)
        yield result


def _results_of(results: list[FileResult]) -> Generator[FileResult, None, None]:
    yield from results


def _finished(
    result: FileResult, view: ProjectView, checker: Checker, read: Callable[[], SourceFile] | None = None
) -> FileResult:
    """``result`` as the run shows it (see ProjectView.finish). ``read``: how to read the
    file's text again (standard input's is not on disk), where it has to be."""
    if result.error is None:
        result.diagnostics = view.finish(result.diagnostics, result.path)
        if not view.fixing and any(d.granted is not None for d in result.diagnostics):
            read = read or functools.partial(read_source, result.path, checker.settings.max_file_size)
            _granted_as_fixing_shows(result, checker, read)
    return result


def _granted_as_fixing_shows(result: FileResult, checker: Checker, read: Callable[[], SourceFile]) -> None:
    """A plain check: the project rules' findings in the file whose fix its fixing builds
    (``Diagnostic.granted``) as that fixing shows them, fix or no fix and why, from the file's
    syntax the summaries do not keep (see pipeline.with_granted_shown); as the model found them where
    the file cannot be read or checked (its own check says why)."""
    mode = checker.job.mode
    try:
        source = read()
        if source.notebook is not None:
            return  # the model reads no notebook
        linter = checker.linter(result.path)
        result.diagnostics = pipeline.with_granted_shown(
            linter, source.text, result.path, result.diagnostics, build_fixes=mode.build_fixes
        )
    except SourceError:
        return
    if mode.keep_sources and result.source is None:
        result.source = source.text  # where the file had no finding of its own


class NoWorkers(Exception):
    """The worker processes could not be started (no file was checked yet); the message says
    why in a few words."""


def _check_in_processes(
    files: Sequence[str],
    job: Job,
    jobs: int,
    checked: Callable[[int], None],
    checker: Checker,
    offers: Offers,
    reads: Sequence[str] = (),
) -> tuple[Generator[FileResult, None, None], Callable[[], None]]:
    """The results of ``files`` in their order, checked in ``jobs`` worker processes (see
    :class:`Workers`), and the function that tells the workers the model has taken the
    summaries it takes (no more is offered then). ``reads``: files they read for the model's
    listing first (see _read_by_workers). Raises NoWorkers (and leaves no process behind) when
    they cannot start. The workers fork before LibCST and the rules are loaded:
    each loads them once a file needs them, while this process builds the model (it never needs
    them), which is what the run waits for; loaded here first, they would hold back the model
    and the workers alike."""
    workers = Workers(job, jobs, checked, checker, offers)
    workers.read_first(reads, checker.settings.max_file_size)
    return workers.results(files), workers.settled.set


def _starts_early(checker: Checker, jobs: int) -> bool:
    """Whether the workers may start at the first file the stat index does not answer for (see
    check_files): in a warm run (a stat index to ask), with a worker forked at once. Without an
    index every file is checked; the workers start after the stat pass, which takes no time
    then."""
    return jobs > 1 and _FORKS and checker.cache is not None and bool(checker.cache.index)


class Workers:
    """Worker processes checking the files handed to them, in chunks, the largest files first,
    so that one large file does not keep a worker busy after the others are done; their
    results in the order of the files. The workers start at the first chunk (all of them with
    fork), so files can be handed out as they become known. A forked worker takes ``checker``
    (the cache's index read, the linters made) as it is. The summaries the checks offer go into
    ``offers`` as each chunk comes back, until ``settled`` is set (the model has taken what it
    takes)."""

    def __init__(
        self, job: Job, jobs: int, checked: Callable[[int], None], checker: Checker, offers: Offers
    ) -> None:
        """Raises NoWorkers when the pool cannot be made: too few file descriptors, no
        semaphores (a read-only /dev/shm)."""
        import multiprocessing  # (and the pool: only a run that starts workers imports them)
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("fork" if _FORKS else "spawn")
        try:
            self.settled = context.Event()
            self.pool = ProcessPoolExecutor(
                jobs,
                mp_context=context,
                initializer=_start_worker,
                initargs=(job, self.settled, checker if _FORKS else None),
            )
        except (OSError, NotImplementedError, RuntimeError) as error:
            raise NoWorkers(_why(error)) from None
        self.checked = checked
        self.offers = offers
        self.where: dict[str, tuple[Any, int]] = {}  # each file's chunk (its future) and place in it
        self.running = False  # a chunk was handed out (the workers have started)

    def read_first(self, paths: Sequence[str], max_file_size: int | None) -> None:
        """Hand ``paths`` out to be read for the model's listing ahead of any check, in chunks;
        what reading each gives goes into ``offers.read_elsewhere``. Raises NoWorkers as
        :meth:`submit` does."""
        for start in range(0, len(paths), READ_CHUNK):
            chunk = list(paths[start : start + READ_CHUNK])
            future = self._hand_out(functools.partial(_read_chunk, max_file_size), chunk)
            self.offers.read_elsewhere.update(
                (path, functools.partial(_result_at, future, place)) for place, path in enumerate(chunk)
            )

    def submit(self, files: Sequence[str]) -> None:
        """Hand ``files`` out, in chunks. Raises NoWorkers (and leaves no process behind) when
        the workers cannot start (at the first chunk): no memory for another process or thread."""
        by_size = sorted(files, key=_size, reverse=True)
        for start in range(0, len(by_size), CHUNK):
            chunk = by_size[start : start + CHUNK]
            future = self._hand_out(_check_chunk, chunk)
            # Run by the pool's thread as each chunk comes back, while this one builds the model.
            future.add_done_callback(functools.partial(_chunk_done, self.checked, len(chunk), self.offers))
            self.where.update((path, (future, place)) for place, path in enumerate(chunk))

    def _hand_out(self, work: Callable[[list[str]], Any], chunk: list[str]) -> Any:
        """The future of ``work`` on ``chunk`` in a worker."""
        try:
            future = self.pool.submit(work, chunk)
        except (OSError, RuntimeError) as error:
            if self.running:  # the pool broke, as a result would say
                raise
            _abandon(self.pool)
            raise NoWorkers(_why(error)) from None
        self.running = True
        return future

    def results(self, files: Sequence[str]) -> Generator[FileResult, None, None]:
        """The results of ``files``: those not handed out yet are handed out now (NoWorkers when
        none was and the workers cannot start), the generator yields the rest."""
        self.submit([path for path in files if path not in self.where])
        return self._results(files)

    def _results(self, files: Sequence[str]) -> Generator[FileResult, None, None]:
        try:
            for path in files:
                future, place = self.where[path]
                yield future.result()[place]
        finally:
            self.close()

    def close(self) -> None:
        # Always with wait=True, also when interrupted: the executor's manager thread must be
        # joined here. Left running, it races the interpreter's exit hook for its wake-up pipe
        # ("Bad file descriptor" at exit). Workers finish the files in hand (no fix cut short).
        self.pool.shutdown(wait=True, cancel_futures=True)


def _chunk_done(checked: Callable[[int], None], count: int, offers: Offers, future: Any) -> None:
    if future.cancelled():  # the run was interrupted, nothing was checked
        return
    checked(count)
    if future.exception() is None:  # else it is raised where the results are read
        for result in future.result():
            _take_offer(result, offers)


def _why(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror  # "Too many open files", "Read-only file system"
    return str(error) or type(error).__name__  # "can't start new thread"


def _abandon(pool: ProcessPoolExecutor) -> None:
    """Stop a pool that could not start all of its workers. Work and the order to stop reach
    the workers through the pool's manager thread; where it never started (fork: the workers
    start before it), those that did start would wait forever, and so would the interpreter's
    exit: they are killed (they hold no file) and reaped."""
    if getattr(pool, "_executor_manager_thread", None) is None:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        for process in processes:
            process.kill()
        for process in processes:
            process.join()
            process.close()
    pool.shutdown(wait=True, cancel_futures=True)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _collect(result: FileResult, updates: dict[str, Any]) -> None:
    if result.cached is not None:
        updates[os.path.abspath(result.path)] = result.cached
        result.cached = None


def _save(checker: Checker, updates: dict[str, Any]) -> None:
    if checker.cache is not None:
        checker.cache.save_index(updates)


def check_stdin(data: bytes, filename: str, job: Job) -> tuple[FileResult, bytes]:
    """Standard input, named ``filename`` for messages, per-file-ignores and exclusion: the
    result, and the bytes to give back with ``--fix``: the fixed source in its own encoding, or
    the input byte for byte when nothing applies or it cannot be checked (an editor replaces its
    buffer with what it gets back)."""
    checker = Checker(job)
    limit = checker.settings.max_file_size
    fixed: list[bytes] = []

    def keep(source: SourceFile, text: str) -> None:
        fixed.append(encode(source, text))

    try:
        if limit is not None and len(data) > limit:
            raise too_large(len(data), limit)
        source = decode(filename, data)
        if checker.settings.excluded_by_user(filename):
            return FileResult(filename), data
        # The buffer stands for the file of that name in the project's model, whatever is on disk.
        texts = {os.path.abspath(filename): source.text}
        model = functools.partial(
            project_view,
            [filename],
            job.settings,
            checker.catalogue,
            job.enabled,
            job.model_cache_dir,
            lambda note: None,
            texts=texts,
            keep_confined=job.include_confined,
        )
        fixing = job.mode.fix or job.mode.diff
        # Without fixing, the model is built only where it can change the buffer's findings (as
        # for a few files: check_files).
        matters = fixing or model_may_matter(
            [filename], job.settings, checker.catalogue, job.model_cache_dir, texts=texts
        )
        view = model() if matters else None
        if fixing and view is not None:
            checker = Checker(_fixing_job(job, view))
        checked = check_source(checker, source, job.mode, keep)
        if view is None:
            view = model() if checked.error is None and findings_need_reach(checked.diagnostics) else ProjectView()
        result = _finished(checked, view, checker, lambda: source)
    except SourceError as error:
        return FileResult(filename, error=str(error)), data
    except Exception as error:  # a bug: one line, and the input back unchanged
        return FileResult(filename, error=_unexpected(error)), data
    return result, (fixed[-1] if fixed else data)
