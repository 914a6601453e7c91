"""What traffic exercised of the contract: the rows it made, the answers it met, and the
answers an integration must handle that it never met, as the proxy and the audit report them."""

from __future__ import annotations

import json
from typing import Any

import bango_resale_spec as spec
from bango_resale_contract import live
from bango_resale_contract.coverage import Coverage, must_handle
from bango_resale_contract.live_report import report_data, summary_table

AUTH = [
    (b"authorization", b"Basic ZGVtbzpkZW1vLXNlY3JldA=="),
    (b"content-type", b"application/json"),
]
JSON = [(b"content-type", b"application/json")]
BASE = "http://service/v1/entitlement"
REASON = {"cancelReasonCategory": "CUSTOMER_CANCELLED", "cancelReasonCode": "NOT_RENEWED"}


def test_must_handle_is_every_202_and_every_transient_answer_of_the_spec() -> None:
    pairs = {(row.http_status, row.response_code) for row in must_handle()}
    assert pairs == {
        (202, "OK"),
        (202, "CLIENT_ACTION_REQUIRED"),
        (429, "TOO_MANY_REQUESTS"),
        (500, "INTERNAL_ERROR"),
        (503, "SERVICE_UNAVAILABLE"),
    }


def test_coverage_counts_rows_and_answers_and_names_what_was_never_met() -> None:
    coverage = Coverage()
    coverage.fired("create-activated")
    coverage.fired("create-activated")
    coverage.answered("createEntitlement", 200, "OK")
    coverage.answered("cancelEntitlement", 202, "OK")
    coverage.answered("echo", 502, None)

    data = coverage.to_json()
    assert list(data["transitions"]) == [row.id for row in spec.status_machine()]
    assert data["transitions"]["create-activated"] == 2
    assert data["transitions"]["paid-period-ended"] == 0
    assert data["responseCodes"] == {
        "cancelEntitlement": {"202 OK": 1},
        "createEntitlement": {"200 OK": 1},
        "echo": {"502 (none)": 1},
    }
    lines = coverage.summary_lines()
    assert lines[0] == "transitions exercised: 1/41"
    assert lines[2] == "answers your integration never handled:"
    assert [line.split(" (")[0].strip() for line in lines[3:]] == [
        "CLIENT_ACTION_REQUIRED",
        "TOO_MANY_REQUESTS",
        "INTERNAL_ERROR",
        "SERVICE_UNAVAILABLE",
    ]


def _record(entitlement_id: str, status: str, code: str = "OK") -> bytes:
    return json.dumps(
        {
            "responseCode": code,
            "responseMessage": "m",
            "entitlementId": entitlement_id,
            "status": status,
        }
    ).encode()


def _send(
    judge: live.LiveJudge, method: str, url: str, sent: Any, status: int, body: bytes
) -> None:
    judge.exchange(
        method, url, AUTH, json.dumps(sent).encode() if sent else b"", status, JSON, body
    )


def test_the_live_judge_counts_the_rows_its_traffic_made_and_the_answers_it_met() -> None:
    judge = live.LiveJudge()
    create = {"customerIdentifier": "c", "merchantAccountKey": "BANGO", "productKey": "BangoMusic"}
    _send(judge, "POST", BASE, create, 200, _record("e-1", "ACTIVE"))
    _send(judge, "POST", f"{BASE}/cancel/e-1", REASON, 202, _record("e-1", "ACTIVE"))
    # The merchant confirmed unseen; a read shows it: the confirmation is a row made too.
    _send(judge, "GET", f"{BASE}/e-1", None, 200, _record("e-1", "CANCELLED"))
    limited = b'{"responseCode": "TOO_MANY_REQUESTS", "responseMessage": "wait"}'
    _send(judge, "GET", f"{BASE}/e-1", None, 429, limited)

    made = {row: n for row, n in judge.coverage.transitions.items() if n}
    assert made == {"create-activated": 1, "cancel-deferred": 1, "cancel-confirmed-now": 1}
    assert judge.coverage.met("getEntitlement") == {"200 OK": 1, "429 TOO_MANY_REQUESTS": 1}
    data = report_data(judge)
    assert data["coverage"] == judge.coverage.to_json()
    table = summary_table(judge)
    assert "transitions exercised: 3/41" in table
    assert "  CLIENT_ACTION_REQUIRED (HTTP 202): " in table
    assert "TOO_MANY_REQUESTS (HTTP 429)" not in table  # met


def test_a_watched_entitlement_read_after_the_merchant_moved_it_owes_the_notification() -> None:
    judge = live.LiveJudge(receiver_path="/bango-proxy/notifications")
    create = {
        "customerIdentifier": "c",
        "merchantAccountKey": "BANGO",
        "productKey": "BangoMusic",
        "notificationUrl": "http://proxy/bango-proxy/notifications",
    }
    _send(judge, "POST", BASE, create, 200, _record("e-1", "ACTIVE"))
    note = {"entitlementId": "e-1", "notificationType": "ACTIVATION_SUCCESS", "status": "ACTIVE"}
    judge.notification(json.dumps({**note, "notificationId": "n-1"}).encode())
    suspend = {
        "entitlementId": "e-1",
        "entitlementBenefits": "SUSPENDED",
        "reasonCategory": "ACTIVATION_ROLLBACK",
        "reasonCode": "CUSTOMER_PAYMENT_DEFAULT",
    }
    _send(judge, "PATCH", BASE, suspend, 202, _record("e-1", "ACTIVE"))
    _send(judge, "GET", f"{BASE}/e-1", None, 200, _record("e-1", "SUSPENDED"))

    (never,) = judge.finish()
    assert (never.rule, never.expected, never.got) == (
        "bango_notifications",
        "SUSPENSION_SUCCESS (status SUSPENDED)",
        "never sent",
    )
    assert judge.coverage.transitions["suspend-confirmed"] == 1
