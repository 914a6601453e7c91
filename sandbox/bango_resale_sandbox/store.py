"""Durable state behind a small interface: entitlements, the notification outbox, pending
merchant operations, activation links, idempotency records and the sandbox clocks.

`SqliteStore` keeps everything in one SQLite file in WAL mode. It is used from the event-loop
thread only, and every change runs inside `transaction()`, so a status change and the
notification it causes commit together or not at all; transactions that end together share
one COMMIT (group commit), and each returns only once it is committed.
`pgstore.PostgresStore` does the same on a PostgreSQL schema that several processes share;
`SqlStore` holds the queries both use.
The store's methods are coroutines, so that the PostgreSQL store waits for its server without
holding the event loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from .domain import LIVE_STATUSES, Entitlement, Status
from .wire import entitlement_from_json, record_json

_LIVE = tuple(s.value for s in LIVE_STATUSES)
_LIVE_SQL = ",".join("?" for _ in _LIVE)

SCHEMA = """
CREATE TABLE IF NOT EXISTS entitlements (
    entitlement_id TEXT NOT NULL,
    reseller TEXT NOT NULL,
    customer_identifier TEXT NOT NULL,
    merchant_account_key TEXT NOT NULL,
    product_key TEXT NOT NULL,
    offer_key TEXT,
    status TEXT NOT NULL,
    ends_at REAL,
    expires_at REAL,
    created_seq INTEGER NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (reseller, entitlement_id)
);
CREATE INDEX IF NOT EXISTS entitlements_by_customer
    ON entitlements (reseller, customer_identifier);
CREATE INDEX IF NOT EXISTS entitlements_by_end ON entitlements (reseller, ends_at)
    WHERE ends_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS entitlements_by_expiry ON entitlements (reseller, expires_at)
    WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS notifications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id TEXT NOT NULL UNIQUE,
    reseller TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    notification_type TEXT NOT NULL,
    url TEXT,
    body BLOB NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    created_at REAL NOT NULL,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS notifications_by_reseller ON notifications (reseller, entitlement_id);
CREATE INDEX IF NOT EXISTS notifications_pending_by_entitlement
    ON notifications (reseller, entitlement_id, seq) WHERE state = 'pending';

