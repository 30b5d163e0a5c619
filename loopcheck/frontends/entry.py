"""The ``loopcheck`` command (and ``python -m loopcheck``); ``loopcheck server``, the language
server.

Importing the command line takes about half a second (LibCST, click). A signal in that time
must not print a traceback or exit 1: until ``cli`` takes over, SIGINT, SIGTERM and SIGHUP end
the process at once with 128 + N. Nothing has been read or written yet, so nothing is lost.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from typing import Any

# A light module: nothing of LibCST or click is imported before the handlers are in place.
from loopcheck.engine.limits import HANDLED_SIGNALS


def _exit_now(signum: int, frame: Any) -> None:
    os.write(2, b"loopcheck: interrupted\n")
    os._exit(128 + signum)


def main() -> None:
    for signum in HANDLED_SIGNALS:
        signal.signal(signum, _exit_now)
    if sys.argv[1:2] == ["server"]:  # `loopcheck server`: a path named so is checked as ./server
        from loopcheck.frontends.server import main as serve

        serve(sys.argv[2:])
        return
    # Nothing made while the command line is imported is garbage: no collection runs until the
    # imported objects are frozen (``tune_collector``), which also turns the collector back on.
    gc.disable()
    from loopcheck.frontends.cli import main as command
    from loopcheck.run.collector import tune_collector

    tune_collector()
    command()


if __name__ == "__main__":
    main()
