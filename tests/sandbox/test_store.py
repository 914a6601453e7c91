"""The stores' transactions, savepoints and outbox, where the HTTP surface cannot reach: every
test runs on SQLite and on PostgreSQL unless it is about one of them."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from bango_resale_sandbox.storage import (
    EntitlementStore,
    PendingOperation,
    SqliteStore,
    StoreUnavailable,
)

OpenStore = Callable[[], Awaitable[EntitlementStore]]


@pytest.fixture
def open_store(store_kind: str, fresh_database: Callable[[], str]) -> OpenStore:
    """Opens a new, empty store of the test's kind (call it inside the test's event loop)."""

    async def open_() -> EntitlementStore:
        from bango_resale_sandbox.config import load_config
        from bango_resale_sandbox.storage import open_store as open_by_url

        store = open_by_url(fresh_database(), load_config(None))
        await store.open()
        return store

    return open_


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())


def disk_full() -> sqlite3.OperationalError:
    """The error SQLite raises when the disk is full."""
    error = sqlite3.OperationalError("database or disk is full")
    error.sqlite_errorcode = sqlite3.SQLITE_FULL
    error.sqlite_errorname = "SQLITE_FULL"
    return error


class _Connection:
    """Passes statements through to a real connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    @property
    def in_transaction(self) -> bool:
        return self._db.in_transaction

    @property
    def total_changes(self) -> int:
        return self._db.total_changes

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return self._db.execute(sql, *args)


class _CommitFails(_Connection):
    """COMMIT fails like a full disk."""

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT":
            raise disk_full()
        return self._db.execute(sql, *args)


def test_a_failed_commit_is_rolled_back_and_the_store_keeps_working(tmp_path: Path) -> None:
    async def test() -> None:
        store = SqliteStore(tmp_path / "store.sqlite3")
        real = store._db
        store._db = _CommitFails(real)  # type: ignore[assignment,arg-type]
        with pytest.raises(StoreUnavailable):
            async with store.transaction():
                await store.set_clock_offset("demo", 60.0)
        store._db = real
        assert not real.in_transaction
        async with store.transaction():
            await store.set_clock_offset("demo2", 30.0)
        assert await store.clock_offsets() == {"demo2": 30.0}
        await store.close()

    run(test)


class _FullOnSecondWrite(_Connection):
    """The second write fails like a full disk that made SQLite roll the transaction back."""

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__(db)
        self.writes = 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.startswith("INSERT"):
            self.writes += 1
            if self.writes == 2:
                self._db.execute("ROLLBACK")
                raise disk_full()
        return self._db.execute(sql, *args)


def test_a_group_rolled_back_by_sqlite_fails_every_transaction_in_it(tmp_path: Path) -> None:
    """A transaction that ended in the group waits for its COMMIT; when a later one's write
    makes SQLite roll the whole group back, neither is told its write was kept."""

    async def test() -> None:
        store = SqliteStore(tmp_path / "store.sqlite3")
        real = store._db
        store._db = _FullOnSecondWrite(real)  # type: ignore[assignment,arg-type]

        async def write(reseller: str) -> None:
            async with store.transaction():
                await store.set_clock_offset(reseller, 1.0)

        outcomes = await asyncio.gather(write("first"), write("second"), return_exceptions=True)
        assert [type(o) for o in outcomes] == [StoreUnavailable, StoreUnavailable]
        store._db = real
        async with store.transaction():  # the store goes on
            await store.set_clock_offset("after", 2.0)
        assert await store.clock_offsets() == {"after": 2.0}
        await store.close()

    run(test)


def test_an_error_inside_the_block_rolls_back_its_writes(open_store: OpenStore) -> None:
    async def test() -> None:
        store = await open_store()
        with pytest.raises(RuntimeError):
            async with store.transaction():
                await store.set_clock_offset("demo", 60.0)
                raise RuntimeError("refused")
        assert await store.clock_offsets() == {}
        await store.close()

    run(test)


def test_a_refused_step_undoes_only_its_own_writes(open_store: OpenStore) -> None:
    async def test() -> None:
        store = await open_store()
        async with store.transaction():
            await store.set_clock_offset("kept", 1.0)
            with pytest.raises(LookupError):
                async with store.savepoint():
                    await store.set_clock_offset("undone", 2.0)
                    raise LookupError("refused after writing")
            with pytest.raises(LookupError):
                async with store.savepoint():
                    await store.set_clock_offset("read-back", 4.0)
                    # A read after the write: on PostgreSQL the write has gone out by now.
                    assert (await store.clock_offsets())["read-back"] == 4.0
                    raise LookupError("refused after writing and reading")
            async with store.savepoint():
                await store.set_clock_offset("released", 5.0)
                await store.clock_offsets()
            await store.set_clock_offset("after", 3.0)
        assert await store.clock_offsets() == {"kept": 1.0, "released": 5.0, "after": 3.0}
        await store.close()

    run(test)


