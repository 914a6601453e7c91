"""The SQLite store's transaction handling, where the HTTP surface cannot reach."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bango_resale_sandbox.store import PendingOperation, SqliteStore


class _CommitFails:
    """Passes statements through to a real connection, but COMMIT fails like a full disk."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    @property
    def in_transaction(self) -> bool:
        return self._db.in_transaction

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, *args)


def test_a_failed_commit_is_rolled_back_and_the_store_keeps_working(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.sqlite3")
    real = store._db
    store._db = _CommitFails(real)  # type: ignore[assignment]
    with pytest.raises(sqlite3.OperationalError), store.transaction():
        store.set_clock_offset("demo", 60.0)
    store._db = real
    assert not real.in_transaction
    with store.transaction():
        store.set_clock_offset("demo2", 30.0)
    assert store.clock_offsets() == {"demo2": 30.0}
    store.close()


def test_an_error_inside_the_block_rolls_back_its_writes(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.sqlite3")
    with pytest.raises(RuntimeError), store.transaction():
        store.set_clock_offset("demo", 60.0)
        raise RuntimeError("refused")
    assert store.clock_offsets() == {}
    store.close()


def test_a_refused_step_undoes_only_its_own_writes(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.sqlite3")
    with store.transaction():
        store.set_clock_offset("kept", 1.0)
        with pytest.raises(LookupError), store.savepoint():
            store.set_clock_offset("undone", 2.0)
            raise LookupError("refused after writing")
        store.set_clock_offset("after", 3.0)
    assert store.clock_offsets() == {"kept": 1.0, "after": 3.0}


def test_a_savepoint_outside_a_transaction_is_a_programming_error(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.sqlite3")
    with pytest.raises(RuntimeError), store.savepoint():
        pass


def _outbox(store: SqliteStore, rows: list[tuple[str, str]], now: float = 0.0) -> None:
    with store.transaction():
        for i, (reseller, entitlement_id) in enumerate(rows):
            store.add_notification(
                notification_id=f"n{i}",
                reseller=reseller,
                entitlement_id=entitlement_id,
                notification_type="METADATA_UPDATE",
                url="http://127.0.0.1/h",
                body=b"{}",
                state="pending",
                now=now,
            )


def test_only_the_oldest_pending_row_of_each_entitlement_is_due(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.sqlite3")
    # Ids are per reseller: demo's e1 and demo2's e1 are different entitlements.
    _outbox(store, [("demo", "e1"), ("demo", "e2"), ("demo", "e1"), ("demo2", "e1")])
    due = store.due_notifications(now=1.0, limit=10)
    assert [row.notification_id for row in due] == ["n0", "n1", "n3"]
    # A head waiting for its retry holds back its entitlement's later rows.
    with store.transaction():
        store.mark_retry(due[0].seq, 1, next_attempt_at=5.0, error="HTTP 503")
    assert [row.notification_id for row in store.due_notifications(1.0, 10)] == ["n1", "n3"]
    with store.transaction():
        store.mark_given_up(due[0].seq, 2, "HTTP 503")
    assert [row.notification_id for row in store.due_notifications(1.0, 10)] == ["n1", "n2", "n3"]


def test_a_version_0_database_keeps_its_rows_and_gets_per_reseller_keys(tmp_path: Path) -> None:
    path = tmp_path / "v0.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE pending_operations (entitlement_id TEXT PRIMARY KEY,"
            " reseller TEXT NOT NULL, operation TEXT NOT NULL, payload BLOB NOT NULL, due_at REAL)"
        )
        db.execute("INSERT INTO pending_operations VALUES ('e1', 'demo', 'cancel', '{}', 5.0)")
    store = SqliteStore(path)
    assert store.due_pending("demo", 10.0) == ["e1"]
    with store.transaction():  # the same id for another reseller no longer collides
        store.put_pending("demo2", PendingOperation("e1", "revoke", {}, 1.0))
    assert store.due_pending("demo2", 10.0) == ["e1"]
    store.close()
    assert SqliteStore(path)._db.execute("PRAGMA user_version").fetchone()[0] == 1
