"""``checked N/M files`` on a terminal's stderr during long runs; nothing elsewhere."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

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
        self._lock = threading.RLock()

    def start(self) -> None:
        """Show the line once ``after`` seconds have passed even if no file finishes then: the
        files may all be checked early, and the project model built after them."""
        if self.enabled:
            self._pending = self._timer(self.after, self._show_late)
            self._pending.daemon = True
            self._pending.start()

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
            if self._pending is not None:
                self._pending.cancel()
            self._erase()

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


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False
