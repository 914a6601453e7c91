"""A fresh sandbox holds the entitlements the partner spec's examples name, so every example
request gets the answer its paired response example shows (what Specmatic and Prism's
validation proxy check, more strictly: the responseCode and the record's status too)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

import bango_resale_spec as spec
from bango_resale_sandbox.testing import DEMO_RESELLER, SECOND_DEMO_RESELLER, SandboxThread

from support.api import Api


def _summary(body: Any) -> Any:
    """What a pair promises beyond the HTTP status: the responseCode, and the status and id of
    each record (a create's id is the platform's to choose)."""
    if not isinstance(body, dict):
        return body
    records = body.get("entitlements", [body] if "status" in body else [])
    return body.get("responseCode"), [(r.get("entitlementId"), r.get("status")) for r in records]


def test_every_example_request_gets_its_examples_answer(
    in_process_sandbox: Callable[..., SandboxThread],
) -> None:
    sandbox = in_process_sandbox()
    pairs = spec.example_pairs()
    assert len(pairs) >= 40
    with httpx.Client(base_url=sandbox.base_url, auth=DEMO_RESELLER, timeout=10) as http:
        for pair in pairs:
            answer = http.request(
                pair.method, pair.path, json=pair.body if pair.body is not None else None
            )
            where = f"{pair.operation_id} example {pair.name!r}"
            assert answer.status_code == pair.status, f"{where}: {answer.text}"
            got, promised = _summary(answer.json()), _summary(dict(pair.answer))
            if pair.operation_id == "createEntitlement" and pair.status < 300:
                got = (got[0], [(None, status) for _, status in got[1]])
                promised = (promised[0], [(None, status) for _, status in promised[1]])
            assert got == promised, where


def test_the_examples_are_seeded_once_for_the_first_reseller_only(
    fresh_database: Callable[[], str],
) -> None:
    database = fresh_database()
    fixture = spec.example_entitlements()[0]
    entitlement_id = fixture["entitlementId"]
    with SandboxThread(database) as sandbox:
        demo = Api(sandbox.base_url, DEMO_RESELLER)
        assert demo.get(entitlement_id).json() == {
            "responseCode": "OK",
            "responseMessage": "Success",
            **fixture,
        }
        # Ids are per reseller: the second demo reseller holds no example entitlements.
        assert Api(sandbox.base_url, SECOND_DEMO_RESELLER).get(entitlement_id).status_code == 404
        assert demo.revoke(entitlement_id).status_code == 200
    with SandboxThread(database) as sandbox:
        # A database that holds the examples already is left as it is: nothing comes back.
        assert Api(sandbox.base_url, DEMO_RESELLER).status(entitlement_id) == "REVOKED"
