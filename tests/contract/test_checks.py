"""The contract rules on hand-made exchanges: each accepts the documented answer and names the
broken one."""

from __future__ import annotations

from typing import Any

from bango_resale_contract import checks


def _record(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "responseCode": "OK",
        "responseMessage": "Success",
        "entitlementId": "e-1",
        "status": status,
        "extensionData": {},
        **extra,
    }


def test_response_code_must_match_the_http_status() -> None:
    good = checks.Exchange("getEntitlement", 404, {"responseCode": "NOT_FOUND"})
    wrong = checks.Exchange("getEntitlement", 404, {"responseCode": "OK"})
    undocumented = checks.Exchange("queryEntitlements", 404, {"responseCode": "NOT_FOUND"})
    missing = checks.Exchange("echo", 200, {"echo": "x"})

    assert checks.response_code_matches_status(good) == []
    assert "contradicts" in checks.response_code_matches_status(wrong)[0]
    assert checks.response_code_matches_status(undocumented) == [
        "queryEntitlements does not document HTTP 404 NOT_FOUND"
    ]
    assert checks.response_code_matches_status(missing)


def test_record_status_must_be_legal_for_the_answer() -> None:
    cancelled = checks.Exchange("cancelEntitlement", 200, _record("CANCELLED"))
    revoked = checks.Exchange("cancelEntitlement", 200, _record("REVOKED"))
    pending_reactivation = checks.Exchange(
        "reactivateEntitlement",
        202,
        {**_record("PENDING"), "responseCode": "CLIENT_ACTION_REQUIRED"},
    )

    assert checks.entitlement_status_is_legal(cancelled) == []
    assert "REVOKED" in checks.entitlement_status_is_legal(revoked)[0]
    assert checks.entitlement_status_is_legal(pending_reactivation) == []


def test_reason_pair_must_be_the_one_sent() -> None:
    sent = {"cancelReasonCategory": "CUSTOMER_CANCELLED", "cancelReasonCode": "NOT_RENEWED"}
    echoed = checks.Exchange(
        "cancelEntitlement", 200, _record("CANCELLED", extensionData=dict(sent)), sent
    )
    swapped = checks.Exchange(
        "cancelEntitlement",
        200,
        _record("CANCELLED", extensionData={**sent, "cancelReasonCode": "EXPIRED"}),
        sent,
    )
    suspend = {
        "entitlementId": "e-1",
        "entitlementBenefits": "SUSPENDED",
        "reasonCategory": "ACTIVATION_ROLLBACK",
        "reasonCode": "FRAUD_CHECK",
    }
    prefixed = checks.Exchange(
        "updateEntitlement",
        200,
        _record(
            "SUSPENDED",
            extensionData={
                "suspendReasonCategory": "ACTIVATION_ROLLBACK",
                "suspendReasonCode": "FRAUD_CHECK",
            },
        ),
        suspend,
    )
    forgotten = checks.Exchange("updateEntitlement", 200, _record("SUSPENDED"), suspend)

    assert checks.reason_is_echoed(echoed) == []
    assert "EXPIRED" in checks.reason_is_echoed(swapped)[0]
    assert checks.reason_is_echoed(prefixed) == []
    assert len(checks.reason_is_echoed(forgotten)) == 2


def test_client_action_needs_a_known_action_and_a_url() -> None:
    def answer(parameters: Any) -> checks.Exchange:
        body = {**_record("PENDING"), "responseCode": "CLIENT_ACTION_REQUIRED"}
        if parameters is not None:
            body["parameters"] = parameters
        return checks.Exchange("createEntitlement", 202, body)

    complete = {
        "action": "NAVIGATE_TO_URL",
        "url": "https://merchant.example/s/1",
        "urlExpiry": "2026-11-23T10:00:00Z",
    }
    assert checks.client_action_is_complete(answer(complete)) == []
    assert checks.client_action_is_complete(answer(None)) == [
        "CLIENT_ACTION_REQUIRED without parameters"
    ]
    assert checks.client_action_is_complete(answer({**complete, "action": "CALL_US"}))
    assert checks.client_action_is_complete(answer({**complete, "url": "not a url"}))


def test_terminal_entitlements_stay_ended_until_reactivated() -> None:
    memory = checks.TerminalStatusMemory()
    revoke = checks.Exchange("revokeEntitlement", 200, _record("REVOKED"), entitlement_id="e-1")
    cancel_again = checks.Exchange(
        "cancelEntitlement", 200, _record("CANCELLED"), entitlement_id="e-1"
    )
    refused = checks.Exchange(
        "cancelEntitlement", 409, {"responseCode": "NOT_AVAILABLE"}, entitlement_id="e-1"
    )

    assert memory.judge(revoke) == []
    assert memory.judge(refused) == []
    assert "terminal status" in memory.judge(cancel_again)[0]
