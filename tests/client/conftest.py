"""The client's unit-test fixtures: a scripted in-memory transport, recorded retry waits and a
loopback port that refuses connections. The real sandbox (`sandbox`, `live`) comes from
tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from client_helpers import Script

import bango_resale
from bango_resale import ResaleClient


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
