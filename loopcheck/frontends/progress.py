"""``checked N/M files`` on a terminal's stderr during long runs; nothing elsewhere."""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from loopcheck.engine.limits import join_to_the_end

PROGRESS_AFTER = 0.5  # seconds before a progress line appears (short runs stay quiet)
REDRAW_EVERY = 0.1  # seconds between two redraws


class Progress:
    """Advanced from any thread as files finish (worker processes report from the pool's
    thread while the main one builds the project model); the line is erased while other output
    is written (see :meth:`hidden`) and at the end."""

    def __init__(
        self,
        total: int,
        stream: TextIO,
        *,
        enabled: bool,
        after: float = PROGRESS_AFTER,
        every: float = REDRAW_EVERY,
        clock: Callable[[], float] = time.monotonic,
        timer: Callable[[float, Callable[[], None]], Any] = threading.Timer,
    ) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled and total > 1 and _is_terminal(stream)
        self.after, self.every, self.clock = after, every, clock
        self.started = clock()
        self.drawn_at: float | None = None
        self.showing = False  # the line is on the terminal now
        self.done = 0
        self.finished = False
        self.reporting = False  # other output has begun: the line only follows files now
        self._timer = timer
        self._pending: Any = None  # the timer that shows the line late (see start)
        self._paused = False  # its thread was stopped for a fork (see _pause)
        self._lock = threading.RLock()

    def start(self) -> None:
        """Show the line once ``after`` seconds have passed even if no file finishes then: the
        files may all be checked early, and the project model built after them. The timer's
        thread is stopped while the worker processes are forked (see _pause_for_fork)."""
        if self.enabled:
            self._start_timer(self.after)
            _waiting.add(self)

    def _start_timer(self, delay: float) -> None:
        self._pending = self._timer(delay, self._show_late)
        self._pending.daemon = True
        self._pending.start()

    def _pause(self) -> None:
        """Stop the timer's thread (and wait for it), to be started again by :meth:`_resume`."""
        pending = self._pending
        if isinstance(pending, threading.Timer) and pending.is_alive():
            pending.cancel()
            join_to_the_end(pending)
            self._paused = True

    def _resume(self) -> None:
        """Start the timer :meth:`_pause` stopped again, for the time it had left, if the line
        is still to be shown."""
        with self._lock:
            paused, self._paused = self._paused, False
            if paused and self.enabled and not (self.finished or self.reporting or self.drawn_at is not None):
                self._start_timer(max(0.0, self.after - (self.clock() - self.started)))

    def _show_late(self) -> None:
        with self._lock:
            if self.enabled and not (self.finished or self.reporting or self.showing):
                self._draw(self.clock())

    def advance(self, count: int) -> None:
        with self._lock:
            self.done += count
            if not self.enabled:
                return
            now = self.clock()
            if now - self.started < self.after:
                return
            last = self.done >= self.total  # always shown: the model may still take a while
            if last or self.drawn_at is None or now - self.drawn_at >= self.every:
                self._draw(now)

    def _draw(self, now: float) -> None:
        self.drawn_at = now
        self._write(f"\rloopcheck: checked {min(self.done, self.total)}/{self.total} files")
        self.showing = True

    @contextmanager
    def hidden(self, when: bool = True) -> Iterator[None]:
        """Erase the line (``when`` something is about to be written) and keep it off the
        terminal until the block is done; the next :meth:`advance` draws it again."""
        with self._lock:
            if when:
                self.reporting = True
                self._erase()
            yield

    def clear(self) -> None:
        """Erase the line for good: the run is over."""
        with self._lock:
            self.finished = True
            pending = self._pending
            if pending is not None:
                pending.cancel()
            _waiting.discard(self)
            self._erase()
        if isinstance(pending, threading.Thread) and pending.ident is not None:
            join_to_the_end(pending)  # outside the lock, which the timer's call may be waiting for

    def _erase(self) -> None:
        with self._lock:
            if self.showing:
                self._write("\r\033[K")
                self.showing = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or vanished terminal: progress is not worth a failure
            self.enabled = False


# The lines whose timer may still be waiting: their threads must not be running when the
# process forks (a child forked while a thread runs may deadlock; Python 3.12 warns of it).
_waiting: weakref.WeakSet[Progress] = weakref.WeakSet()


def _pause_for_fork() -> None:
    for progress in list(_waiting):
        progress._pause()


def _resume_after_fork() -> None:
    for progress in list(_waiting):
        progress._resume()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_pause_for_fork, after_in_parent=_resume_after_fork)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False
