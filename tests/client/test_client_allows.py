"""`Entitlement.allows`: what the contract's status machine accepts in a record's status."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bango_resale import InvalidArgumentError
from bango_resale.testing import sample_entitlement

ALL = (
    "update",
    "change_product",
    "suspend",
    "resume",
    "cancel",
    "revoke",
    "activation_info",
    "reactivate",
)


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        ("PENDING", {"update", "cancel", "revoke", "activation_info"}),
        ("ACTIVE", {"update", "change_product", "suspend", "cancel", "revoke"}),
        ("ACTIVE-ENDING", {"update", "revoke"}),
        ("SUSPENDED", {"update", "resume", "cancel", "revoke"}),
        ("CANCELLED", {"reactivate"}),
        ("REVOKED", set()),
        ("FAILED", set()),
        # A status this client does not know promises nothing.
        ("DORMANT", set()),
    ],
)
def test_each_status_allows_what_the_contract_says(status: str, allowed: set[str]) -> None:
    entitlement = replace(sample_entitlement(), status=status)
    assert {name for name in ALL if entitlement.allows(name)} == allowed
    assert set(entitlement.allowed_operations) == allowed


def test_an_unknown_operation_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        sample_entitlement().allows("terminate")
    assert refused.value.field == "operation"
    assert "cancel" in str(refused.value) and "reactivate" in str(refused.value)
