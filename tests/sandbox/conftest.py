"""Fixtures that run the real sandbox (uvicorn in a child process, SQLite in tmp_path, or a
schema of its own on the session's PostgreSQL server).

- `store_kind`: "sqlite" or "postgresql". The modules in `BOTH_STORES` run every test on both
  stores; the others on SQLite.
- `postgres`: one throwaway PostgreSQL server for the whole session (started on first use).
- `fresh_database`: a factory of new, empty databases of the test's store kind.

- `sandbox_server`: a factory; `sandbox_server(faults=[...], config=path, ...)` starts a fresh
  sandbox with its own database and returns its `SandboxProcess` (stopped after the test).
- `sandbox`: one shared default sandbox for the session; tests keep apart by using fresh
  customer ids (see `customer`).
- `api` / `api2`: `Api` clients of the shared sandbox as the two demo resellers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bango_resale_sandbox.testing import (
    DEMO_RESELLER,
    SECOND_DEMO_RESELLER,
    Api,
    NotificationSink,
    PostgresServer,
    SandboxProcess,
)

# The same tests on both stores: transitions, the HTTP surface, notifications and their order,
# concurrency and crashes.
BOTH_STORES = {
    "test_transitions",
    "test_http_surface",
    "test_notifications",
    "test_delivery_order",
    "test_concurrency",
    "test_crash",
    "test_store",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_kind" in metafunc.fixturenames and metafunc.module.__name__.split(".")[-1] in (
        BOTH_STORES
    ):
        metafunc.parametrize("store_kind", ["sqlite", "postgresql"], indirect=True, scope="session")


@pytest.fixture(scope="session")
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server; every sandbox on it gets a schema of its own."""
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def fresh_database(
    store_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], str]:
    """Call it for a new empty database: a SQLite path or a URL naming a new schema."""

    def fresh() -> str:
        if store_kind == "postgresql":
            server: PostgresServer = request.getfixturevalue("postgres")
            return server.url(f"t_{uuid.uuid4().hex[:16]}")
        return str(tmp_path_factory.mktemp("db") / "sandbox.sqlite3")

    return fresh


@pytest.fixture
def sandbox_server(fresh_database: Callable[[], str]) -> Iterator[Callable[..., SandboxProcess]]:
    """Factory for fresh sandboxes: `sandbox_server(faults=..., config=..., resellers=...)`."""
    started: list[SandboxProcess] = []

    def start(**kwargs: Any) -> SandboxProcess:
        server = SandboxProcess(fresh_database(), **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def sandbox(fresh_database: Callable[[], str]) -> Iterator[SandboxProcess]:
    """The shared default sandbox (packaged configuration, demo resellers)."""
    with SandboxProcess(fresh_database()) as server:
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
