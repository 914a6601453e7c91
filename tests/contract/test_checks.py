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
    assert checks.response_code_matches_status(wrong) == [
        "responseCode OK with HTTP 404 contradicts the response-code table (HTTP 404 means"
        " NOT_FOUND)",
        "getEntitlement does not document HTTP 404 OK",
    ]
    assert checks.response_code_matches_status(undocumented) == [
        "queryEntitlements does not document HTTP 404 NOT_FOUND"
    ]
    assert checks.response_code_matches_status(missing) == [
        "HTTP 200 body has no string responseCode"
    ]


def test_record_status_must_be_legal_for_the_answer() -> None:
    cancelled = checks.Exchange("cancelEntitlement", 200, _record("CANCELLED"))
    revoked = checks.Exchange("cancelEntitlement", 200, _record("REVOKED"))
    pending_reactivation = checks.Exchange(
        "reactivateEntitlement",
        202,
        {**_record("PENDING"), "responseCode": "CLIENT_ACTION_REQUIRED"},
    )

    assert checks.entitlement_status_is_legal(cancelled) == []
    assert checks.entitlement_status_is_legal(revoked) == [
        "cancelEntitlement HTTP 200 OK returned status 'REVOKED'; the spec allows ACTIVE-ENDING,"
        " CANCELLED"
    ]
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
    assert checks.reason_is_echoed(swapped) == [
        "extensionData.cancelReasonCode is 'EXPIRED', but the request sent 'NOT_RENEWED'"
    ]
    assert checks.reason_is_echoed(prefixed) == []
    assert checks.reason_is_echoed(forgotten) == [
        "extensionData.suspendReasonCategory does not hold the reasonCategory that was sent",
        "extensionData.suspendReasonCode does not hold the reasonCode that was sent",
    ]


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
    assert checks.client_action_is_complete(answer({**complete, "action": "CALL_US"})) == [
        "parameters.action 'CALL_US' is not a documented client action (NAVIGATE_TO_URL)"
    ]
    assert checks.client_action_is_complete(answer({**complete, "url": "not a url"})) == [
        "parameters.url 'not a url' is not an http(s) URL"
    ]


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
    assert memory.judge(cancel_again) == [
        "cancelEntitlement answered HTTP 200 for entitlement e-1, which is REVOKED; the contract"
        " allows it only from PENDING, ACTIVE, SUSPENDED and says NOT_AVAILABLE otherwise"
    ]


def test_only_what_x_allowed_from_permits_leaves_a_terminal_status() -> None:
    memory = checks.TerminalStatusMemory()
    revoke = checks.Exchange("revokeEntitlement", 200, _record("REVOKED"), entitlement_id="e-1")
    reactivate_revoked = checks.Exchange(
        "reactivateEntitlement", 200, _record("ACTIVE"), entitlement_id="e-1"
    )
    cancelled = _record("CANCELLED", entitlementId="e-2")
    cancel = checks.Exchange("cancelEntitlement", 200, cancelled, entitlement_id="e-2")
    activation_info = checks.Exchange("getActivationInfo", 200, cancelled, entitlement_id="e-2")
    reactivate = checks.Exchange(
        "reactivateEntitlement", 200, _record("ACTIVE", entitlementId="e-2"), entitlement_id="e-2"
    )
    cancel_reactivated = checks.Exchange("cancelEntitlement", 200, cancelled, entitlement_id="e-2")
    read = checks.Exchange("getEntitlement", 200, _record("REVOKED"), entitlement_id="e-1")

    assert memory.judge(revoke) == []
    # REVOKED is final: reactivate is allowed only from CANCELLED, and a success on a revoked
    # entitlement must not make the memory forget it either.
    refusal = (
        "reactivateEntitlement answered HTTP 200 for entitlement e-1, which is REVOKED; the"
        " contract allows it only from CANCELLED and says NOT_AVAILABLE otherwise"
    )
    assert memory.judge(reactivate_revoked) == [refusal]
    assert memory.judge(read) == []
    assert memory.judge(reactivate_revoked) == [refusal]
    assert memory.judge(cancel) == []
    assert memory.judge(activation_info) == [
        "getActivationInfo answered HTTP 200 for entitlement e-2, which is CANCELLED; the"
        " contract allows it only from PENDING and says NOT_AVAILABLE otherwise"
    ]
    assert memory.judge(reactivate) == []
    assert memory.judge(cancel_reactivated) == []


def test_update_preconditions_follow_the_body_sent() -> None:
    def update(body: dict[str, Any]) -> checks.Exchange:
        return checks.Exchange("updateEntitlement", 200, None, {"entitlementId": "e-1", **body})

    assert checks.allowed_from(update({"entitlementBenefits": "SUSPENDED"})) == ("ACTIVE",)
    assert checks.allowed_from(update({"entitlementBenefits": "NORMAL"})) == ("SUSPENDED",)
    assert "CANCELLED" not in (checks.allowed_from(update({"offerKey": "X"})) or ())
    assert checks.allowed_from(checks.Exchange("getEntitlement", 200, None)) is None
    assert checks.allowed_from(checks.Exchange("createEntitlement", 200, None)) is None


