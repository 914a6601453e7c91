"""The partner spec's examples follow the conventions example-driven tools rely on (Specmatic
pairs request and response examples by name and runs each pair as a test; a Prism mock picks a
response example by name), and every entitlement they name is a fixture of the sandbox."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import bango_resale_spec as spec
from bango_resale_spec import compiled
from bango_resale_spec.examples import request_example_names, response_examples

UNKNOWN = {404}


def operations() -> Iterator[tuple[str, Mapping[str, Any]]]:
    for item in spec.load_partner_spec()["paths"].values():
        for method, operation in item.items():
            if method in spec.HTTP_METHODS:
                yield str(operation["operationId"]), operation


OPERATION_IDS = sorted(op for op, _ in operations())


def operation(operation_id: str) -> Mapping[str, Any]:
    return next(op for name, op in operations() if name == operation_id)


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_every_request_example_has_one_response_example_of_its_name(operation_id: str) -> None:
    op = operation(operation_id)
    answers = response_examples(op, spec.load_partner_spec())
    for name in request_example_names(op):
        statuses = [status for status, examples in answers.items() if name in examples]
        assert len(statuses) == 1, f"{operation_id} request example {name!r}: {statuses}"


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_every_path_parameter_has_a_value_for_every_request_example(operation_id: str) -> None:
    op = operation(operation_id)
    names = request_example_names(op)
    for parameter in op.get("parameters", ()):
        if parameter.get("in") == "path":
            assert set(parameter.get("examples", {})) == names, parameter["name"]


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_every_success_response_has_a_request_for_its_examples(operation_id: str) -> None:
    """Specmatic makes up a request for a 2xx response none of whose examples is paired (it
    fails), and for an operation without a body it turns every 2xx example into a test."""
    op = operation(operation_id)
    names = request_example_names(op)
    for status, examples in response_examples(op, spec.load_partner_spec()).items():
        if 200 <= status < 300:
            assert set(examples) & names, f"{operation_id} {status}: no paired example"
            if "requestBody" not in op:
                assert set(examples) <= names, f"{operation_id} {status}: {set(examples) - names}"


def _named_id(pair: spec.ExamplePair) -> str | None:
    if "entitlementId" in pair.path_parameters:
        return str(pair.path_parameters["entitlementId"])
    if isinstance(pair.body, Mapping) and "entitlementId" in pair.body:
        return str(pair.body["entitlementId"])
    return None


def test_the_entitlements_the_examples_name_are_the_fixtures() -> None:
    fixtures = {record["entitlementId"] for record in spec.example_entitlements()}
    named = set()
    for pair in spec.example_pairs():
        # A query's answer names the entitlements it finds.
        named |= {record["entitlementId"] for record in pair.answer.get("entitlements", ())}
        entitlement_id = _named_id(pair)
        if entitlement_id is None:
            continue
        if pair.status in UNKNOWN:
            assert entitlement_id not in fixtures, pair.name
        else:
            named.add(entitlement_id)
    assert named == fixtures


def test_the_fixtures_are_whole_records_with_their_own_ids() -> None:
    document = spec.load_partner_spec()
    schemas = document["components"]["schemas"]
    validator = compiled.partner().validator(
        {"$ref": "#/components/schemas/EntitlementRecord", "unevaluatedProperties": False}
    )
    records = spec.example_entitlements()
    for record in records:
        assert validator.errors(record) == [], record["entitlementId"]
        assert set(record) == set(schemas["EntitlementRecord"]["required"])
        assert record["status"] in spec.entitlement_statuses()
    assert len({r["entitlementId"] for r in records}) == len(records)


def test_no_fixture_is_due_for_a_time_driven_change_within_a_year() -> None:
    """A fresh sandbox would otherwise change it at start: an ACTIVE-ENDING fixture past its
    dateEnded is cancelled, one past its dateExpiry ended. Move such dates on when this fails."""
    horizon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=365)
    for record in spec.example_entitlements():
        due = [record["dateExpiry"]]
        if record["status"] == "ACTIVE-ENDING":
            due.append(record["dateEnded"])
        for moment in filter(None, due):
            assert datetime.datetime.fromisoformat(moment) > horizon, record["entitlementId"]


def test_reads_answer_with_the_fixture_as_it_is() -> None:
    fixtures = {r["entitlementId"]: r for r in spec.example_entitlements()}
    reads = [
        p
        for p in spec.example_pairs()
        if p.operation_id in {"getEntitlement", "getActivationInfo"} and p.status == 200
    ]
    assert reads
    for pair in reads:
        record = {k: v for k, v in pair.answer.items() if k in fixtures[_named_id(pair) or ""]}
        assert record == fixtures[_named_id(pair) or ""], pair.name
    for pair in spec.example_pairs():
        for record in pair.answer.get("entitlements", ()):
            assert record == fixtures[record["entitlementId"]], pair.name


def test_every_success_answer_is_an_answer_the_status_machine_allows() -> None:
    """A pair's answer (status and responseCode) is one its response documents."""
    documented = {
        (op, outcome.http_status, outcome.response_code)
        for op, outcomes in spec.operation_responses().items()
        for outcome in outcomes
    }
    for pair in spec.example_pairs():
        key = (pair.operation_id, pair.status, pair.answer["responseCode"])
        assert key in documented, pair.name
