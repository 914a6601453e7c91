"""The entitlement record and the mechanics of its moves.

Which moves exist, the statuses each starts from, the status it leads to and the
notifications it sends are a status machine: the partner spec's (`x-status-machine`), or a
changed copy a test hands the sandbox. `Lifecycle` executes the machine it is given and takes
from it which statuses are live and which are terminal. What stays here is what the table
does not say: dates, which reasons a request may give, where reasons are stored, field
changes. Immutable records and functions over them (a `Lifecycle` only remembers its table
look-ups): nothing here knows about HTTP, JSON (`wire.py` writes the record), storage or time
sources.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import bango_resale_spec as spec
from bango_resale_spec import StatusMachine, Transition


class Status(StrEnum):
    """Where an entitlement is in its life (the spec's EntitlementStatus; a test ties them)."""

    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    ACTIVE_ENDING = "ACTIVE-ENDING"
    SUSPENDED = "SUSPENDED"
    CANCELLED = "CANCELLED"
    REVOKED = "REVOKED"
    FAILED = "FAILED"


def _statuses(values: Iterable[str]) -> frozenset[Status]:
    return frozenset(Status(value) for value in values)


# The platform events the sandbox raises (the table's `event` names).
ACTIVATION_COMPLETED = "ACTIVATION_COMPLETED"
MERCHANT_CONFIRMED = "MERCHANT_CONFIRMED"
PAID_PERIOD_ENDED = "PAID_PERIOD_ENDED"
EXPIRY_REACHED = "EXPIRY_REACHED"
MERCHANT_CANCELLED = "MERCHANT_CANCELLED"
MERCHANT_REVOKED = "MERCHANT_REVOKED"
MERCHANT_STATE_LOST = "MERCHANT_STATE_LOST"


def _live_statuses(machine: StatusMachine) -> frozenset[Status]:
    """Live: the statuses in which reaching dateExpiry still ends the entitlement."""
    return _statuses(s for t in machine.rows_for(event=EXPIRY_REACHED) for s in t.from_statuses)


# The (category, code) pairs a request may give: the spec's `x-reasons`, and every category
# with the fallback code. Two rows share REVOKED/OTHER.
REASON_PAIRS = frozenset(spec.accepted_reason_pairs())


class DomainError(Exception):
    """A refused operation; `response_code` is the API's name for the refusal."""

    def __init__(self, response_code: str, message: str) -> None:
        super().__init__(message)
        self.response_code = response_code
        self.message = message


def not_available(message: str) -> DomainError:
    return DomainError("NOT_AVAILABLE", message)


def bad_request(message: str) -> DomainError:
    return DomainError("BAD_REQUEST", message)


def new_entitlement_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class Entitlement:
    """One entitlement record (`wire.record_of` writes it as the API shows it)."""

    entitlement_id: str
    status: Status
    date_created: datetime
    date_last_updated: datetime
    customer_identifier: str
    merchant_account_key: str
    product_key: str
    date_activated: datetime | None = None
    date_ended: datetime | None = None
    date_suspended: datetime | None = None
    date_resumed: datetime | None = None
    date_expiry: datetime | None = None
    offer_key: str | None = None
    activation_code: str | None = None
    entitlement_display_name: str | None = None
    notification_url: str | None = None
    extension_data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Step:
    """One row of the table applied: the new record and the notifications it sends, in order."""

    entitlement: Entitlement
    notifications: tuple[str, ...]
    row: Transition | None = None


@dataclass(frozen=True, slots=True)
class GivenReason:
    """The reason a request (or the platform) gives for an end or a suspension: a (category,
    code) pair of the spec's reason table plus the giver's own description."""

    category: str
    code: str
    description: str | None = None

    @classmethod
    def of_row(cls, row: spec.ReasonRow) -> GivenReason:
        """A row of the table given as it stands (the platform's own reasons)."""
        return cls(row.category, row.code, row.description)


# The reason recorded when reaching dateExpiry ends an entitlement (the table's one row the
# platform applies itself).
EXPIRY_REASON = GivenReason.of_row(next(r for r in spec.reason_rows() if r.applied_by_platform))


@dataclass(frozen=True, slots=True)
class ReasonNames:
    """Names of a reason's category, code and description: as request fields, or as the
    extensionData keys a record keeps them under."""

    category: str
    code: str
    description: str

    def __iter__(self) -> Iterator[str]:
        return iter((self.category, self.code, self.description))


class Lifecycle:
    """An entitlement's life under one status machine: the row a trigger fires, what firing it
    does, and which statuses that machine makes live and terminal."""

    def __init__(self, machine: StatusMachine) -> None:
        self.machine = machine
        #: The end statuses (the machine's `x-terminal`): entering one sets dateEnded.
        self.terminal = _statuses(machine.terminal)
        #: The statuses in which reaching dateExpiry still ends the entitlement.
        self.live = _live_statuses(machine)
        # `select`'s answers: the table does not change, and every request asks it once or twice.
        self._rows: dict[tuple[Any, ...], Transition | None] = {}

    def select(
        self,
        status: Status | None,
        *,
        behaviour: str | None = None,
        operation: str | None = None,
        request: str | None = None,
        event: str | None = None,
        among: Iterable[str] | None = None,
    ) -> Transition:
        """The row this trigger fires from `status`, or the refusal the contract prescribes.

        No row for the status: NOT_AVAILABLE. A refusal row (reactivate of a live
        entitlement): its responseCode.
        """
        among = None if among is None else tuple(among)
        key = (status, behaviour, operation, request, event, among)
        if key in self._rows:
            row = self._rows[key]
        else:
            row = self._rows[key] = self.machine.select(
                status=None if status is None else status.value,
                behaviour=behaviour,
                operation=operation,
                request=request,
                event=event,
                among=among,
            )
        trigger = event or (f"{operation} ({request})" if request else operation)
        where = "a new entitlement" if status is None else f"an entitlement that is {status.value}"
        if row is None:
            raise not_available(f"{trigger} is not possible for {where}")
        if not row.accepts:
            raise DomainError(str(row.response_code), f"{trigger} refused for {where} ({row.id})")
        return row

    def fire(
        self, row: Transition, entitlement: Entitlement, now: datetime, *, period_days: int = 30
    ) -> Step:
        """Apply one row: its resulting status and notifications, plus the dates that go with
        the change (activation, suspension, resumption, the end)."""
        before = entitlement.status
        after = Status(row.result(None if row.creates else before.value) or before.value)
        if not row.creates and after is before:
            return Step(entitlement, row.notifications, row)
        dates = self._dates(entitlement, None if row.creates else before, after, now, period_days)
        # One replace for status and dates: a create pays for this on every request.
        return Step(
            replace(entitlement, status=after, date_last_updated=now, **dates),
            row.notifications,
            row,
        )

    def _dates(
        self,
        entitlement: Entitlement,
        before: Status | None,
        after: Status,
        now: datetime,
        period_days: int,
    ) -> dict[str, Any]:
        """The dates that change with a move from `before` to `after`."""
        if after is Status.ACTIVE and before is Status.SUSPENDED:
            return {"date_resumed": now}
        if after is Status.ACTIVE:
            return {"date_activated": now, "date_ended": None}
        if after is Status.PENDING:
            return {"date_activated": None, "date_ended": None}
        if after is Status.SUSPENDED:
            return {"date_suspended": now}
        if after is Status.ACTIVE_ENDING:
            return {"date_ended": period_end(entitlement, period_days, now)}
        if after in self.terminal:
            # The end is now, or the planned end of the paid period when that came first.
            planned = entitlement.date_ended
            return {"date_ended": now if planned is None else min(planned, now)}
        return {}


def new_entitlement(
    *,
    entitlement_id: str,
    customer_identifier: str,
    merchant_account_key: str,
    product_key: str,
    display_name: str,
    now: datetime,
    offer_key: str | None = None,
    notification_url: str | None = None,
    date_expiry: datetime | None = None,
    extension_data: Mapping[str, Any] | None = None,
) -> Entitlement:
    """The record a create starts from, before its row gives it a status."""
    return Entitlement(
        entitlement_id=entitlement_id,
        status=Status.PENDING,
        date_created=now,
        date_last_updated=now,
        customer_identifier=customer_identifier,
        merchant_account_key=merchant_account_key,
        product_key=product_key,
        offer_key=offer_key,
        entitlement_display_name=display_name,
        notification_url=notification_url,
        date_expiry=date_expiry,
        extension_data=dict(extension_data or {}),
    )


def period_end(entitlement: Entitlement, period_days: int, now: datetime) -> datetime:
    """The end of the paid period running at `now`, counting periods from activation."""
    start = entitlement.date_activated or entitlement.date_created
    period = timedelta(days=max(period_days, 1))
    elapsed_periods = max(int((now - start) / period), 0)
    end = start + period * (elapsed_periods + 1)
    return end if end > now else now + period


def with_reason(
    entitlement: Entitlement,
    keys: ReasonNames,
    reason: GivenReason,
    custom: Mapping[str, Any] | None = None,
) -> Entitlement:
    """Record a reason under `keys` (and any custom properties) in extensionData, as the
    seeds describe."""
    data = dict(entitlement.extension_data)
    data.update(custom or {})
    data[keys.category] = reason.category
    data[keys.code] = reason.code
    if reason.description is not None:
        data[keys.description] = reason.description
    return replace(entitlement, extension_data=data)


def change_product(entitlement: Entitlement, product_key: str, display_name: str) -> Entitlement:
    """The record on another product of the same merchant (the row decides the status)."""
    return replace(entitlement, product_key=product_key, entitlement_display_name=display_name)


def checked_reason(
    names: ReasonNames, category: object, code: object, description: object
) -> GivenReason:
    """A reason as a request sent it (in the fields `names`), refused (BAD_REQUEST) when the
    category or the code is missing or the pair is not in the reason table."""
    if not isinstance(category, str) or not isinstance(code, str):
        raise bad_request(f"{names.category} and {names.code} are required")
    reason = GivenReason(category, code, description if isinstance(description, str) else None)
    check_reason_pair(reason)
    return reason


def check_reason_pair(reason: GivenReason) -> None:
    """Refuse a pair that is not in the reason table (a code alone is not enough)."""
    if (reason.category, reason.code) not in REASON_PAIRS:
        raise bad_request(
            f"reason pair {reason.category}/{reason.code} is not in the standard reason table"
        )
