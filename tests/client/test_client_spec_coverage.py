"""Everything the spec defines for a request reaches the wire, and every record field comes back.

These tests walk the partner spec, not a hand-kept list: a header, parameter or body property
added to the spec, or a field added to `EntitlementRecord`, fails here until the client carries
it.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import httpx
import pytest

import bango_resale_spec as spec
from bango_resale import Entitlement, ResaleClient, _operations
from bango_resale_generated.models import EntitlementRecord

BASE_URL = "http://bango.test"
ENTITLEMENT_ID = "ent-cover-1"
EXPIRY = datetime.datetime(2031, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


def resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local `$ref` of the partner spec."""
    while "$ref" in node:
        target: Any = spec.load_partner_spec()
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def body_properties(schema: Mapping[str, Any]) -> set[str]:
    """Every property of a request body schema, across its `oneOf`/`anyOf` variants."""
    schema = resolve(schema)
    found = set(schema.get("properties", {}))
    for variant in schema.get("oneOf", []) + schema.get("anyOf", []) + schema.get("allOf", []):
        found |= body_properties(variant)
    return found


def spec_operations() -> Iterator[tuple[str, str, str, Mapping[str, Any]]]:
    for path, item in spec.load_partner_spec()["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                yield operation["operationId"], method.upper(), path, operation


def path_pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")


def answer(request: httpx.Request) -> httpx.Response:
    envelope = {"responseCode": "OK", "responseMessage": "Success"}
    if request.url.path.startswith("/v1/echo/"):
        return httpx.Response(200, json={**envelope, "echo": request.url.path.rsplit("/", 1)[1]})
    record = {
        "entitlementId": ENTITLEMENT_ID,
        "status": "ACTIVE",
        "customerIdentifier": "customer-0001",
        "merchantAccountKey": "BANGO",
        "productKey": "BangoMusic",
        "dateCreated": "2030-01-01T00:00:00+00:00",
        "dateLastUpdated": "2030-01-01T00:00:00+00:00",
    }
    if request.url.path.endswith("/report"):
        return httpx.Response(200, json={**envelope, "entitlements": [record]})
    return httpx.Response(200, json={**envelope, **record})


def every_call(client: ResaleClient) -> None:
    """Each client method once, with every optional argument given."""
    rid = iter(f"rid-{n}" for n in range(100))
    client.create(
        customer_identifier="customer-0001",
        merchant_account_key="BANGO",
        product_key="BangoMusic",
        offer_key="offer-1",
        entitlement_id=ENTITLEMENT_ID,
        notification_url="https://reseller.example/hook",
        date_expiry=EXPIRY,
        extension_data={"plan": "gold"},
        request_id=next(rid),
    )
    client.get(ENTITLEMENT_ID, request_id=next(rid))
    client.query(
        "customer-0001",
        merchant_account_key="BANGO",
        product_key="BangoMusic",
        status="ACTIVE",
        request_id=next(rid),
    )
    client.update(
        ENTITLEMENT_ID,
        product_key="BangoVideo",
        offer_key="offer-2",
        notification_url="https://reseller.example/hook2",
        date_expiry=EXPIRY,
        customer_identifier="customer-0002",
        extension_data={"plan": "silver"},
        request_id=next(rid),
    )
    client.suspend(
        ENTITLEMENT_ID, ("CUSTOMER_CANCELLED", "NOT_RENEWED"), description="d", request_id=next(rid)
    )
    client.resume(ENTITLEMENT_ID, request_id=next(rid))
    client.cancel(
        ENTITLEMENT_ID, ("CUSTOMER_CANCELLED", "NOT_RENEWED"), description="d", request_id=next(rid)
    )
    client.revoke(
        ENTITLEMENT_ID, ("ACTIVATION_ROLLBACK", "FRAUD"), description="d", request_id=next(rid)
    )
    client.activation_info(ENTITLEMENT_ID, request_id=next(rid))
    with pytest.warns(DeprecationWarning):
        client.reactivate(ENTITLEMENT_ID, request_id=next(rid))
    client.echo("ping", request_id=next(rid))


@pytest.fixture(scope="module")
def sent() -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def record_and_answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    transport = httpx.MockTransport(record_and_answer)
    with ResaleClient(BASE_URL, "user", "secret", transport=transport) as client:
        every_call(client)
    return seen


OPERATIONS = sorted(spec_operations())


@pytest.mark.parametrize(
    ("operation_id", "method", "path", "operation"), OPERATIONS, ids=[o[0] for o in OPERATIONS]
)
def test_every_parameter_and_body_property_of_the_spec_reaches_the_wire(
    sent: list[httpx.Request],
    operation_id: str,
    method: str,
    path: str,
    operation: Mapping[str, Any],
) -> None:
    pattern = path_pattern(path)
    requests = [r for r in sent if r.method == method and pattern.match(r.url.path)]
    assert requests, f"no client method sends {operation_id} ({method} {path})"
    for parameter in map(resolve, operation.get("parameters", [])):
        name, where = parameter["name"], parameter["in"]
        if where == "header":
            missing = [r for r in requests if name not in r.headers]
            assert not missing, f"{operation_id}: header {name} not sent"
        elif where == "query":
            assert all(name in r.url.params for r in requests), f"{operation_id}: ?{name} not sent"
        elif where == "path":
            assert f"{{{name}}}" in path  # carried by the URL the path pattern matched
        else:
            pytest.fail(f"{operation_id}: parameter {name} in {where} is not carried")
    body = operation.get("requestBody")
    if body is not None:
        content = body["content"]
        expected = body_properties(content["application/json"]["schema"])
        carried: set[str] = set()
        for request in requests:
            assert request.headers["content-type"] == "application/json"
            carried |= set(json.loads(request.content))
        assert expected <= carried, f"{operation_id}: body never carries {expected - carried}"


def test_a_request_part_the_clients_do_not_send_is_refused_not_dropped() -> None:
    built = {"method": "get", "url": "/v1/x", "cookies": {"session": "s"}}
    with pytest.raises(NotImplementedError, match="cookies"):
        _operations._prepared("someOperation", built, None, _operations.decode_echo)


def sample_value(name: str, schema: Mapping[str, Any], seed: int) -> Any:
    """A value of the property's schema, distinct per property."""
    schema = resolve(schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            variants = [resolve(v) for v in schema[key]]
            usable = [v for v in variants if v.get("type") != "null"]
            return sample_value(name, usable[0], seed)
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if schema.get("format") == "date-time":
        moment = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
        return (moment + datetime.timedelta(minutes=seed)).isoformat()
    if "object" in kinds:
        return {"from": name}
    if "string" in kinds:
        return f"{name}-{seed}"
    pytest.fail(f"EntitlementRecord.{name}: no sample for schema {schema}")


def full_record() -> dict[str, Any]:
    schema = resolve({"$ref": "#/components/schemas/EntitlementRecord"})
    return {
        name: sample_value(name, prop, seed)
        for seed, (name, prop) in enumerate(schema["properties"].items())
    }


def plain(value: Any) -> Any:
    if attrs.has(type(value)):
        return value.to_dict()
    if isinstance(value, str):
        return str(value)  # an enum member compares as its value
    return value


def test_the_record_type_has_one_field_per_field_of_the_generated_model() -> None:
    generated = {f.name for f in attrs.fields(EntitlementRecord)} - {"additional_properties"}
    ours = {f.name for f in dataclasses.fields(Entitlement)} - {"sent"}  # the object as sent
    renamed = {_operations.RENAMED_RECORD_FIELDS.get(name, name) for name in generated}
    assert renamed == ours


def test_every_field_of_a_record_is_decoded_as_the_generated_model_reads_it() -> None:
    record = full_record()
    body = {"responseCode": "OK", "responseMessage": "Success", **record}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    with ResaleClient(BASE_URL, "user", "secret", transport=transport) as client:
        decoded = client.get(ENTITLEMENT_ID).entitlement
    reference = EntitlementRecord.from_dict(record)
    for field in attrs.fields(EntitlementRecord):
        if field.name == "additional_properties":
            continue
        ours = getattr(decoded, _operations.RENAMED_RECORD_FIELDS.get(field.name, field.name))
        theirs = plain(getattr(reference, field.name))
        assert plain(ours) == theirs, field.name
        assert theirs is not None, f"{field.name}: the sample left it empty"
    wire = decoded.to_json()
    for key, value in record.items():
        assert wire.get(key) == value, f"{key} does not survive decode and to_json()"
