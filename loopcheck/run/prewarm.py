"""A worker process started as the command starts, for a run over a few files LibCST will check
(the pre-commit and editor path): it imports LibCST and the rules while this process imports the
command line and reads the configuration, then checks the files this process hands it
(``runner.check_files``) with the run's own job. Importing LibCST is most of such a run; this way
it is not waited for after everything else.

Whether to start it is guessed from the command line before it is parsed (:func:`start`): Python
files named on it, at most :data:`FEW_FILES`, one of which the candidate stage keeps with every
rule (its text and its ``ast`` tree). A wrong guess costs only the worker's time: it is killed when
the run does not hand it the files (another selection, fixing, ``-j 1``), and a run whose worker
is gone checks its files itself. The worker exits when this process goes, however it goes.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loopcheck.run.runner import FileResult, Job

# Up to this many files, a run is worth a worker started early (and asks whether the project
# model can change what they report before building it: run/project.py).
FEW_FILES = 8
# Options after which the files are not checked as the worker would check them (or at all).
DECLINING = frozenset(
    {"-", "--fix", "--diff", "--add-noqa", "--write-baseline", "--show-files", "--show-settings",
     "--explain", "--list-rules", "--version", "-h", "--help", "-j1", "--jobs=1"}
)
ORPHAN_CHECK_INTERVAL = 0.05  # seconds
# Held while the worker checks a file: one whose parent is gone exits between files.
_busy = threading.Lock()


class Worker:
    """The worker started early: its process, and the pipes to and from it."""

    def __init__(self, pid: int, to_worker: int, from_worker: int) -> None:
        self.pid = pid
        self.to_worker = os.fdopen(to_worker, "wb")
        self.from_worker = os.fdopen(from_worker, "rb")
        self.handed = False

    def hand(self, job: Job, files: Sequence[str]) -> None:
        """Give the worker ``files`` to check with ``job`` (it starts at once)."""
        try:
            pickle.dump((job, list(files)), self.to_worker)
            self.to_worker.flush()
            self.handed = True
        except (OSError, pickle.PicklingError):
            self.stop()

    def results(
        self, files: Sequence[str], checked: Callable[[int], None], here: Callable[[str], FileResult]
    ) -> Generator[FileResult, None, None]:
        """The result of each of ``files`` (handed to it), as the worker sends them; those it
        does not send (it is gone) checked by ``here``."""
        try:
            for path in files:
                result = None
                if self.pid:
                    try:
                        result = pickle.load(self.from_worker)
                    except Exception:  # gone: the run checks the rest itself
                        self.stop()
                if result is None:
                    result = here(path)
                checked(1)
                yield result
        finally:
            self.stop()

    def stop(self) -> None:
        """End the worker and reap it; once. One still importing holds nothing and is killed;
        one that was handed files finishes the file in hand (a cache entry is written whole)
        and exits when it finds the pipe closed."""
        if self.pid == 0:
            return
        for stream in (self.to_worker, self.from_worker):
            try:
                stream.close()
            except OSError:
                pass
        if not self.handed:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        self.pid = 0


_worker: Worker | None = None


def start(arguments: Sequence[str]) -> None:
    """Start the worker when ``arguments`` (the command line's, unparsed) name a few Python files,
    one of which LibCST will likely check (see the module's description)."""
    global _worker
    if _worker is not None or not hasattr(os, "fork") or _cores() < 2 or _declined(arguments):
        return
    paths = [argument for argument in arguments if not argument.startswith("-") and argument.endswith(".py")]
    if not paths or len(paths) > FEW_FILES:
        return
    codes = set().union(*(_kept(path) for path in paths))
    if not codes:
        return
    to_worker_read, to_worker = os.pipe()
    from_worker, from_worker_write = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the worker: it never returns
        os.close(to_worker)
        os.close(from_worker)
        _serve(parent, to_worker_read, from_worker_write, codes)
    os.close(to_worker_read)
    os.close(from_worker_write)
    _worker = Worker(pid, to_worker, from_worker)
    import atexit

    atexit.register(stop)


def take() -> Worker | None:
    """The worker started early, for the run's files (once); None when there is none."""
    global _worker
    worker, _worker = _worker, None
    return worker


def stop() -> None:
    """End the worker started early, if the run did not take it."""
    worker = take()
    if worker is not None:
        worker.stop()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _declined(arguments: Sequence[str]) -> bool:
    return any(
        argument in DECLINING or (argument in ("-j", "--jobs") and following == "1")
        for argument, following in zip(arguments, [*arguments[1:], ""])
    )


def _kept(path: str) -> set[str]:
    """The rules the candidate stage, with every rule and the catalogue as shipped, runs on the
    file at ``path`` (none: it never reaches LibCST)."""
    import ast

    from loopcheck.engine.registry import rule_index
    from loopcheck.prefilter.candidates import Candidates
    from loopcheck.run.sources import read_source
    from loopcheck.settings.config import Settings

    try:
        text = read_source(path).text
        # The catalogue as the run loads it where no configuration adds to it (loaded once).
        catalogue = Settings().catalogue()
        candidates = Candidates([rule for rule in rule_index().values() if rule.scope == "file"], catalogue)
        return set(candidates.rules_for(ast.parse(text))) if candidates.may_match(text) else set()
    except Exception:  # unreadable, not Python: the run says why
        return set()


def _serve(parent: int, requests: int, replies: int, codes: set[str]) -> None:
    """The worker: import LibCST and the rules of ``codes``, then check the files it is handed,
    sending each result as it is done; exit when the pipe closes or the parent is gone."""
    status = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent's to handle
        for signum in (signal.SIGTERM, signal.SIGHUP):  # not the start-up's message, the parent's
            signal.signal(signum, signal.SIG_DFL)
        threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
        import importlib

        importlib.import_module("libcst.metadata")  # and LibCST: what checking a file waits for

        from loopcheck.engine.registry import rule_index
        from loopcheck.run.collector import tune_collector
        from loopcheck.run.runner import Checker, check_file

        for code in sorted(codes):
            rule_index()[code].rule  # noqa: B018 (imported now, while the parent starts)
        tune_collector()
        with os.fdopen(requests, "rb") as incoming, os.fdopen(replies, "wb") as outgoing:
            try:
                job, files = pickle.load(incoming)
            except EOFError:  # not taken
                os._exit(0)
            checker = Checker(job)
            for path in files:
                with _busy:  # see _exit_when_orphaned
                    result = check_file(checker, path)
                pickle.dump(result, outgoing)
                outgoing.flush()
        status = 0
    finally:
        os._exit(status)


def _exit_when_orphaned(parent: int) -> None:
    """A parent gone (killed, interrupted) never reads the results: exit, once the file in hand
    is done (its cache entry written whole)."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_INTERVAL)
    with _busy:
        os._exit(1)
