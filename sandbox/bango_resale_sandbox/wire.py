"""The wire format: request bodies read into commands, and the names and forms of the JSON the
API speaks (camelCase fields, RFC 3339 times, where reasons travel).

Bodies arrive here already valid against the operation's schema; what a schema cannot say
(an http(s) URL without user info, a representable date, size limits of extensionData) is
checked here and refused as BAD_REQUEST.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import bango_resale_spec as spec

from . import _json, domain, limits
from .commands import (
    Benefits,
    CreateEntitlement,
    EndEntitlement,
    MerchantEnd,
    QueryEntitlements,
    RaiseEvent,
    ReasonSent,
    UpdateEntitlement,
)
from .domain import Entitlement, ReasonNames, Status


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
# The merchant controls' optional reason (sandbox spec), stored like a cancel's.
MERCHANT_REASON_FIELDS = ReasonNames("reasonCategory", "reasonCode", "reasonDescription")

# Record fields an update may change in any live status.
METADATA_FIELDS = (
    "notificationUrl",
    "dateExpiry",
    "customerIdentifier",
    "extensionData",
    "offerKey",
)


def apply_metadata(
    entitlement: Entitlement, changes: Mapping[str, Any], now: datetime
) -> Entitlement | None:
    """The record with metadata changes applied (keys of METADATA_FIELDS, JSON values); None
    when no value changes (nothing to notify).

    extensionData is merged key by key; a key set to null is removed.
    """
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
        return None
    return replace(updated, date_last_updated=now)


# -- times and records ------------------------------------------------------------------------


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with millisecond precision, the form every record uses."""
    # isoformat pads the year to four digits and cuts (not rounds) to milliseconds; it is
    # several times faster than strftime, and a record carries up to seven times.
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    return utc.isoformat(timespec="milliseconds")[:-6] + "Z"  # "+00:00" becomes "Z"


def format_epoch(epoch: float) -> str:
    return format_time(datetime.fromtimestamp(epoch, UTC))


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 date-time; naive values are taken as UTC.

    Whatever the spec's `format: date-time` accepts is taken: lower-case `t` and `z`; a leap
    second (`23:59:60`), read as the instant after `23:59:59` as POSIX time does; and an
    instant that year 0000 or a UTC offset puts outside the years 1 to 9999, kept as the
    nearest one inside (as an expiry, one that long ago or ahead means the same).
    """
    try:
        moment = datetime.fromisoformat(text)
        leap = False
    except ValueError:
        upper = text.upper()
        leap = upper[16:19] == ":60"
        if leap:
            upper = upper[:17] + "59" + upper[19:]
        if upper.startswith("0000-"):
            return _EARLIEST
        moment = datetime.fromisoformat(upper)
    if not moment.tzinfo:
        moment = moment.replace(tzinfo=UTC)
    try:
        utc = moment.astimezone(UTC)
        return utc + timedelta(seconds=1) if leap else utc
    except OverflowError:
        # Only the first and the last representable day can cross the edge.
        return _EARLIEST if moment.year == 1 else _LATEST


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def record_of(entitlement: Entitlement) -> dict[str, Any]:
    """The record as the API shows it (camelCase keys, RFC 3339 times). Do not change it: the
    last one is kept, since a write stores, notifies and answers the same record."""
    global _last_record
    last = _last_record  # read once: sandboxes in threads of one process share the module
    if last[0] is entitlement:
        return last[1]

    def when(moment: datetime | None) -> str | None:
        return None if moment is None else format_time(moment)

    record = {
        "entitlementId": entitlement.entitlement_id,
        "status": entitlement.status.value,
        "dateCreated": format_time(entitlement.date_created),
        "dateActivated": when(entitlement.date_activated),
        "dateEnded": when(entitlement.date_ended),
        "dateSuspended": when(entitlement.date_suspended),
        "dateResumed": when(entitlement.date_resumed),
        "dateLastUpdated": format_time(entitlement.date_last_updated),
        "dateExpiry": when(entitlement.date_expiry),
        "customerIdentifier": entitlement.customer_identifier,
        "merchantAccountKey": entitlement.merchant_account_key,
        "productKey": entitlement.product_key,
        "offerKey": entitlement.offer_key,
        "activationCode": entitlement.activation_code,
        "entitlementDisplayName": entitlement.entitlement_display_name,
        "notificationUrl": entitlement.notification_url,
        "extensionData": dict(entitlement.extension_data),
    }
    _last_record = (entitlement, record)
    return record


def record_json(entitlement: Entitlement) -> bytes:
    """`record_of` as JSON bytes (the last one is kept too)."""
    global _last_json
    last = _last_json  # read once, as in record_of
    if last[0] is not entitlement:
        last = _last_json = (entitlement, _json.dumps(record_of(entitlement)))
    return last[1]


_last_record: tuple[Entitlement | None, dict[str, Any]] = (None, {})
_last_json: tuple[Entitlement | None, bytes] = (None, b"")


def entitlement_of(record: Mapping[str, Any]) -> Entitlement:
    """The inverse of `record_of`."""

    def when(key: str) -> datetime | None:
        value = record.get(key)
        return None if value is None else parse_time(value)

    return Entitlement(
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


def entitlement_from_json(stored: bytes) -> Entitlement:
    return entitlement_of(_json.loads(stored))


def record_envelope(
    code: str, message: str, record: bytes, tail: Mapping[str, Any] | None = None
) -> bytes:
    """`{"responseCode", "responseMessage", <the record's fields>, <tail's fields>}` from the
    record's JSON, spliced rather than parsed and written again."""
    head = _json.dumps({"responseCode": code, "responseMessage": message})
    body = head[:-1] + b"," + record[1:]
    if tail:
        body = body[:-1] + b"," + _json.dumps(tail)[1:]
    return body


