"""How far loopcheck goes on one file, and the deep stack its analysis runs on.

LibCST walks its trees recursively, a few Python frames per level of nesting, so valid code that
nests deeply (a 500-branch ``elif`` chain, a 320-term ``1 + 1 + ...``) overruns the default
recursion limit of 1000. The analysis therefore runs in one worker thread with a large stack and
a raised recursion limit (measured on CPython 3.10-3.13: 100,000 frames through C need between 32
and 64 MiB of stack; the worker has 256 MiB, reserved but only touched as used).

Three limits keep the time per file bounded, each reported in one line when exceeded:

- ``max-file-size`` (configurable, default 1 MiB, see ``loopcheck/files.py``): checked before the
  file is read. The largest file of the benchmark corpus is 420 KB.
- ``MAX_NODES`` syntax-tree nodes: the analysis takes time in proportion to the nodes (about
  5,000 nodes per CPU-second today), and a small file of tiny statements has many of them. The
  largest corpus file that reaches LibCST has 49,417.
- ``MAX_NESTING`` levels of the syntax tree: LibCST's time and memory grow faster than linearly
  with depth (3,000 nested lambdas: 32 s and 1.7 GB). Python itself compiles up to about 3,000
  levels (3.10-3.12) or 6,000-10,000 (3.13).

Where memory is short (``ulimit -v``), no thread with that stack can start: the worker is started
with a smaller stack, and the recursion limit shrinks with it; if no thread can be started at all,
the analysis runs on the calling thread, with the limit its own stack allows. Files nested deeply
enough to need more are then reported as too deeply nested, in one line.

Python 3.12 caps recursion through C at 1,500 calls whatever ``sys.setrecursionlimit`` says
(3.13: 10,000), so there LibCST gives up earlier (an ``elif`` chain of about 700 branches); that
is reported in one line as well.
"""

from __future__ import annotations

import ast
import contextlib
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from loopcheck.files import SourceError

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]

MAX_NODES = 200_000
MAX_NESTING = 1_000
STACK_SIZE = 256 << 20
RECURSION_LIMIT = 100_000
# Tried in turn when a thread with the full stack cannot start (too little address space).
SMALLER_STACKS = (64 << 20, 16 << 20, 4 << 20)
# Stack per frame the recursion limit assumes: four times the most measured (the full stack
# allows RECURSION_LIMIT frames).
STACK_PER_FRAME = STACK_SIZE // RECURSION_LIMIT
MAIN_THREAD_STACK = 8 << 20  # assumed when the stack's size limit is unknown or unlimited
# What `python file.py` compiles with. On 3.10 and 3.11 the compiler's own depth limit is three
# times the recursion limit, so the syntax check must not run under the raised one.
INTERPRETER_RECURSION_LIMIT = 1_000

# Signals the worker never takes: they go to the main thread, which blocks them while it writes.
HANDLED_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)

T = TypeVar("T")


class TooComplex(SourceError):
    """The file is beyond one of the limits above; the message is one line."""


def _frame_depth() -> int:
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    return depth


