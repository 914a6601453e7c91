"""The schemathesis hooks on real schemathesis cases and responses from a real sandbox: what
the registered checks report when schemathesis runs them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from schemathesis.errors import FailureGroup

import bango_resale_spec as spec
from bango_resale_contract import hooks
from bango_resale_sandbox.testing import DEMO_RESELLER, SandboxThread

from support.api import REASON, Api

CANCEL = ("/v1/entitlement/cancel/{entitlementId}", "POST")
REVOKE = ("/v1/entitlement/revoke/{entitlementId}", "POST")


@pytest.fixture(scope="module")
def partner_schema() -> Any:
    """The partner spec as schemathesis loads it (no schemathesis.toml: no hooks, no auth)."""
    return schemathesis.openapi.from_path(spec.partner_spec_path(), config=schemathesis.Config())


@pytest.fixture
def lax_sandbox(in_process_sandbox: Callable[..., SandboxThread]) -> SandboxThread:
    """A sandbox whose ended entitlements still accept a cancel: what the check must catch."""
    return in_process_sandbox(faults=["illegal_transition"])


def _send(
    schema: Any, sandbox: SandboxThread, route: tuple[str, str], entitlement_id: str, request: str
) -> tuple[Any, Any]:
    """A real case of the operation, sent to the sandbox: (case, schemathesis response)."""
    path, method = route
    case = schema[path][method].Case(
        path_parameters={"entitlementId": entitlement_id},
        body={"cancelReasonCategory": REASON["cancelReasonCategory"], "cancelReasonCode": "OTHER"}
        if route == CANCEL
        else {"cancelReasonCategory": "REVOKED", "cancelReasonCode": "OTHER"},
        headers={hooks.REQUEST_IDENTIFIER_HEADER: request},
    )
    return case, case.call(base_url=sandbox.base_url, auth=DEMO_RESELLER)


def _judge(case: Any, response: Any) -> None:
    """Run the registered check the way schemathesis runs it on a response."""
    case.validate_response(response, checks=[hooks.bango_terminal_status_final])


def _revoked_entitlement(schema: Any, sandbox: SandboxThread) -> str:
    """An entitlement the sandbox revoked, with the answer seen by the hooks' memory."""
    api = Api(sandbox.base_url, DEMO_RESELLER)
    entitlement_id = api.create_id(f"hooks-{uuid.uuid4().hex[:12]}")
    case, response = _send(schema, sandbox, REVOKE, entitlement_id, f"revoke-{uuid.uuid4()}")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "REVOKED"
    _judge(case, response)
    return entitlement_id


def test_terminal_check_judges_requests_with_a_fresh_request_identifier(
    partner_schema: Any, lax_sandbox: SandboxThread
) -> None:
    entitlement_id = _revoked_entitlement(partner_schema, lax_sandbox)
    fresh = f"{hooks.FRESH_REQUEST_IDENTIFIER_PREFIX}{uuid.uuid4().hex}"
    case, response = _send(partner_schema, lax_sandbox, CANCEL, entitlement_id, fresh)
    assert (response.status_code, response.json()["responseCode"]) == (200, "OK")

    with pytest.raises(FailureGroup) as caught:
        _judge(case, response)
    (failure,) = caught.value.exceptions
    assert "which is REVOKED" in str(failure)


def test_terminal_check_spares_answers_that_may_be_replays(
    partner_schema: Any, lax_sandbox: SandboxThread
) -> None:
    entitlement_id = _revoked_entitlement(partner_schema, lax_sandbox)
    # An id the generator chose may repeat one sent before the end: the answer may be a replay.
    case, response = _send(partner_schema, lax_sandbox, CANCEL, entitlement_id, "0")
    assert (response.status_code, response.json()["responseCode"]) == (200, "OK")

    _judge(case, response)


def test_terminal_check_accepts_the_refusal_of_a_correct_service(
    partner_schema: Any, in_process_sandbox: Callable[..., SandboxThread]
) -> None:
    sandbox = in_process_sandbox()
    entitlement_id = _revoked_entitlement(partner_schema, sandbox)
    fresh = f"{hooks.FRESH_REQUEST_IDENTIFIER_PREFIX}{uuid.uuid4().hex}"
    case, response = _send(partner_schema, sandbox, CANCEL, entitlement_id, fresh)
    assert (response.status_code, response.json()["responseCode"]) == (409, "NOT_AVAILABLE")

    _judge(case, response)


def test_products_for_another_service_come_from_the_command_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bango_resale_contract import sandbox_data

    hooks._products_under_test.cache_clear()
    monkeypatch.delenv(sandbox_data.PRODUCTS_ENVIRONMENT_VARIABLE, raising=False)
    assert hooks._products_under_test() == sandbox_data.KNOWN_PRODUCTS

    hooks._products_under_test.cache_clear()
    monkeypatch.setenv(sandbox_data.PRODUCTS_ENVIRONMENT_VARIABLE, "ACME/VIDEO, ACME/VIDEO_HD")
    try:
        assert hooks._products_under_test() == (("ACME", "VIDEO"), ("ACME", "VIDEO_HD"))
    finally:
        hooks._products_under_test.cache_clear()


def test_malformed_products_are_refused_before_anything_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bango_resale_contract.__main__ import main

    assert main(["--url", "http://127.0.0.1:9", "--product", "NOSLASH"]) == 2
    assert "MERCHANT/PRODUCT" in capsys.readouterr().err
    assert main(["--product", "ACME/VIDEO"]) == 2
    assert "only applies with --url" in capsys.readouterr().err


def test_scenario_reproducers_replay_the_request_without_credentials() -> None:
    import httpx

    from bango_resale_contract.scenarios import curl_command

    request = httpx.Client(auth=("demo", "demo-secret")).build_request(
        "POST",
        "http://127.0.0.1:8000/v1/entitlement/cancel/e-1",
        json={"cancelReasonCategory": "REVOKED", "cancelReasonCode": "OTHER"},
        headers={"X-Magic-Number": "CANCEL_REQUEST_RETURNS_ACCEPTED"},
    )
    command = curl_command(request)
    assert command.startswith('curl -X POST -u "$BANGO_USER:$BANGO_PASSWORD" ')
    assert "-H 'x-magic-number: CANCEL_REQUEST_RETURNS_ACCEPTED'" in command
    assert "-H 'content-type: application/json'" in command
    assert '"cancelReasonCode":"OTHER"' in command.replace(" ", "")
    assert command.endswith("http://127.0.0.1:8000/v1/entitlement/cancel/e-1")
    assert "demo-secret" not in command
