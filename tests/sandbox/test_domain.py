"""The status machine on its own: no HTTP, no storage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bango_resale_sandbox import domain
from bango_resale_sandbox.domain import (
    ALLOWED_FROM,
    DomainError,
    Entitlement,
    Move,
    NotificationType,
    Reason,
    ReasonTable,
    Status,
)
from bango_resale_spec import reason_rows, reason_storage_keys

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def entitlement(status: Status = Status.ACTIVE) -> Entitlement:
    created = domain.create(
        entitlement_id="e-1",
        customer_identifier="c",
        merchant_account_key="BANGO",
        product_key="BangoMusic",
        display_name="Bango Music",
        activate_now=True,
        now=NOW,
    ).entitlement
    return replace(created, status=status)


@pytest.mark.parametrize("move", list(Move))
@pytest.mark.parametrize("status", list(Status))
def test_every_move_is_refused_outside_its_allowed_statuses(move: Move, status: Status) -> None:
    current = entitlement(status)
    if status in ALLOWED_FROM[move]:
        domain.ensure_allowed(move, current)
        return
    with pytest.raises(DomainError) as refused:
        domain.ensure_allowed(move, current)
    expected = (
        "ALREADY_EXISTS"
        if move is Move.REACTIVATE and status in domain.LIVE_STATUSES
        else "NOT_AVAILABLE"
    )
    assert refused.value.response_code == expected


def test_nothing_but_reactivate_leaves_a_terminal_status() -> None:
    leaving = {m for m, allowed in ALLOWED_FROM.items() if allowed & domain.TERMINAL_STATUSES}
    assert leaving == {Move.REACTIVATE}


def test_cancel_at_period_end_keeps_access_until_the_period_is_over() -> None:
    later = NOW + timedelta(days=40)
    moved = domain.cancel(entitlement(), ends_at_period_end=True, period_days=30, now=later)
    assert moved.entitlement.status is Status.ACTIVE_ENDING
    assert moved.entitlement.date_ended == NOW + timedelta(days=60)
    assert moved.notification is NotificationType.TERMINATION_PENDING
    ended = domain.end_period(moved.entitlement, NOW + timedelta(days=60))
    assert (ended.entitlement.status, ended.notification) == (
        Status.CANCELLED,
        NotificationType.TERMINATION_SUCCESS,
    )


def test_cancel_of_a_suspended_entitlement_ends_at_once() -> None:
    moved = domain.cancel(
        entitlement(Status.SUSPENDED), ends_at_period_end=True, period_days=30, now=NOW
    )
    assert moved.entitlement.status is Status.CANCELLED
    assert moved.entitlement.date_ended == NOW


def test_reasons_and_custom_properties_land_in_extension_data() -> None:
    reason = Reason("CUSTOMER_CANCELLED", "NOT_RENEWED", "not renewed")
    changed = domain.with_reason(
        entitlement(), domain.CANCEL_REASON.keys, reason, {"ticket": "T-1"}
    )
    assert changed.extension_data == {
        "ticket": "T-1",
        "cancelReasonCategory": "CUSTOMER_CANCELLED",
        "cancelReasonCode": "NOT_RENEWED",
        "cancelReasonDescription": "not renewed",
    }


@pytest.mark.parametrize(
    ("slots", "schema"),
    [
        (domain.CANCEL_REASON, "TerminateEntitlementRequest"),
        (domain.SUSPEND_REASON, "SuspendEntitlementRequest"),
    ],
)
def test_reason_fields_and_keys_are_the_specs(slots: domain.ReasonSlots, schema: str) -> None:
    assert dict(zip(slots.fields, slots.keys, strict=True)) == dict(reason_storage_keys(schema))
    assert len(set(slots.keys)) == 3


def test_reason_table_accepts_pairs_not_codes_alone() -> None:
    table = ReasonTable((r.category, r.code) for r in reason_rows())
    assert len(table) == 22  # 23 rows, two of which share REVOKED/OTHER
    table.check("CUSTOMER_CHANGED", "CHANGED_SERVICE")
    table.check("CUSTOMER_CANCELLED", "CHANGED_SERVICE")
    with pytest.raises(DomainError) as refused:
        table.check("REVOKED", "CHANGED_SERVICE")
    assert refused.value.response_code == "BAD_REQUEST"


def test_metadata_update_merges_extension_data_and_only_notifies_on_change() -> None:
    current = domain.update_metadata(entitlement(), {"extensionData": {"a": 1, "b": 2}}, NOW)
    assert current.notification is NotificationType.METADATA_UPDATE
    merged = domain.update_metadata(current.entitlement, {"extensionData": {"a": None}}, NOW)
    assert merged.entitlement.extension_data == {"b": 2}
    unchanged = domain.update_metadata(merged.entitlement, {"offerKey": None}, NOW)
    assert unchanged.notification is None


def test_record_round_trips_through_its_json_form() -> None:
    original = domain.update_metadata(
        entitlement(), {"dateExpiry": "2027-01-01T00:00:00Z", "extensionData": {"k": [1]}}, NOW
    ).entitlement
    assert Entitlement.from_record(original.to_record()) == original
    assert original.to_record()["dateExpiry"] == "2027-01-01T00:00:00.000Z"