@contextlib.contextmanager
def interpreter_recursion_limit() -> Iterator[None]:
    """Run with the recursion head-room ``python file.py`` has, whatever the caller's depth."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(INTERPRETER_RECURSION_LIMIT + _frame_depth())
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def tree_size(tree: ast.AST) -> tuple[int, int]:
    """(nodes, depth) of a syntax tree."""
    nodes = depth = 0
    stack = [(tree, 1)]
    children = ast.iter_child_nodes
    while stack:
        node, level = stack.pop()
        nodes += 1
        if level > depth:
            depth = level
        stack.extend((child, level + 1) for child in children(node))
    return nodes, depth


def check_complexity(tree: ast.AST) -> None:
    """Raise TooComplex when the analysis of the file parsed as ``tree`` would take unbounded
    time or stack."""
    nodes, depth = tree_size(tree)
    if depth > MAX_NESTING:
        raise TooComplex(f"too deeply nested to analyse ({depth} levels, limit {MAX_NESTING})")
    if nodes > MAX_NODES:
        raise TooComplex(
            f"too large to analyse ({nodes:,} syntax nodes, limit {MAX_NODES:,}); "
            "split the file or exclude it"
        )


def recursion_limit_for(stack: int) -> int:
    """The recursion limit a thread with ``stack`` bytes of stack can take."""
    return max(INTERPRETER_RECURSION_LIMIT, min(RECURSION_LIMIT, stack // STACK_PER_FRAME))


class _Closed(Exception):
    """The worker was closed before it took the call: another one takes it."""


class _Worker:
    """One daemon thread with a large stack; runs the calls handed to it, one at a time.
    RuntimeError when the thread cannot start."""

    def __init__(self, stack: int = STACK_SIZE) -> None:
        self.jobs: queue.SimpleQueue[tuple[Callable[[], Any], dict[str, Any], threading.Event] | None]
        self.jobs = queue.SimpleQueue()
        self.recursion_limit = recursion_limit_for(stack)
        # Held while a call is handed over and while the thread is told to stop: every call
        # taken is ahead of the stop in the queue, and none is taken after it.
        self.handing = threading.Lock()
        self.closed = False
        previous = threading.stack_size()
        try:
            threading.stack_size(stack)
            self.thread = threading.Thread(target=self._serve, name="loopcheck-analysis", daemon=True)
            self.thread.start()
        finally:
            threading.stack_size(previous)

    def _serve(self) -> None:
        if HANDLED_SIGNALS and hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
        while True:
            job = self.jobs.get()
            if job is None:
                return  # closed (see close)
            call, outcome, done = job
            # Process-wide, so only while a job runs (the caller waits meanwhile).
            previous = sys.getrecursionlimit()
            sys.setrecursionlimit(max(previous, self.recursion_limit))
            try:
                outcome["value"] = call()
            except BaseException as error:  # handed to the caller, re-raised there
                outcome["error"] = error
            finally:
                sys.setrecursionlimit(previous)
                done.set()

    def run(self, call: Callable[[], T]) -> T:
        """The value of ``call()`` run on the thread; _Closed when it was closed before."""
        outcome: dict[str, Any] = {}
        done = threading.Event()
        with self.handing:
            if self.closed:
                raise _Closed
            self.jobs.put((call, outcome, done))
        done.wait()  # interruptible: SIGINT in the main thread raises KeyboardInterrupt here
        if "error" in outcome:
            error = outcome.pop("error")
            try:
                raise error
            finally:
                del error
        return outcome["value"]

    def close(self) -> None:
        """Stop the thread once the calls it took are done, and wait for it."""
        with self.handing:
            self.closed = True
            self.jobs.put(None)
        join_to_the_end(self.thread)


_worker: _Worker | None = None
_worker_lock = threading.Lock()
_threadless = False  # no analysis thread could be started: run on the caller's


def _start_worker() -> _Worker | None:
    global _threadless
    for stack in (STACK_SIZE, *SMALLER_STACKS):
        try:
            return _Worker(stack)
        except RuntimeError:  # "can't start new thread": not enough memory for its stack
            continue
    _threadless = True
    return None


def _stack_of_this_thread() -> int:
    if threading.current_thread() is not threading.main_thread():
        return 0  # unknown: no more than the interpreter's own limit
    if resource is None:
        return MAIN_THREAD_STACK
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    except (OSError, ValueError):
        return MAIN_THREAD_STACK
    return MAIN_THREAD_STACK if soft == resource.RLIM_INFINITY or soft <= 0 else soft


def _run_here(call: Callable[[], T]) -> T:
    """``call()`` on the calling thread, with the recursion head-room its stack allows."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, _frame_depth() + recursion_limit_for(_stack_of_this_thread())))
    try:
        return call()
    finally:
        sys.setrecursionlimit(previous)


def run_deep(call: Callable[[], T]) -> T:
    """``call()`` on the deep-stack worker thread (or, where none can start, on this one); its
    exception, if any, is raised here."""
    global _worker
    if threading.current_thread().name == "loopcheck-analysis":
        return call()  # already there (nested use)
    while True:
        with _worker_lock:
            if not _threadless and (_worker is None or _worker.closed or not _worker.thread.is_alive()):
                _worker = _start_worker()
            worker = None if _threadless else _worker
        if worker is None:
            return _run_here(call)
        try:
            return worker.run(call)
        except _Closed:  # closed for a fork meanwhile: a new thread takes it
            continue


def join_to_the_end(thread: threading.Thread, wait: float = 0.05) -> None:
    """Join ``thread``, then wait (``wait`` seconds at most) for the system's thread to be gone
    too: ``join`` returns as the thread's Python code ends, a moment before the thread exits, and
    a fork in between is a fork with a thread alive (Python 3.12 warns of it). Where the
    system does not list a process's threads (``/proc``), only the join."""
    thread.join()
    if thread.native_id is None:
        return
    task = f"/proc/self/task/{thread.native_id}"
    deadline = time.monotonic() + wait
    while os.path.exists(task) and time.monotonic() < deadline:
        time.sleep(0.0002)


def _close_before_fork() -> None:
    """Close the analysis thread before this process forks (the check's worker processes): a
    process forked while a thread runs may deadlock in the child (Python 3.12 warns of it), and
    the thread would not be in the child anyway. The next deep call starts a new one."""
    worker = _worker
    if worker is not None and worker.thread.is_alive() and worker.thread is not threading.current_thread():
        worker.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_close_before_fork)


def caused_by_depth(error: BaseException) -> bool:
    """Whether ``error`` or an exception it was raised while handling is a RecursionError.

    LibCST's position provider turns a RecursionError into a KeyError on the way up, so the
    whole chain is looked at."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, RecursionError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def describe(error: BaseException) -> str:
    """One short line for an unexpected exception, without calling its ``str()``: the message of
    a KeyError is the repr of its key, and the repr of a deep LibCST node takes minutes (the
    "hang" on 3.13) and may itself overflow the stack."""
    parts = []
    for arg in error.args[:2]:
        if isinstance(arg, str):
            parts.append(arg if len(arg) <= 120 else arg[:117] + "...")
        elif isinstance(arg, (int, float, bool)) or arg is None:
            parts.append(repr(arg))
        else:
            parts.append(f"<{type(arg).__name__}>")
    where = ""
    tb = error.__traceback__
    while tb is not None:
        frame = tb.tb_frame.f_code
        where = f" at {frame.co_filename.rsplit('site-packages/', 1)[-1]}:{tb.tb_lineno}"
        tb = tb.tb_next
    text = f"{type(error).__name__}: {', '.join(parts)}" if parts else type(error).__name__
    return text.replace("\n", " ") + where
