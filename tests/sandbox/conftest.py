"""The sandbox tests' store parametrisation: the modules in `BOTH_STORES` run every test on
SQLite and on PostgreSQL (the `store_kind` fixture and every sandbox fixture are in
tests/conftest.py); the others on SQLite."""

from __future__ import annotations

import pytest

# The same tests on both stores: transitions, the HTTP surface, notifications and their order,
# concurrency and crashes, and the example entitlements every fresh sandbox holds.
BOTH_STORES = {
    "test_transitions",
    "test_http_surface",
    "test_notifications",
    "test_delivery_order",
    "test_concurrency",
    "test_crash",
    "test_store",
    "test_examples",
    "test_console_store",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_kind" in metafunc.fixturenames and metafunc.module.__name__.split(".")[-1] in (
        BOTH_STORES
    ):
        metafunc.parametrize("store_kind", ["sqlite", "postgresql"], indirect=True, scope="session")
