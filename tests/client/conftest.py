"""Fixtures for the client tests: a scripted in-memory transport and a real sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from client_helpers import Script

import bango_resale
from bango_resale import ResaleClient
from bango_resale_sandbox.testing import DEMO_RESELLER, SandboxProcess


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


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """One real sandbox process for the session (loopback HTTP, its own SQLite file)."""
    db: Path = tmp_path_factory.mktemp("client-sandbox") / "sandbox.sqlite3"
    with SandboxProcess(db) as server:
        yield server


@pytest.fixture
def live(sandbox: SandboxProcess) -> Iterator[ResaleClient]:
    user, password = DEMO_RESELLER
    with ResaleClient(sandbox.base_url, user, password) as c:
        yield c
