"""The partner spec says its contract in constructs partners' tools handle. Each rule below is a
trap measured with one of them (scripts/portability.py runs the tools themselves)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import bango_resale_spec as spec


def nodes(node: Any, where: str = "#") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every mapping of the document, with its JSON pointer."""
    if isinstance(node, Mapping):
        yield where, node
        for key, value in node.items():
            yield from nodes(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from nodes(value, f"{where}/{index}")


def test_nullable_values_are_type_arrays_not_compositions_with_null() -> None:
    """openapi-generator imports a model `object` that does not exist for anyOf [X, null]."""
    for where, node in nodes(spec.load_partner_spec()):
        for keyword in ("anyOf", "oneOf"):
            branches = node.get(keyword)
            if isinstance(branches, list):
                assert {"type": "null"} not in branches, f"{where}/{keyword}"


def test_optional_response_headers_are_written_out() -> None:
    """openapi-typescript types a $ref'd response header as required, whatever it says."""
    document = spec.load_partner_spec()
    for where, node in nodes(document):
        if where.endswith("/headers") and "/responses/" in where:
            for name, header in node.items():
                if "$ref" in header:
                    assert spec.resolve(header, document).get("required") is True, (where, name)
                else:
                    assert header.get("required") is False, (where, name)


def test_the_webhook_has_a_tag_no_operation_has() -> None:
    """Generators write one API file per tag: a shared tag lets the webhook's overwrite it."""
    document = spec.load_partner_spec()
    operation_tags = {
        tag
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in spec.HTTP_METHODS
        for tag in operation["tags"]
    }
    for webhook in document["webhooks"].values():
        for operation in webhook.values():
            assert set(operation["tags"]).isdisjoint(operation_tags)


def test_links_carry_no_request_body_objects() -> None:
    """swagger-parser (openapi-generator, Specmatic) refuses a link whose requestBody is not a
    string."""
    for name, link in spec.load_partner_spec()["components"]["links"].items():
        assert isinstance(link.get("requestBody", ""), str), name


def test_open_request_bodies_are_not_compositions() -> None:
    """Specmatic forgets `additionalProperties: true` under allOf, and refuses custom data."""
    document = spec.load_partner_spec()
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        if schema.get("additionalProperties") is True and "properties" in schema:
            assert "allOf" not in schema, name
