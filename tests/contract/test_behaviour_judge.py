"""The status-machine judge on its own: answers and reads checked against the rows."""

from __future__ import annotations

from typing import Any

import httpx

import bango_resale_spec as spec
from bango_resale_contract.behaviour import BehaviourJudge
from bango_resale_contract.notification_server import NotificationServer, receiving

CANCEL = "cancelEntitlement"
REASON = {"cancelReasonCategory": "REVOKED", "cancelReasonCode": "OTHER"}


def _judge(status: str) -> BehaviourJudge:
    judge = BehaviourJudge(spec.status_machine())
    judge.status["e-1"] = status
    return judge


def _answer(status: str, code: str = "OK") -> dict[str, Any]:
    return {"responseCode": code, "entitlementId": "e-1", "status": status}


def test_a_200_cancel_whose_read_still_says_active_is_reported_with_its_row() -> None:
    judge = _judge("ACTIVE")
    row = judge.request(
        CANCEL,
        REASON,
        200,
        _answer("CANCELLED"),
        "e-1",
        lambda _: "ACTIVE",
        step="s",
        reproduce="r",
    )
    assert row is not None and row.id == "cancel-now"
    (violation,) = judge.violations
    assert violation == (
        "bango_status_machine: s: sent cancelEntitlement for an entitlement that was ACTIVE;"
        " the contract expects a read right after to show CANCELLED (row cancel-now, which the"
        " answer followed); a read right after shows ACTIVE\n    reproduce with: r"
    )


def test_an_answer_whose_record_no_row_leads_to_is_reported() -> None:
    judge = _judge("ACTIVE")
    judge.request(
        CANCEL,
        REASON,
        200,
        _answer("SUSPENDED"),
        "e-1",
        lambda _: "SUSPENDED",
        step="s",
        reproduce="r",
    )
    (violation,) = judge.violations
    assert (
        "the contract expects HTTP 200 OK and status ACTIVE-ENDING (row cancel-at-period-end)"
        " or HTTP 200 OK and status CANCELLED (row cancel-now); the service answered HTTP 200"
        " OK with status SUSPENDED"
    ) in violation


def test_a_success_from_a_status_no_row_starts_from_is_reported() -> None:
    judge = _judge("REVOKED")
    judge.request(
        CANCEL, REASON, 200, _answer("REVOKED"), "e-1", lambda _: "REVOKED", step="s", reproduce="r"
    )
    assert (
        "sent cancelEntitlement for an entitlement that was REVOKED; the contract expects"
        " NOT_AVAILABLE, since no row of cancelEntitlement starts from REVOKED; the service"
        " answered HTTP 200 OK with status REVOKED"
    ) in judge.violations[0]


def test_an_event_from_a_status_no_row_starts_from_says_the_status_should_stay() -> None:
    judge = _judge("CANCELLED")
    row = judge.event("PAID_PERIOD_ENDED", "e-1", lambda _: "ACTIVE", step="s", reproduce="r")
    assert row is None
    (violation,) = judge.violations
    assert (
        "s: caused PAID_PERIOD_ENDED for an entitlement that was CANCELLED; the contract expects"
        " the status to stay CANCELLED, since no PAID_PERIOD_ENDED row starts there; a read"
        " shows ACTIVE"
    ) in violation


def test_the_row_a_step_aims_at_is_credited_where_several_fit() -> None:
    # A PENDING entitlement cancelled at once looks alike whichever way its merchant ends.
    for aim in ("cancel-now", "cancel-unpaid"):
        judge = _judge("PENDING")
        row = judge.request(
            CANCEL,
            REASON,
            200,
            _answer("CANCELLED"),
            "e-1",
            lambda _: "CANCELLED",
            step="s",
            reproduce="r",
            prefer=(aim,),
        )
        assert row is not None and row.id == aim
        assert judge.violations == []


def test_refusals_and_faithful_answers_pass_and_count() -> None:
    judge = _judge("REVOKED")
    refused = {"responseCode": "NOT_AVAILABLE", "responseMessage": "no"}
    assert (
        judge.request(
            CANCEL, REASON, 409, refused, "e-1", lambda _: "REVOKED", step="s", reproduce="r"
        )
        is None
    )
    judge = _judge("ACTIVE")
    deferred = judge.request(
        CANCEL, REASON, 202, _answer("ACTIVE"), "e-1", lambda _: "ACTIVE", step="s", reproduce="r"
    )
    assert deferred is not None and deferred.id == "cancel-deferred"
    confirmed = judge.event(
        "MERCHANT_CONFIRMED", "e-1", lambda _: "ACTIVE-ENDING", step="s", reproduce="r"
    )
    assert confirmed is not None and confirmed.id == "cancel-confirmed-at-period-end"
    assert judge.violations == []
    assert judge.coverage["cancel-deferred"].observed == 1


def _notify(receiver: NotificationServer, kind: str, status: str, number: int) -> None:
    body = {
        "entitlementId": "e-1",
        "notificationType": kind,
        "status": status,
        "notificationId": f"n-{number}",
    }
    httpx.post(receiver.url, json=body).raise_for_status()


def test_what_the_merchant_does_in_its_own_time_is_judged_as_its_own_move() -> None:
    """A 202 the suite could not confirm (no sandbox controls): the merchant's confirmation
    comes as a notification after the last row the suite saw; it is an event row, not a
    stray."""
    with receiving() as receiver:
        judge = BehaviourJudge(spec.status_machine(), receiver, step_wait=0.1, settle_wait=1.0)
        judge.status["e-1"] = "ACTIVE"
        judge.watch("e-1")
        deferred = judge.request(
            CANCEL,
            REASON,
            202,
            _answer("ACTIVE"),
            "e-1",
            lambda _: "ACTIVE",
            step="s",
            reproduce="r",
        )
        assert deferred is not None and deferred.id == "cancel-deferred"
        _notify(receiver, "TERMINATION_PENDING", "ACTIVE-ENDING", 1)
        _notify(receiver, "TERMINATION_SUCCESS", "CANCELLED", 2)  # the period ended since
        judge.settle()

    assert judge.violations == []
    assert judge.coverage["cancel-confirmed-at-period-end"].notifications_verified == 1
    assert judge.coverage["paid-period-ended"].observed == 1


def test_a_notification_no_row_sends_from_there_is_still_a_stray() -> None:
    with receiving() as receiver:
        judge = BehaviourJudge(spec.status_machine(), receiver, step_wait=0.1, settle_wait=1.0)
        judge.status["e-1"] = "ACTIVE"
        judge.watch("e-1")
        judge.request(
            CANCEL,
            REASON,
            200,
            _answer("CANCELLED"),
            "e-1",
            lambda _: "CANCELLED",
            step="s",
            reproduce="r",
        )
        _notify(receiver, "TERMINATION_SUCCESS", "CANCELLED", 1)
        _notify(receiver, "ACTIVATION_SUCCESS", "ACTIVE", 2)  # nothing leaves CANCELLED alone
        judge.settle()

    (violation,) = judge.violations
    assert (
        "row cancel-now was the last to fire for entitlement e-1; the contract expects no"
        " further notification, or one a platform event sends from CANCELLED; the receiver got"
        " ['ACTIVATION_SUCCESS'] as well"
    ) in violation
