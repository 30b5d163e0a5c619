"""``--watch``: check, then check again whenever a file the run checks, or its configuration,
changes, until Ctrl-C.

Changes are found by polling the files' ``stat`` once a second, over the same discovery as the
run (exclusions, ``.gitignore``, new and deleted files), rather than with an operating-system
file watcher: the set of files that matter is exactly what ``discover`` yields, and a re-check
of the unchanged files is a cache hit."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

# Seconds between two looks at the files; LOOPCHECK_WATCH_INTERVAL changes it (tests).
POLL_INTERVAL = 1.0

Stamps = dict[str, tuple[int, int]]


def stamps(files: Iterable[str | Path]) -> Stamps:
    """Each file's modification time and size; a file that cannot be looked at is left out,
    so that its coming back counts as a change."""
    seen: Stamps = {}
    for path in files:
        try:
            status = os.stat(path)
        except OSError:
            continue
        seen[str(path)] = (status.st_mtime_ns, status.st_size)
    return seen


def changed(before: Stamps, after: Stamps) -> list[str]:
    """The files added, removed or modified between two looks, sorted."""
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def _as_given(path: str) -> str:
    """``path`` relative to the current directory when it is under it, as the findings name files."""
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


def watch(
    check: Callable[[], int],
    look: Callable[[], Stamps],
    stream: TextIO,
    *,
    interval: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], str] = lambda: time.strftime("%H:%M:%S"),
) -> int:
    """Run ``check``, then again each time ``look`` sees other stamps; returns 0 when stopped
    with Ctrl-C (the way out of a watch, not a failure)."""
    if interval is None:
        interval = float(os.environ.get("LOOPCHECK_WATCH_INTERVAL", POLL_INTERVAL))
    try:
        stream.write(f"[{clock()}] Watching for file changes (Ctrl-C stops).\n")
        stream.flush()
        seen = look()
        check()
        while True:
            sleep(interval)
            now = look()
            moved = changed(seen, now)
            if not moved:
                continue
            seen = now
            shown = ", ".join(map(_as_given, moved[:3])) + (f" and {len(moved) - 3} more" if len(moved) > 3 else "")
            stream.write(f"\n[{clock()}] Changed: {shown}. Checking again.\n")
            stream.flush()
            check()
    except KeyboardInterrupt:
        stream.write("\n")
        return 0
