"""The entitlement, its statuses and the moves between them (contract section 3).

Pure functions over immutable values: nothing here knows about HTTP, storage or time sources.
Callers pass the current time in and get a new entitlement plus the notification the move
causes, or a `DomainError` naming the responseCode the refusal maps to.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import bango_resale_spec as spec


class Status(StrEnum):
    """Where an entitlement is in its life."""

    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    ACTIVE_ENDING = "ACTIVE-ENDING"
    SUSPENDED = "SUSPENDED"
    CANCELLED = "CANCELLED"
    REVOKED = "REVOKED"
    FAILED = "FAILED"


def _statuses(values: Iterable[str]) -> frozenset[Status]:
    return frozenset(Status(value) for value in values)


TERMINAL_STATUSES = _statuses(spec.terminal_statuses())
# Statuses in which the entitlement still exists for the merchant and may change.
LIVE_STATUSES = frozenset({Status.PENDING, Status.ACTIVE, Status.ACTIVE_ENDING, Status.SUSPENDED})


class NotificationType(StrEnum):
    """Why a notification was sent."""

    ACTIVATION_SUCCESS = "ACTIVATION_SUCCESS"
    TERMINATION_PENDING = "TERMINATION_PENDING"
    TERMINATION_SUCCESS = "TERMINATION_SUCCESS"
    PRODUCT_UPDATE = "PRODUCT_UPDATE"
    SUSPENSION_SUCCESS = "SUSPENSION_SUCCESS"
    RESUMPTION_SUCCESS = "RESUMPTION_SUCCESS"
    METADATA_UPDATE = "METADATA_UPDATE"


class Move(StrEnum):
    """Every way an entitlement's status can be changed, by a caller or by the platform."""

    ACTIVATE = "activate"
    CANCEL = "cancel"
    REVOKE = "revoke"
    SUSPEND = "suspend"
    RESUME = "resume"
    REACTIVATE = "reactivate"
    CHANGE_PRODUCT = "change_product"
    UPDATE_METADATA = "update_metadata"
    END_PERIOD = "end_period"
    EXPIRE = "expire"
    MERCHANT_CANCEL = "merchant_cancel"
    MERCHANT_REVOKE = "merchant_revoke"
    FAIL = "fail"


# The statuses each move may start from; anything else is NOT_AVAILABLE. Moves a caller asks
# for follow the spec's `x-allowed-from`; the platform's own moves are the sandbox's to define.
ALLOWED_FROM: Mapping[Move, frozenset[Status]] = {
    Move.CANCEL: _statuses(spec.operation_allowed_from("cancelEntitlement")),
    Move.REVOKE: _statuses(spec.operation_allowed_from("revokeEntitlement")),
    Move.REACTIVATE: _statuses(spec.operation_allowed_from("reactivateEntitlement")),
    Move.SUSPEND: _statuses(spec.body_allowed_from("SuspendEntitlementRequest")),
    Move.RESUME: _statuses(spec.body_allowed_from("ResumeEntitlementRequest")),
    Move.CHANGE_PRODUCT: _statuses(spec.body_allowed_from("EntitlementChanges", "productKey")),
    Move.UPDATE_METADATA: _statuses(spec.body_allowed_from("EntitlementChanges")),
    Move.ACTIVATE: frozenset({Status.PENDING}),
    Move.END_PERIOD: frozenset({Status.ACTIVE_ENDING}),
    Move.EXPIRE: LIVE_STATUSES,
    Move.MERCHANT_CANCEL: LIVE_STATUSES,
    Move.MERCHANT_REVOKE: LIVE_STATUSES,
    Move.FAIL: LIVE_STATUSES,
}
# Activation info changes nothing, so it is no move; it still answers only in these statuses.
ACTIVATION_INFO_FROM = _statuses(spec.operation_allowed_from("getActivationInfo"))


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


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with millisecond precision, the form every record uses."""
    utc = moment.astimezone(UTC)
    # strftime's %Y does not pad years before 1000 on every platform; RFC 3339 needs 4 digits.
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 date-time; naive values are taken as UTC."""
    moment = datetime.fromisoformat(text)
    if not moment.tzinfo:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        # e.g. 0001-01-01T00:00:00+05:00 lies before the first representable instant.
        raise ValueError(f"{text!r} is out of the representable range") from None


