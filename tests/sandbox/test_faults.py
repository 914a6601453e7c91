"""The deliberate faults for the contract-testing engineer: off by default, each reached by
ordinary traffic when switched on."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bango_resale_sandbox import faults
from bango_resale_sandbox.envelopes import Envelopes
from bango_resale_sandbox.faults import EXTRA_FIELD_NAME, FAULTS, KNOWN_FAULTS, parse_faults
from bango_resale_sandbox.faults.wrappers import WRAPPERS, refine_for
from bango_resale_sandbox.handlers.entitlements import EntitlementHandlers
from bango_resale_sandbox.pipeline import Pipeline
from bango_resale_sandbox.services import PartnerOperations, StatusChanges
from bango_resale_sandbox.testing import SandboxProcess, SandboxThread

from support.api import Api, ContractViolation, check_conforms

ACTIVATED = "CREATE_REQUEST_RETURNS_ACTIVATED"
# The parts a fault may subclass.
PARTS = (StatusChanges, PartnerOperations, EntitlementHandlers, Envelopes, Pipeline)


def test_fault_names_parse_and_every_name_has_its_wrappers() -> None:
    assert parse_faults([]) == frozenset()
    assert parse_faults(["echo_mangled,extra_field", " server_error "]) == {
        "echo_mangled",
        "extra_field",
        "server_error",
    }
    with pytest.raises(ValueError, match="unknown fault"):
        parse_faults(["no_such_fault"])
    assert set(WRAPPERS) == set(FAULTS) == KNOWN_FAULTS
    for name, wrappers in WRAPPERS.items():
        assert wrappers, name
        for wrapper in wrappers:
            assert [part for part in PARTS if issubclass(wrapper, part)], (name, wrapper)


def test_no_fault_builds_the_reference_parts_and_each_fault_only_its_own() -> None:
    unfaulty = refine_for([])
    assert all(unfaulty(part) is part for part in PARTS)
    for name, wrappers in WRAPPERS.items():
        refine = refine_for([name])
        for part in PARTS:
            built = refine(part)
            expected = [w for w in wrappers if issubclass(w, part)]
            assert (built is part) == (not expected), (name, part)
            assert all(issubclass(built, w) for w in expected), (name, part)


def test_the_reference_sandbox_reads_without_faults() -> None:
    """No module outside `faults/` names a fault: the reference path knows nothing of them."""
    package = Path(faults.__file__).resolve().parent.parent
    mentions = {
        f"{path.relative_to(package)}: {name}"
        for path in package.rglob("*.py")
        if "faults" not in path.relative_to(package).parts
        for name in KNOWN_FAULTS
        if name in path.read_text("utf-8")
    }
    assert not mentions, sorted(mentions)


@pytest.mark.integration
def test_faults_are_off_by_default(api: Api, customer: str) -> None:
    created = api.create(customer, offerKey="FAMILY")
    assert created.status_code == 200
    entitlement_id = created.json()["entitlementId"]
    assert EXTRA_FIELD_NAME not in api.get(entitlement_id).json()
    assert api.get("missing").json()["responseCode"] == "NOT_FOUND"
    cancelled = api.cancel(entitlement_id).json()["extensionData"]
    assert {"cancelReasonCategory", "cancelReasonCode"} <= cancelled.keys()
    assert api.cancel(entitlement_id).status_code == 409


@pytest.mark.integration
def test_every_fault_is_reached_by_ordinary_traffic(
    in_process_sandbox: Callable[..., SandboxThread], customer: str
) -> None:
    # (cancel_drops_custom would take the custom data drop_cancel_reason keeps: its own test.)
    server = in_process_sandbox(faults=sorted(KNOWN_FAULTS - {"cancel_drops_custom"}))
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


@pytest.mark.integration
def test_the_bugs_the_contract_suite_once_missed_are_reached_by_ordinary_traffic(
    in_process_sandbox: Callable[..., SandboxThread], customer: str
) -> None:
    missed = [
        "cancel_drops_custom",
        "retry_after_missing",
        "product_change_ignored",
        "extension_data_replaced",
        "query_drops_last",
        "notification_status_stale",
        "confirmation_not_notified",
    ]
    server = in_process_sandbox(faults=missed)
    api = Api(server.base_url, ("demo", "demo-secret"))
    url = {"notificationUrl": "http://127.0.0.1:9/notifications"}
    # cancel_drops_custom: the reason is kept, the custom property is not.
    ended = api.create_id(customer, **url)
    kept = api.cancel(ended, ticket="T-1").json()["extensionData"]
    assert "cancelReasonCode" in kept and "ticket" not in kept
    # retry_after_missing: a 429 without Retry-After (a 503 keeps its own).
    forced = {"X-Magic-Number": "ANY_REQUEST_RETURNS_TOO_MANY_REQUESTS"}
    limited = api.http.get(f"/v1/entitlement/{ended}", headers=forced)
    assert limited.status_code == 429 and "retry-after" not in limited.headers
    # product_change_ignored: 200 OK, the old product still in the record.
    moving = api.create_id(customer, merchant="BANGO_US", product="MUSIC", magic=ACTIVATED)
    changed = api.update(moving, productKey="MUSIC_PREMIUM")
    assert changed.status_code == 200 and changed.json()["productKey"] == "MUSIC"
    # extension_data_replaced: the keys not sent are gone.
    merged = api.create_id(customer, extensionData={"origin": "test"}, **url)
    assert api.update(merged, extensionData={"channel": "web"}).json()["extensionData"] == {
        "channel": "web"
    }
    # query_drops_last: the customer has three entitlements; two are listed.
    assert len(api.query(customer).json()["entitlements"]) == 2
    # notification_status_stale: a suspend's notification says the status before it.
    paused = api.create_id(customer, magic=ACTIVATED, **url)
    api.suspend(paused)
    (suspended,) = [
        n for n in api.notifications(paused) if n["notificationType"] == "SUSPENSION_SUCCESS"
    ]
    assert suspended["body"]["status"] == "ACTIVE"
    # confirmation_not_notified: a 202 confirmed by the merchant sends nothing.
    waiting = api.create_id(customer, magic=ACTIVATED, **url)
    before = api.notification_types(waiting)
    assert api.revoke(waiting, magic="REVOKE_REQUEST_RETURNS_ACCEPTED").status_code == 202
    assert api.complete(waiting).status_code == 200
    assert api.status(waiting) == "REVOKED"
    assert api.notification_types(waiting) == before


@pytest.mark.integration
def test_faults_can_come_from_the_environment(
    sandbox_server: Callable[..., SandboxProcess],
) -> None:
    server = sandbox_server(extra_env={"BANGO_SANDBOX_FAULTS": "wrong_response_code"})
    missing = httpx.get(f"{server.base_url}/v1/entitlement/missing", auth=("demo", "demo-secret"))
    assert missing.json()["responseCode"] == "OK"


@pytest.mark.integration
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
