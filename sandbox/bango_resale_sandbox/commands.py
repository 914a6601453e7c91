"""What a caller asks the service to do, as typed values (the edge reads them from the wire).

The service receives these and never a request body: field names, JSON types and RFC 3339
strings stay in `wire.py`. Values here are checked for shape already; whether the operation
is possible (status, product, pending work) is the service's to decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .domain import GivenReason, ReasonNames, checked_reason


@dataclass(frozen=True, slots=True)
class ReasonSent:
    """A reason's fields as the request sent them, not yet checked: the service checks them
    (`checked`) where the contract orders that check, after the entitlement is found, so that
    an unknown id stays a 404 whatever the reason."""

    names: ReasonNames
    category: object
    code: object
    description: object

    def checked(self) -> GivenReason:
        """The reason, or BAD_REQUEST when it is incomplete or not in the reason table."""
        return checked_reason(self.names, self.category, self.code, self.description)


class Benefits(StrEnum):
    """An update's `entitlementBenefits`: suspend or resume the entitlement."""

    SUSPENDED = "SUSPENDED"
    NORMAL = "NORMAL"


@dataclass(frozen=True, slots=True)
class CreateEntitlement:
    customer_identifier: str
    merchant_account_key: str
    product_key: str
    offer_key: str | None = None
    # The id the caller chose; None lets the sandbox pick one.
    entitlement_id: str | None = None
    notification_url: str | None = None
    date_expiry: datetime | None = None
    extension_data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QueryEntitlements:
    customer_identifier: str
    merchant_account_key: str | None = None
    product_key: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateEntitlement:
    """Metadata changes, a product change or a suspend/resume (benefits), or several."""

    entitlement_id: str
    # The metadata fields sent, in wire form: kept as sent because a 202'd update stores them
    # until the merchant confirms (`wire.apply_metadata` applies them).
    metadata: Mapping[str, Any] = field(default_factory=dict)
    product_key: str | None = None
    benefits: Benefits | None = None
    # A suspend's reason, when one was sent.
    reason: ReasonSent | None = None

    @property
    def operation(self) -> str:
        """The name the merchant's answers use: `suspend`, `resume` or `update`."""
        if self.benefits is Benefits.SUSPENDED:
            return "suspend"
        if self.benefits is Benefits.NORMAL:
            return "resume"
        return "update"


@dataclass(frozen=True, slots=True)
class EndEntitlement:
    """Cancel (soft end) or revoke (hard end) at the reseller's request."""

    entitlement_id: str
    revoke: bool
    reason: ReasonSent
    # Further properties sent with the reason; kept in extensionData.
    custom: Mapping[str, Any] = field(default_factory=dict)

    @property
    def operation(self) -> str:
        return "revoke" if self.revoke else "cancel"


@dataclass(frozen=True, slots=True)
class MerchantEnd:
    """The merchant ends an entitlement on its own initiative (a sandbox control)."""

    entitlement_id: str
    revoke: bool
    reason: ReasonSent | None = None


@dataclass(frozen=True, slots=True)
class RaiseEvent:
    """Make one of the status machine's platform events happen now (a sandbox control)."""

    entitlement_id: str
    event: str
    # For an end on the merchant's initiative: the reason it gives, when one was sent.
    reason: ReasonSent | None = None
