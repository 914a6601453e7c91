"""No caller can lock out, starve or trick another, tried over real HTTP against a sandbox in its
own process with a real database file: password guessing aimed at another reseller's user name,
idle connections held from one address, requests the sandbox cannot serve, writes from another
site's page, and notification targets aimed at the sandbox's own or other local ports."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import httpx
import pytest

from bango_resale_sandbox.testing import DEMO_RESELLER, SandboxProcess

pytestmark = pytest.mark.integration


def connect_from(source: str, port: int) -> socket.socket:
    """A connection to the sandbox from the loopback address `source` (127.0.0.0/8 is all ours)."""
    conn = socket.socket()
    conn.settimeout(5)
    conn.bind((source, 0))
    conn.connect(("127.0.0.1", port))
    return conn


def raw_exchange(port: int, data: bytes) -> tuple[int, bytes, bytes]:
    """Send `data` on a new connection, read until the server closes: (status, head, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(data)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), head, body


# -- connections: one source's idle connections never starve another's requests -----------


@pytest.fixture
def held() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.mark.parametrize("sources", [1, 4], ids=["one-source", "four-sources"])
@pytest.mark.parametrize("kind", ["idle-after-a-request", "half-sent-head"])
def test_a_thousand_held_connections_do_not_stop_another_sources_requests(
    sandbox_server: Callable[..., SandboxProcess], held: ExitStack, sources: int, kind: str
) -> None:
    server = sandbox_server()
    # The default cap is 1000 connections: fill it from 127.0.0.2 (and .3, .4, .5).
    attackers = [
        held.enter_context(connect_from(f"127.0.0.{2 + i % sources}", server.port))
        for i in range(1000)
    ]
    for conn in attackers:
        if kind == "half-sent-head":
            conn.sendall(b"GET /sandbox/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        else:
            conn.sendall(b"GET /sandbox/health HTTP/1.1\r\nHost: x\r\n\r\n")
    # Each of the reseller's requests on a new connection of its own, from 127.0.0.1.
    statuses = []
    for i in range(20):
        answer = httpx.get(f"{server.base_url}/v1/echo/e{i}", auth=DEMO_RESELLER, timeout=5)
        statuses.append(answer.status_code)
    assert statuses == [200] * 20
    # And one connection that stays, authenticated, through another burst.
    with httpx.Client(base_url=server.base_url, auth=DEMO_RESELLER, timeout=5) as client:
        assert client.get("/v1/echo/first").status_code == 200
        more = [held.enter_context(connect_from("127.0.0.2", server.port)) for _ in range(1000)]
        assert more
        assert client.get("/v1/echo/second").status_code == 200
