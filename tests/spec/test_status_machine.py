"""The status machine in the partner spec (`x-status-machine`) is complete and well formed."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import bango_resale_spec as spec
from bango_resale_spec import MachineError, machine_from


def _document() -> dict[str, Any]:
    return copy.deepcopy(dict(spec.load_partner_spec()))


def test_every_status_and_notification_type_takes_part() -> None:
    machine = spec.status_machine()
    reached = {t.to_status for t in machine if t.to_status} | {
        s for t in machine for s in t.from_statuses
    }
    assert reached == set(spec.entitlement_statuses())
    sent = {n for t in machine for n in t.notifications}
    assert sent == set(spec.notification_types())


def test_every_deferred_answer_names_the_events_that_complete_it() -> None:
    machine = spec.status_machine()
    deferred = [t for t in machine if t.defers]
    assert deferred, "the table has 202 OK rows"
    for transition in deferred:
        assert transition.to_status is None, f"{transition.id}: a 202 OK changes nothing yet"
        assert transition.notifications == (), transition.id
        assert transition.completed_by, transition.id
        for completion in map(machine.row, transition.completed_by):
            assert completion.event == "MERCHANT_CONFIRMED", transition.id
            assert set(completion.from_statuses) <= set(transition.from_statuses), completion.id


def test_every_answer_is_a_documented_outcome_of_its_operation() -> None:
    outcomes = spec.operation_responses()
    for transition in spec.status_machine():
        if transition.operation is None:
            continue
        documented = {(o.http_status, o.response_code): o for o in outcomes[transition.operation]}
        key = (transition.http_status, transition.response_code)
        assert key in documented, f"{transition.id} answers {key}"
        statuses = documented[key].entitlement_statuses
        if statuses and transition.accepts:
            for before in transition.from_statuses or (None,):
                assert transition.result(before) in statuses, (transition.id, before)


def test_the_preconditions_are_derived_from_the_table() -> None:
    assert "x-allowed-from" not in spec.partner_spec_text()
    assert set(spec.operation_allowed_from("revokeEntitlement")) == {
        s
        for t in spec.status_machine().rows_for(operation="revokeEntitlement")
        for s in t.from_statuses
    }
    # Reactivate of a live entitlement is a refusal row: it is no precondition.
    assert spec.operation_allowed_from("reactivateEntitlement") == ("CANCELLED",)
    with pytest.raises(KeyError):
        spec.operation_allowed_from("createEntitlement")
    with pytest.raises(KeyError):
        spec.operation_allowed_from("getEntitlement")


def test_a_changed_copy_changes_the_derived_preconditions() -> None:
    document = _document()
    for row in document["x-status-machine"]:
        if row["id"] in {"revoke", "revoke-deferred"}:
            row["from"] = ["ACTIVE"]
    assert machine_from(document).allowed_from("revokeEntitlement") == ("ACTIVE",)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda row: row.update(to="DORMANT"), "unknown status 'DORMANT'"),
        (lambda row: row.update(notifications=["WELCOME"]), "unknown notificationType"),
        (lambda row: row.update(event="MERCHANT_CONFIRMED"), "exactly one of operation and event"),
        (lambda row: row.update(completedBy=["no-such-row"]), "completedBy 'no-such-row'"),
        (lambda row: row.update(id="revoke-deferred"), "used twice"),
    ],
)
def test_an_ill_formed_row_is_refused_with_its_id(change: Any, complaint: str) -> None:
    document = _document()
    (row,) = [r for r in document["x-status-machine"] if r["id"] == "revoke"]
    change(row)
    with pytest.raises(MachineError, match=complaint):
        machine_from(document)
