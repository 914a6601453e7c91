"""The SQLite store's transaction handling, where the HTTP surface cannot reach."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bango_resale_sandbox.store import SqliteStore


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
