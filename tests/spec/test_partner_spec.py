"""The partner spec says what the contract document says, and its tables agree with themselves."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

import bango_resale_spec as spec

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
ALWAYS_DOCUMENTED = {400, 401, 429, 500, 503}
EXPECTED_OPERATIONS = {
    "createEntitlement": ("post", "/v1/entitlement"),
    "getEntitlement": ("get", "/v1/entitlement/{entitlementId}"),
    "queryEntitlements": ("post", "/v1/entitlement/report"),
    "updateEntitlement": ("patch", "/v1/entitlement"),
    "cancelEntitlement": ("post", "/v1/entitlement/cancel/{entitlementId}"),
    "revokeEntitlement": ("post", "/v1/entitlement/revoke/{entitlementId}"),
    "getActivationInfo": ("get", "/v1/entitlement/activationInfo/{entitlementId}"),
    "reactivateEntitlement": ("post", "/v1/entitlement/reactivate/{entitlementId}"),
    "echo": ("get", "/v1/echo/{echoRequestId}"),
}


def operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    found = {}
    for path, item in spec.load_partner_spec()["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                found[operation["operationId"]] = (method, path, operation)
    return found


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    document = spec.load_partner_spec()
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_all_nine_operations_with_their_methods_and_paths() -> None:
    assert {op: (m, p) for op, (m, p, _) in operations().items()} == EXPECTED_OPERATIONS
    assert operations()["reactivateEntitlement"][2].get("deprecated") is True


@pytest.mark.parametrize("operation_id", sorted(EXPECTED_OPERATIONS))
def test_every_operation_is_documented_for_partners(operation_id: str) -> None:
    _, _, operation = operations()[operation_id]
    assert operation["summary"] and operation["description"]
    assert len(operation["tags"]) == 1
    assert operation["x-modelled"], "modelled decisions must be listed"
    statuses = {int(code) for code in operation["responses"]}
    assert statuses >= ALWAYS_DOCUMENTED
    for status, response in operation["responses"].items():
        media = resolve(response)["content"]["application/json"]
        assert media.get("examples"), f"{operation_id} {status} has no example"
        if int(status) in {429}:
            assert resolve(response)["headers"]["Retry-After"]
        assert "X-RequestIdentifier" in resolve(response)["headers"]


def test_response_codes_agree_with_the_root_table() -> None:
    table = {(row.response_code, row.http_status) for row in spec.response_code_rows()}
    assert {code for code, _ in table} == set(spec.response_codes())
    for operation_id, outcomes in spec.operation_outcomes().items():
        for outcome in outcomes:
            pair = (outcome.response_code, outcome.http_status)
            assert pair in table, f"{operation_id} documents {pair}, not in x-response-codes"
            for status in outcome.entitlement_statuses:
                assert status in spec.entitlement_statuses()


def test_transient_codes_are_exactly_the_retryable_ones() -> None:
    transient = {row.response_code for row in spec.response_code_rows() if row.transient}
    assert transient == {"TOO_MANY_REQUESTS", "INTERNAL_ERROR", "SERVICE_UNAVAILABLE"}


def test_statuses_and_terminal_statuses() -> None:
    assert spec.entitlement_statuses() == (
        "PENDING",
        "ACTIVE",
        "ACTIVE-ENDING",
        "SUSPENDED",
        "CANCELLED",
        "REVOKED",
        "FAILED",
    )
    assert set(spec.terminal_statuses()) == {"CANCELLED", "REVOKED"}


def test_reason_table_is_the_seed_table() -> None:
    rows = spec.reason_rows()
    assert [row.index for row in rows] == list(range(1, 24))
    assert len({row.category for row in rows}) == 4
    assert len({row.code for row in rows}) == 21
    # Rows 17 and 18 share a pair: the Bango index is the key, not the pair.
    pairs = Counter((row.category, row.code) for row in rows)
    assert [pair for pair, n in pairs.items() if n > 1] == [("REVOKED", "OTHER")]
    assert {row.index for row in rows if row.suspend_preferred} == {12, 14, 15}
    assert [(r.category, r.code) for r in rows if r.applied_by_platform] == [
        ("CUSTOMER_CANCELLED", "EXPIRED")
    ]


def test_reason_enums_are_derived_from_the_table() -> None:
    schemas = spec.load_partner_spec()["components"]["schemas"]
    rows = spec.reason_rows()
    assert set(schemas["ReasonCategory"]["enum"]) == {row.category for row in rows}
    assert set(schemas["ReasonCode"]["enum"]) == {row.code for row in rows}


def test_response_schemas_tolerate_unknown_values() -> None:
    schemas = spec.load_partner_spec()["components"]["schemas"]
    open_fields = [
        schemas["Envelope"]["properties"]["responseCode"],
        schemas["EntitlementRecord"]["properties"]["status"],
        schemas["ClientActionParameters"]["properties"]["action"],
        schemas["EntitlementNotification"]["allOf"][2]["properties"]["notificationType"],
    ]
    for field in open_fields:
        assert {"type": "string"} in field["anyOf"]


def test_create_links_to_every_operation_taking_an_entitlement_id() -> None:
    ops = operations()
    takes_id = {
        op
        for op, (_, path, operation) in ops.items()
        if "{entitlementId}" in path or op == "updateEntitlement"
    }
    _, _, create = ops["createEntitlement"]
    for status in ("200", "201", "202"):
        links = create["responses"][status]["links"]
        targets = {resolve(link)["operationId"] for link in links.values()}
        assert targets >= takes_id, f"create {status} misses links to {takes_id - targets}"


def test_notification_webhook_is_typed() -> None:
    webhook = spec.load_partner_spec()["webhooks"]["entitlementNotification"]["post"]
    schema = resolve(webhook["requestBody"]["content"]["application/json"]["schema"])
    extra = schema["allOf"][2]
    assert set(extra["required"]) == {"notificationType", "notificationId"}
    assert len(spec.notification_types()) == 7


def example_cases() -> list[tuple[str, dict[str, Any], Any]]:
    cases = []
    for op_id, (_, _, operation) in operations().items():
        media_types = []
        if "requestBody" in operation:
            media_types.append(("request", operation["requestBody"]["content"]["application/json"]))
        for status, response in operation["responses"].items():
            media_types.append((status, resolve(response)["content"]["application/json"]))
        for where, media in media_types:
            for name, example in media["examples"].items():
                cases.append(
                    (f"{op_id} {where} {name}", media["schema"], resolve(example)["value"])
                )
    return cases


def test_every_example_validates_against_its_schema() -> None:
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry, Resource

    document = dict(spec.load_partner_spec())
    registry = Registry().with_resource("urn:spec", Resource.opaque(document))
    failures = []
    for label, schema, value in example_cases():
        rooted = {"$ref": "urn:spec#" + schema["$ref"].removeprefix("#")}
        validator = Draft202012Validator(rooted, registry=registry, format_checker=FormatChecker())
        failures += [f"{label}: {error.message}" for error in validator.iter_errors(value)]
    assert len(example_cases()) > 40
    assert failures == []


def test_reason_fields_say_where_they_are_stored() -> None:
    assert spec.reason_storage_keys("SuspendEntitlementRequest") == {
        "reasonCategory": "suspendReasonCategory",
        "reasonCode": "suspendReasonCode",
        "reasonDescription": "suspendReasonDescription",
    }
    terminate = spec.reason_storage_keys("TerminateEntitlementRequest")
    assert terminate == {name: name for name in terminate}
    assert set(terminate) == {"cancelReasonCategory", "cancelReasonCode", "cancelReasonDescription"}


def test_allowed_from_states_contract_section_3() -> None:
    live = {"PENDING", "ACTIVE", "SUSPENDED", "ACTIVE-ENDING"}
    assert set(spec.operation_allowed_from("cancelEntitlement")) == live - {"ACTIVE-ENDING"}
    assert set(spec.operation_allowed_from("revokeEntitlement")) == live
    assert spec.operation_allowed_from("getActivationInfo") == ("PENDING",)
    assert spec.operation_allowed_from("reactivateEntitlement") == ("CANCELLED",)
    assert spec.body_allowed_from("SuspendEntitlementRequest") == ("ACTIVE",)
    assert spec.body_allowed_from("ResumeEntitlementRequest") == ("SUSPENDED",)
    assert spec.body_allowed_from("EntitlementChanges", "productKey") == ("ACTIVE",)
    assert set(spec.body_allowed_from("EntitlementChanges")) == live
