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

KNOWN_FAULTS = frozenset(
    {
        SERVER_ERROR,
        EXTRA_FIELD,
        WRONG_RESPONSE_CODE,
        IGNORE_AUTH,
        ILLEGAL_TRANSITION,
        DROP_CANCEL_REASON,
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
