"""The deliberate faults for the contract-testing engineer: off by default, each reached by
ordinary traffic when switched on."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from bango_resale_sandbox.faults import EXTRA_FIELD_NAME, KNOWN_FAULTS
from bango_resale_sandbox.testing import (
    Api,
    ContractViolation,
    SandboxProcess,
    SandboxThread,
    check_conforms,
)

pytestmark = pytest.mark.integration


def test_faults_are_off_by_default(api: Api, customer: str) -> None:
    created = api.create(customer, offerKey="FAMILY")
    assert created.status_code == 200
    entitlement_id = created.json()["entitlementId"]
    assert EXTRA_FIELD_NAME not in api.get(entitlement_id).json()
    assert api.get("missing").json()["responseCode"] == "NOT_FOUND"
    cancelled = api.cancel(entitlement_id).json()["extensionData"]
    assert {"cancelReasonCategory", "cancelReasonCode"} <= cancelled.keys()
    assert api.cancel(entitlement_id).status_code == 409


def test_every_fault_is_reached_by_ordinary_traffic(
    in_process_sandbox: Callable[..., SandboxThread], customer: str
) -> None:
    server = in_process_sandbox(faults=sorted(KNOWN_FAULTS))
    api = Api(server.base_url, ("demo", "demo-secret"))
    # server_error: a plain-text 500 for a create with an offerKey.
    broken = api.create(customer, offerKey="FAMILY")
    assert broken.status_code == 500
    assert broken.headers["content-type"].startswith("text/plain")
    entitlement_id = api.create_id(customer)
    # extra_field: single-entitlement responses carry a property the schema forbids.
    record = api.get(entitlement_id)
    assert EXTRA_FIELD_NAME in record.json()
    with pytest.raises(ContractViolation):
        check_conforms(record, "getEntitlement")
    # wrong_response_code: a 404 that says OK.
    missing = api.get("missing")
    assert (missing.status_code, missing.json()["responseCode"]) == (404, "OK")
    # ignore_auth: getEntitlement answers without credentials, as the first demo reseller.
    anonymous = httpx.get(f"{server.base_url}/v1/entitlement/{entitlement_id}")
    assert anonymous.status_code == 200
    # drop_cancel_reason: the cancel keeps custom data but loses the reason pair.
    cancelled = api.cancel(entitlement_id, ticket="T-1").json()["extensionData"]
    assert cancelled.get("ticket") == "T-1"
    assert not {"cancelReasonCategory", "cancelReasonCode"} & cancelled.keys()
    # illegal_transition: cancelling a CANCELLED entitlement "succeeds".
    assert api.cancel(entitlement_id).status_code == 200
    assert api.cancel(entitlement_id).status_code == 200


def test_faults_can_come_from_the_environment(
    sandbox_server: Callable[..., SandboxProcess],
) -> None:
    server = sandbox_server(extra_env={"BANGO_SANDBOX_FAULTS": "wrong_response_code"})
    missing = httpx.get(f"{server.base_url}/v1/entitlement/missing", auth=("demo", "demo-secret"))
    assert missing.json()["responseCode"] == "OK"


def test_unknown_fault_name_stops_the_start() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bango_resale_sandbox", "--fault", "gremlins"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "gremlins" in result.stderr