def test_a_savepoint_outside_a_transaction_is_a_programming_error(open_store: OpenStore) -> None:
    async def test() -> None:
        store = await open_store()
        with pytest.raises(RuntimeError):
            async with store.savepoint():
                pass
        await store.close()

    run(test)


def test_concurrent_transactions_each_see_only_their_own_writes(open_store: OpenStore) -> None:
    """Two tasks with transactions open at once: one's rollback never undoes the other's
    writes, and neither joins the other's transaction."""

    async def test() -> None:
        store = await open_store()
        started = asyncio.Event()

        async def rolled_back() -> None:
            with pytest.raises(LookupError):
                async with store.transaction():
                    await store.set_clock_offset("undone", 1.0)
                    started.set()
                    await asyncio.sleep(0.05)  # the other task runs meanwhile
                    raise LookupError("refused")

        async def committed() -> None:
            await started.wait()
            async with store.transaction():
                await store.set_clock_offset("kept", 2.0)

        await asyncio.gather(rolled_back(), committed())
        assert await store.clock_offsets() == {"kept": 2.0}
        await store.close()

    run(test)


async def _outbox(store: EntitlementStore, rows: list[tuple[str, str]], now: float = 0.0) -> None:
    async with store.transaction():
        for i, (reseller, entitlement_id) in enumerate(rows):
            await store.add_notification(
                notification_id=f"n{i}",
                reseller=reseller,
                entitlement_id=entitlement_id,
                notification_type="METADATA_UPDATE",
                url="http://127.0.0.1/h",
                body=b"{}",
                state="pending",
                now=now,
            )


def test_only_the_oldest_pending_row_of_each_entitlement_is_due(open_store: OpenStore) -> None:
    async def test() -> None:
        store = await open_store()
        # Ids are per reseller: demo's e1 and demo2's e1 are different entitlements.
        await _outbox(store, [("demo", "e1"), ("demo", "e2"), ("demo", "e1"), ("demo2", "e1")])
        due = await store.due_notifications(now=1.0, limit=10)
        assert [row.notification_id for row in due] == ["n0", "n1", "n3"]
        # A shared store claimed what it returned: asked again at once, nothing is due.
        again = [row.notification_id for row in await store.due_notifications(1.0, 10)]
        assert again == ([] if store.shared else ["n0", "n1", "n3"])
        # A head waiting for its retry holds back its entitlement's later rows.
        async with store.transaction():
            await store.mark_retry(
                due[0].seq, 1, next_attempt_at=5.0, error="HTTP 503", due_at=due[0].next_attempt_at
            )
            await store.mark_delivered(due[1].seq, 1, 1.0, due_at=due[1].next_attempt_at)
            await store.mark_delivered(due[2].seq, 1, 1.0, due_at=due[2].next_attempt_at)
        assert await store.due_notifications(4.0, 10) == []
        async with store.transaction():
            await store.mark_given_up(due[0].seq, 2, "HTTP 503", due_at=5.0)
        assert [row.notification_id for row in await store.due_notifications(4.0, 10)] == ["n2"]
        await store.close()

    run(test)


def test_a_version_0_database_keeps_its_rows_and_gets_per_reseller_keys(tmp_path: Path) -> None:
    path = tmp_path / "v0.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE pending_operations (entitlement_id TEXT PRIMARY KEY,"
            " reseller TEXT NOT NULL, operation TEXT NOT NULL, payload BLOB NOT NULL, due_at REAL)"
        )
        db.execute("INSERT INTO pending_operations VALUES ('e1', 'demo', 'cancel', '{}', 5.0)")

    async def test() -> None:
        store = SqliteStore(path)
        assert await store.due_pending("demo", 10.0) == ["e1"]
        async with store.transaction():  # the same id for another reseller no longer collides
            await store.put_pending("demo2", PendingOperation("e1", "revoke", {}, 1.0))
        assert await store.due_pending("demo2", 10.0) == ["e1"]
        await store.close()

    run(test)
    assert SqliteStore(path)._db.execute("PRAGMA user_version").fetchone()[0] == 1


