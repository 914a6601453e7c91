"""Fixtures that run the real sandbox (uvicorn in a child process, SQLite in tmp_path).

- `sandbox_server`: a factory; `sandbox_server(faults=[...], config=path, ...)` starts a fresh
  sandbox with its own database and returns its `SandboxProcess` (stopped after the test).
- `sandbox`: one shared default sandbox for the session; tests keep apart by using fresh
  customer ids (see `customer`).
- `api` / `api2`: `Api` clients of the shared sandbox as the two demo resellers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bango_resale_sandbox.testing import (
    DEMO_RESELLER,
    SECOND_DEMO_RESELLER,
    Api,
    NotificationSink,
    SandboxProcess,
)


@pytest.fixture
def sandbox_server(tmp_path: Path) -> Iterator[Callable[..., SandboxProcess]]:
    """Factory for fresh sandboxes: `sandbox_server(faults=..., config=..., resellers=...)`."""
    started: list[SandboxProcess] = []

    def start(**kwargs: Any) -> SandboxProcess:
        db = tmp_path / f"sandbox-{len(started)}.sqlite3"
        server = SandboxProcess(db, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    """The shared default sandbox (packaged configuration, demo resellers)."""
    db = tmp_path_factory.mktemp("sandbox") / "shared.sqlite3"
    with SandboxProcess(db) as server:
        yield server


@pytest.fixture(scope="session")
def api(sandbox: SandboxProcess) -> Iterator[Api]:
    client = Api(sandbox.base_url, DEMO_RESELLER)
    yield client
    client.close()


@pytest.fixture(scope="session")
def api2(sandbox: SandboxProcess) -> Iterator[Api]:
    client = Api(sandbox.base_url, SECOND_DEMO_RESELLER)
    yield client
    client.close()


@pytest.fixture
def customer() -> str:
    """A customer id no other test uses."""
    return f"cust-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def receiver() -> Iterator[NotificationSink]:
    with NotificationSink() as running:
        yield running
