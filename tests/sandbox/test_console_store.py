"""What storage keeps for the console, on SQLite and on PostgreSQL: transitions, delivery
attempts, the request log's batches and their pruning, the list newest first; and that none
of it costs a create more as the tables grow."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from bango_resale_sandbox.config import load_config
from bango_resale_sandbox.domain import Entitlement, Status
from bango_resale_sandbox.storage import EntitlementStore, OutboxRow, open_store
from bango_resale_sandbox.storage.schema import SQLITE, schema, statements

OpenStore = Callable[[], Awaitable[EntitlementStore]]
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.fixture
def open_new(store_kind: str, fresh_database: Callable[[], str]) -> OpenStore:
    async def open_() -> EntitlementStore:
        store = open_store(fresh_database(), load_config(None))
        await store.open()
        return store

    return open_


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())


def entitlement(number: int, customer: str, status: Status = Status.ACTIVE) -> Entitlement:
    return Entitlement(
        entitlement_id=f"e-{number}",
        status=status,
        date_created=NOW,
        date_last_updated=NOW,
        customer_identifier=customer,
        merchant_account_key="BANGO",
        product_key="BangoMusic",
    )


def test_transitions_and_delivery_attempts_are_kept_per_entitlement(open_new: OpenStore) -> None:
    async def test() -> None:
        store = await open_new()
        async with store.transaction():
            await store.add_transition("demo", "e-1", "create-activated", "ACTIVE", 1.0, 1.0)
            await store.add_transition("demo", "e-2", "create-pending", "PENDING", 2.0, 2.0)
            await store.add_transition("demo", "e-1", "merchant-revoked", "REVOKED", 3.0, 9.0)
            await store.add_transition("demo2", "e-1", "create-activated", "ACTIVE", 4.0, 4.0)
            row = OutboxRow(1, "n-1", "demo", "e-1", "ACTIVATION_SUCCESS", "http://x/h", b"{}",
                            "pending", 0, 0.0, None, 1.0, None)  # fmt: skip
            await store.add_delivery_attempt(row, 5.0, None, "no HTTP answer", None)
            await store.add_delivery_attempt(row, 6.0, 200, None, 12.5)
        rows = await store.transitions("demo", "e-1")
        assert [(t.row_id, t.status, t.sandbox_at) for t in rows] == [
            ("create-activated", "ACTIVE", 1.0),
            ("merchant-revoked", "REVOKED", 9.0),
        ]
        attempts = await store.delivery_attempts("demo", "e-1")
        assert [(a.http_status, a.error, a.milliseconds) for a in attempts] == [
            (None, "no HTTP answer", None),
            (200, None, 12.5),
        ]
        assert await store.delivery_attempts("demo2", "e-1") == []
        async with store.transaction():
            await store.reset("demo")
        assert await store.transitions("demo", "e-1") == []
        assert await store.delivery_attempts("demo", "e-1") == []
        assert len(await store.transitions("demo2", "e-1")) == 1
        await store.close()

    run(test)


def test_request_batches_are_read_both_ways_and_pruned_to_the_newest_entries(
    open_new: OpenStore,
) -> None:
    async def test() -> None:
        store = await open_new()
        for number in range(5):
            async with store.transaction():
                await store.add_request_batch("demo", 4, f"batch {number}".encode())
        async with store.transaction():
            await store.add_request_batch("demo2", 1, b"theirs")
        batches = await store.request_batches("demo", limit=100)
        seqs = [seq for seq, _body in batches]
        assert [body for _seq, body in batches] == [f"batch {n}".encode() for n in range(4, -1, -1)]
        assert seqs == sorted(seqs, reverse=True)
        assert [b for _s, b in await store.request_batches("demo", below=seqs[1], limit=2)] == [
            b"batch 2",
            b"batch 1",
        ]
        assert [b for _s, b in await store.request_batches("demo", since=seqs[1], limit=2)] == [
            b"batch 3",
            b"batch 4",
        ]
        assert await store.latest_request_batch("demo") == (seqs[0], 4)
        async with store.transaction():
            # The newest 9 entries lie in the newest three batches (4 + 4 + 1 of the third).
            await store.prune_request_log("demo", 9)
        kept = [b for _s, b in await store.request_batches("demo", limit=100)]
        assert kept == [b"batch 4", b"batch 3", b"batch 2"]
        async with store.transaction():
            await store.prune_request_log("demo", 8)
        assert len(await store.request_batches("demo", limit=100)) == 2
        assert [b for _s, b in await store.request_batches("demo2", limit=100)] == [b"theirs"]
        assert await store.latest_request_batch("nobody") is None
        await store.close()

    run(test)


def test_entitlements_are_listed_newest_first(open_new: OpenStore) -> None:
    async def test() -> None:
        store = await open_new()
        async with store.transaction():
            for number in range(6):
                status = Status.CANCELLED if number % 2 else Status.ACTIVE
                await store.insert("demo", entitlement(number, f"c-{number % 3}", status))
            await store.insert("demo2", entitlement(9, "c-0"))

        def ids(rows: list[tuple[int, bytes]]) -> list[str]:
            return [
                record.split(b'"entitlementId":"')[1].split(b'"')[0].decode() for _n, record in rows
            ]

        newest = await store.list_entitlements("demo", limit=4)
        assert ids(newest) == ["e-5", "e-4", "e-3", "e-2"]
        older = await store.list_entitlements("demo", before=newest[-1][0], limit=4)
        assert ids(older) == ["e-1", "e-0"]
        cancelled = await store.list_entitlements("demo", status="CANCELLED")
        assert ids(cancelled) == ["e-5", "e-3", "e-1"]
        customer = await store.list_entitlements("demo", customer_identifier="c-0")
        assert ids(customer) == ["e-3", "e-0"]
        both = await store.list_entitlements(
            "demo", customer_identifier="c-0", before=customer[0][0]
        )
        assert ids(both) == ["e-0"]
        await store.close()

    run(test)


@pytest.mark.parametrize(
    "query",
    [
        # find_pending_twin and query: a customer's entitlements, in creation order.
        "SELECT record FROM entitlements WHERE reseller = ? AND customer_identifier = ?"
        " AND merchant_account_key = ? AND product_key = ? AND offer_key IS ?"
        " AND status = 'PENDING' ORDER BY created_seq LIMIT 1",
        "SELECT record FROM entitlements WHERE reseller = ? AND customer_identifier = ?"
        " ORDER BY created_seq",
    ],
)
def test_a_customers_queries_never_walk_the_resellers_entitlements(query: str) -> None:
    """The console lists entitlements down an index of its own; SQLite must not take it for
    a customer's lookups, which a create makes: each would then cost the size of the table."""
    db = sqlite3.connect(":memory:")
    for statement in statements(schema(SQLITE)):
        db.execute(statement)
    arguments = (None,) * query.count("?")
    plan = " ".join(str(step[3]) for step in db.execute(f"EXPLAIN QUERY PLAN {query}", arguments))
    assert "entitlements_by_customer" in plan, plan
