"""Deliberate faults for testing the contract tests and the certification journeys: each one
breaks the API's contract in a way those tools should report. All are off unless switched on
with `--fault NAME` or `BANGO_SANDBOX_FAULTS=a,b`, and each is reached by ordinary traffic.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

ENVIRONMENT_VARIABLE = "BANGO_SANDBOX_FAULTS"

# Every create whose body has an offerKey gets a plain-text 500.
SERVER_ERROR = "server_error"
# Single-entitlement responses gain a property the closed response schema does not allow.
EXTRA_FIELD = "extra_field"
# NOT_FOUND responses say responseCode OK while keeping HTTP 404.
WRONG_RESPONSE_CODE = "wrong_response_code"
# getEntitlement without valid credentials answers as the first configured reseller.
IGNORE_AUTH = "ignore_auth"
# Cancel of a CANCELLED or REVOKED entitlement answers 200 OK instead of 409 NOT_AVAILABLE.
ILLEGAL_TRANSITION = "illegal_transition"
# Cancel keeps its custom properties in extensionData but loses the reason pair and description.
DROP_CANCEL_REASON = "drop_cancel_reason"

# The faults below break behaviour the status machine (`x-status-machine`) prescribes.
# METADATA_UPDATE notifications are sent as PRODUCT_UPDATE.
WRONG_NOTIFICATION_TYPE = "wrong_notification_type"
# TERMINATION_SUCCESS notifications are never sent.
SKIPPED_NOTIFICATION = "skipped_notification"
# An ACTIVATION_SUCCESS is held back and sent after the entitlement's next notification.
NOTIFICATIONS_OUT_OF_ORDER = "notifications_out_of_order"
# A cancel the merchant answers at once says 200 OK but changes nothing.
UNCHANGED_AFTER_200 = "unchanged_after_200"

# A 202 waiting for the merchant no longer blocks other status changes.
WAITING_202_IGNORED = "waiting_202_ignored"

# The faults below break promises the spec makes in words (bango_resale_contract.promises).
# queryEntitlements ignores its status filter.
QUERY_IGNORES_STATUS = "query_ignores_status"
# Answers do not echo X-RequestIdentifier.
REQUEST_ID_NOT_ECHOED = "request_id_not_echoed"
# echo answers the id in upper case.
ECHO_MANGLED = "echo_mangled"
# A create does not keep the offerKey it was sent.
CREATE_DROPS_OFFER = "create_drops_offer"
# A cancel to the end of the period leaves dateEnded empty.
ACTIVE_ENDING_WITHOUT_END = "active_ending_without_end"

KNOWN_FAULTS = frozenset(
    {
        SERVER_ERROR,
        EXTRA_FIELD,
        WRONG_RESPONSE_CODE,
        IGNORE_AUTH,
        ILLEGAL_TRANSITION,
        DROP_CANCEL_REASON,
        WRONG_NOTIFICATION_TYPE,
        SKIPPED_NOTIFICATION,
        NOTIFICATIONS_OUT_OF_ORDER,
        UNCHANGED_AFTER_200,
        WAITING_202_IGNORED,
        QUERY_IGNORES_STATUS,
        REQUEST_ID_NOT_ECHOED,
        ECHO_MANGLED,
        CREATE_DROPS_OFFER,
        ACTIVE_ENDING_WITHOUT_END,
    }
)

# The property EXTRA_FIELD adds; no schema of the partner spec declares it.
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
