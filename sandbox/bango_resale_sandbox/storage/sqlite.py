"""`SqliteStore`: the sandbox's storage in one SQLite file (WAL mode), for one process.

It is used from the event-loop thread only, and every change runs inside `transaction()`, so
a status change and the notification it causes commit together or not at all; transactions
that end together share one COMMIT (group commit), and each returns only once it is committed.

Storage trouble never blocks the event loop and is never acknowledged:
- waiting for another process's write lock happens between tries on the event loop, not
  inside SQLite (whose busy handler would stop every other request while it sleeps); after
  LOCK_WAIT_SECONDS the transaction gives up with StoreUnavailable;
- a full disk, a read-only or failing file system, a damaged file: StoreUnavailable, and the
  transactions of a group SQLite had to roll back all fail with it;
- the file removed or replaced under the running sandbox (checked before every COMMIT: what
  is committed then would not be found by a restart): the group fails, and from then on the
  store refuses everything (`unusable`) until the sandbox is restarted on whatever file is
  at the path then. Before it lets go of the old file it checkpoints it and, unless another
  process's file took its place, removes its write-ahead log, so that a restart never pairs a
  new file with the old log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from .protocol import StoreUnavailable
from .queries import SqlStore
from .schema import SQLITE, schema, statements
from .trouble import TroubleReport

log = logging.getLogger("bango_resale_sandbox.storage")

SCHEMA = schema(SQLITE)
# PRAGMA user_version of a database with SCHEMA. Version 0 (before versioning) kept
# entitlement ids unique across resellers; `_migrate` rebuilds such tables.
SCHEMA_VERSION = 1
# Tables whose primary key became (reseller, entitlement_id) in version 1.
_RESELLER_SCOPED = ("entitlements", "pending_operations")

# How long a transaction waits for another process's write lock before it gives up (503).
LOCK_WAIT_SECONDS = 5.0
# The longest pause between two tries for the lock.
_LOCK_RETRY_MAX_SECONDS = 0.05
# Errors of the database rather than of a statement: answered 503, never 500.
_TROUBLE = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOTADB,
    }
)


def _code(error: sqlite3.Error) -> int:
    """The primary result code of an error (its extended code's low byte)."""
    return int(getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF


def _identity(path: str) -> tuple[int, int] | None:
    """The device and inode of the file at `path`, or None if there is none."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return (found.st_dev, found.st_ino)


class _LostConnection:
    """Stands in for the connection once the file is gone: every statement is refused."""

    in_transaction = False
    total_changes = 0

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def execute(self, *args: Any) -> Any:
        raise StoreUnavailable(self.reason)

    def close(self) -> None:
        pass


class SqliteStore(SqlStore):
    """The SQLite implementation of the sandbox's storage."""

    shared = False  # one process owns the file
    dialect = SQLITE

    def __init__(self, path: Path | str, *, synchronous: str = "NORMAL") -> None:
        self.path = str(path)
        self.unusable: str | None = None
        self._trouble = TroubleReport(f"the SQLite database {self.path}")
        # isolation_level=None: we issue BEGIN/COMMIT ourselves.
        self._db: sqlite3.Connection | _LostConnection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        # Before the server starts, waiting inside SQLite blocks nothing else.
        self._db.execute(f"PRAGMA busy_timeout={int(LOCK_WAIT_SECONDS * 1000)}")
        self._db.execute("PRAGMA temp_store=MEMORY")
        self._migrate()
        # From now on a statement never waits inside SQLite: the event loop would wait with it.
        self._db.execute("PRAGMA busy_timeout=0")
        # The files the connection writes to, as they are now; checked before each COMMIT.
        self._wal_path = f"{self.path}-wal"
        self._file = _identity(self.path)
        self._wal = _identity(self._wal_path)
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None  # the task whose transaction is open
        # The group commit: the COMMIT that transactions ended since the last one wait for.
        self._commit: asyncio.Future[None] | None = None
        self._commit_scheduled = False
        self._changes_at_begin = 0  # the connection's total_changes at the group's BEGIN
        # A connection to a replaced file that must never be closed (see `_lose`).
        self._abandoned: object = None
        row = self._db.execute("SELECT COALESCE(MAX(created_seq), 0) FROM entitlements").fetchone()
        self._created_seq: int = int(row[0])

    async def open(self) -> None:
        """Nothing to do: the file was opened and migrated by the constructor."""

    async def close(self) -> None:
        try:
            await self._durable()  # the group commit in flight, if any
        finally:
            self._db.close()
            self._trouble.close()

    def _migrate(self) -> None:
        """Create the schema, or bring an older database up to SCHEMA_VERSION.

        Always writes (the version), so a read-only database fails here, at start-up.
        """
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            old = [t for t in _RESELLER_SCOPED if version < 1 and self._table_exists(t)]
            for table in old:
                db.execute(f"ALTER TABLE {table} RENAME TO {table}_v0")
            for statement in statements(SCHEMA):
                db.execute(statement)
            for table in old:
                db.execute(f"INSERT INTO {table} SELECT * FROM {table}_v0")
                db.execute(f"DROP TABLE {table}_v0")
            if old:  # the renamed tables took their index names along; create them afresh
                for statement in statements(SCHEMA):
                    if statement.strip().startswith("CREATE INDEX"):
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _table_exists(self, table: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        return row is not None

    # -- trouble ------------------------------------------------------------------------

    def _failed(self, error: sqlite3.Error) -> Exception:
        """What to raise for an error of SQLite: StoreUnavailable for storage trouble, the
        error itself for a faulty statement. If SQLite rolled back the open transaction as it
        failed (it may, on a full disk or an I/O error), the transactions that ended in it and
        wait for its COMMIT fail too: none of them may be told its writes were kept."""
        raised: Exception = error
        if _code(error) in _TROUBLE:
            raised = self._trouble.failed(f"{error} ({error.sqlite_errorname})")
        if self._commit is not None and not self._db.in_transaction:
            lost = (
                raised
                if isinstance(raised, StoreUnavailable)
                else StoreUnavailable(f"the transaction was rolled back: {error}")
            )
            self._fail_group(lost)
        return raised

    def _fail_group(self, error: StoreUnavailable) -> None:
        done, self._commit = self._commit, None
        if done is not None:
            done.set_exception(error)
            done.exception()  # marks it retrieved: all of a group's waiters may be cancelled

    def _file_problem(self) -> tuple[str, bool] | None:
        """Why a COMMIT now would not be found by a restart, and whether for good: the file
        (or its write-ahead log) was removed or replaced. Two stat calls, once per group."""
        try:
            if _identity(self.path) != self._file:
                return f"the database file {self.path} was removed or replaced", True
            if self._wal is not None and _identity(self._wal_path) != self._wal:
                return f"the write-ahead log {self._wal_path} was removed or replaced", True
        except OSError as exc:  # cannot tell (an unreadable folder): not this time
            return f"cannot check the database file {self.path}: {exc}", False
        return None

    def _lose(self, reason: str) -> None:
        """Let go of a file that is no longer at the path; refuse everything from now on."""
        db = self._db
        lost = _LostConnection("the sandbox's database file was removed or replaced; restart it")
        self._db, self.unusable = lost, lost.reason
        log.error(
            "%s while the sandbox was running: every request is refused (503) from now on, as"
            " nothing written now would be found after a restart; restart the sandbox to go on"
            " with a new database at %s",
            reason,
            self.path,
        )
        with suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        # Closing checkpoints the old log into the old file, then deletes the log by its path
        # name, which must not be another process's log by now.
        if _identity(self._wal_path) in (None, self._wal):
            with suppress(sqlite3.Error):
                db.close()
        else:
            self._abandoned = db  # referenced, so that the collector does not close it either

    # -- running statements -------------------------------------------------------------

    # The statements below run on the event-loop thread and never suspend inside a
    # transaction: a transaction on the one connection runs from start to end without the
    # event loop switching tasks, so another task's statements can never land inside it. The
    # lock only matters while a transaction waits for another process's write lock (and if
    # anything inside one did suspend); uncontended, taking it does not suspend either.
    #
    # Group commit: a transaction is a savepoint inside one open BEGIN IMMEDIATE, and as it
    # ends it waits for the next COMMIT, which runs once the tasks ready now have had their
    # turn. Requests arriving together share one COMMIT (the costliest statement of a write)
    # instead of paying one each, and none is answered before its writes are committed.
    # A read outside a transaction may see writes of that pending group, so it too waits for
    # the COMMIT before it returns (and reads again if the COMMIT failed).

    async def fetch_one(self, query: str, args: Sequence[Any] = ()) -> Any:
        while True:
            try:
                row = self._db.execute(query, args).fetchone()
            except sqlite3.Error as exc:
                raise self._failed(exc) from exc
            if await self._read_is_committed():
                return row

    async def fetch_all(self, query: str, args: Sequence[Any] = ()) -> list[Any]:
        while True:
            try:
                rows = self._db.execute(query, args).fetchall()
            except sqlite3.Error as exc:
                raise self._failed(exc) from exc
            if await self._read_is_committed():
                return rows

    async def execute(self, query: str, args: Sequence[Any] = ()) -> None:
        try:
            self._db.execute(query, args)
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc

    def _run(self, statement: str) -> None:
        """A transaction-control statement (SAVEPOINT, RELEASE)."""
        try:
            self._db.execute(statement)
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc

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

    # -- transactions -------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Run the block atomically; nested use (by the same task) joins the outer one.
        Ends once the block's writes are committed."""
        task = asyncio.current_task()
        if self._owner is not None and self._owner is task:
            yield
            return
        try:
            await self._take_turn()
            try:
                self._run("SAVEPOINT request")
                self._owner = task
                try:
                    yield
                except BaseException:
                    self._undo("request")
                    raise
                self._run("RELEASE request")
            finally:
                self._owner = None
                self._lock.release()
        finally:
            # Also after a refusal: what the block read may be another task's pending write.
            await self._durable()

    async def _take_turn(self) -> None:
        """Hold the connection for one transaction, inside the group's BEGIN IMMEDIATE (begun
        here if none is open). Waiting, for this store's other transactions or for another
        process's write lock, suspends this task only, for LOCK_WAIT_SECONDS at most."""
        deadline = None  # reckoned only when there is a wait
        if self._lock.locked():  # another transaction waits for the write lock
            deadline = asyncio.get_running_loop().time() + LOCK_WAIT_SECONDS
            try:
                async with asyncio.timeout_at(deadline):
                    await self._lock.acquire()
            except TimeoutError:
                raise self._trouble.failed(
                    f"the database is locked by another process (waited {LOCK_WAIT_SECONDS:g} s)"
                ) from None
        else:
            await self._lock.acquire()  # free: returns at once
        try:
            if not self._db.in_transaction:
                await self._begin(deadline)
        except BaseException:
            self._lock.release()
            raise

    async def _begin(self, deadline: float | None) -> None:
        """BEGIN IMMEDIATE; while another process holds the write lock, try again after a
        pause that doubles (up to 50 ms) until `deadline` (LOCK_WAIT_SECONDS from now)."""
        pause = 0.001
        while True:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if _code(exc) != sqlite3.SQLITE_BUSY:
                    raise self._failed(exc) from exc
                now = asyncio.get_running_loop().time()
                deadline = now + LOCK_WAIT_SECONDS if deadline is None else deadline
                if now + pause > deadline:
                    raise self._trouble.failed(
                        "the database is locked by another process"
                        f" (waited {LOCK_WAIT_SECONDS:g} s)"
                    ) from exc
            else:
                self._changes_at_begin = self._db.total_changes
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LOCK_RETRY_MAX_SECONDS)

    def _undo(self, name: str) -> None:
        """Undo the writes since SAVEPOINT `name` (inside an open transaction)."""
        if not self._db.in_transaction:
            return  # SQLite rolled it all back already (and `_failed` failed the group)
        try:
            self._db.execute(f"ROLLBACK TO {name}")
            self._db.execute(f"RELEASE {name}")
        except sqlite3.Error as exc:
            # The block's writes cannot be told from the group's: give up the whole group.
            with suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise self._failed(exc) from exc

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
            # A transaction is under way (or waits for the write lock); it schedules the
            # COMMIT as it ends.
            return
        done, self._commit = self._commit, None
        if done is None:
            return
        problem = self._file_problem()
        try:
            if problem is not None:
                reason, for_good = problem
                if for_good:
                    self._lose(reason)
                    raise StoreUnavailable(reason)
                raise self._trouble.failed(reason)
            self._db.execute("COMMIT")
        except (sqlite3.Error, StoreUnavailable) as exc:
            # Disk full, I/O error: left open, the transaction would make every later BEGIN
            # fail until a restart. Every transaction of the group gets the error.
            if self._db.in_transaction:
                with suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            done.set_exception(self._failed(exc) if isinstance(exc, sqlite3.Error) else exc)
            done.exception()  # marks it retrieved: all of a group's waiters may be cancelled
        else:
            done.set_result(None)
            if self._trouble.active and self._db.total_changes != self._changes_at_begin:
                self._trouble.wrote()

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
        self._run("SAVEPOINT step")
        try:
            yield
        except BaseException:
            self._undo("step")
            raise
        self._run("RELEASE step")
