"""The PostgreSQL implementation of `EntitlementStore`: one database shared by any number of
sandbox processes, which then behave as one sandbox.

How the instances stay one sandbox:
- Every `transaction()` first takes a transaction-scoped advisory lock of the sandbox's schema,
  so writes of all instances run one after another, exactly as SQLite's BEGIN IMMEDIATE orders
  the writes of one process. Check-then-write steps (idempotency records, the live-entitlement
  limit, status changes and the notification they cause, the sweeper) therefore see every
  committed change of every instance and never interleave: one transition, one notification.
  Reads outside a transaction (getEntitlement, queries) take no lock.
- The outbox is claimed, not just read: `due_notifications` moves each claimed row's
  `next_attempt_at` one lease ahead inside `FOR UPDATE SKIP LOCKED`, so no other instance picks
  it up while it is being sent; a crashed sender's rows fall due again when the lease ends
  (at-least-once). Only the oldest pending row of an entitlement is ever due, so a claimed
  head row holds back the entitlement's later rows on every instance: order is kept.
- The sandbox clocks live in the database and `shared` tells the clock to read them each time.

Each sandbox keeps its tables in its own schema (`?schema=` in the URL, default
`bango_sandbox`), so several sandboxes, or tests, can share one database.
"""

from __future__ import annotations

import asyncio
import re
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from .domain import Entitlement
from .store import _OUTBOX_COLUMNS, OutboxRow, SqlStore, _deadlines
from .wire import entitlement_from_json, record_json

DEFAULT_SCHEMA = "bango_sandbox"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

SCHEMA_VERSION = 1
# How long to wait for a connection: at start-up, and per request while the server is away.
CONNECT_TIMEOUT_SECONDS = 5
SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS entitlements (
    entitlement_id TEXT NOT NULL,
    reseller TEXT NOT NULL,
    customer_identifier TEXT NOT NULL,
    merchant_account_key TEXT NOT NULL,
    product_key TEXT NOT NULL,
    offer_key TEXT,
    status TEXT NOT NULL,
    ends_at DOUBLE PRECISION,
    expires_at DOUBLE PRECISION,
    created_seq BIGINT GENERATED ALWAYS AS IDENTITY,
    record BYTEA NOT NULL,
    PRIMARY KEY (reseller, entitlement_id)
);
CREATE INDEX IF NOT EXISTS entitlements_by_customer
    ON entitlements (reseller, customer_identifier);
