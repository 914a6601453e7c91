"""The partner spec says what the contract document says, and its tables agree with themselves."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

import bango_resale_spec as spec
from bango_resale_spec import compiled

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
    for operation_id, outcomes in spec.operation_responses().items():
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


@pytest.mark.parametrize(
    ("schema_name", "category_field", "code_field"),
    [
        ("SuspendEntitlementRequest", "reasonCategory", "reasonCode"),
        ("TerminateEntitlementRequest", "cancelReasonCategory", "cancelReasonCode"),
    ],
)
def test_request_schemas_allow_exactly_the_accepted_reason_pairs(
    schema_name: str, category_field: str, code_field: str
) -> None:
    """The if/then/else chain lets schema-driven tools generate only pairs the platform accepts;
    it must say what x-reasons and x-reason-fallback say. Judged by what the schema accepts."""
    document = spec.load_partner_spec()
    validator = compiled.schema(schema_name)
    schemas = document["components"]["schemas"]
    base = {"entitlementId": "e-1", "entitlementBenefits": "SUSPENDED"}
    if schema_name == "TerminateEntitlementRequest":
        base = {}
    pairs = {
        (category, code)
        for category in schemas["ReasonCategory"]["enum"]
        for code in schemas["ReasonCode"]["enum"]
        if validator.is_valid({**base, category_field: category, code_field: code})
    }
    assert pairs == spec.accepted_reason_pairs()
    assert ("CUSTOMER_CANCELLED", "OTHER") in pairs
    assert ("REVOKED", "NOT_RENEWED") not in pairs


def test_reason_rows_read_exactly_as_bangos_table() -> None:
    rows = {row.index: row for row in spec.reason_rows()}
    # Bango's notes are data: kept word for word, typo included; our reading sits beside.
    assert rows[15].notes == "Supsend/Resume API preferred"
    assert rows[15].notes_reading is not None and "suspend" in rows[15].notes_reading.lower()
    assert rows[4].notes == "Triggered when expiry date is set in entitlement creation"
    assert sum(1 for row in rows.values() if row.notes is not None) == 7


def _all_modelled() -> list[str]:
    document = spec.load_partner_spec()
    items = list(document["x-modelled"])
    for schema in document["components"]["schemas"].values():
        items += schema.get("x-modelled", [])
        for field in schema.get("properties", {}).values():
            items += field.get("x-modelled", [])
    for _, _, operation in operations().values():
        items += operation["x-modelled"]
    for item in document["webhooks"].values():
        items += item["post"]["x-modelled"]
    return items


def test_every_modelled_choice_says_why() -> None:
    for item in _all_modelled():
        choice, _, why = item.partition(": ")
        assert choice and len(why.split()) >= 4, f"x-modelled entry without a reason: {item!r}"


@pytest.mark.parametrize(
    "choice",
    [
        "X-RequestIdentifier",
        "409 rather than 400",
        "Retry-After",
        "extensionData is a JSON object",
        "TOO_MANY_REQUESTS is transient",
        "servers beyond",
        "200 may carry ACTIVE-ENDING",
        "202 carries responseCode OK",
        "cancelReasonDescription is optional",
        "refused with 400: the seed says the platform may reject it",
    ],
)
def test_the_departures_from_the_seeds_are_marked(choice: str) -> None:
    assert any(choice in item for item in _all_modelled()), choice


def test_words_taken_from_bangos_pages_are_gone() -> None:
    text = spec.partner_spec_text()
    for phrase in (
        "not for program logic",
        "Check your credentials",
        "under maintenance",
        "Transient; retry later",
    ):
        assert phrase not in text, phrase


def test_each_operation_has_its_own_not_available_example() -> None:
    messages: dict[str, set[str]] = {}
    for operation_id, (_, _, operation) in operations().items():
        conflict = operation["responses"].get("409")
        if conflict is None:
            continue
        for example in resolve(conflict)["content"]["application/json"]["examples"].values():
            value = resolve(example)["value"]
            if value["responseCode"] == "NOT_AVAILABLE":
                messages.setdefault(value["responseMessage"], set()).add(operation_id)
    for message, users in messages.items():
        assert "cancelled" not in message or users == {"cancelEntitlement"}, (message, users)
    assert not any(
        {"createEntitlement", "getActivationInfo"} <= users for users in messages.values()
    )


def test_reactivate_documents_both_202_answers() -> None:
    _, _, reactivate = operations()["reactivateEntitlement"]
    accepted = reactivate["responses"]["202"]
    codes = {
        resolve(example)["value"]["responseCode"]
        for example in accepted["content"]["application/json"]["examples"].values()
    }
    assert codes == {"OK", "CLIENT_ACTION_REQUIRED"}
    assert "notificationUrl" in reactivate["description"]


def test_links_fit_the_status_they_start_from() -> None:
    _, _, create = operations()["createEntitlement"]
    suspend = "#/components/links/UpdateCreatedEntitlement"
    assert create["responses"]["200"]["links"]["updateEntitlement"]["$ref"] == suspend
    for status in ("201", "202"):  # PENDING: a suspend could only be refused
        link = create["responses"][status]["links"]["updateEntitlement"]
        assert link["$ref"] != suspend
        assert "suspend" not in resolve(link)["description"].split(":")[0].lower()


def test_the_limit_descriptions_quote_the_limits_they_document() -> None:
    document = spec.load_partner_spec()
    extension = document["components"]["schemas"]["ExtensionData"]
    depth = document["x-max-json-depth"]
    description = " ".join(extension["description"].split())
    assert f"{extension['maxProperties']} properties (`maxProperties`)" in description
    assert f"{extension['x-max-bytes']} bytes as compact JSON (`x-max-bytes`)" in description
    assert f"{depth} levels counted from the body (`x-max-json-depth`)" in description
    assert f"may nest ({depth})" in " ".join(document["info"]["description"].split())
