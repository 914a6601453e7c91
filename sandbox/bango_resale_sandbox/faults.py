"""Deliberate faults for testing the contract tests and the certification journeys: each one
breaks the API's contract in a way those tools should report. All are off unless switched on
with `--fault NAME` or `BANGO_SANDBOX_FAULTS=a,b`, and each is reached by ordinary traffic.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, fields

ENVIRONMENT_VARIABLE = "BANGO_SANDBOX_FAULTS"


@dataclass(frozen=True, slots=True)
class Faults:
    """The deliberate faults switched on: one flag per fault, the one list of their names."""

    # Every create whose body has an offerKey gets a plain-text 500.
    server_error: bool = False
    # Single-entitlement responses gain a property the closed response schema does not allow.
    extra_field: bool = False
    # NOT_FOUND responses say responseCode OK while keeping HTTP 404.
    wrong_response_code: bool = False
    # getEntitlement without valid credentials answers as the first configured reseller.
    ignore_auth: bool = False
    # Cancel of a CANCELLED or REVOKED entitlement answers 200 OK instead of 409 NOT_AVAILABLE.
    illegal_transition: bool = False
    # Cancel keeps its custom properties in extensionData but loses the reason pair and
    # description.
    drop_cancel_reason: bool = False

    # The faults below break behaviour the status machine (`x-status-machine`) prescribes.
    # METADATA_UPDATE notifications are sent as PRODUCT_UPDATE.
    wrong_notification_type: bool = False
    # TERMINATION_SUCCESS notifications are never sent.
    skipped_notification: bool = False
    # An ACTIVATION_SUCCESS is held back and sent after the entitlement's next notification.
    notifications_out_of_order: bool = False
    # A cancel the merchant answers at once says 200 OK but changes nothing.
    unchanged_after_200: bool = False
    # A 202 waiting for the merchant no longer blocks other status changes.
    waiting_202_ignored: bool = False

    # The faults below break promises the spec makes in words (bango_resale_contract.promises).
    # queryEntitlements ignores its status filter.
    query_ignores_status: bool = False
    # Answers do not echo X-RequestIdentifier.
    request_id_not_echoed: bool = False
    # echo answers the id in upper case.
    echo_mangled: bool = False
    # A create does not keep the offerKey it was sent.
    create_drops_offer: bool = False
    # A cancel to the end of the period leaves dateEnded empty.
    active_ending_without_end: bool = False

    @classmethod
    def of(cls, names: Iterable[str]) -> Faults:
        """From fault names as `parse_faults` accepts them."""
        return cls(**{name: True for name in parse_faults(names)})


KNOWN_FAULTS = frozenset(field.name for field in fields(Faults))

# The property `extra_field` adds; no schema of the partner spec declares it.
EXTRA_FIELD_NAME = "sandboxInternalRevision"


def parse_faults(names: Iterable[str]) -> frozenset[str]:
    """Validate fault names (comma-separated items allowed); raise ValueError on unknown ones."""
    faults = frozenset(part.strip() for name in names for part in name.split(",") if part.strip())
    if unknown := faults - KNOWN_FAULTS:
        raise ValueError(
            f"unknown fault(s) {sorted(unknown)}; known: {', '.join(sorted(KNOWN_FAULTS))}"
        )
    return faults


def faults_from_environment() -> frozenset[str]:
    """The faults named in BANGO_SANDBOX_FAULTS."""
    return parse_faults([os.environ.get(ENVIRONMENT_VARIABLE, "")])
