"""The status machine on its own: no HTTP, no storage."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import bango_resale_spec as spec
from bango_resale_sandbox import domain, wire
from bango_resale_sandbox.domain import DomainError, Entitlement, GivenReason, Status
from bango_resale_spec import reason_storage_keys

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
MACHINE = spec.status_machine()
LIFE = domain.Lifecycle(MACHINE)


def entitlement(status: Status = Status.ACTIVE) -> Entitlement:
    created = domain.new_entitlement(
        entitlement_id="e-1",
        customer_identifier="c",
        merchant_account_key="BANGO",
        product_key="BangoMusic",
        display_name="Bango Music",
        now=NOW,
    )
    return replace(created, status=status)


def test_the_sandbox_status_enum_is_the_specs() -> None:
    assert [s.value for s in Status] == list(spec.entitlement_statuses())


def test_the_events_the_sandbox_raises_are_the_tables() -> None:
    raised = {
        domain.ACTIVATION_COMPLETED,
        domain.MERCHANT_CONFIRMED,
        domain.PAID_PERIOD_ENDED,
        domain.EXPIRY_REACHED,
        domain.MERCHANT_CANCELLED,
        domain.MERCHANT_REVOKED,
        domain.MERCHANT_STATE_LOST,
    }
    assert raised == set(MACHINE.events())


@pytest.mark.parametrize("row", list(MACHINE), ids=lambda row: row.id)
@pytest.mark.parametrize("status", list(Status))
def test_each_row_is_selected_exactly_from_its_statuses(
    row: spec.Transition, status: Status
) -> None:
    if row.creates:
        return
    # A confirmation is looked for among the completions of the 202 it confirms.
    parents = [t.completed_by for t in MACHINE if t.defers and row.id in t.completed_by]
    trigger: dict[str, Any] = {
        "operation": row.operation,
        "request": row.request,
        "event": row.event,
        "among": parents[0] if parents else None,
    }
    if status.value in row.from_statuses and not row.accepts:
        with pytest.raises(DomainError) as refused:
            LIFE.select(status, behaviour=row.behaviour, **trigger)
        assert (refused.value.response_code, row.id) == (row.response_code, row.id)
        return
    if status.value in row.from_statuses:
        chosen = LIFE.select(status, behaviour=row.behaviour, **trigger)
        assert chosen == row
        return
    try:
        chosen = LIFE.select(status, behaviour=row.behaviour, **trigger)
    except DomainError as refused:
        # Outside its statuses: NOT_AVAILABLE, or the answer of a refusal row for that status.
        refusals = {
            t.response_code
            for t in MACHINE.rows_for(operation=row.operation, event=row.event)
            if not t.accepts and status.value in t.from_statuses
        }
        assert refused.response_code in (refusals or {"NOT_AVAILABLE"})
    else:
        assert chosen.id != row.id


def test_nothing_but_reactivate_leaves_a_terminal_status() -> None:
    leaving = {
        t.operation or t.event
        for t in MACHINE
        if t.accepts and {Status(s) for s in t.from_statuses} & LIFE.terminal
    }
    assert leaving == {"reactivateEntitlement", domain.MERCHANT_CONFIRMED}


def test_live_and_terminal_statuses_are_the_machines() -> None:
    assert LIFE.terminal == {Status(s) for s in spec.terminal_statuses()}
    assert LIFE.live == {Status.PENDING, Status.ACTIVE, Status.SUSPENDED, Status.ACTIVE_ENDING}
    document = copy.deepcopy(dict(spec.load_partner_spec()))
    document["components"]["schemas"]["EntitlementStatus"]["x-terminal"] = ["REVOKED", "FAILED"]
    for row in document["x-status-machine"]:
        if row["id"] == "expiry-reached":
            row["from"] = ["ACTIVE"]
    changed = domain.Lifecycle(spec.machine_from(document))
    assert (changed.terminal, changed.live) == ({Status.REVOKED, Status.FAILED}, {Status.ACTIVE})
    lost = MACHINE.row("merchant-state-lost")
    assert LIFE.fire(lost, entitlement(), NOW).entitlement.date_ended is None
    assert changed.fire(lost, entitlement(), NOW).entitlement.date_ended == NOW


def test_a_machine_with_an_unknown_end_status_is_refused() -> None:
    document = copy.deepcopy(dict(spec.load_partner_spec()))
    document["components"]["schemas"]["EntitlementStatus"]["x-terminal"] = ["GONE"]
    with pytest.raises(spec.MachineError, match="x-terminal: unknown status 'GONE'"):
        spec.machine_from(document)


def test_a_row_decides_the_status_and_notifications_and_fire_sets_the_dates() -> None:
    row = MACHINE.row("suspend")
    step = LIFE.fire(row, entitlement(), NOW)
    assert (step.entitlement.status, step.notifications) == (Status.SUSPENDED, row.notifications)
    assert step.entitlement.date_suspended == NOW
    changed = replace(row, to_status="REVOKED", notifications=("METADATA_UPDATE",))
    step = LIFE.fire(changed, entitlement(), NOW)
    assert (step.entitlement.status, step.notifications) == (Status.REVOKED, ("METADATA_UPDATE",))
    assert step.entitlement.date_ended == NOW


def test_cancel_at_period_end_keeps_access_until_the_period_is_over() -> None:
    later = NOW + timedelta(days=40)
    active = replace(entitlement(), date_activated=NOW)
    moved = LIFE.fire(MACHINE.row("cancel-at-period-end"), active, later, period_days=30)
    assert moved.entitlement.status is Status.ACTIVE_ENDING
    assert moved.entitlement.date_ended == NOW + timedelta(days=60)
    assert moved.notifications == ("TERMINATION_PENDING",)
    ended = LIFE.fire(MACHINE.row("paid-period-ended"), moved.entitlement, NOW + timedelta(days=61))
    assert (ended.entitlement.status, ended.notifications) == (
        Status.CANCELLED,
        ("TERMINATION_SUCCESS",),
    )
    # The end is the planned end of the period, not the moment the sweep noticed it.
    assert ended.entitlement.date_ended == NOW + timedelta(days=60)


def test_cancel_of_a_suspended_entitlement_ends_at_once() -> None:
    row = LIFE.select(
        Status.SUSPENDED,
        operation="cancelEntitlement",
        behaviour="ends-at-period-end",
    )
    moved = LIFE.fire(row, entitlement(Status.SUSPENDED), NOW, period_days=30)
    assert moved.entitlement.status is Status.CANCELLED
    assert moved.entitlement.date_ended == NOW


def test_reasons_and_custom_properties_land_in_extension_data() -> None:
    reason = GivenReason("CUSTOMER_CANCELLED", "NOT_RENEWED", "not renewed")
    changed = domain.with_reason(entitlement(), wire.CANCEL_REASON.keys, reason, {"ticket": "T-1"})
    assert changed.extension_data == {
        "ticket": "T-1",
        "cancelReasonCategory": "CUSTOMER_CANCELLED",
        "cancelReasonCode": "NOT_RENEWED",
        "cancelReasonDescription": "not renewed",
    }


@pytest.mark.parametrize(
    ("slots", "schema"),
    [
        (wire.CANCEL_REASON, "TerminateEntitlementRequest"),
        (wire.SUSPEND_REASON, "SuspendEntitlementRequest"),
    ],
)
def test_reason_fields_and_keys_are_the_specs(slots: wire.ReasonSlots, schema: str) -> None:
    assert dict(zip(slots.fields, slots.keys, strict=True)) == dict(reason_storage_keys(schema))
    assert len(set(slots.keys)) == 3


def test_a_sent_reason_needs_its_category_and_code() -> None:
    names = wire.CANCEL_REASON.fields
    reason = domain.checked_reason(names, "CUSTOMER_CANCELLED", "NOT_RENEWED", 7)
    assert reason == GivenReason("CUSTOMER_CANCELLED", "NOT_RENEWED", None)
    with pytest.raises(DomainError, match="cancelReasonCategory and cancelReasonCode"):
        domain.checked_reason(names, None, "NOT_RENEWED", None)


def test_reason_check_accepts_pairs_not_codes_alone() -> None:
    domain.check_reason_pair(GivenReason("CUSTOMER_CHANGED", "CHANGED_SERVICE"))
    domain.check_reason_pair(GivenReason("CUSTOMER_CANCELLED", "CHANGED_SERVICE"))
    with pytest.raises(DomainError) as refused:
        domain.check_reason_pair(GivenReason("REVOKED", "CHANGED_SERVICE"))
    assert refused.value.response_code == "BAD_REQUEST"


def test_metadata_update_merges_extension_data_and_reports_no_change() -> None:
    current = wire.apply_metadata(entitlement(), {"extensionData": {"a": 1, "b": 2}}, NOW)
    assert current is not None
    merged = wire.apply_metadata(current, {"extensionData": {"a": None}}, NOW)
    assert merged is not None
    assert merged.extension_data == {"b": 2}
    assert wire.apply_metadata(merged, {"offerKey": None}, NOW) is None


def test_record_round_trips_through_its_json_form() -> None:
    original = wire.apply_metadata(
        entitlement(), {"dateExpiry": "2027-01-01T00:00:00Z", "extensionData": {"k": [1]}}, NOW
    )
    assert original is not None
    assert wire.entitlement_of(wire.record_of(original)) == original
    assert wire.record_of(original)["dateExpiry"] == "2027-01-01T00:00:00.000Z"


def test_the_kept_record_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sandboxes in threads of one process (the tests' SandboxThread) share `wire`'s kept last
    record. Another thread may replace it between a check and a read; the caller must still
    get its own entitlement's JSON. The kept pair below swaps itself out when checked, which is
    that interleaving made certain."""
    own = replace(entitlement(), entitlement_id="own")
    other = replace(entitlement(), entitlement_id="other")

    class ReplacedWhenChecked(tuple[Any, ...]):
        def __getitem__(self, index: Any) -> Any:
            if index == 0:
                monkeypatch.setattr(wire, "_last_json", (other, b'{"entitlementId":"other"}'))
            return super().__getitem__(index)

    monkeypatch.setattr(wire, "_last_json", ReplacedWhenChecked((own, b'{"entitlementId":"own"}')))
    assert wire.record_json(own) == b'{"entitlementId":"own"}'
