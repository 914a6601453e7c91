"""`X-Magic-Number`: a request header that forces the mocked merchant's answer.

Bango's sandbox defines the create and activation-info values; the rest follow the same
naming pattern and are this sandbox's own. A value meant for another operation is ignored,
an unknown value is a BAD_REQUEST that lists the known ones.
"""

from __future__ import annotations

from enum import StrEnum


class MagicNumber(StrEnum):
    """Every value `X-Magic-Number` accepts."""

    CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED = "CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED"
    CREATE_REQUEST_RETURNS_CREATED = "CREATE_REQUEST_RETURNS_CREATED"
    CREATE_REQUEST_RETURNS_ACTIVATED = "CREATE_REQUEST_RETURNS_ACTIVATED"
    CREATE_REQUEST_RETURNS_NOT_AVAILABLE = "CREATE_REQUEST_RETURNS_NOT_AVAILABLE"
    ACTIVATION_INFO_RETURNS_ACTIVATION_URL = "ACTIVATION_INFO_RETURNS_ACTIVATION_URL"
    ACTIVATION_INFO_RETURNS_ACTIVATION_CODE = "ACTIVATION_INFO_RETURNS_ACTIVATION_CODE"
    CANCEL_REQUEST_RETURNS_ACCEPTED = "CANCEL_REQUEST_RETURNS_ACCEPTED"
    CANCEL_REQUEST_RETURNS_NOT_AVAILABLE = "CANCEL_REQUEST_RETURNS_NOT_AVAILABLE"
    REVOKE_REQUEST_RETURNS_ACCEPTED = "REVOKE_REQUEST_RETURNS_ACCEPTED"
    REVOKE_REQUEST_RETURNS_NOT_AVAILABLE = "REVOKE_REQUEST_RETURNS_NOT_AVAILABLE"
    SUSPEND_REQUEST_RETURNS_ACCEPTED = "SUSPEND_REQUEST_RETURNS_ACCEPTED"
    SUSPEND_REQUEST_RETURNS_NOT_AVAILABLE = "SUSPEND_REQUEST_RETURNS_NOT_AVAILABLE"
    RESUME_REQUEST_RETURNS_ACCEPTED = "RESUME_REQUEST_RETURNS_ACCEPTED"
    RESUME_REQUEST_RETURNS_NOT_AVAILABLE = "RESUME_REQUEST_RETURNS_NOT_AVAILABLE"
    UPDATE_REQUEST_RETURNS_ACCEPTED = "UPDATE_REQUEST_RETURNS_ACCEPTED"
    UPDATE_REQUEST_RETURNS_NOT_AVAILABLE = "UPDATE_REQUEST_RETURNS_NOT_AVAILABLE"
    UPDATE_REQUEST_RETURNS_ACTIVATION_REQUIRED = "UPDATE_REQUEST_RETURNS_ACTIVATION_REQUIRED"
    REACTIVATE_REQUEST_RETURNS_ACCEPTED = "REACTIVATE_REQUEST_RETURNS_ACCEPTED"
    REACTIVATE_REQUEST_RETURNS_NOT_AVAILABLE = "REACTIVATE_REQUEST_RETURNS_NOT_AVAILABLE"
    REACTIVATE_REQUEST_RETURNS_ACTIVATION_REQUIRED = (
        "REACTIVATE_REQUEST_RETURNS_ACTIVATION_REQUIRED"
    )
    ANY_REQUEST_RETURNS_INTERNAL_ERROR = "ANY_REQUEST_RETURNS_INTERNAL_ERROR"
    ANY_REQUEST_RETURNS_SERVICE_UNAVAILABLE = "ANY_REQUEST_RETURNS_SERVICE_UNAVAILABLE"
    ANY_REQUEST_RETURNS_TOO_MANY_REQUESTS = "ANY_REQUEST_RETURNS_TOO_MANY_REQUESTS"


