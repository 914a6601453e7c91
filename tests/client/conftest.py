"""The client's test fixtures: a scripted in-memory transport, recorded retry waits, and the
CLI's settings for the real sandbox (`environment`). The real sandbox itself (`sandbox`,
`live`) comes from tests/conftest.py."""

from __future__ import annotations

import os
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
