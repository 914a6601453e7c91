"""The wire format: request bodies read into commands, and the names and forms of the JSON the
API speaks (camelCase fields, RFC 3339 times, where reasons travel).

Bodies arrive here already valid against the operation's schema; what a schema cannot say
(an http(s) URL without user info, a representable date, size limits of extensionData) is
checked here and refused as BAD_REQUEST.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import bango_resale_spec as spec

from . import domain, limits
from .commands import (
    Benefits,
    CreateEntitlement,
    EndEntitlement,
    MerchantEnd,
    QueryEntitlements,
    UpdateEntitlement,
)
from .domain import GivenReason, ReasonNames


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

# The (category, code) pairs a request may give; two rows share REVOKED/OTHER.
REASON_PAIRS = frozenset(spec.accepted_reason_pairs())

# Record fields an update may change in any live status.
METADATA_FIELDS = (
    "notificationUrl",
    "dateExpiry",
    "customerIdentifier",
    "extensionData",
    "offerKey",
)


def apply_metadata(
    entitlement: domain.Entitlement, changes: Mapping[str, Any], now: datetime
) -> domain.Entitlement | None:
    """The record with metadata changes applied (keys of METADATA_FIELDS, JSON values); None
    when no value changes (nothing to notify).

    extensionData is merged key by key; a key set to null is removed.
    """
    updated = entitlement
    if "notificationUrl" in changes:
        updated = replace(updated, notification_url=changes["notificationUrl"])
    if "dateExpiry" in changes:
        expiry = changes["dateExpiry"]
        updated = replace(
            updated, date_expiry=None if expiry is None else domain.parse_time(expiry)
        )
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
    reason = _required_reason(body, fields)
    named = set(fields)
    custom = {k: v for k, v in body.items() if k not in named}
    return EndEntitlement(entitlement_id, revoke, reason, custom)


def merchant_end_command(
    entitlement_id: str, body: Mapping[str, Any] | None, *, revoke: bool
) -> MerchantEnd:
    return MerchantEnd(entitlement_id, revoke, _optional_reason(body or {}, MERCHANT_REASON_FIELDS))


def _required_reason(body: Mapping[str, Any], fields: ReasonNames) -> GivenReason:
    category, code = body.get(fields.category), body.get(fields.code)
    if not isinstance(category, str) or not isinstance(code, str):
        raise domain.bad_request(f"{fields.category} and {fields.code} are required")
    description = body.get(fields.description)
    return GivenReason(category, code, description if isinstance(description, str) else None)


def _optional_reason(body: Mapping[str, Any], fields: ReasonNames) -> GivenReason | None:
    if fields.category not in body and fields.code not in body:
        return None
    return _required_reason(body, fields)


def check_reason_pair(reason: GivenReason) -> None:
    """Refuse a pair that is not in the spec's reason table (a code alone is not enough)."""
    if (reason.category, reason.code) not in REASON_PAIRS:
        raise domain.bad_request(
            f"reason pair {reason.category}/{reason.code} is not in the standard reason table"
        )


def check_extension_data(data: Mapping[str, Any]) -> None:
    problem = limits.extension_data_problem(data)
    if problem is not None:
        raise domain.bad_request(problem)


def _time_field(body: Mapping[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        return domain.parse_time(value)
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
