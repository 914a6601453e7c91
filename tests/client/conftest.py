"""The client's test fixtures: a scripted in-memory transport, recorded retry waits, a
loopback port that refuses connections, and the CLI's settings for the real sandbox
(`environment`). The real sandbox itself (`sandbox`, `live`) comes from tests/conftest.py."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import httpx
import pytest
from client_helpers import Script

import bango_resale
from bango_resale import ResaleClient
from bango_resale_sandbox.testing import DEMO_RESELLER, SandboxThread


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Patch the retry sleep: record each wait instead of waiting."""
    waited: list[float] = []
    monkeypatch.setattr(bango_resale._retry, "sleep", waited.append)

    async def fake_async_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(bango_resale._retry, "async_sleep", fake_async_sleep)
    return waited


@pytest.fixture
def client(script: Script, sleeps: list[float]) -> Iterator[ResaleClient]:
    with ResaleClient(
        "http://bango.test", "user", "secret", transport=httpx.MockTransport(script)
    ) as c:
        yield c


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses every connection for the whole test.

    The socket is bound and never listens, so the kernel answers a connection with a reset
    (refused), and while the test holds it no other process can take the port: a port bound,
    read and closed again would be free for anyone to start listening on meanwhile.
    """
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


@pytest.fixture
def environment(sandbox: SandboxThread, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The CLI's connection settings for the sandbox's demo reseller, set for this process;
    returns the whole environment, for a CLI run as a child process."""
    user, password = DEMO_RESELLER
    settings = {
        "BANGO_RESALE_BASE_URL": sandbox.base_url,
        "BANGO_RESALE_USERNAME": user,
        "BANGO_RESALE_PASSWORD": password,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return {**os.environ, **settings}