CREATE INDEX IF NOT EXISTS entitlements_by_end ON entitlements (reseller, ends_at)
    WHERE ends_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS entitlements_by_expiry ON entitlements (reseller, expires_at)
    WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS notifications (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id TEXT NOT NULL UNIQUE,
    reseller TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    notification_type TEXT NOT NULL,
    url TEXT,
    body BYTEA NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    last_error TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    delivered_at DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS notifications_by_reseller ON notifications (reseller, entitlement_id);
CREATE INDEX IF NOT EXISTS notifications_pending_by_entitlement
    ON notifications (reseller, entitlement_id, seq) WHERE state = 'pending';

CREATE TABLE IF NOT EXISTS notification_feed (
    cursor BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    queued_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS notification_feed_by_reseller ON notification_feed (reseller, cursor);

CREATE TABLE IF NOT EXISTS pending_operations (
    entitlement_id TEXT NOT NULL,
    reseller TEXT NOT NULL,
    operation TEXT NOT NULL,
    payload BYTEA NOT NULL,
    due_at DOUBLE PRECISION,
    PRIMARY KEY (reseller, entitlement_id)
);

CREATE TABLE IF NOT EXISTS activation_links (
    token TEXT PRIMARY KEY,
    reseller TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE IF NOT EXISTS idempotency (
    reseller TEXT NOT NULL,
    request_id TEXT NOT NULL,
    fingerprint BYTEA NOT NULL,
    status INTEGER NOT NULL,
    body BYTEA NOT NULL,
    PRIMARY KEY (reseller, request_id)
);

CREATE TABLE IF NOT EXISTS clocks (
    reseller TEXT PRIMARY KEY,
    offset_seconds DOUBLE PRECISION NOT NULL
);

CREATE TABLE IF NOT EXISTS rate_buckets (
    key TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    stamp DOUBLE PRECISION NOT NULL,
    taken DOUBLE PRECISION NOT NULL
)
"""


def split_schema(url: str) -> tuple[str, str]:
    """The libpq URL without our `schema` parameter, and the schema it names."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((value for key, value in query if key == "schema"), DEFAULT_SCHEMA)
    if not _SCHEMA_NAME.fullmatch(schema):
        raise ValueError(
            f"schema {schema!r} in the database URL: use lower-case letters, digits and _"
        )
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


class PostgresStore(SqlStore):
    """`EntitlementStore` on a PostgreSQL schema, shared safely by several processes.

    A pool of connections per process. `transaction()` takes one from the pool and binds it to
    the current task, so concurrent requests run their transactions side by side on different
    connections (and PostgreSQL flushes their commits together); a statement outside any
    transaction borrows a connection for itself. Call `open()` in the running event loop
    before use.
    """

    shared = True  # other processes may change the data: read the clocks every time

    def __init__(
        self,
        url: str,
        *,
        claim_lease_seconds: float = 30.0,
        synchronous_commit: str = "off",
        min_connections: int = 2,
        max_connections: int = 16,
    ) -> None:
        conninfo, self.schema = split_schema(url)
        self.path = url
        self._lease = claim_lease_seconds
        self._synchronous_commit = synchronous_commit
        self._converted: dict[str, str] = {}
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=min_connections,
            max_size=max_connections,
            timeout=CONNECT_TIMEOUT_SECONDS,
            open=False,
            check=AsyncConnectionPool.check_connection,
            kwargs={
                "autocommit": True,
                "prepare_threshold": 0,
                # Outside `transaction()` only rate-limit buckets and delivery claims are
                # written: they need not survive a database crash, so they skip the WAL flush;
                # `transaction()` sets the configured mode.
                "options": f"-c search_path={self.schema} -c synchronous_commit=off",
            },
            name=f"sandbox-{self.schema}",
        )
        # The connection of the transaction the current task has open, and that task.
        self._bound: ContextVar[tuple[psycopg.AsyncConnection[Any], object] | None] = ContextVar(
            f"pgstore-{id(self)}", default=None
        )
        # One lock per schema: sandboxes in other schemas of the database never wait for it.
        self._lock_key = zlib.crc32(self.schema.encode()) - 2**31
        self._migrate(conninfo)

    def _migrate(self, conninfo: str) -> None:
        """Create the schema, or check its version, on a connection of its own: a database
        that cannot be used fails here, in the constructor, before the server starts."""
        schema = sql.Identifier(self.schema)
        with psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_SECONDS) as conn:
            # Under the schema's lock: a second instance starting too waits for the first.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(schema))
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            version = row[0] if row else None
            if version is None:
                conn.execute("INSERT INTO schema_version VALUES (%s)", (SCHEMA_VERSION,))
            elif version > SCHEMA_VERSION:
                raise psycopg.DataError(
                    f"schema {self.schema} has version {version}; this sandbox knows"
                    f" {SCHEMA_VERSION}: upgrade the sandbox"
                )
            # Leaving the block commits.

    async def open(self) -> None:
        """Open the pool (in the event loop that will use it)."""
        await self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)

    async def close(self) -> None:
        await self._pool.close()

    def _sql(self, query: str) -> str:
        """The shared queries' `?` placeholders as psycopg's `%s`."""
        converted = self._converted.get(query)
        if converted is None:
            converted = self._converted[query] = query.replace("?", "%s")
        return converted

    def _current(self) -> psycopg.AsyncConnection[Any] | None:
        bound = self._bound.get()
        if bound is None or bound[1] is not asyncio.current_task():
            return None  # none open, or the context was copied into a task started inside
        return bound[0]

    async def _one(self, query: str, args: Any = ()) -> Any:
        conn = self._current()
        if conn is not None:
            return await (await conn.execute(self._sql(query), args)).fetchone()
        async with self._pool.connection() as conn:
            return await (await conn.execute(self._sql(query), args)).fetchone()

    async def _all(self, query: str, args: Any = ()) -> list[Any]:
        conn = self._current()
        if conn is not None:
            return await (await conn.execute(self._sql(query), args)).fetchall()
        async with self._pool.connection() as conn:
            return await (await conn.execute(self._sql(query), args)).fetchall()

    async def _exec(self, query: str, args: Any = ()) -> None:
        conn = self._current()
        if conn is not None:
            await conn.execute(self._sql(query), args)
            return
        async with self._pool.connection() as conn:
            await conn.execute(self._sql(query), args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Run the block atomically, after every other instance's writes; nested use joins."""
        if self._current() is not None:
            yield
            return
        async with self._pool.connection() as conn:
            token = self._bound.set((conn, asyncio.current_task()))
            try:
                # Pipeline mode: statements whose results nobody reads (BEGIN, the lock,
                # savepoints, the writes, COMMIT) go out without waiting for each answer.
                async with conn.pipeline(), conn.transaction():
                    await conn.execute(
                        "SELECT pg_advisory_xact_lock(%s),"
                        " set_config('synchronous_commit', %s, true)",
                        (self._lock_key, self._synchronous_commit),
                    )
                    yield
            finally:
                self._bound.reset(token)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Inside `transaction()`: if the block raises, undo only the block's own writes."""
        conn = self._current()
        if conn is None:
            raise RuntimeError("savepoint() needs an open transaction()")
        async with conn.transaction():  # nested: a SAVEPOINT, rolled back to on an exception
            yield

    async def insert(self, reseller: str, entitlement: Entitlement) -> None:
        await self._exec(
            "INSERT INTO entitlements (entitlement_id, reseller, customer_identifier,"
            " merchant_account_key, product_key, offer_key, status, ends_at, expires_at,"
            " record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entitlement.entitlement_id,
                reseller,
                entitlement.customer_identifier,
                entitlement.merchant_account_key,
                entitlement.product_key,
                entitlement.offer_key,
                entitlement.status.value,
                *_deadlines(entitlement),
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
        row = await self._one(
            "SELECT record FROM entitlements WHERE reseller = ? AND customer_identifier = ?"
            " AND merchant_account_key = ? AND product_key = ?"
            " AND offer_key IS NOT DISTINCT FROM ? AND status = 'PENDING'"
            " ORDER BY created_seq LIMIT 1",
            (reseller, customer_identifier, merchant_account_key, product_key, offer_key),
        )
        return None if row is None else entitlement_from_json(row[0])

    async def take_tokens(
        self, key: str, rate: float, burst: float, now: float, want: float
    ) -> tuple[float, float]:
        """Refill `key`'s bucket to `now` and take up to `want` whole tokens, in one atomic
        statement: (tokens taken, tokens left in the bucket)."""
        row = await self._one(
            "INSERT INTO rate_buckets AS b VALUES (%(key)s,"
            " %(burst)s - LEAST(%(want)s, floor(%(burst)s)), %(now)s,"
            " LEAST(%(want)s, floor(%(burst)s)))"
            " ON CONFLICT (key) DO UPDATE SET stamp = %(now)s,"
            " taken = LEAST(%(want)s, floor(LEAST(%(burst)s,"
            " b.tokens + GREATEST(%(now)s - b.stamp, 0) * %(rate)s))),"
            " tokens = LEAST(%(burst)s, b.tokens + GREATEST(%(now)s - b.stamp, 0) * %(rate)s)"
            " - LEAST(%(want)s, floor(LEAST(%(burst)s,"
            " b.tokens + GREATEST(%(now)s - b.stamp, 0) * %(rate)s)))"
            " RETURNING taken, tokens",
            {"key": key, "rate": rate, "burst": burst, "now": now, "want": want},
        )
        return (0.0, 0.0) if row is None else (float(row[0]), float(row[1]))

    async def due_notifications(self, now: float, limit: int) -> list[OutboxRow]:
        """Claim up to `limit` due head rows (oldest pending row of their entitlement) for one
        lease; rows another instance is claiming right now are skipped, not waited for."""
        rows = await self._all(
            "WITH due AS (SELECT seq FROM notifications AS n WHERE state = 'pending'"
            " AND next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM notifications AS e"
            " WHERE e.state = 'pending' AND e.reseller = n.reseller"
            " AND e.entitlement_id = n.entitlement_id AND e.seq < n.seq)"
            " ORDER BY next_attempt_at, seq LIMIT ? FOR UPDATE SKIP LOCKED)"
            " UPDATE notifications AS n SET next_attempt_at = ? FROM due WHERE n.seq = due.seq"
            f" RETURNING {', '.join(f'n.{c.strip()}' for c in _OUTBOX_COLUMNS.split(','))}",
            (now, limit, now + self._lease),
        )
        return sorted((OutboxRow(*row) for row in rows), key=lambda r: r.seq)
