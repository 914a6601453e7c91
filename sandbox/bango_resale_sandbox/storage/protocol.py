"""What the service and the deliverer need from storage (`EntitlementStore`), the rows it hands
back, and the one error a caller handles (`StoreUnavailable`)."""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from ..domain import Entitlement, Status


class StoreUnavailable(Exception):
    """The database cannot do this now (unreachable, locked by another process, full,
    read-only, failing to read or write, or its file gone); nothing of the operation was kept.
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


@dataclass(frozen=True, slots=True)
class TransitionRow:
    """One row of the status machine fired on an entitlement."""

    seq: int
    entitlement_id: str
    row_id: str
    status: str  # the status the row left the entitlement in
    at: float  # real time
    sandbox_at: float  # the reseller's sandbox time then


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One attempt to deliver a notification."""

    seq: int
    notification_id: str
    at: float
    url: str
    http_status: int | None  # the receiver's answer, None when none came
    error: str | None
    milliseconds: float | None  # until the answer; None when none came


class DeliveryState:
    """Values of a notification's delivery state."""

    PENDING = "pending"  # waiting for (another) delivery attempt
    DELIVERED = "delivered"  # a receiver answered 2xx
    NO_URL = "no_url"  # the entitlement had no notificationUrl
    BLOCKED = "blocked"  # the URL is not http(s) or its host is not on the allow-list
    GIVEN_UP = "given_up"  # no 2xx within the delivery's give-up time


class EntitlementStore(Protocol):
    """What the service and the deliverer need from storage (`SqliteStore`, `PostgresStore`).

    Every method is a coroutine; changes go inside `async with store.transaction()`, which
    binds the transaction to the current task, so concurrent tasks each run their own. A
    transaction ends once its writes are committed; storage trouble raises StoreUnavailable
    and keeps nothing of it.
    `shared`: other processes may change the data too (so nothing may be cached), and
    `due_notifications` claims the rows it returns (each is returned once per lease).
    `unusable`: why the store refuses everything until the sandbox restarts, or None; set when
    a SQLite file was removed or replaced under the running sandbox.
    """

    shared: bool
    unusable: str | None

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
        self,
        reseller: str,
        customer_identifier: str,
        merchant_account_key: str,
        product_key: str,
        live: Collection[Status],
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
    async def due_expiries(
        self, reseller: str, now: float, live: Collection[Status]
    ) -> list[Entitlement]: ...

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
    # An attempt's outcome, kept only if the row was not queued again since the attempt took
    # it (`due_at`: the row's next_attempt_at then).
    async def mark_delivered(
        self, seq: int, attempts: int, now: float, *, due_at: float
    ) -> None: ...
    async def mark_retry(
        self, seq: int, attempts: int, next_attempt_at: float, error: str, *, due_at: float
    ) -> None: ...
    async def mark_blocked(self, seq: int, error: str, *, due_at: float) -> None: ...
    async def mark_given_up(
        self, seq: int, attempts: int, error: str, *, due_at: float
    ) -> None: ...
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

    # what the console shows: the list, each entitlement's history, the request log
    async def list_entitlements(
        self,
        reseller: str,
        *,
        status: str | None = None,
        customer_identifier: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[tuple[int, bytes]]:
        """(creation number, record JSON) of the reseller's entitlements, newest first."""
        ...

    async def add_transition(
        self,
        reseller: str,
        entitlement_id: str,
        row_id: str,
        status: str,
        at: float,
        sandbox_at: float,
    ) -> None: ...
    async def transitions(self, reseller: str, entitlement_id: str) -> list[TransitionRow]: ...
    async def add_delivery_attempt(
        self,
        row: OutboxRow,
        at: float,
        http_status: int | None,
        error: str | None,
        milliseconds: float | None,
    ) -> None: ...
    async def delivery_attempts(
        self, reseller: str, entitlement_id: str
    ) -> list[DeliveryAttempt]: ...
    async def add_request_batch(self, reseller: str, entries: int, body: bytes) -> None:
        """Inside `transaction()`: add a batch of `entries` request-log entries (`body`, opaque
        to storage) to the reseller's log."""
        ...

    async def prune_request_log(self, reseller: str, keep: int) -> None:
        """Delete the reseller's oldest batches that hold none of its newest `keep` entries."""
        ...

    async def request_batches(
        self, reseller: str, *, below: int | None = None, since: int | None = None, limit: int
    ) -> list[tuple[int, bytes]]:
        """(sequence number, body) of up to `limit` of the reseller's batches: newest first
        below `below`, or oldest first from `since` on (included)."""
        ...

    async def latest_request_batch(self, reseller: str) -> tuple[int, int] | None:
        """(sequence number, entries) of the reseller's newest batch, or None."""
        ...

    async def reset(self, reseller: str) -> None: ...