def test_rules_carry_the_names_of_registered_schemathesis_checks() -> None:
    from bango_resale_contract import hooks

    names = [*checks.RULES, checks.TERMINAL_STATUS_CHECK]

    assert all(callable(getattr(hooks, name, None)) for name in names)


def test_a_reactivation_under_way_is_not_remembered_as_the_end() -> None:
    # A 202 reactivate shows the record still CANCELLED; the merchant may finish it unseen,
    # and the next cancel of the (by then ACTIVE) entitlement is no violation.
    memory = checks.TerminalStatusMemory()
    reactivating = checks.Exchange(
        "reactivateEntitlement", 202, _record("CANCELLED"), entitlement_id="e-1"
    )
    cancel = checks.Exchange("cancelEntitlement", 202, _record("ACTIVE"), entitlement_id="e-1")

    assert memory.judge(reactivating) == []
    assert memory.judge(cancel) == []


def test_cancel_and_revoke_keep_the_custom_properties_they_were_sent() -> None:
    sent = {"cancelReasonCategory": "REVOKED", "cancelReasonCode": "OTHER", "ticket": "T-1"}
    stored = {"cancelReasonCategory": "REVOKED", "cancelReasonCode": "OTHER"}

    def answer(operation: str, extension: dict[str, Any], status: int = 200) -> list[str]:
        record = _record("CANCELLED", extensionData=extension)
        return checks.custom_properties_are_kept(checks.Exchange(operation, status, record, sent))

    assert answer("cancelEntitlement", {**stored, "ticket": "T-1"}) == []
    assert answer("cancelEntitlement", stored) == [
        "the request sent the custom property 'ticket' ('T-1'), which extensionData should"
        " keep; it has no such key"
    ]
    assert answer("revokeEntitlement", {**stored, "ticket": "T-2"}) == [
        "the request sent the custom property 'ticket' as 'T-1'; extensionData keeps 'T-2'"
    ]
    # A 202 stores nothing yet; reasons alone are no custom property.
    assert answer("cancelEntitlement", stored, status=202) == []
    assert (
        checks.custom_properties_are_kept(
            checks.Exchange("cancelEntitlement", 200, _record("CANCELLED"), dict(stored))
        )
        == []
    )


def _update(extension: dict[str, Any], sent: dict[str, Any], status: int = 200) -> checks.Exchange:
    return checks.Exchange(
        "updateEntitlement",
        status,
        _record("ACTIVE", extensionData=extension),
        {"entitlementId": "e-1", "extensionData": sent},
        entitlement_id="e-1",
    )


def test_an_update_merges_extension_data_into_what_the_record_had() -> None:
    memory = checks.RecordMemory()
    created = checks.Exchange("createEntitlement", 200, _record("ACTIVE", extensionData={"a": 1}))
    assert memory.judge(created) == []

    assert memory.judge(_update({"a": 1, "b": 2}, {"b": 2})) == []
    (problem,) = memory.judge(_update({"c": 3}, {"c": 3}))
    assert problem == (
        checks.MERGED_CHECK,
        "the update sent extensionData keys ['c']; the record had ['a', 'b'] before, and keys"
        " not sent stay as they were (merged, not replaced); the answer has keys ['c'],"
        " without ['a', 'b']",
    )


def test_the_merge_is_not_judged_against_what_a_202_may_have_changed() -> None:
    memory = checks.RecordMemory()
    memory.judge(
        checks.Exchange("createEntitlement", 200, _record("ACTIVE", extensionData={"a": 1}))
    )
    # A deferred update may remove "a" once the merchant confirms: nothing is held against it.
    memory.judge(_update({"a": 1}, {"a": None}, status=202))
    assert memory.judge(_update({"b": 2}, {"b": 2})) == []


def _query(listed: list[str], **filters: str) -> checks.Exchange:
    return checks.Exchange(
        "queryEntitlements",
        200,
        {"responseCode": "OK", "entitlements": [{"entitlementId": i} for i in listed]},
        {"customerIdentifier": "c-1", **filters},
    )


def test_a_query_lists_every_entitlement_of_the_customer_it_matches() -> None:
    memory = checks.RecordMemory()
    for entitlement_id, status in (("e-1", "ACTIVE"), ("e-2", "REVOKED")):
        record = {**_record(status), "entitlementId": entitlement_id, "customerIdentifier": "c-1"}
        memory.judge(checks.Exchange("createEntitlement", 200, record))

    assert memory.judge(_query(["e-1", "e-2"])) == []
    assert memory.judge(_query(["e-1"])) == [
        (
            checks.QUERY_CHECK,
            "the query matches 2 entitlements known to be the customer's (at least); the answer"
            " lists 1, leaving out e-2",
        )
    ]
    assert memory.judge(_query([], status="REVOKED"))[0][1].endswith("leaving out e-2")
    # A live status may have moved on unseen (time, the merchant): not held against the query.
    assert memory.judge(_query([], status="ACTIVE")) == []
    assert memory.judge(_query([], productKey="OTHER")) == []
