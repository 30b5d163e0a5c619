"""``checked N/M files`` on a terminal's stderr during long runs; nothing elsewhere."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

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
    ) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled and total > 1 and _is_terminal(stream)
        self.after, self.every, self.clock = after, every, clock
        self.started = clock()
        self.drawn_at: float | None = None
        self.showing = False  # the line is on the terminal now
        self.done = 0
        self._lock = threading.RLock()

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
                self.drawn_at = now
                self._write(f"\rloopcheck: checked {min(self.done, self.total)}/{self.total} files")
                self.showing = True

    @contextmanager
    def hidden(self, when: bool = True) -> Iterator[None]:
        """Erase the line (``when`` something is about to be written) and keep it off the
        terminal until the block is done; the next :meth:`advance` draws it again."""
        with self._lock:
            if when:
                self.clear()
            yield

    def clear(self) -> None:
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