def test_concurrent_reads_of_one_and_of_several_entitlements_all_get_their_record(
    open_store: OpenStore,
) -> None:
    """Reads arriving together (which the PostgreSQL store answers with one query) each get
    their own record, or None; many asking for the same one included."""
    from bango_resale_sandbox import domain, wire

    async def test() -> None:
        store = await open_store()
        now = wire.parse_time("2026-01-01T00:00:00Z")
        async with store.transaction():
            for number in range(3):
                await store.insert(
                    "demo",
                    domain.new_entitlement(
                        entitlement_id=f"e{number}",
                        customer_identifier="c",
                        merchant_account_key="BANGO",
                        product_key="BangoMusic",
                        display_name="Music",
                        now=now,
                    ),
                )
        wanted = [("demo", "e0")] * 20 + [("demo", f"e{n % 4}") for n in range(20)]
        wanted += [("demo2", "e0")]  # another reseller's id space
        records = await asyncio.wait_for(
            asyncio.gather(*(store.get_record_json(r, e) for r, e in wanted)), timeout=10
        )
        for (reseller, entitlement_id), record in zip(wanted, records, strict=True):
            if reseller == "demo" and entitlement_id != "e3":
                assert record is not None
                assert orjson.loads(record)["entitlementId"] == entitlement_id
            else:
                assert record is None
        await store.close()

    run(test)


def test_a_resellers_clock_offset_is_read_alone(open_store: OpenStore) -> None:
    """What an instance reads before each timed operation: one reseller's offset, 0 unset."""

    async def test() -> None:
        store = await open_store()
        async with store.transaction():
            await store.set_clock_offset("demo", 3600.0)
            await store.set_clock_offset("demo2", 60.0)
        assert await store.clock_offset("demo") == 3600.0
        assert await store.clock_offset("demo2") == 60.0
        assert await store.clock_offset("nobody") == 0.0
        assert await store.clock_offsets() == {"demo": 3600.0, "demo2": 60.0}
        await store.close()

    run(test)


class _CountsCommits(_Connection):
    """Counts the COMMITs."""

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__(db)
        self.commits = 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT":
            self.commits += 1
        return self._db.execute(sql, *args)


def test_transactions_ending_together_share_one_commit_and_end_committed(tmp_path: Path) -> None:
    """Group commit: concurrent writers pay one COMMIT, and none returns before its write can
    be read from another connection (what a crash would leave)."""

    async def test() -> None:
        store = SqliteStore(tmp_path / "store.sqlite3")
        counting = _CountsCommits(store._db)  # type: ignore[arg-type]
        store._db = counting  # type: ignore[assignment]
        other = sqlite3.connect(tmp_path / "store.sqlite3")

        async def write(number: int) -> float | None:
            async with store.transaction():
                await store.set_clock_offset(f"r{number}", float(number))
            row = other.execute(
                "SELECT offset_seconds FROM clocks WHERE reseller = ?", (f"r{number}",)
            ).fetchone()
            return None if row is None else float(row[0])

        seen = await asyncio.gather(*(write(n) for n in range(20)))
        assert seen == [float(n) for n in range(20)]
        assert counting.commits == 1
        other.close()
        store._db = counting._db
        await store.close()

    run(test)


def test_a_failed_group_commit_fails_every_writer_and_hides_their_writes_from_readers(
    tmp_path: Path,
) -> None:
    """No task is told its write succeeded, and no reader returns a write that was then rolled
    back: a read outside a transaction waits for the pending COMMIT, and reads again."""

    async def test() -> None:
        store = SqliteStore(tmp_path / "store.sqlite3")
        async with store.transaction():
            await store.set_clock_offset("kept", 1.0)
        real = store._db
        store._db = _CommitFails(real)  # type: ignore[assignment,arg-type]

        async def write(number: int) -> None:
            async with store.transaction():
                await store.set_clock_offset(f"r{number}", float(number))

        async def read() -> dict[str, float]:
            # Runs after the writers' blocks (gather started them first), before the COMMIT.
            assert real.in_transaction
            return await store.clock_offsets()

        outcomes = await asyncio.gather(
            *(write(n) for n in range(5)), read(), return_exceptions=True
        )
        assert all(isinstance(o, StoreUnavailable) for o in outcomes[:5])
        assert outcomes[5] == {"kept": 1.0}
        store._db = real
        assert not real.in_transaction
        assert await store.clock_offsets() == {"kept": 1.0}
        await store.close()

    run(test)
