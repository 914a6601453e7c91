"""The sandbox's durable state: entitlements, the notification outbox, pending merchant
operations, activation links, idempotency records, the sandbox clocks, and what the console
shows of their history (transitions, delivery attempts, the request log).

- `protocol`: what the rest of the sandbox needs (`EntitlementStore`), the rows it hands back,
  and `StoreUnavailable`, the one error callers handle (answered 503 with Retry-After);
- `schema`: the tables both stores share, and the `Dialect`s that tell their SQL apart;
- `queries`: the queries both stores share (`SqlStore`);
- `sqlite`: `SqliteStore`, one file for one process, with group commit;
- `postgres`: `PostgresStore`, one schema shared by several processes (imported on first use);
- `trouble`: storage trouble logged once per episode.

`open_store` picks the store a `--db` value names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import SandboxConfig
from .protocol import (
    ActivationLink,
    DeliveryAttempt,
    DeliveryState,
    EntitlementStore,
    FeedEntry,
    OutboxRow,
    PendingOperation,
    StoredResponse,
    StoreUnavailable,
    TransitionRow,
)
from .sqlite import SqliteStore

if TYPE_CHECKING:
    from .postgres import PostgresStore

__all__ = [
    "ActivationLink",
    "DeliveryAttempt",
    "DeliveryState",
    "EntitlementStore",
    "FeedEntry",
    "OutboxRow",
    "PendingOperation",
    "PostgresStore",
    "SqliteStore",
    "StoreUnavailable",
    "StoredResponse",
    "TransitionRow",
    "open_store",
]


def open_store(database: str, config: SandboxConfig) -> EntitlementStore:
    """A SQLite file path, or a `postgresql://` URL for a sandbox shared by several processes."""
    if database.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        # A claimed notification stays claimed past one attempt (connect, send, read: each
        # phase may take the whole timeout); a crashed instance's claims fall due after it.
        lease = 3 * config.delivery.timeout_seconds + 5
        return PostgresStore(
            database,
            claim_lease_seconds=lease,
            synchronous_commit=config.postgresql_synchronous_commit,
        )
    return SqliteStore(database, synchronous=config.sqlite_synchronous)


def __getattr__(name: str) -> Any:
    if name == "PostgresStore":  # psycopg is loaded only for PostgreSQL
        from .postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
