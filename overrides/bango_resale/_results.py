"""What a successful call returns: the entitlement record and how the platform answered."""

from __future__ import annotations

import datetime
import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import bango_resale_spec as spec

from ._actions import ClientAction
from ._errors import InvalidArgumentError


class Outcome(enum.StrEnum):
    """How a successful request came back."""

    #: HTTP 200 `OK`: done, the record shows the final state.
    FINAL = "final"
    #: HTTP 201 `OK`: create accepted, the entitlement is `PENDING`, nothing for you to do.
    CREATED = "created"
    #: HTTP 202 `OK`: accepted; the merchant finishes later and a notification reports it.
    ACCEPTED = "accepted"
    #: HTTP 202 `CLIENT_ACTION_REQUIRED`: you must perform `client_action`.
    ACTION_REQUIRED = "action_required"


@functools.cache
def _terminal_statuses() -> frozenset[str]:
    return frozenset(spec.terminal_statuses())


@functools.cache
def _known_statuses() -> frozenset[str]:
    return frozenset(spec.entitlement_statuses())


# The client's method for each operation on an existing entitlement, and the operation (and
# update body) it sends: what the status machine's rows are keyed by.
_OPERATIONS: Mapping[str, tuple[str, str | None]] = {
    "update": ("updateEntitlement", "EntitlementChanges"),
    "change_product": ("updateEntitlement", spec.PRODUCT_CHANGE),
    "suspend": ("updateEntitlement", "SuspendEntitlementRequest"),
    "resume": ("updateEntitlement", "ResumeEntitlementRequest"),
    "cancel": ("cancelEntitlement", None),
    "revoke": ("revokeEntitlement", None),
    "activation_info": ("getActivationInfo", None),
    "reactivate": ("reactivateEntitlement", None),
}


@functools.cache
def _allowed_from(operation: str) -> frozenset[str]:
    operation_id, request = _OPERATIONS[operation]
    return frozenset(spec.status_machine().allowed_from(operation_id, request))


@dataclass(frozen=True, slots=True)
class Entitlement:
    """An entitlement record. `status` is a plain string so unknown future values survive."""

    entitlement_id: str
    status: str
    customer_identifier: str
    merchant_account_key: str
    product_key: str
    date_created: datetime.datetime
    date_last_updated: datetime.datetime
    date_activated: datetime.datetime | None = None
    date_ended: datetime.datetime | None = None
    date_suspended: datetime.datetime | None = None
    date_resumed: datetime.datetime | None = None
    date_expiry: datetime.datetime | None = None
    offer_key: str | None = None
    activation_code: str | None = None
    display_name: str | None = None
    notification_url: str | None = None
    extension_data: Mapping[str, Any] = field(default_factory=dict)
    #: The JSON object the record was read from, as the platform sent it (`None` for a record
    #: built in code). For a single entitlement's answer that is the whole answer, envelope
    #: included, since the record's fields sit beside `responseCode`.
    sent: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def is_terminal(self) -> bool:
        """True for statuses only the deprecated reactivate can leave (`CANCELLED`, `REVOKED`)."""
        return self.status in _terminal_statuses()

    @property
    def has_known_status(self) -> bool:
        """False when the platform sent a status this client version does not know."""
        return self.status in _known_statuses()

    def allows(self, operation: str) -> bool:
        """Whether the contract accepts `operation` (a method name of the client: `cancel`,
        `revoke`, `suspend`, `resume`, `update`, `change_product`, `activation_info`,
        `reactivate`) in this record's status, read from the spec's status machine.

        An answer about the status, not a promise: the merchant may still refuse, and while
        a 202 waits only changes that leave the status alone are accepted. A status this
        client does not know allows nothing.
        """
        if operation not in _OPERATIONS:
            raise InvalidArgumentError(
                "operation",
                f"{operation!r} is not an operation on an entitlement; use one of"
                f" {', '.join(_OPERATIONS)}",
            )
        return self.status in _allowed_from(operation)

    @property
    def allowed_operations(self) -> tuple[str, ...]:
        """The operations `allows` says yes to, in the client's method order."""
        return tuple(name for name in _OPERATIONS if self.allows(name))

    def to_json(self) -> dict[str, Any]:
        """The record in the API's own field names, dates as ISO 8601 strings: the very strings
        the platform sent (`2026-12-06T00:37:21.456Z` stays so) for a record read from an
        answer, unless the date was changed since."""
        sent = self.sent or {}

        def stamp(value: datetime.datetime | None, key: str) -> str | None:
            if value is None:
                return None
            text = sent.get(key)
            if isinstance(text, str) and _same_instant(text, value):
                return text
            return value.isoformat()

        return {
            "entitlementId": self.entitlement_id,
            "status": self.status,
            "customerIdentifier": self.customer_identifier,
            "merchantAccountKey": self.merchant_account_key,
            "productKey": self.product_key,
            "offerKey": self.offer_key,
            "dateCreated": stamp(self.date_created, "dateCreated"),
            "dateActivated": stamp(self.date_activated, "dateActivated"),
            "dateEnded": stamp(self.date_ended, "dateEnded"),
            "dateSuspended": stamp(self.date_suspended, "dateSuspended"),
            "dateResumed": stamp(self.date_resumed, "dateResumed"),
            "dateLastUpdated": stamp(self.date_last_updated, "dateLastUpdated"),
            "dateExpiry": stamp(self.date_expiry, "dateExpiry"),
            "activationCode": self.activation_code,
            "entitlementDisplayName": self.display_name,
            "notificationUrl": self.notification_url,
            "extensionData": dict(self.extension_data),
        }


def _same_instant(text: str, value: datetime.datetime) -> bool:
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return False
    return parsed == value and parsed.utcoffset() == value.utcoffset()


@dataclass(frozen=True, slots=True)
class EntitlementResult:
    """A successful answer about one entitlement.

    `outcome` tells final (200) from created (201), accepted (202 `OK`) and action required
    (202 `CLIENT_ACTION_REQUIRED`); `client_action` is set whenever the answer carried
    `parameters` (with action required, and with activation info).
    """

    entitlement: Entitlement
    outcome: Outcome
    http_status: int
    response_code: str
    response_message: str
    request_identifier: str | None
    client_action: ClientAction | None = None

    @property
    def is_final(self) -> bool:
        return self.outcome is Outcome.FINAL

    @property
    def is_pending_notification(self) -> bool:
        """True when the merchant finishes later and a notification will report the change."""
        return self.outcome is Outcome.ACCEPTED

    @property
    def requires_action(self) -> bool:
        return self.outcome is Outcome.ACTION_REQUIRED


@dataclass(frozen=True, slots=True)
class EchoResult:
    """The answer to `echo`: the id sent, as the platform returned it."""

    echo: str
    response_code: str
    response_message: str
    request_identifier: str | None
