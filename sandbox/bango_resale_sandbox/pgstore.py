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

import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import psycopg
from psycopg import sql

from .domain import Entitlement
from .store import _OUTBOX_COLUMNS, OutboxRow, SqlStore, _deadlines

DEFAULT_SCHEMA = "bango_sandbox"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

SCHEMA_VERSION = 1
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

    One connection per process, used from the event-loop thread like `SqliteStore`: every
    store call is one short round trip on loopback, and a transaction never waits for anything
    but the database, so the loop is never held for long.
    """

    shared = True  # other processes may change the data: read the clocks every time

    def __init__(
        self, url: str, *, claim_lease_seconds: float = 30.0, synchronous_commit: str = "off"
    ) -> None:
        conninfo, self.schema = split_schema(url)
        self.path = url
        self._lease = claim_lease_seconds
        self._synchronous_commit = synchronous_commit
        self._converted: dict[str, str] = {}
        self._db = psycopg.connect(conninfo, autocommit=True, prepare_threshold=0)
        # Outside `transaction()` only rate-limit buckets are written: they need not survive a
        # database crash, so they skip the WAL flush; `transaction()` sets the configured mode.
        self._run("SET synchronous_commit = off")
        # One lock per schema: sandboxes in other schemas of the database never wait for it.
        self._lock_key = zlib.crc32(self.schema.encode()) - 2**31
        self._in_transaction = False
        self._migrate()

    def close(self) -> None:
        self._db.close()

    def _run(self, query: str, args: Any = None) -> psycopg.Cursor[Any]:
        """Execute with the shared queries' `?` placeholders turned into psycopg's `%s`."""
        converted = self._converted.get(query)
        if converted is None:
            converted = self._converted[query] = query.replace("?", "%s")
        return self._db.execute(converted, args)

    def _migrate(self) -> None:
        schema = sql.Identifier(self.schema)
        with self.transaction():
            # Under the schema's lock: a second instance starting too waits for the first.
            self._db.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            self._db.execute(sql.SQL("SET search_path TO {}").format(schema))
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self._run(statement)
            row = self._run("SELECT max(version) FROM schema_version").fetchone()
            version = row[0] if row else None
            if version is None:
                self._run("INSERT INTO schema_version VALUES (%s)", (SCHEMA_VERSION,))
            elif version > SCHEMA_VERSION:
                raise psycopg.DataError(
                    f"schema {self.schema} has version {version}; this sandbox knows"
                    f" {SCHEMA_VERSION}: upgrade the sandbox"
                )
        # SET inside the transaction holds for the session once committed.

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block atomically, after every other instance's writes; nested use joins."""
        if self._in_transaction:
            yield
            return
        self._in_transaction = True
        try:
            # Pipeline mode: statements whose results nobody reads (BEGIN, the lock, savepoints,
            # the writes, COMMIT) go out without waiting for each answer.
            with self._db.pipeline(), self._db.transaction():
                self._run(
                    "SELECT pg_advisory_xact_lock(%s), set_config('synchronous_commit', %s, true)",
                    (self._lock_key, self._synchronous_commit),
                )
                yield
        finally:
            self._in_transaction = False

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside `transaction()`: if the block raises, undo only the block's own writes."""
        if not self._in_transaction:
            raise RuntimeError("savepoint() needs an open transaction()")
        with self._db.transaction():  # nested: a SAVEPOINT, rolled back to on an exception
            yield

    def insert(self, reseller: str, entitlement: Entitlement) -> None:
        self._run(
            "INSERT INTO entitlements (entitlement_id, reseller, customer_identifier,"
            " merchant_account_key, product_key, offer_key, status, ends_at, expires_at,"
            " record) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                entitlement.entitlement_id,
                reseller,
                entitlement.customer_identifier,
                entitlement.merchant_account_key,
                entitlement.product_key,
                entitlement.offer_key,
                entitlement.status.value,
                *_deadlines(entitlement),
                orjson.dumps(entitlement.to_record()),
            ),
        )

    def find_pending_twin(
        self,
        reseller: str,
        customer_identifier: str,
        merchant_account_key: str,
        product_key: str,
        offer_key: str | None,
    ) -> Entitlement | None:
        row = self._run(
            "SELECT record FROM entitlements WHERE reseller = %s AND customer_identifier = %s"
            " AND merchant_account_key = %s AND product_key = %s"
            " AND offer_key IS NOT DISTINCT FROM %s AND status = 'PENDING'"
            " ORDER BY created_seq LIMIT 1",
            (reseller, customer_identifier, merchant_account_key, product_key, offer_key),
        ).fetchone()
        return None if row is None else Entitlement.from_record(orjson.loads(row[0]))

    def take_tokens(
        self, key: str, rate: float, burst: float, now: float, want: float
    ) -> tuple[float, float]:
        """Refill `key`'s bucket to `now` and take up to `want` whole tokens, in one atomic
        statement: (tokens taken, tokens left in the bucket)."""
        row = self._run(
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
        ).fetchone()
        return (0.0, 0.0) if row is None else (float(row[0]), float(row[1]))

    def due_notifications(self, now: float, limit: int) -> list[OutboxRow]:
        """Claim up to `limit` due head rows (oldest pending row of their entitlement) for one
        lease; rows another instance is claiming right now are skipped, not waited for."""
        rows = self._run(
            "WITH due AS (SELECT seq FROM notifications AS n WHERE state = 'pending'"
            " AND next_attempt_at <= %s AND NOT EXISTS (SELECT 1 FROM notifications AS e"
            " WHERE e.state = 'pending' AND e.reseller = n.reseller"
            " AND e.entitlement_id = n.entitlement_id AND e.seq < n.seq)"
            " ORDER BY next_attempt_at, seq LIMIT %s FOR UPDATE SKIP LOCKED)"
            " UPDATE notifications AS n SET next_attempt_at = %s FROM due WHERE n.seq = due.seq"
            f" RETURNING {', '.join(f'n.{c.strip()}' for c in _OUTBOX_COLUMNS.split(','))}",
            (now, limit, now + self._lease),
        ).fetchall()
        return sorted((OutboxRow(*row) for row in rows), key=lambda r: r.seq)