-- Every time a notification is queued for sending (first time, or again on redelivery), in
-- order: what `bango-resale listen` follows. The cursor only grows.
CREATE TABLE IF NOT EXISTS notification_feed (
    cursor INTEGER PRIMARY KEY AUTOINCREMENT,
    reseller TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    queued_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS notification_feed_by_reseller ON notification_feed (reseller, cursor);

CREATE TABLE IF NOT EXISTS pending_operations (
    entitlement_id TEXT NOT NULL,
    reseller TEXT NOT NULL,
    operation TEXT NOT NULL,
    payload BLOB NOT NULL,
    due_at REAL,
    PRIMARY KEY (reseller, entitlement_id)
);

CREATE TABLE IF NOT EXISTS activation_links (
    token TEXT PRIMARY KEY,
    reseller TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    expires_at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS idempotency (
    reseller TEXT NOT NULL,
    request_id TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (reseller, request_id)
);

CREATE TABLE IF NOT EXISTS clocks (
    reseller TEXT PRIMARY KEY,
    offset_seconds REAL NOT NULL
);
"""
# PRAGMA user_version of a database with SCHEMA. Version 0 (before versioning) kept
# entitlement ids unique across resellers; `_migrate` rebuilds such tables.
SCHEMA_VERSION = 1
# Tables whose primary key became (reseller, entitlement_id) in version 1.
_RESELLER_SCOPED = ("entitlements", "pending_operations")


class StoreUnavailable(Exception):
    """The database cannot be reached (or gave up waiting) right now; a retry may succeed.
    The HTTP layer answers 503 SERVICE_UNAVAILABLE with Retry-After."""


@dataclass(frozen=True, slots=True)
class PendingOperation:
    """A merchant operation answered with 202 and not yet confirmed."""

    entitlement_id: str
    operation: str
    payload: dict[str, Any]
    due_at: float | None


@dataclass(frozen=True, slots=True)
class ActivationLink:
    """A NAVIGATE_TO_URL token and what it activates."""

    token: str
    reseller: str
    entitlement_id: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The first response to a request carrying an X-RequestIdentifier."""

    fingerprint: bytes
    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One notification and its delivery state."""

    seq: int
    notification_id: str
    reseller: str
    entitlement_id: str
    notification_type: str
    url: str | None
    body: bytes
    state: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    created_at: float
    delivered_at: float | None


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One send of a notification: its place in the feed, when it was queued, the row now."""

    cursor: int
    queued_at: float
    row: OutboxRow


class DeliveryState:
    """Values of a notification's delivery state."""

    PENDING = "pending"  # waiting for (another) delivery attempt
    DELIVERED = "delivered"  # a receiver answered 2xx
    NO_URL = "no_url"  # the entitlement had no notificationUrl
    BLOCKED = "blocked"  # the URL is not http(s) or its host is not on the allow-list
    GIVEN_UP = "given_up"  # no 2xx within the delivery's give-up time


class EntitlementStore(Protocol):
    """What the service and the deliverer need from storage; `SqliteStore` implements it.

    Every method is a coroutine; changes go inside `async with store.transaction()`, which
    binds the transaction to the current task, so concurrent tasks each run their own.
    `shared`: other processes may change the data too (so nothing may be cached), and
    `due_notifications` claims the rows it returns (each is returned once per lease).
    """

    shared: bool

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    def transaction(self) -> AbstractAsyncContextManager[None]: ...
    def savepoint(self) -> AbstractAsyncContextManager[None]: ...
    async def lock(self, reseller: str, name: str) -> None:
        """Inside `transaction()`: wait until no other transaction holds the lock `name`, and
        hold it until this one ends. Orders check-then-write steps that no single row
        guards (a new id, a customer's live-entitlement count, the sweep); an entitlement read
        by `get` in a transaction is itself locked until the transaction ends."""
        ...

    # entitlements
    async def get(self, reseller: str, entitlement_id: str) -> Entitlement | None: ...
    async def get_record_json(self, reseller: str, entitlement_id: str) -> bytes | None: ...
    async def insert(self, reseller: str, entitlement: Entitlement) -> None: ...
    async def save(self, reseller: str, entitlement: Entitlement) -> None: ...
    async def query(
        self,
        reseller: str,
        customer_identifier: str,
        *,
        merchant_account_key: str | None,
        product_key: str | None,
        status: str | None,
    ) -> list[dict[str, Any]]: ...
    async def count_live(
        self, reseller: str, customer_identifier: str, merchant_account_key: str, product_key: str
    ) -> int: ...
    async def find_pending_twin(
        self,
        reseller: str,
        customer_identifier: str,
        merchant_account_key: str,
        product_key: str,
        offer_key: str | None,
    ) -> Entitlement | None: ...
    async def due_period_ends(self, reseller: str, now: float) -> list[Entitlement]: ...
    async def due_expiries(self, reseller: str, now: float) -> list[Entitlement]: ...

    # operations waiting for the merchant, activation links, idempotency, clocks
    async def put_pending(self, reseller: str, operation: PendingOperation) -> None: ...
    async def get_pending(self, reseller: str, entitlement_id: str) -> PendingOperation | None: ...
    async def delete_pending(self, reseller: str, entitlement_id: str) -> None: ...
    async def due_pending(self, reseller: str, now: float) -> list[str]: ...
    async def put_link(self, link: ActivationLink) -> None: ...
    async def get_link(self, token: str) -> ActivationLink | None: ...
    async def claim_response(
        self, reseller: str, request_id: str, fingerprint: bytes
    ) -> StoredResponse | None:
        """Inside `transaction()`: the response stored for this id, or None once this
        transaction holds the id (a concurrent request with it waits for the outcome)."""
        ...

    async def get_response(self, reseller: str, request_id: str) -> StoredResponse | None: ...
    async def put_response(
        self, reseller: str, request_id: str, response: StoredResponse
    ) -> None: ...
    async def forget_response(self, reseller: str, request_id: str) -> None: ...
    async def clock_offsets(self) -> dict[str, float]: ...
    async def clock_offset(self, reseller: str) -> float: ...
    async def set_clock_offset(self, reseller: str, offset_seconds: float) -> None: ...

    # the notification outbox
    async def add_notification(
        self,
        *,
        notification_id: str,
        reseller: str,
        entitlement_id: str,
        notification_type: str,
        url: str | None,
        body: bytes,
        state: str,
        now: float,
    ) -> None: ...
    async def due_notifications(self, now: float, limit: int) -> list[OutboxRow]: ...
    async def next_notification_due(self) -> float | None: ...
    async def list_notifications(
        self,
        reseller: str,
        *,
        entitlement_id: str | None = None,
        state: str | None = None,
        after_seq: int = 0,
        limit: int = 1000,
    ) -> list[OutboxRow]: ...
    async def mark_delivered(self, seq: int, attempts: int, now: float) -> None: ...
    async def mark_retry(
        self, seq: int, attempts: int, next_attempt_at: float, error: str
    ) -> None: ...
    async def mark_blocked(self, seq: int, error: str) -> None: ...
    async def mark_given_up(self, seq: int, attempts: int, error: str) -> None: ...
    async def get_notification(self, reseller: str, notification_id: str) -> OutboxRow | None: ...
    async def requeue_notification(self, seq: int, state: str, now: float) -> None: ...
    async def notification_feed(
        self,
        reseller: str,
        *,
        after: int,
        entitlement_id: str | None = None,
        limit: int = 100,
    ) -> list[FeedEntry]: ...
    async def latest_feed_cursor(self, reseller: str) -> int: ...
    async def reset(self, reseller: str) -> None: ...


class SqlStore(ABC):
    """The queries both SQL stores share, written once with `?` placeholders; a subclass
    connects, provides `_one`, `_all` and `_exec` (run one statement: its first row, all its
    rows, nothing), `transaction()`, `savepoint()`, `insert` and `find_pending_twin`."""

    @abstractmethod
    async def _one(self, query: str, args: Sequence[Any] = ()) -> Any: ...

    @abstractmethod
    async def _all(self, query: str, args: Sequence[Any] = ()) -> list[Any]: ...

    @abstractmethod
    async def _exec(self, query: str, args: Sequence[Any] = ()) -> None: ...

    def _locking(self) -> str:
        """What a read inside a transaction appends to lock the rows it returns."""
        return ""

    # -- entitlements -------------------------------------------------------------------

    async def get(self, reseller: str, entitlement_id: str) -> Entitlement | None:
        """The entitlement; in a transaction, locked until it ends (one change at a time)."""
        row = await self._one(
            "SELECT record FROM entitlements WHERE entitlement_id = ? AND reseller = ?"
            + self._locking(),
            (entitlement_id, reseller),
        )
        return None if row is None else entitlement_from_json(row[0])

    async def get_record_json(self, reseller: str, entitlement_id: str) -> bytes | None:
        """The stored record as JSON bytes, skipping the domain object (the read hot path)."""
        row = await self._one(
            "SELECT record FROM entitlements WHERE entitlement_id = ? AND reseller = ?",
            (entitlement_id, reseller),
        )
        return None if row is None else bytes(row[0])

    async def save(self, reseller: str, entitlement: Entitlement) -> None:
        await self._exec(
            "UPDATE entitlements SET customer_identifier = ?, merchant_account_key = ?,"
            " product_key = ?, offer_key = ?, status = ?, ends_at = ?, expires_at = ?,"
            " record = ? WHERE entitlement_id = ? AND reseller = ?",
            (
                entitlement.customer_identifier,
                entitlement.merchant_account_key,
                entitlement.product_key,
                entitlement.offer_key,
                entitlement.status.value,
                *_deadlines(entitlement),
                record_json(entitlement),
                entitlement.entitlement_id,
                reseller,
            ),
        )

    async def query(
        self,
        reseller: str,
        customer_identifier: str,
        *,
        merchant_account_key: str | None,
        product_key: str | None,
        status: str | None,
    ) -> list[dict[str, Any]]:
        """Records of one customer, oldest first, optionally filtered."""
        sql = "SELECT record FROM entitlements WHERE reseller = ? AND customer_identifier = ?"
        args: list[Any] = [reseller, customer_identifier]
        for column, value in (
            ("merchant_account_key", merchant_account_key),
            ("product_key", product_key),
            ("status", status),
        ):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        rows = await self._all(sql + " ORDER BY created_seq", args)
        return [orjson.loads(row[0]) for row in rows]

    async def count_live(
        self, reseller: str, customer_identifier: str, merchant_account_key: str, product_key: str
    ) -> int:
        row = await self._one(
            "SELECT COUNT(*) FROM entitlements WHERE reseller = ? AND customer_identifier = ?"
            f" AND merchant_account_key = ? AND product_key = ? AND status IN ({_LIVE_SQL})",
            (reseller, customer_identifier, merchant_account_key, product_key, *_LIVE),
        )
        return int(row[0])

    async def due_period_ends(self, reseller: str, now: float) -> list[Entitlement]:
        rows = await self._all(
            "SELECT record FROM entitlements WHERE reseller = ? AND ends_at <= ? AND status = ?"
            + self._locking(),
            (reseller, now, Status.ACTIVE_ENDING.value),
        )
        return [entitlement_from_json(row[0]) for row in rows]

    async def due_expiries(self, reseller: str, now: float) -> list[Entitlement]:
        rows = await self._all(
            "SELECT record FROM entitlements WHERE reseller = ? AND expires_at <= ?"
            f" AND status IN ({_LIVE_SQL})" + self._locking(),
            (reseller, now, *_LIVE),
        )
        return [entitlement_from_json(row[0]) for row in rows]

    # -- pending merchant operations ----------------------------------------------------------

    async def put_pending(self, reseller: str, operation: PendingOperation) -> None:
        await self._exec(
            "INSERT INTO pending_operations VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (reseller, entitlement_id) DO UPDATE SET operation = excluded.operation,"
            " payload = excluded.payload, due_at = excluded.due_at",
            (
                operation.entitlement_id,
                reseller,
                operation.operation,
                orjson.dumps(operation.payload),
                operation.due_at,
            ),
        )

    async def get_pending(self, reseller: str, entitlement_id: str) -> PendingOperation | None:
        row = await self._one(
            "SELECT entitlement_id, operation, payload, due_at FROM pending_operations"
            " WHERE entitlement_id = ? AND reseller = ?",
            (entitlement_id, reseller),
        )
        if row is None:
            return None
        return PendingOperation(row[0], row[1], orjson.loads(row[2]), row[3])

    async def delete_pending(self, reseller: str, entitlement_id: str) -> None:
        await self._exec(
            "DELETE FROM pending_operations WHERE entitlement_id = ? AND reseller = ?",
            (entitlement_id, reseller),
        )

    async def due_pending(self, reseller: str, now: float) -> list[str]:
        rows = await self._all(
            "SELECT entitlement_id FROM pending_operations WHERE reseller = ? AND due_at <= ?",
            (reseller, now),
        )
        return [str(row[0]) for row in rows]

    # -- activation links ---------------------------------------------------------------

    async def put_link(self, link: ActivationLink) -> None:
        await self._exec(
            "INSERT INTO activation_links VALUES (?, ?, ?, ?)",
            (link.token, link.reseller, link.entitlement_id, link.expires_at),
        )

    async def get_link(self, token: str) -> ActivationLink | None:
        row = await self._one(
            "SELECT token, reseller, entitlement_id, expires_at FROM activation_links"
            " WHERE token = ?",
            (token,),
        )
        return None if row is None else ActivationLink(row[0], row[1], row[2], row[3])

    # -- idempotency ----------------------------------------------------------------------

    async def claim_response(
        self, reseller: str, request_id: str, fingerprint: bytes
    ) -> StoredResponse | None:
        # A placeholder row (status 0) holds the id; the unique key makes a concurrent claim
        # wait for this transaction and then find the stored response.
        claimed = await self._one(
            "INSERT INTO idempotency VALUES (?, ?, ?, 0, ?) ON CONFLICT (reseller, request_id)"
            " DO NOTHING RETURNING status",
            (reseller, request_id, fingerprint, b""),
        )
        return None if claimed is not None else await self.get_response(reseller, request_id)

    async def forget_response(self, reseller: str, request_id: str) -> None:
        await self._exec(
            "DELETE FROM idempotency WHERE reseller = ? AND request_id = ?", (reseller, request_id)
        )

    async def get_response(self, reseller: str, request_id: str) -> StoredResponse | None:
        row = await self._one(
            "SELECT fingerprint, status, body FROM idempotency"
            " WHERE reseller = ? AND request_id = ?",
            (reseller, request_id),
        )
        return None if row is None else StoredResponse(bytes(row[0]), int(row[1]), bytes(row[2]))

    async def put_response(self, reseller: str, request_id: str, response: StoredResponse) -> None:
        await self._exec(
            "INSERT INTO idempotency VALUES (?, ?, ?, ?, ?) ON CONFLICT (reseller, request_id)"
            " DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,"
            " body = excluded.body",
            (reseller, request_id, response.fingerprint, response.status, response.body),
        )

    # -- clocks ---------------------------------------------------------------------------

    async def clock_offsets(self) -> dict[str, float]:
        rows = await self._all("SELECT reseller, offset_seconds FROM clocks")
        return {str(r[0]): float(r[1]) for r in rows}

    async def clock_offset(self, reseller: str) -> float:
        row = await self._one("SELECT offset_seconds FROM clocks WHERE reseller = ?", (reseller,))
        return 0.0 if row is None else float(row[0])

    async def set_clock_offset(self, reseller: str, offset_seconds: float) -> None:
        await self._exec(
            "INSERT INTO clocks VALUES (?, ?) ON CONFLICT (reseller)"
            " DO UPDATE SET offset_seconds = excluded.offset_seconds",
            (reseller, offset_seconds),
        )

    # -- notification outbox --------------------------------------------------------------

    async def add_notification(
        self,
        *,
        notification_id: str,
        reseller: str,
        entitlement_id: str,
        notification_type: str,
        url: str | None,
        body: bytes,
        state: str,
        now: float,
    ) -> None:
        await self._exec(
            "INSERT INTO notifications (notification_id, reseller, entitlement_id,"
            " notification_type, url, body, state, next_attempt_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                notification_id,
                reseller,
                entitlement_id,
                notification_type,
                url,
                body,
                state,
                now,
                now,
            ),
        )
        await self._add_to_feed(reseller, notification_id, now)

    async def _add_to_feed(self, reseller: str, notification_id: str, now: float) -> None:
        await self._exec(
            "INSERT INTO notification_feed (reseller, notification_id, queued_at) VALUES (?, ?, ?)",
            (reseller, notification_id, now),
        )

    async def due_notifications(self, now: float, limit: int) -> list[OutboxRow]:
        """Due pending rows that are each the oldest pending row of their entitlement.

        A later notification of an entitlement waits until every earlier one was delivered
        or given up, so receivers see each entitlement's changes in the order they happened.
        """
        rows = await self._all(
            f"SELECT {_OUTBOX_COLUMNS} FROM notifications AS n WHERE state = 'pending'"
            " AND next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM notifications AS e"
            " WHERE e.state = 'pending' AND e.reseller = n.reseller"
            " AND e.entitlement_id = n.entitlement_id AND e.seq < n.seq)"
            " ORDER BY next_attempt_at, seq LIMIT ?",
            (now, limit),
        )
        return [OutboxRow(*row) for row in rows]

    async def next_notification_due(self) -> float | None:
        row = await self._one(
            "SELECT MIN(next_attempt_at) FROM notifications WHERE state = 'pending'"
        )
        return None if row[0] is None else float(row[0])

    async def list_notifications(
        self,
        reseller: str,
        *,
        entitlement_id: str | None = None,
        state: str | None = None,
        after_seq: int = 0,
        limit: int = 1000,
    ) -> list[OutboxRow]:
        """Up to `limit` rows of a reseller with `seq` above `after_seq`, oldest first."""
        sql = f"SELECT {_OUTBOX_COLUMNS} FROM notifications WHERE reseller = ? AND seq > ?"
        args: list[Any] = [reseller, after_seq]
        if entitlement_id is not None:
            sql += " AND entitlement_id = ?"
            args.append(entitlement_id)
        if state is not None:
            sql += " AND state = ?"
            args.append(state)
        rows = await self._all(sql + " ORDER BY seq LIMIT ?", [*args, limit])
        return [OutboxRow(*row) for row in rows]

    async def mark_delivered(self, seq: int, attempts: int, now: float) -> None:
        await self._exec(
            "UPDATE notifications SET state = 'delivered', attempts = ?, delivered_at = ?,"
            " last_error = NULL WHERE seq = ?",
            (attempts, now, seq),
        )

    async def mark_retry(self, seq: int, attempts: int, next_attempt_at: float, error: str) -> None:
        await self._exec(
            "UPDATE notifications SET attempts = ?, next_attempt_at = ?, last_error = ?"
            " WHERE seq = ?",
            (attempts, next_attempt_at, error[:500], seq),
        )

    async def mark_blocked(self, seq: int, error: str) -> None:
        await self._exec(
            "UPDATE notifications SET state = 'blocked', last_error = ? WHERE seq = ?",
            (error[:500], seq),
        )

    async def mark_given_up(self, seq: int, attempts: int, error: str) -> None:
        await self._exec(
            "UPDATE notifications SET state = 'given_up', attempts = ?, last_error = ?"
            " WHERE seq = ?",
            (attempts, error[:500], seq),
        )

    async def get_notification(self, reseller: str, notification_id: str) -> OutboxRow | None:
        row = await self._one(
            f"SELECT {_OUTBOX_COLUMNS} FROM notifications"
            " WHERE reseller = ? AND notification_id = ?",
            (reseller, notification_id),
        )
        return None if row is None else OutboxRow(*row)

    async def requeue_notification(self, seq: int, state: str, now: float) -> None:
        """Send a notification again: due now, in `state`, and a new entry in the feed."""
        await self._exec(
            "UPDATE notifications SET state = ?, next_attempt_at = ?, last_error = NULL,"
            " delivered_at = NULL WHERE seq = ?",
            (state, now, seq),
        )
        reseller, notification_id = await self._one(
            "SELECT reseller, notification_id FROM notifications WHERE seq = ?", (seq,)
        )
        await self._add_to_feed(reseller, notification_id, now)

    async def notification_feed(
        self,
        reseller: str,
        *,
        after: int,
        entitlement_id: str | None = None,
        limit: int = 100,
    ) -> list[FeedEntry]:
        columns = ", ".join(f"n.{c.strip()}" for c in _OUTBOX_COLUMNS.split(","))
        sql = (
            f"SELECT f.cursor, f.queued_at, {columns} FROM notification_feed f JOIN notifications n"
            " ON n.notification_id = f.notification_id WHERE f.reseller = ? AND f.cursor > ?"
        )
        args: list[Any] = [reseller, after]
        if entitlement_id is not None:
            sql += " AND n.entitlement_id = ?"
            args.append(entitlement_id)
        rows = await self._all(sql + " ORDER BY f.cursor LIMIT ?", [*args, limit])
        return [FeedEntry(int(row[0]), float(row[1]), OutboxRow(*row[2:])) for row in rows]

    async def latest_feed_cursor(self, reseller: str) -> int:
        row = await self._one(
            "SELECT MAX(cursor) FROM notification_feed WHERE reseller = ?", (reseller,)
        )
        return int(row[0] or 0)

    # -- housekeeping ---------------------------------------------------------------------

    async def reset(self, reseller: str) -> None:
        """Forget everything belonging to one reseller."""
        for table in (
            "entitlements",
            "notifications",
            "notification_feed",
            "pending_operations",
            "activation_links",
            "idempotency",
            "clocks",
        ):
            await self._exec(f"DELETE FROM {table} WHERE reseller = ?", (reseller,))


class SqliteStore(SqlStore):
    """The SQLite implementation of the sandbox's storage."""

    shared = False  # one process owns the file

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
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            for table in old:
                self._db.execute(f"INSERT INTO {table} SELECT * FROM {table}_v0")
                self._db.execute(f"DROP TABLE {table}_v0")
            if old:  # the renamed tables took their index names along; create them afresh
                for statement in SCHEMA.split(";"):
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

    async def _one(self, query: str, args: Sequence[Any] = ()) -> Any:
        while True:
            row = self._db.execute(query, args).fetchone()
            if await self._read_is_committed():
                return row

    async def _all(self, query: str, args: Sequence[Any] = ()) -> list[Any]:
        while True:
            rows = self._db.execute(query, args).fetchall()
            if await self._read_is_committed():
                return rows

    async def _exec(self, query: str, args: Sequence[Any] = ()) -> None:
        self._db.execute(query, args)

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

    async def insert(self, reseller: str, entitlement: Entitlement) -> None:
        self._created_seq += 1
        self._db.execute(
            "INSERT INTO entitlements (entitlement_id, reseller, customer_identifier,"
            " merchant_account_key, product_key, offer_key, status, ends_at, expires_at,"
            " created_seq, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entitlement.entitlement_id,
                reseller,
                entitlement.customer_identifier,
                entitlement.merchant_account_key,
                entitlement.product_key,
                entitlement.offer_key,
                entitlement.status.value,
                *_deadlines(entitlement),
                self._created_seq,
                record_json(entitlement),
            ),
        )

    async def find_pending_twin(
        self,
        reseller: str,
        customer_identifier: str,
        merchant_account_key: str,
        product_key: str,
        offer_key: str | None,
    ) -> Entitlement | None:
        """A PENDING entitlement created with the same customer, merchant, product and offer."""
        row = self._db.execute(
            "SELECT record FROM entitlements WHERE reseller = ? AND customer_identifier = ?"
            " AND merchant_account_key = ? AND product_key = ? AND offer_key IS ?"
            " AND status = 'PENDING' ORDER BY created_seq LIMIT 1",
            (reseller, customer_identifier, merchant_account_key, product_key, offer_key),
        ).fetchone()
        return None if row is None else entitlement_from_json(row[0])


_OUTBOX_COLUMNS = (
    "seq, notification_id, reseller, entitlement_id, notification_type, url, body, state,"
    " attempts, next_attempt_at, last_error, created_at, delivered_at"
)


def _deadlines(entitlement: Entitlement) -> Sequence[float | None]:
    ends_at = (
        entitlement.date_ended.timestamp()
        if entitlement.status is Status.ACTIVE_ENDING and entitlement.date_ended
        else None
    )
    expires_at = entitlement.date_expiry.timestamp() if entitlement.date_expiry else None
    return (ends_at, expires_at)
