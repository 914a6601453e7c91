"""The queries both stores share, written once (`SqlStore`), with `?` placeholders; the
PostgreSQL store hands them to its driver as `%s`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from typing import Any, ClassVar

from .. import _json
from ..domain import Entitlement, Status
from ..wire import entitlement_from_json, record_json
from .protocol import (
    ActivationLink,
    DeliveryAttempt,
    FeedEntry,
    OutboxRow,
    PendingOperation,
    StoredResponse,
    TransitionRow,
)
from .schema import RESELLER_TABLES, Dialect

OUTBOX_COLUMNS = (
    "seq, notification_id, reseller, entitlement_id, notification_type, url, body, state,"
    " attempts, next_attempt_at, last_error, created_at, delivered_at"
)
# Pending rows (of table alias `n`) that are due at `?` and are each the oldest pending row
# of their entitlement: a later notification of an entitlement waits until every earlier one
# was delivered or given up, so receivers see each entitlement's changes in order.
DUE_HEADS = (
    "n.state = 'pending' AND n.next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM notifications"
    " AS e WHERE e.state = 'pending' AND e.reseller = n.reseller"
    " AND e.entitlement_id = n.entitlement_id AND e.seq < n.seq)"
)

# Batches of a reseller older than the oldest batch holding one of its newest `?` entries.
_PRUNE_REQUEST_LOG = (
    "DELETE FROM request_log WHERE reseller = ? AND seq < (SELECT MIN(seq) FROM"
    " (SELECT seq, entries, SUM(entries) OVER (ORDER BY seq DESC ROWS UNBOUNDED PRECEDING)"
    " AS upto FROM request_log WHERE reseller = ?) AS newest WHERE upto - entries < ?)"
)
_ENTITLEMENT_COLUMNS = (
    "entitlement_id, reseller, customer_identifier, merchant_account_key, product_key,"
    " offer_key, status, ends_at, expires_at, record"
)
_INSERT = f"INSERT INTO entitlements ({_ENTITLEMENT_COLUMNS}) VALUES ({', '.join('?' * 10)})"
_INSERT_NUMBERED = (
    f"INSERT INTO entitlements ({_ENTITLEMENT_COLUMNS}, created_seq) VALUES ({', '.join('?' * 11)})"
)


def _values(statuses: Collection[Status]) -> tuple[str, ...]:
    """The statuses as the column holds them, in a stable order (one statement text per set).
    Never empty: `IN ()` is no SQL, and a status no record has matches nothing alike."""
    return tuple(sorted(s.value for s in statuses)) or ("",)


def _marks(values: Sequence[str]) -> str:
    return ",".join("?" for _ in values)


def _columns(entitlement: Entitlement) -> tuple[Any, ...]:
    """The entitlement's columns after its key, in table order: the fields queries filter on,
    `ends_at` (a cancel's end of period), `expires_at`, and the record itself."""
    ends_at = (
        entitlement.date_ended.timestamp()
        if entitlement.status is Status.ACTIVE_ENDING and entitlement.date_ended
        else None
    )
    expires_at = entitlement.date_expiry.timestamp() if entitlement.date_expiry else None
    return (
        entitlement.customer_identifier,
        entitlement.merchant_account_key,
        entitlement.product_key,
        entitlement.offer_key,
        entitlement.status.value,
        ends_at,
        expires_at,
        record_json(entitlement),
    )


class SqlStore(ABC):
    """The queries both stores share, on three ways to run a statement that a store provides
    (`fetch_one`, `fetch_all`, `execute`), besides `transaction()`, `savepoint()` and `lock()`."""

    dialect: ClassVar[Dialect]

    @abstractmethod
    async def fetch_one(self, query: str, args: Sequence[Any] = ()) -> Any:
        """Run one statement; its first row, or None."""

    @abstractmethod
    async def fetch_all(self, query: str, args: Sequence[Any] = ()) -> list[Any]:
        """Run one statement; all its rows."""

    @abstractmethod
    async def execute(self, query: str, args: Sequence[Any] = ()) -> None:
        """Run one statement whose result nobody reads (a write)."""

    @abstractmethod
    async def lock(self, reseller: str, name: str) -> None:
        """Inside `transaction()`: hold the lock `name` until the transaction ends."""

    def lock_clause(self) -> str:
        """What a read appends to lock the rows it returns until the transaction ends (where
        transactions run side by side; where they run one at a time, nothing)."""
        return ""

    def next_created_seq(self) -> int | None:
        """The creation number of the next entitlement, or None where the database numbers
        them itself."""
        return None

    # -- entitlements -------------------------------------------------------------------

    async def get(self, reseller: str, entitlement_id: str) -> Entitlement | None:
        """The entitlement; in a transaction, locked until it ends (one change at a time)."""
        row = await self.fetch_one(
            "SELECT record FROM entitlements WHERE entitlement_id = ? AND reseller = ?"
            + self.lock_clause(),
            (entitlement_id, reseller),
        )
        return None if row is None else entitlement_from_json(row[0])

    async def get_record_json(self, reseller: str, entitlement_id: str) -> bytes | None:
        """The stored record as JSON bytes, skipping the domain object (the read hot path)."""
        row = await self.fetch_one(
            "SELECT record FROM entitlements WHERE entitlement_id = ? AND reseller = ?",
            (entitlement_id, reseller),
        )
        return None if row is None else bytes(row[0])

    async def insert(self, reseller: str, entitlement: Entitlement) -> None:
        values = (entitlement.entitlement_id, reseller, *_columns(entitlement))
        number = self.next_created_seq()
        if number is None:
            await self.execute(_INSERT, values)
        else:
            await self.execute(_INSERT_NUMBERED, (*values, number))

    async def save(self, reseller: str, entitlement: Entitlement) -> None:
        await self.execute(
            "UPDATE entitlements SET customer_identifier = ?, merchant_account_key = ?,"
            " product_key = ?, offer_key = ?, status = ?, ends_at = ?, expires_at = ?,"
            " record = ? WHERE entitlement_id = ? AND reseller = ?",
            (*_columns(entitlement), entitlement.entitlement_id, reseller),
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
        rows = await self.fetch_all(sql + " ORDER BY created_seq", args)
        return [_json.loads(row[0]) for row in rows]

    async def count_live(
        self,
        reseller: str,
        customer_identifier: str,
        merchant_account_key: str,
        product_key: str,
        live: Collection[Status],
    ) -> int:
        """How many of the customer's entitlements of one product are in a `live` status."""
        statuses = _values(live)
        row = await self.fetch_one(
            "SELECT COUNT(*) FROM entitlements WHERE reseller = ? AND customer_identifier = ?"
            f" AND merchant_account_key = ? AND product_key = ? AND status IN ({_marks(statuses)})",
            (reseller, customer_identifier, merchant_account_key, product_key, *statuses),
        )
        return int(row[0])

    async def find_pending_twin(
        self,
        reseller: str,
        customer_identifier: str,
        merchant_account_key: str,
        product_key: str,
        offer_key: str | None,
    ) -> Entitlement | None:
        """A PENDING entitlement created with the same customer, merchant, product and offer
        (no offer matching no offer)."""
        row = await self.fetch_one(
            "SELECT record FROM entitlements WHERE reseller = ? AND customer_identifier = ?"
            f" AND merchant_account_key = ? AND product_key = ? AND offer_key {self.dialect.same} ?"
            " AND status = 'PENDING' ORDER BY created_seq LIMIT 1",
            (reseller, customer_identifier, merchant_account_key, product_key, offer_key),
        )
        return None if row is None else entitlement_from_json(row[0])

    async def due_period_ends(self, reseller: str, now: float) -> list[Entitlement]:
        rows = await self.fetch_all(
            "SELECT record FROM entitlements WHERE reseller = ? AND ends_at <= ? AND status = ?"
            + self.lock_clause(),
            (reseller, now, Status.ACTIVE_ENDING.value),
        )
        return [entitlement_from_json(row[0]) for row in rows]

    async def due_expiries(
        self, reseller: str, now: float, live: Collection[Status]
    ) -> list[Entitlement]:
        """Entitlements in a `live` status whose dateExpiry is `now` or earlier."""
        statuses = _values(live)
        rows = await self.fetch_all(
            "SELECT record FROM entitlements WHERE reseller = ? AND expires_at <= ?"
            f" AND status IN ({_marks(statuses)})" + self.lock_clause(),
            (reseller, now, *statuses),
        )
        return [entitlement_from_json(row[0]) for row in rows]

    # -- pending merchant operations ----------------------------------------------------------

    async def put_pending(self, reseller: str, operation: PendingOperation) -> None:
        await self.execute(
            "INSERT INTO pending_operations VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (reseller, entitlement_id) DO UPDATE SET operation = excluded.operation,"
            " payload = excluded.payload, due_at = excluded.due_at",
            (
                operation.entitlement_id,
                reseller,
                operation.operation,
                _json.dumps(operation.payload),
                operation.due_at,
            ),
        )

    async def get_pending(self, reseller: str, entitlement_id: str) -> PendingOperation | None:
        row = await self.fetch_one(
            "SELECT entitlement_id, operation, payload, due_at FROM pending_operations"
            " WHERE entitlement_id = ? AND reseller = ?",
            (entitlement_id, reseller),
        )
        if row is None:
            return None
        return PendingOperation(row[0], row[1], _json.loads(row[2]), row[3])

    async def delete_pending(self, reseller: str, entitlement_id: str) -> None:
        await self.execute(
            "DELETE FROM pending_operations WHERE entitlement_id = ? AND reseller = ?",
            (entitlement_id, reseller),
        )

    async def due_pending(self, reseller: str, now: float) -> list[str]:
        rows = await self.fetch_all(
            "SELECT entitlement_id FROM pending_operations WHERE reseller = ? AND due_at <= ?",
            (reseller, now),
        )
        return [str(row[0]) for row in rows]

    # -- activation links ---------------------------------------------------------------

    async def put_link(self, link: ActivationLink) -> None:
        await self.execute(
            "INSERT INTO activation_links VALUES (?, ?, ?, ?)",
            (link.token, link.reseller, link.entitlement_id, link.expires_at),
        )

    async def get_link(self, token: str) -> ActivationLink | None:
        row = await self.fetch_one(
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
        claimed = await self.fetch_one(
            "INSERT INTO idempotency VALUES (?, ?, ?, 0, ?) ON CONFLICT (reseller, request_id)"
            " DO NOTHING RETURNING status",
            (reseller, request_id, fingerprint, b""),
        )
        return None if claimed is not None else await self.get_response(reseller, request_id)

    async def forget_response(self, reseller: str, request_id: str) -> None:
        await self.execute(
            "DELETE FROM idempotency WHERE reseller = ? AND request_id = ?", (reseller, request_id)
        )

    async def get_response(self, reseller: str, request_id: str) -> StoredResponse | None:
        row = await self.fetch_one(
            "SELECT fingerprint, status, body FROM idempotency"
            " WHERE reseller = ? AND request_id = ?",
            (reseller, request_id),
        )
        return None if row is None else StoredResponse(bytes(row[0]), int(row[1]), bytes(row[2]))

    async def put_response(self, reseller: str, request_id: str, response: StoredResponse) -> None:
        await self.execute(
            "INSERT INTO idempotency VALUES (?, ?, ?, ?, ?) ON CONFLICT (reseller, request_id)"
            " DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,"
            " body = excluded.body",
            (reseller, request_id, response.fingerprint, response.status, response.body),
        )

    # -- clocks ---------------------------------------------------------------------------

    async def clock_offsets(self) -> dict[str, float]:
        rows = await self.fetch_all("SELECT reseller, offset_seconds FROM clocks")
        return {str(r[0]): float(r[1]) for r in rows}

    async def clock_offset(self, reseller: str) -> float:
        row = await self.fetch_one(
            "SELECT offset_seconds FROM clocks WHERE reseller = ?", (reseller,)
        )
        return 0.0 if row is None else float(row[0])

    async def set_clock_offset(self, reseller: str, offset_seconds: float) -> None:
        await self.execute(
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
        await self.execute(
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
        await self.execute(
            "INSERT INTO notification_feed (reseller, notification_id, queued_at) VALUES (?, ?, ?)",
            (reseller, notification_id, now),
        )

    async def due_notifications(self, now: float, limit: int) -> list[OutboxRow]:
        """Due pending rows that are each the oldest pending row of their entitlement."""
        rows = await self.fetch_all(
            f"SELECT {OUTBOX_COLUMNS} FROM notifications AS n WHERE {DUE_HEADS}"
            " ORDER BY next_attempt_at, seq LIMIT ?",
            (now, limit),
        )
        return [OutboxRow(*row) for row in rows]

    async def next_notification_due(self) -> float | None:
        row = await self.fetch_one(
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
        sql = f"SELECT {OUTBOX_COLUMNS} FROM notifications WHERE reseller = ? AND seq > ?"
        args: list[Any] = [reseller, after_seq]
        if entitlement_id is not None:
            sql += " AND entitlement_id = ?"
            args.append(entitlement_id)
        if state is not None:
            sql += " AND state = ?"
            args.append(state)
        rows = await self.fetch_all(sql + " ORDER BY seq LIMIT ?", [*args, limit])
        return [OutboxRow(*row) for row in rows]

    # Each mark records one attempt's outcome, and only while the row is as the attempt found
    # it (`due_at`, the next_attempt_at it was taken at): a redelivery queued meanwhile moves
    # that time, and must be sent, not overwritten by the outcome of the send before it.
    async def mark_delivered(self, seq: int, attempts: int, now: float, *, due_at: float) -> None:
        await self.execute(
            "UPDATE notifications SET state = 'delivered', attempts = ?, delivered_at = ?,"
            " last_error = NULL WHERE seq = ? AND next_attempt_at = ?",
            (attempts, now, seq, due_at),
        )

    async def mark_retry(
        self, seq: int, attempts: int, next_attempt_at: float, error: str, *, due_at: float
    ) -> None:
        await self.execute(
            "UPDATE notifications SET attempts = ?, next_attempt_at = ?, last_error = ?"
            " WHERE seq = ? AND next_attempt_at = ?",
            (attempts, next_attempt_at, error[:500], seq, due_at),
        )

    async def mark_blocked(self, seq: int, error: str, *, due_at: float) -> None:
        await self.execute(
            "UPDATE notifications SET state = 'blocked', last_error = ?"
            " WHERE seq = ? AND next_attempt_at = ?",
            (error[:500], seq, due_at),
        )

    async def mark_given_up(self, seq: int, attempts: int, error: str, *, due_at: float) -> None:
        await self.execute(
            "UPDATE notifications SET state = 'given_up', attempts = ?, last_error = ?"
            " WHERE seq = ? AND next_attempt_at = ?",
            (attempts, error[:500], seq, due_at),
        )

    async def get_notification(self, reseller: str, notification_id: str) -> OutboxRow | None:
        row = await self.fetch_one(
            f"SELECT {OUTBOX_COLUMNS} FROM notifications"
            " WHERE reseller = ? AND notification_id = ?",
            (reseller, notification_id),
        )
        return None if row is None else OutboxRow(*row)

    async def requeue_notification(self, seq: int, state: str, now: float) -> None:
        """Send a notification again: due now, in `state`, and a new entry in the feed."""
        await self.execute(
            "UPDATE notifications SET state = ?, next_attempt_at = ?, last_error = NULL,"
            " delivered_at = NULL WHERE seq = ?",
            (state, now, seq),
        )
        reseller, notification_id = await self.fetch_one(
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
        columns = ", ".join(f"n.{c.strip()}" for c in OUTBOX_COLUMNS.split(","))
        sql = (
            f"SELECT f.cursor, f.queued_at, {columns} FROM notification_feed f JOIN notifications n"
            " ON n.notification_id = f.notification_id WHERE f.reseller = ? AND f.cursor > ?"
        )
        args: list[Any] = [reseller, after]
        if entitlement_id is not None:
            sql += " AND n.entitlement_id = ?"
            args.append(entitlement_id)
        rows = await self.fetch_all(sql + " ORDER BY f.cursor LIMIT ?", [*args, limit])
        return [FeedEntry(int(row[0]), float(row[1]), OutboxRow(*row[2:])) for row in rows]

    async def latest_feed_cursor(self, reseller: str) -> int:
        row = await self.fetch_one(
            "SELECT MAX(cursor) FROM notification_feed WHERE reseller = ?", (reseller,)
        )
        return int(row[0] or 0)

    # -- what the console shows ------------------------------------------------------------

    async def list_entitlements(
        self,
        reseller: str,
        *,
        status: str | None = None,
        customer_identifier: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[tuple[int, bytes]]:
        """(creation number, record JSON) of the reseller's entitlements, newest first, below
        creation number `before` when given."""
        sql = "SELECT created_seq, record FROM entitlements WHERE reseller = ?"
        args: list[Any] = [reseller]
        for condition, value in (
            ("status = ?", status),
            ("customer_identifier = ?", customer_identifier),
            ("-created_seq > ?", None if before is None else -before),
        ):
            if value is not None:
                sql += f" AND {condition}"
                args.append(value)
        # One customer's: by the customer's index, then sorted; else down the creation index.
        order = "created_seq DESC" if customer_identifier is not None else "-created_seq"
        rows = await self.fetch_all(f"{sql} ORDER BY {order} LIMIT ?", [*args, limit])
        return [(int(row[0]), bytes(row[1])) for row in rows]

    async def add_transition(
        self,
        reseller: str,
        entitlement_id: str,
        row_id: str,
        status: str,
        at: float,
        sandbox_at: float,
    ) -> None:
        await self.execute(
            "INSERT INTO transitions (reseller, entitlement_id, row_id, status, at, sandbox_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (reseller, entitlement_id, row_id, status, at, sandbox_at),
        )

    async def transitions(self, reseller: str, entitlement_id: str) -> list[TransitionRow]:
        rows = await self.fetch_all(
            "SELECT seq, entitlement_id, row_id, status, at, sandbox_at FROM transitions"
            " WHERE reseller = ? AND entitlement_id = ? ORDER BY seq",
            (reseller, entitlement_id),
        )
        return [TransitionRow(*row) for row in rows]

    async def add_delivery_attempt(
        self,
        row: OutboxRow,
        at: float,
        http_status: int | None,
        error: str | None,
        milliseconds: float | None,
    ) -> None:
        await self.execute(
            "INSERT INTO delivery_attempts (reseller, entitlement_id, notification_id, at, url,"
            " http_status, error, milliseconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.reseller,
                row.entitlement_id,
                row.notification_id,
                at,
                row.url or "",
                http_status,
                None if error is None else error[:500],
                milliseconds,
            ),
        )

    async def delivery_attempts(self, reseller: str, entitlement_id: str) -> list[DeliveryAttempt]:
        rows = await self.fetch_all(
            "SELECT seq, notification_id, at, url, http_status, error, milliseconds"
            " FROM delivery_attempts WHERE reseller = ? AND entitlement_id = ? ORDER BY seq",
            (reseller, entitlement_id),
        )
        return [DeliveryAttempt(*row) for row in rows]

    async def add_request_batch(self, reseller: str, entries: int, body: bytes) -> None:
        await self.execute(
            "INSERT INTO request_log (reseller, entries, body) VALUES (?, ?, ?)",
            (reseller, entries, body),
        )

    async def prune_request_log(self, reseller: str, keep: int) -> None:
        await self.execute(_PRUNE_REQUEST_LOG, (reseller, reseller, keep))

    async def request_batches(
        self, reseller: str, *, below: int | None = None, since: int | None = None, limit: int
    ) -> list[tuple[int, bytes]]:
        sql = "SELECT seq, body FROM request_log WHERE reseller = ?"
        args: list[Any] = [reseller]
        if since is not None:
            sql += " AND seq >= ? ORDER BY seq"
            args.append(since)
        else:
            if below is not None:
                sql += " AND seq < ?"
                args.append(below)
            sql += " ORDER BY seq DESC"
        rows = await self.fetch_all(sql + " LIMIT ?", [*args, limit])
        return [(int(row[0]), bytes(row[1])) for row in rows]

    async def latest_request_batch(self, reseller: str) -> tuple[int, int] | None:
        row = await self.fetch_one(
            "SELECT seq, entries FROM request_log WHERE reseller = ? ORDER BY seq DESC LIMIT 1",
            (reseller,),
        )
        return None if row is None else (int(row[0]), int(row[1]))

    # -- housekeeping ---------------------------------------------------------------------

    async def reset(self, reseller: str) -> None:
        """Forget everything belonging to one reseller."""
        for table in RESELLER_TABLES:
            await self.execute(f"DELETE FROM {table} WHERE reseller = ?", (reseller,))
