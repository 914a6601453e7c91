"""The tables both stores share, written once, and the `Dialect`s they are written in: what
differs between SQLite and PostgreSQL in the text of their SQL (column types, how rows are
numbered, how NULL compares equal), in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Dialect:
    """The differences between the SQL of two databases."""

    real: str  # a floating-point column
    blob: str  # a bytes column
    serial_key: str  # an integer primary key the database numbers 1, 2, 3, ...
    created_seq: str  # the creation order of entitlements
    same: str  # equality that holds for NULL and NULL too


SQLITE = Dialect(
    real="REAL",
    blob="BLOB",
    serial_key="INTEGER PRIMARY KEY AUTOINCREMENT",
    # Numbered by the store (`SqlStore.next_created_seq`): one process owns the file.
    created_seq="INTEGER NOT NULL",
    same="IS",
)
POSTGRESQL = Dialect(
    real="DOUBLE PRECISION",
    blob="BYTEA",
    serial_key="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    created_seq="BIGINT GENERATED ALWAYS AS IDENTITY",
    same="IS NOT DISTINCT FROM",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entitlements (
    entitlement_id TEXT NOT NULL,
    reseller TEXT NOT NULL,
    customer_identifier TEXT NOT NULL,
    merchant_account_key TEXT NOT NULL,
    product_key TEXT NOT NULL,
    offer_key TEXT,
    status TEXT NOT NULL,
    ends_at {real},
    expires_at {real},
    created_seq {created_seq},
    record {blob} NOT NULL,
    PRIMARY KEY (reseller, entitlement_id)
);
CREATE INDEX IF NOT EXISTS entitlements_by_customer
    ON entitlements (reseller, customer_identifier);
CREATE INDEX IF NOT EXISTS entitlements_by_end ON entitlements (reseller, ends_at)
    WHERE ends_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS entitlements_by_expiry ON entitlements (reseller, expires_at)
    WHERE expires_at IS NOT NULL;
-- The console's list, newest first. On an expression, so that the planner never takes it for
-- a customer's queries, which order by created_seq itself: walking every entitlement of the
-- reseller in order to find one customer's would cost a create the size of the table.
CREATE INDEX IF NOT EXISTS entitlements_by_creation ON entitlements (reseller, (-created_seq));

CREATE TABLE IF NOT EXISTS notifications (
    seq {serial_key},
    notification_id TEXT NOT NULL UNIQUE,
    reseller TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    notification_type TEXT NOT NULL,
    url TEXT,
    body {blob} NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at {real} NOT NULL,
    last_error TEXT,
    created_at {real} NOT NULL,
    delivered_at {real}
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS notifications_by_reseller ON notifications (reseller, entitlement_id);
CREATE INDEX IF NOT EXISTS notifications_pending_by_entitlement
    ON notifications (reseller, entitlement_id, seq) WHERE state = 'pending';

-- Every time a notification is queued for sending (first time, or again on redelivery), in
-- order: what `bango-resale listen` follows. The cursor only grows.
CREATE TABLE IF NOT EXISTS notification_feed (
    cursor {serial_key},
    reseller TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    queued_at {real} NOT NULL
);
CREATE INDEX IF NOT EXISTS notification_feed_by_reseller ON notification_feed (reseller, cursor);

CREATE TABLE IF NOT EXISTS pending_operations (
    entitlement_id TEXT NOT NULL,
    reseller TEXT NOT NULL,
    operation TEXT NOT NULL,
    payload {blob} NOT NULL,
    due_at {real},
    PRIMARY KEY (reseller, entitlement_id)
);

CREATE TABLE IF NOT EXISTS activation_links (
    token TEXT PRIMARY KEY,
    reseller TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    expires_at {real} NOT NULL
);

CREATE TABLE IF NOT EXISTS idempotency (
    reseller TEXT NOT NULL,
    request_id TEXT NOT NULL,
    fingerprint {blob} NOT NULL,
    status INTEGER NOT NULL,
    body {blob} NOT NULL,
    PRIMARY KEY (reseller, request_id)
);

CREATE TABLE IF NOT EXISTS clocks (
    reseller TEXT PRIMARY KEY,
    offset_seconds {real} NOT NULL
);

-- Every row of the status machine fired on an entitlement, in order: the status it left the
-- entitlement in, when (real time) and the reseller's sandbox time then.
CREATE TABLE IF NOT EXISTS transitions (
    seq {serial_key},
    reseller TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    row_id TEXT NOT NULL,
    status TEXT NOT NULL,
    at {real} NOT NULL,
    sandbox_at {real} NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_by_entitlement
    ON transitions (reseller, entitlement_id, seq);

-- Every attempt to deliver a notification: the receiver's HTTP status, or why none came.
CREATE TABLE IF NOT EXISTS delivery_attempts (
    seq {serial_key},
    reseller TEXT NOT NULL,
    entitlement_id TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    at {real} NOT NULL,
    url TEXT NOT NULL,
    http_status INTEGER,
    error TEXT,
    milliseconds {real}
);
CREATE INDEX IF NOT EXISTS delivery_attempts_by_entitlement
    ON delivery_attempts (reseller, entitlement_id, seq);

-- The request log, in batches: each row holds the entries one sandbox process wrote for one
-- reseller at once (`entries` of them, as JSON), so that logging a request costs a fraction of a
-- row. The oldest batches are deleted as new ones come, and the sequence only grows.
CREATE TABLE IF NOT EXISTS request_log (
    seq {serial_key},
    reseller TEXT NOT NULL,
    entries INTEGER NOT NULL,
    body {blob} NOT NULL
);
CREATE INDEX IF NOT EXISTS request_log_by_reseller ON request_log (reseller, seq)
"""

# The tables that hold a reseller's data (all of them): what a reset empties.
RESELLER_TABLES = (
    "entitlements",
    "notifications",
    "notification_feed",
    "pending_operations",
    "activation_links",
    "idempotency",
    "clocks",
    "transitions",
    "delivery_attempts",
    "request_log",
)


def schema(dialect: Dialect) -> str:
    """The shared tables and indexes in `dialect`, as `;`-separated statements."""
    return _SCHEMA.format(
        real=dialect.real,
        blob=dialect.blob,
        serial_key=dialect.serial_key,
        created_seq=dialect.created_seq,
    )


def statements(script: str) -> list[str]:
    """The statements of a schema script, one by one."""
    return [statement for statement in script.split(";") if statement.strip()]