# What each value does, for the sandbox spec, the README and the error message.
EFFECTS: dict[MagicNumber, str] = {
    MagicNumber.CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED: (
        "create: 202 CLIENT_ACTION_REQUIRED, PENDING, NAVIGATE_TO_URL to the activation page"
    ),
    MagicNumber.CREATE_REQUEST_RETURNS_CREATED: (
        "create: 201 OK, PENDING; the merchant activates later (control endpoint `complete`)"
    ),
    MagicNumber.CREATE_REQUEST_RETURNS_ACTIVATED: (
        "create: 200 OK, ACTIVE at once, ACTIVATION_SUCCESS notification"
    ),
    MagicNumber.CREATE_REQUEST_RETURNS_NOT_AVAILABLE: ("create: 409 NOT_AVAILABLE, nothing stored"),
    MagicNumber.ACTIVATION_INFO_RETURNS_ACTIVATION_URL: (
        "activation info: 200 OK with parameters (NAVIGATE_TO_URL, url, urlExpiry)"
    ),
    MagicNumber.ACTIVATION_INFO_RETURNS_ACTIVATION_CODE: (
        "activation info: 200 OK with activationCode set on the record"
    ),
    MagicNumber.CANCEL_REQUEST_RETURNS_ACCEPTED: (
        "cancel: 202 OK, status unchanged until the merchant confirms"
    ),
    MagicNumber.CANCEL_REQUEST_RETURNS_NOT_AVAILABLE: ("cancel: 409 NOT_AVAILABLE, no change"),
    MagicNumber.REVOKE_REQUEST_RETURNS_ACCEPTED: (
        "revoke: 202 OK, status unchanged until the merchant confirms"
    ),
    MagicNumber.REVOKE_REQUEST_RETURNS_NOT_AVAILABLE: ("revoke: 409 NOT_AVAILABLE, no change"),
    MagicNumber.SUSPEND_REQUEST_RETURNS_ACCEPTED: (
        "suspend (update with entitlementBenefits SUSPENDED): 202 OK, then SUSPENSION_SUCCESS"
    ),
    MagicNumber.SUSPEND_REQUEST_RETURNS_NOT_AVAILABLE: ("suspend: 409 NOT_AVAILABLE, no change"),
    MagicNumber.RESUME_REQUEST_RETURNS_ACCEPTED: (
        "resume (update with entitlementBenefits NORMAL): 202 OK, then RESUMPTION_SUCCESS"
    ),
    MagicNumber.RESUME_REQUEST_RETURNS_NOT_AVAILABLE: ("resume: 409 NOT_AVAILABLE, no change"),
    MagicNumber.UPDATE_REQUEST_RETURNS_ACCEPTED: (
        "update: 202 OK, changes applied when the merchant confirms"
    ),
    MagicNumber.UPDATE_REQUEST_RETURNS_NOT_AVAILABLE: ("update: 409 NOT_AVAILABLE, no change"),
    MagicNumber.UPDATE_REQUEST_RETURNS_ACTIVATION_REQUIRED: (
        "update with a productKey change: 202 CLIENT_ACTION_REQUIRED, PENDING until sign-up"
    ),
    MagicNumber.REACTIVATE_REQUEST_RETURNS_ACCEPTED: (
        "reactivate: 202 OK, status unchanged until the merchant confirms"
    ),
    MagicNumber.REACTIVATE_REQUEST_RETURNS_NOT_AVAILABLE: (
        "reactivate: 409 NOT_AVAILABLE, no change"
    ),
    MagicNumber.REACTIVATE_REQUEST_RETURNS_ACTIVATION_REQUIRED: (
        "reactivate: 202 CLIENT_ACTION_REQUIRED, PENDING, NAVIGATE_TO_URL"
    ),
    MagicNumber.ANY_REQUEST_RETURNS_INTERNAL_ERROR: (
        "any API operation: 500 INTERNAL_ERROR, no effect"
    ),
    MagicNumber.ANY_REQUEST_RETURNS_SERVICE_UNAVAILABLE: (
        "any API operation: 503 SERVICE_UNAVAILABLE with Retry-After, no effect"
    ),
    MagicNumber.ANY_REQUEST_RETURNS_TOO_MANY_REQUESTS: (
        "any API operation: 429 TOO_MANY_REQUESTS with Retry-After, no effect"
    ),
}

_BY_VALUE = {m.value: m for m in MagicNumber}


class UnknownMagicNumber(ValueError):
    """The header carried a value this sandbox does not know."""


def parse(value: str | None) -> MagicNumber | None:
    """The header's value as a MagicNumber; None when absent. An empty value is unknown: the
    sandbox spec's MagicNumber schema is an enum without ""."""
    if value is None:
        return None
    found = _BY_VALUE.get(value.strip())
    if found is None:
        raise UnknownMagicNumber(
            f"X-Magic-Number {value!r} is unknown; known values: " + ", ".join(_BY_VALUE)
        )
    return found
