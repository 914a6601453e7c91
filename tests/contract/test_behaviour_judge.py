"""The status-machine judge on its own: answers and reads checked against the rows."""

from __future__ import annotations

from typing import Any

import bango_resale_spec as spec
from bango_resale_contract.behaviour import BehaviourJudge

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
    assert "row cancel-now answered CANCELLED, but a read right after says ACTIVE" in violation
    assert violation.endswith("reproduce with: r")


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
    assert "cancel-at-period-end / cancel-now" in violation
    assert "the answer's record is SUSPENDED" in violation


def test_a_success_from_a_status_no_row_starts_from_is_reported() -> None:
    judge = _judge("REVOKED")
    judge.request(
        CANCEL, REASON, 200, _answer("REVOKED"), "e-1", lambda _: "REVOKED", step="s", reproduce="r"
    )
    assert "which no row gives" in judge.violations[0]


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
