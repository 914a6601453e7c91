"""Deliberate faults for testing the contract tests and the certification journeys: each one
breaks the API's contract in a way those tools should report. All are off unless switched on
with `--fault NAME` or `BANGO_SANDBOX_FAULTS=a,b`, and each is reached by ordinary traffic.

The reference sandbox knows nothing of them. Each fault is a subclass of the part of the
sandbox whose step it breaks (`wrappers.py`), overriding that one step; the app builds those
subclasses instead of the reference classes when the fault is switched on.

This module is the list of their names, and is kept light: the command line reads it before it
knows whether the server's dependencies are installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

ENVIRONMENT_VARIABLE = "BANGO_SANDBOX_FAULTS"

# Every fault: its name (what --fault takes) and what it breaks.
#
# To add one:
# 1. name it here and say in one line what it breaks;
# 2. in `wrappers.py`, subclass the part whose step it breaks (a service area of `services/`,
#    `StatusChanges`, `EntitlementHandlers`, `Envelopes` or `Pipeline`), override that step
#    and call `super()` for everything the fault leaves alone; list the class under the
#    same name in `wrappers.WRAPPERS` (a test checks both lists name the same faults);
# 3. show it reached by ordinary traffic in tests/sandbox/test_faults.py, and caught by the
#    contract check meant to catch it.
FAULTS: Mapping[str, str] = {
    "server_error": "Every create whose body has an offerKey gets a plain-text 500.",
    "extra_field": (
        "Single-entitlement responses gain a property the closed response schema does not allow."
    ),
    "wrong_response_code": "NOT_FOUND responses say responseCode OK while keeping HTTP 404.",
    "ignore_auth": (
        "getEntitlement without valid credentials answers as the first configured reseller."
    ),
    "illegal_transition": (
        "Cancel of a CANCELLED or REVOKED entitlement answers 200 OK instead of 409 NOT_AVAILABLE."
    ),
    "drop_cancel_reason": (
        "Cancel keeps its custom properties in extensionData but loses the reason pair and"
        " description."
    ),
    # These break behaviour the status machine (`x-status-machine`) prescribes.
    "wrong_notification_type": "METADATA_UPDATE notifications are sent as PRODUCT_UPDATE.",
    "skipped_notification": "TERMINATION_SUCCESS notifications are never sent.",
    "notifications_out_of_order": (
        "An ACTIVATION_SUCCESS is held back and sent after the entitlement's next notification."
    ),
    "unchanged_after_200": "A cancel the merchant answers at once says 200 OK but changes nothing.",
    "waiting_202_ignored": "A 202 waiting for the merchant no longer blocks other status changes.",
    # These break promises the spec makes in words (bango_resale_contract.promises).
    "query_ignores_status": "queryEntitlements ignores its status filter.",
    "request_id_not_echoed": "Answers do not echo X-RequestIdentifier.",
    "echo_mangled": "echo answers the id in upper case.",
    "create_drops_offer": "A create does not keep the offerKey it was sent.",
    "active_ending_without_end": "A cancel to the end of the period leaves dateEnded empty.",
    # These are bugs the contract suite once missed (issue 23), each now caught by a check.
    "cancel_drops_custom": (
        "A cancel keeps its reason in extensionData but drops the custom properties it was sent."
    ),
    "retry_after_missing": "A 429 TOO_MANY_REQUESTS carries no Retry-After.",
    "product_change_ignored": (
        "A product change answered 200 OK leaves the old productKey in the record."
    ),
    "extension_data_replaced": (
        "An update's extensionData replaces the record's instead of being merged into it."
    ),
    "query_drops_last": "queryEntitlements leaves out the last entitlement that matches.",
    "notification_status_stale": (
        "A status change's notifications carry the status from before the change."
    ),
    "confirmation_not_notified": (
        "A merchant's confirmation of a 202 sends none of its notifications."
    ),
}

KNOWN_FAULTS = frozenset(FAULTS)

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
