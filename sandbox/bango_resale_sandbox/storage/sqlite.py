"""`SqliteStore`: the sandbox's storage in one SQLite file (WAL mode), for one process.

It is used from the event-loop thread only, and every change runs inside `transaction()`, so
a status change and the notification it causes commit together or not at all; transactions
that end together share one COMMIT (group commit), and each returns only once it is committed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from .queries import SqlStore
from .schema import SQLITE, schema, statements

SCHEMA = schema(SQLITE)
# PRAGMA user_version of a database with SCHEMA. Version 0 (before versioning) kept
# entitlement ids unique across resellers; `_migrate` rebuilds such tables.
SCHEMA_VERSION = 1
# Tables whose primary key became (reseller, entitlement_id) in version 1.
_RESELLER_SCOPED = ("entitlements", "pending_operations")


class SqliteStore(SqlStore):
    """The SQLite implementation of the sandbox's storage."""

    shared = False  # one process owns the file
    dialect = SQLITE

    def __init__(self, path: Path | str, *, synchronous: str = "NORMAL") -> None:
        self.path = str(path)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("PRAGMA temp_store=MEMORY")
        self._migrate()
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None  # the task whose transaction is open
        # The group commit: the COMMIT that transactions ended since the last one wait for.
        self._commit: asyncio.Future[None] | None = None
        self._commit_scheduled = False
        row = self._db.execute("SELECT COALESCE(MAX(created_seq), 0) FROM entitlements").fetchone()
        self._created_seq: int = int(row[0])

    async def open(self) -> None:
        """Nothing to do: the file was opened and migrated by the constructor."""

    async def close(self) -> None:
        try:
            await self._durable()  # the group commit in flight, if any
        finally:
            self._db.close()

    def _migrate(self) -> None:
        """Create the schema, or bring an older database up to SCHEMA_VERSION.

        Always writes (the version), so a read-only database fails here, at start-up.
        """
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            old = [t for t in _RESELLER_SCOPED if version < 1 and self._table_exists(t)]
            for table in old:
                self._db.execute(f"ALTER TABLE {table} RENAME TO {table}_v0")
            for statement in statements(SCHEMA):
                self._db.execute(statement)
            for table in old:
                self._db.execute(f"INSERT INTO {table} SELECT * FROM {table}_v0")
                self._db.execute(f"DROP TABLE {table}_v0")
            if old:  # the renamed tables took their index names along; create them afresh
                for statement in statements(SCHEMA):
                    if statement.strip().startswith("CREATE INDEX"):
                        self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def _table_exists(self, table: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        return row is not None

    # The async methods below call sqlite3 directly and never suspend inside a transaction:
    # a transaction on the one connection runs from start to end without the event loop
    # switching tasks, so another task's statements can never land inside it. The lock only
    # matters if something inside a transaction did suspend; uncontended, taking it does not
    # suspend either.
    #
    # Group commit: a transaction is a savepoint inside one open BEGIN IMMEDIATE, and as it
    # ends it waits for the next COMMIT, which runs once the tasks ready now have had their
    # turn. Requests arriving together share one COMMIT (the costliest statement of a write)
    # instead of paying one each, and none is answered before its writes are committed.
    # A read outside a transaction may see writes of that pending group, so it too waits for
    # the COMMIT before it returns (and reads again if the COMMIT failed).

    async def fetch_one(self, query: str, args: Sequence[Any] = ()) -> Any:
        while True:
            row = self._db.execute(query, args).fetchone()
            if await self._read_is_committed():
                return row

    async def fetch_all(self, query: str, args: Sequence[Any] = ()) -> list[Any]:
        while True:
            rows = self._db.execute(query, args).fetchall()
            if await self._read_is_committed():
                return rows

    async def execute(self, query: str, args: Sequence[Any] = ()) -> None:
        self._db.execute(query, args)

    def next_created_seq(self) -> int:
        self._created_seq += 1
        return self._created_seq

    async def _read_is_committed(self) -> bool:
        """After a read: False if what it saw was rolled back since (read again)."""
        if self._owner is not None or not self._db.in_transaction:
            return True  # inside a transaction (its end waits), or nothing uncommitted
        try:
            await self._durable()
        except Exception:
            return False
        return True

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Run the block atomically; nested use (by the same task) joins the outer one.
        Ends once the block's writes are committed."""
        task = asyncio.current_task()
        if self._owner is not None and self._owner is task:
            yield
            return
        try:
            async with self._lock:
                if not self._db.in_transaction:
                    self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("SAVEPOINT request")
                self._owner = task
                try:
                    yield
                except BaseException:
                    self._db.execute("ROLLBACK TO request")
                    raise
                finally:
                    self._db.execute("RELEASE request")
                    self._owner = None
        finally:
            # Also after a refusal: what the block read may be another task's pending write.
            await self._durable()

    async def _durable(self) -> None:
        """Wait for the COMMIT of everything written so far (raises what COMMIT raised)."""
        if not self._db.in_transaction:
            return
        if self._commit is None:
            self._commit = asyncio.get_running_loop().create_future()
        self._schedule_commit()
        # Shielded: a waiter being cancelled must not cancel the COMMIT others wait for.
        await asyncio.shield(self._commit)

    def _schedule_commit(self) -> None:
        if self._commit is not None and not self._commit_scheduled:
            self._commit_scheduled = True
            asyncio.get_running_loop().call_soon(self._commit_group)

    def _commit_group(self) -> None:
        self._commit_scheduled = False
        if self._lock.locked():
            # A transaction that suspended is still open; it schedules the COMMIT as it ends.
            return
        done, self._commit = self._commit, None
        if done is None:
            return
        try:
            self._db.execute("COMMIT")
        except BaseException as exc:
            # Disk full, I/O error: left open, the transaction would make every later BEGIN
            # fail until a restart. Every transaction of the group gets the error.
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            done.set_exception(exc)
            done.exception()  # marks it retrieved: all of a group's waiters may be cancelled
        else:
            done.set_result(None)

    async def lock(self, reseller: str, name: str) -> None:
        """Nothing to do: BEGIN IMMEDIATE already runs the transactions one at a time."""

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Inside `transaction()`: if the block raises, undo only the block's own writes.

        A refused step (a `DomainError` turned into an error answer, a moot confirmation in the
        sweep) must not commit whatever it wrote before it was refused.
        """
        if self._owner is None or self._owner is not asyncio.current_task():
            raise RuntimeError("savepoint() needs an open transaction()")
        self._db.execute("SAVEPOINT step")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK TO step")
            raise
        finally:
            self._db.execute("RELEASE step")