# -- requests into commands -------------------------------------------------------------------


def create_command(body: Mapping[str, Any]) -> CreateEntitlement:
    extension_data = body.get("extensionData") or {}
    check_extension_data(extension_data)
    return CreateEntitlement(
        customer_identifier=body["customerIdentifier"],
        merchant_account_key=body["merchantAccountKey"],
        product_key=body["productKey"],
        offer_key=body.get("offerKey"),
        entitlement_id=body.get("entitlementId"),
        notification_url=_url_field(body, "notificationUrl"),
        date_expiry=_time_field(body, "dateExpiry"),
        extension_data=extension_data,
    )


def query_command(body: Mapping[str, Any]) -> QueryEntitlements:
    return QueryEntitlements(
        customer_identifier=body["customerIdentifier"],
        merchant_account_key=body.get("merchantAccountKey"),
        product_key=body.get("productKey"),
        status=body.get("status"),
    )


def update_command(body: Mapping[str, Any]) -> UpdateEntitlement:
    metadata = {k: body[k] for k in METADATA_FIELDS if k in body}
    if "dateExpiry" in metadata:
        _time_field(body, "dateExpiry")
    if "notificationUrl" in metadata:
        _url_field(body, "notificationUrl")
    benefits = body.get("entitlementBenefits")
    benefits = None if benefits is None else Benefits(benefits)
    reason = None
    if benefits is Benefits.SUSPENDED:
        reason = _optional_reason(body, SUSPEND_REASON.fields)
    return UpdateEntitlement(
        entitlement_id=body["entitlementId"],
        metadata=metadata,
        product_key=body.get("productKey"),
        benefits=benefits,
        reason=reason,
    )


def end_command(entitlement_id: str, body: Mapping[str, Any], *, revoke: bool) -> EndEntitlement:
    fields = CANCEL_REASON.fields
    reason = _sent_reason(body, fields)
    named = set(fields)
    custom = {k: v for k, v in body.items() if k not in named}
    return EndEntitlement(entitlement_id, revoke, reason, custom)


def merchant_end_command(
    entitlement_id: str, body: Mapping[str, Any] | None, *, revoke: bool
) -> MerchantEnd:
    return MerchantEnd(entitlement_id, revoke, _optional_reason(body or {}, MERCHANT_REASON_FIELDS))


def event_command(entitlement_id: str, event: str, body: Mapping[str, Any] | None) -> RaiseEvent:
    return RaiseEvent(entitlement_id, event, _optional_reason(body or {}, MERCHANT_REASON_FIELDS))


def _sent_reason(body: Mapping[str, Any], names: ReasonNames) -> ReasonSent:
    return ReasonSent(
        names, body.get(names.category), body.get(names.code), body.get(names.description)
    )


def _optional_reason(body: Mapping[str, Any], names: ReasonNames) -> ReasonSent | None:
    if names.category not in body and names.code not in body:
        return None
    return _sent_reason(body, names)


def check_extension_data(data: Mapping[str, Any]) -> None:
    problem = limits.extension_data_problem(data)
    if problem is not None:
        raise domain.bad_request(problem)


def _time_field(body: Mapping[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        return parse_time(value)
    except (TypeError, ValueError):
        raise domain.bad_request(f"{name}: {value!r} is not an RFC 3339 date-time") from None


def _url_field(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
        raise domain.bad_request(f"{name}: {value!r} is not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        # Credentials in the URL would be stored, echoed in every notification and override
        # the reseller's configured notification authentication.
        raise domain.bad_request(
            f"{name}: must not contain user info (user:password@); the platform authenticates"
            " to your receiver with the credentials configured for your account"
        )
    return str(value)