def new_entitlement_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class Entitlement:
    """One entitlement record, as the API shows it."""

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

    def to_record(self) -> dict[str, Any]:
        """The record as the API serialises it (camelCase keys, RFC 3339 times)."""

        def when(moment: datetime | None) -> str | None:
            return None if moment is None else format_time(moment)

        return {
            "entitlementId": self.entitlement_id,
            "status": self.status.value,
            "dateCreated": format_time(self.date_created),
            "dateActivated": when(self.date_activated),
            "dateEnded": when(self.date_ended),
            "dateSuspended": when(self.date_suspended),
            "dateResumed": when(self.date_resumed),
            "dateLastUpdated": format_time(self.date_last_updated),
            "dateExpiry": when(self.date_expiry),
            "customerIdentifier": self.customer_identifier,
            "merchantAccountKey": self.merchant_account_key,
            "productKey": self.product_key,
            "offerKey": self.offer_key,
            "activationCode": self.activation_code,
            "entitlementDisplayName": self.entitlement_display_name,
            "notificationUrl": self.notification_url,
            "extensionData": dict(self.extension_data),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Entitlement:
        """The inverse of `to_record`."""

        def when(key: str) -> datetime | None:
            value = record.get(key)
            return None if value is None else parse_time(value)

        return cls(
            entitlement_id=record["entitlementId"],
            status=Status(record["status"]),
            date_created=parse_time(record["dateCreated"]),
            date_activated=when("dateActivated"),
            date_ended=when("dateEnded"),
            date_suspended=when("dateSuspended"),
            date_resumed=when("dateResumed"),
            date_last_updated=parse_time(record["dateLastUpdated"]),
            date_expiry=when("dateExpiry"),
            customer_identifier=record["customerIdentifier"],
            merchant_account_key=record["merchantAccountKey"],
            product_key=record["productKey"],
            offer_key=record.get("offerKey"),
            activation_code=record.get("activationCode"),
            entitlement_display_name=record.get("entitlementDisplayName"),
            notification_url=record.get("notificationUrl"),
            extension_data=dict(record.get("extensionData") or {}),
        )


@dataclass(frozen=True, slots=True)
class Transition:
    """The outcome of a move: the new record and the notification it causes, if any."""

    entitlement: Entitlement
    notification: NotificationType | None


@dataclass(frozen=True, slots=True)
class Reason:
    """A (category, code) pair from the standard reason table plus a free-text description."""

    category: str
    code: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ReasonNames:
    """Names of a reason's category, code and description: as request fields, or as the
    extensionData keys a record keeps them under."""

    category: str
    code: str
    description: str

    def __iter__(self) -> Iterator[str]:
        return iter((self.category, self.code, self.description))


@dataclass(frozen=True, slots=True)
class ReasonSlots:
    """Where one kind of reason travels, read from its request schema's `x-stored-as`."""

    fields: ReasonNames
    keys: ReasonNames

    @classmethod
    def from_spec(cls, schema_name: str) -> ReasonSlots:
        stored_as = spec.reason_storage_keys(schema_name)

        def field_and_key(suffix: str) -> tuple[str, str]:
            """The one request field named `...suffix` and the key it is stored under."""
            (pair,) = [(f, k) for f, k in stored_as.items() if f.endswith(suffix)]
            return pair

        pairs = [field_and_key(s) for s in ("Category", "Code", "Description")]
        fields, keys = zip(*pairs, strict=True)
        return cls(ReasonNames(*fields), ReasonNames(*keys))


# Cancel, revoke and the platform's own ends share one set of keys; suspend has its own.
CANCEL_REASON = ReasonSlots.from_spec("TerminateEntitlementRequest")
SUSPEND_REASON = ReasonSlots.from_spec("SuspendEntitlementRequest")


class ReasonTable:
    """The set of valid (category, code) pairs, built from the spec's reason rows."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        # Two rows share REVOKED/OTHER; the set keeps it once.
        self._pairs = frozenset(pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def check(self, category: str, code: str) -> None:
        """Raise BAD_REQUEST when the pair is not in the table."""
        if (category, code) not in self._pairs:
            raise bad_request(f"reason pair {category}/{code} is not in the standard reason table")


def ensure_allowed(move: Move, entitlement: Entitlement) -> None:
    """Raise the refusal the contract prescribes when `move` cannot start from this status."""
    if entitlement.status in ALLOWED_FROM[move]:
        return
    if move is Move.REACTIVATE and entitlement.status in LIVE_STATUSES:
        raise DomainError(
            "ALREADY_EXISTS", f"entitlement is already live ({entitlement.status.value})"
        )
    raise not_available(
        f"cannot {move.value.replace('_', ' ')} an entitlement that is {entitlement.status.value}"
    )


def create(
    *,
    entitlement_id: str,
    customer_identifier: str,
    merchant_account_key: str,
    product_key: str,
    display_name: str,
    activate_now: bool,
    now: datetime,
    offer_key: str | None = None,
    notification_url: str | None = None,
    date_expiry: datetime | None = None,
    extension_data: Mapping[str, Any] | None = None,
) -> Transition:
    """A new entitlement, ACTIVE when the merchant activates at once, PENDING otherwise."""
    entitlement = Entitlement(
        entitlement_id=entitlement_id,
        status=Status.ACTIVE if activate_now else Status.PENDING,
        date_created=now,
        date_last_updated=now,
        date_activated=now if activate_now else None,
        customer_identifier=customer_identifier,
        merchant_account_key=merchant_account_key,
        product_key=product_key,
        offer_key=offer_key,
        entitlement_display_name=display_name,
        notification_url=notification_url,
        date_expiry=date_expiry,
        extension_data=dict(extension_data or {}),
    )
    return Transition(entitlement, NotificationType.ACTIVATION_SUCCESS if activate_now else None)


def activate(entitlement: Entitlement, now: datetime) -> Transition:
    """The merchant finished activation (with or without a user step)."""
    ensure_allowed(Move.ACTIVATE, entitlement)
    changed = replace(
        entitlement,
        status=Status.ACTIVE,
        date_activated=now,
        date_ended=None,
        date_last_updated=now,
    )
    return Transition(changed, NotificationType.ACTIVATION_SUCCESS)


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
    reason: Reason,
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


def cancel(
    entitlement: Entitlement, *, ends_at_period_end: bool, period_days: int, now: datetime
) -> Transition:
    """Soft end: ACTIVE-ENDING until the paid period is over, or CANCELLED at once.

    Only an ACTIVE entitlement has a paid period left to run; PENDING and SUSPENDED ones end
    at once.
    """
    ensure_allowed(Move.CANCEL, entitlement)
    if ends_at_period_end and entitlement.status is Status.ACTIVE:
        changed = replace(
            entitlement,
            status=Status.ACTIVE_ENDING,
            date_ended=period_end(entitlement, period_days, now),
            date_last_updated=now,
        )
        return Transition(changed, NotificationType.TERMINATION_PENDING)
    return _end(entitlement, Status.CANCELLED, now)


def revoke(entitlement: Entitlement, now: datetime) -> Transition:
    """Hard end: REVOKED at once."""
    ensure_allowed(Move.REVOKE, entitlement)
    return _end(entitlement, Status.REVOKED, now)


def end_period(entitlement: Entitlement, now: datetime) -> Transition:
    """An ACTIVE-ENDING entitlement reached its dateEnded."""
    ensure_allowed(Move.END_PERIOD, entitlement)
    changed = replace(entitlement, status=Status.CANCELLED, date_last_updated=now)
    return Transition(changed, NotificationType.TERMINATION_SUCCESS)


def expire(entitlement: Entitlement, reason: Reason, now: datetime) -> Transition:
    """dateExpiry was reached: the platform cancels with its own reason."""
    ensure_allowed(Move.EXPIRE, entitlement)
    return _end(with_reason(entitlement, CANCEL_REASON.keys, reason), Status.CANCELLED, now)


def merchant_end(
    entitlement: Entitlement, *, revoke: bool, reason: Reason | None, now: datetime
) -> Transition:
    """The merchant ended the entitlement on its side (user cancelled there, fraud, ...)."""
    ensure_allowed(Move.MERCHANT_REVOKE if revoke else Move.MERCHANT_CANCEL, entitlement)
    if reason is not None:
        entitlement = with_reason(entitlement, CANCEL_REASON.keys, reason)
    return _end(entitlement, Status.REVOKED if revoke else Status.CANCELLED, now)


def fail(entitlement: Entitlement, now: datetime) -> Transition:
    """The platform lost track of the merchant's state. No notification type covers it."""
    ensure_allowed(Move.FAIL, entitlement)
    return Transition(replace(entitlement, status=Status.FAILED, date_last_updated=now), None)


def _end(entitlement: Entitlement, status: Status, now: datetime) -> Transition:
    changed = replace(entitlement, status=status, date_ended=now, date_last_updated=now)
    return Transition(changed, NotificationType.TERMINATION_SUCCESS)


def suspend(entitlement: Entitlement, now: datetime) -> Transition:
    ensure_allowed(Move.SUSPEND, entitlement)
    changed = replace(
        entitlement, status=Status.SUSPENDED, date_suspended=now, date_last_updated=now
    )
    return Transition(changed, NotificationType.SUSPENSION_SUCCESS)


def resume(entitlement: Entitlement, now: datetime) -> Transition:
    ensure_allowed(Move.RESUME, entitlement)
    changed = replace(entitlement, status=Status.ACTIVE, date_resumed=now, date_last_updated=now)
    return Transition(changed, NotificationType.RESUMPTION_SUCCESS)


def reactivate(entitlement: Entitlement, *, needs_user_step: bool, now: datetime) -> Transition:
    """Bring a CANCELLED entitlement back: ACTIVE, or PENDING until the user signs up again."""
    ensure_allowed(Move.REACTIVATE, entitlement)
    if needs_user_step:
        changed = replace(
            entitlement,
            status=Status.PENDING,
            date_activated=None,
            date_ended=None,
            date_last_updated=now,
        )
        return Transition(changed, None)
    changed = replace(
        entitlement,
        status=Status.ACTIVE,
        date_activated=now,
        date_ended=None,
        date_last_updated=now,
    )
    return Transition(changed, NotificationType.ACTIVATION_SUCCESS)


def change_product(
    entitlement: Entitlement,
    *,
    product_key: str,
    display_name: str,
    needs_user_step: bool,
    now: datetime,
) -> Transition:
    """Move an ACTIVE entitlement to another product of the same merchant."""
    ensure_allowed(Move.CHANGE_PRODUCT, entitlement)
    changed = replace(
        entitlement,
        product_key=product_key,
        entitlement_display_name=display_name,
        date_last_updated=now,
    )
    if needs_user_step:
        changed = replace(changed, status=Status.PENDING, date_activated=None)
    return Transition(changed, NotificationType.PRODUCT_UPDATE)


# Record fields an update may change in any live status.
METADATA_FIELDS = (
    "notificationUrl",
    "dateExpiry",
    "customerIdentifier",
    "extensionData",
    "offerKey",
)


def update_metadata(
    entitlement: Entitlement, changes: Mapping[str, Any], now: datetime
) -> Transition:
    """Apply metadata changes (keys of METADATA_FIELDS, API names and JSON values).

    extensionData is merged key by key; a key set to null is removed.
    """
    ensure_allowed(Move.UPDATE_METADATA, entitlement)
    updated = entitlement
    if "notificationUrl" in changes:
        updated = replace(updated, notification_url=changes["notificationUrl"])
    if "dateExpiry" in changes:
        expiry = changes["dateExpiry"]
        updated = replace(updated, date_expiry=None if expiry is None else parse_time(expiry))
    if "customerIdentifier" in changes:
        updated = replace(updated, customer_identifier=changes["customerIdentifier"])
    if "offerKey" in changes:
        updated = replace(updated, offer_key=changes["offerKey"])
    if "extensionData" in changes:
        data = dict(updated.extension_data)
        for key, value in (changes["extensionData"] or {}).items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        updated = replace(updated, extension_data=data)
    if updated == entitlement:
        return Transition(entitlement, None)
    return Transition(replace(updated, date_last_updated=now), NotificationType.METADATA_UPDATE)
