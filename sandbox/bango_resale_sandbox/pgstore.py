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

from .domain import LIVE_STATUSES, Entitlement, Status
from .store import (
    _OUTBOX_COLUMNS,
    ActivationLink,
    FeedEntry,
    OutboxRow,
    PendingOperation,
    StoredResponse,
    _deadlines,
)

DEFAULT_SCHEMA = "bango_sandbox"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_LIVE = [s.value for s in LIVE_STATUSES]

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


class PostgresStore:
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
        return self._db.execute(query, args)

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

    # -- entitlements -------------------------------------------------------------------

    def get(self, reseller: str, entitlement_id: str) -> Entitlement | None:
        record = self.get_record_json(reseller, entitlement_id)
        return None if record is None else Entitlement.from_record(orjson.loads(record))

    def get_record_json(self, reseller: str, entitlement_id: str) -> bytes | None:
        row = self._run(
            "SELECT record FROM entitlements WHERE reseller = %s AND entitlement_id = %s",
            (reseller, entitlement_id),
        ).fetchone()
        return None if row is None else bytes(row[0])

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

    def save(self, reseller: str, entitlement: Entitlement) -> None:
        self._run(
            "UPDATE entitlements SET customer_identifier = %s, merchant_account_key = %s,"
            " product_key = %s, offer_key = %s, status = %s, ends_at = %s, expires_at = %s,"
            " record = %s WHERE reseller = %s AND entitlement_id = %s",
            (
                entitlement.customer_identifier,
                entitlement.merchant_account_key,
                entitlement.product_key,
                entitlement.offer_key,
                entitlement.status.value,
                *_deadlines(entitlement),
                orjson.dumps(entitlement.to_record()),
                reseller,
                entitlement.entitlement_id,
            ),
        )

    def query(
        self,
        reseller: str,
        customer_identifier: str,
        *,
        merchant_account_key: str | None,
        product_key: str | None,
        status: str | None,
    ) -> list[dict[str, Any]]:
        text = "SELECT record FROM entitlements WHERE reseller = %s AND customer_identifier = %s"
        args: list[Any] = [reseller, customer_identifier]
        for column, value in (
            ("merchant_account_key", merchant_account_key),
            ("product_key", product_key),
            ("status", status),
        ):
            if value is not None:
                text += f" AND {column} = %s"
                args.append(value)
        rows = self._run(text + " ORDER BY created_seq", args).fetchall()
        return [orjson.loads(row[0]) for row in rows]

    def count_live(
        self, reseller: str, customer_identifier: str, merchant_account_key: str, product_key: str
    ) -> int:
        row = self._run(
            "SELECT count(*) FROM entitlements WHERE reseller = %s AND customer_identifier = %s"
            " AND merchant_account_key = %s AND product_key = %s AND status = ANY(%s)",
            (reseller, customer_identifier, merchant_account_key, product_key, _LIVE),
        ).fetchone()
        return int(row[0]) if row else 0

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

    def due_period_ends(self, reseller: str, now: float) -> list[Entitlement]:
        rows = self._run(
            "SELECT record FROM entitlements WHERE reseller = %s AND ends_at <= %s AND status = %s",
            (reseller, now, Status.ACTIVE_ENDING.value),
        ).fetchall()
        return [Entitlement.from_record(orjson.loads(row[0])) for row in rows]

    def due_expiries(self, reseller: str, now: float) -> list[Entitlement]:
        rows = self._run(
            "SELECT record FROM entitlements WHERE reseller = %s AND expires_at <= %s"
            " AND status = ANY(%s)",
            (reseller, now, _LIVE),
        ).fetchall()
        return [Entitlement.from_record(orjson.loads(row[0])) for row in rows]

    # -- pending merchant operations ----------------------------------------------------------

    def put_pending(self, reseller: str, operation: PendingOperation) -> None:
        self._run(
            "INSERT INTO pending_operations VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (reseller, entitlement_id) DO UPDATE SET operation = EXCLUDED.operation,"
            " payload = EXCLUDED.payload, due_at = EXCLUDED.due_at",
            (
                operation.entitlement_id,
                reseller,
                operation.operation,
                orjson.dumps(operation.payload),
                operation.due_at,
            ),
        )

    def get_pending(self, reseller: str, entitlement_id: str) -> PendingOperation | None:
        row = self._run(
            "SELECT entitlement_id, operation, payload, due_at FROM pending_operations"
            " WHERE reseller = %s AND entitlement_id = %s",
            (reseller, entitlement_id),
        ).fetchone()
        if row is None:
            return None
        return PendingOperation(row[0], row[1], orjson.loads(row[2]), row[3])

    def delete_pending(self, reseller: str, entitlement_id: str) -> None:
        self._run(
            "DELETE FROM pending_operations WHERE reseller = %s AND entitlement_id = %s",
            (reseller, entitlement_id),
        )

    def due_pending(self, reseller: str, now: float) -> list[str]:
        rows = self._run(
            "SELECT entitlement_id FROM pending_operations WHERE reseller = %s AND due_at <= %s",
            (reseller, now),
        ).fetchall()
        return [str(row[0]) for row in rows]

    # -- activation links ---------------------------------------------------------------

    def put_link(self, link: ActivationLink) -> None:
        self._run(
            "INSERT INTO activation_links VALUES (%s, %s, %s, %s)",
            (link.token, link.reseller, link.entitlement_id, link.expires_at),
        )

    def get_link(self, token: str) -> ActivationLink | None:
        row = self._run(
            "SELECT token, reseller, entitlement_id, expires_at FROM activation_links"
            " WHERE token = %s",
            (token,),
        ).fetchone()
        return None if row is None else ActivationLink(row[0], row[1], row[2], row[3])

    # -- idempotency ----------------------------------------------------------------------

    def get_response(self, reseller: str, request_id: str) -> StoredResponse | None:
        row = self._run(
            "SELECT fingerprint, status, body FROM idempotency"
            " WHERE reseller = %s AND request_id = %s",
            (reseller, request_id),
        ).fetchone()
        return None if row is None else StoredResponse(bytes(row[0]), int(row[1]), bytes(row[2]))

    def put_response(self, reseller: str, request_id: str, response: StoredResponse) -> None:
        self._run(
            "INSERT INTO idempotency VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (reseller, request_id) DO UPDATE SET fingerprint ="
            " EXCLUDED.fingerprint, status = EXCLUDED.status, body = EXCLUDED.body",
            (reseller, request_id, response.fingerprint, response.status, response.body),
        )

    # -- clocks ---------------------------------------------------------------------------

    def clock_offsets(self) -> dict[str, float]:
        rows = self._run("SELECT reseller, offset_seconds FROM clocks").fetchall()
        return {str(r[0]): float(r[1]) for r in rows}

    def set_clock_offset(self, reseller: str, offset_seconds: float) -> None:
        self._run(
            "INSERT INTO clocks VALUES (%s, %s) ON CONFLICT (reseller)"
            " DO UPDATE SET offset_seconds = EXCLUDED.offset_seconds",
            (reseller, offset_seconds),
        )

    # -- rate limits shared by the instances ----------------------------------------------

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

    # -- notification outbox --------------------------------------------------------------

    def add_notification(
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
        self._run(
            "INSERT INTO notifications (notification_id, reseller, entitlement_id,"
            " notification_type, url, body, state, next_attempt_at, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
        self._add_to_feed(reseller, notification_id, now)

    def _add_to_feed(self, reseller: str, notification_id: str, now: float) -> None:
        self._run(
            "INSERT INTO notification_feed (reseller, notification_id, queued_at)"
            " VALUES (%s, %s, %s)",
            (reseller, notification_id, now),
        )

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

    def next_notification_due(self) -> float | None:
        row = self._run(
            "SELECT min(next_attempt_at) FROM notifications WHERE state = 'pending'"
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def list_notifications(
        self,
        reseller: str,
        *,
        entitlement_id: str | None = None,
        state: str | None = None,
        after_seq: int = 0,
        limit: int = 1000,
    ) -> list[OutboxRow]:
        text = f"SELECT {_OUTBOX_COLUMNS} FROM notifications WHERE reseller = %s AND seq > %s"
        args: list[Any] = [reseller, after_seq]
        if entitlement_id is not None:
            text += " AND entitlement_id = %s"
            args.append(entitlement_id)
        if state is not None:
            text += " AND state = %s"
            args.append(state)
        rows = self._run(text + " ORDER BY seq LIMIT %s", [*args, limit]).fetchall()
        return [OutboxRow(*row) for row in rows]

    def mark_delivered(self, seq: int, attempts: int, now: float) -> None:
        self._run(
            "UPDATE notifications SET state = 'delivered', attempts = %s, delivered_at = %s,"
            " last_error = NULL WHERE seq = %s",
            (attempts, now, seq),
        )

    def mark_retry(self, seq: int, attempts: int, next_attempt_at: float, error: str) -> None:
        self._run(
            "UPDATE notifications SET attempts = %s, next_attempt_at = %s, last_error = %s"
            " WHERE seq = %s",
            (attempts, next_attempt_at, error[:500], seq),
        )

    def mark_blocked(self, seq: int, error: str) -> None:
        self._run(
            "UPDATE notifications SET state = 'blocked', last_error = %s WHERE seq = %s",
            (error[:500], seq),
        )

    def mark_given_up(self, seq: int, attempts: int, error: str) -> None:
        self._run(
            "UPDATE notifications SET state = 'given_up', attempts = %s, last_error = %s"
            " WHERE seq = %s",
            (attempts, error[:500], seq),
        )

    def get_notification(self, reseller: str, notification_id: str) -> OutboxRow | None:
        row = self._run(
            f"SELECT {_OUTBOX_COLUMNS} FROM notifications"
            " WHERE reseller = %s AND notification_id = %s",
            (reseller, notification_id),
        ).fetchone()
        return None if row is None else OutboxRow(*row)

    def requeue_notification(self, seq: int, state: str, now: float) -> None:
        row = self._run(
            "UPDATE notifications SET state = %s, next_attempt_at = %s, last_error = NULL,"
            " delivered_at = NULL WHERE seq = %s RETURNING reseller, notification_id",
            (state, now, seq),
        ).fetchone()
        if row is not None:
            self._add_to_feed(row[0], row[1], now)

    def notification_feed(
        self,
        reseller: str,
        *,
        after: int,
        entitlement_id: str | None = None,
        limit: int = 100,
    ) -> list[FeedEntry]:
        columns = ", ".join(f"n.{c.strip()}" for c in _OUTBOX_COLUMNS.split(","))
        text = (
            f"SELECT f.cursor, f.queued_at, {columns} FROM notification_feed f JOIN notifications n"
            " ON n.notification_id = f.notification_id WHERE f.reseller = %s AND f.cursor > %s"
        )
        args: list[Any] = [reseller, after]
        if entitlement_id is not None:
            text += " AND n.entitlement_id = %s"
            args.append(entitlement_id)
        rows = self._run(text + " ORDER BY f.cursor LIMIT %s", [*args, limit]).fetchall()
        return [FeedEntry(int(row[0]), float(row[1]), OutboxRow(*row[2:])) for row in rows]

    def latest_feed_cursor(self, reseller: str) -> int:
        row = self._run(
            "SELECT max(cursor) FROM notification_feed WHERE reseller = %s", (reseller,)
        ).fetchone()
        return int(row[0] or 0) if row else 0

    # -- housekeeping ---------------------------------------------------------------------

    def reset(self, reseller: str) -> None:
        for table in (
            "entitlements",
            "notifications",
            "notification_feed",
            "pending_operations",
            "activation_links",
            "idempotency",
            "clocks",
        ):
            self._run(f"DELETE FROM {table} WHERE reseller = %s", (reseller,))
