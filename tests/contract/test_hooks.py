"""The schemathesis hooks on hand-made cases: what the registered checks report."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from bango_resale_contract import hooks


def _cancel(entitlement_id: str, headers: dict[str, str]) -> Any:
    operation = SimpleNamespace(
        definition=SimpleNamespace(raw={"operationId": "cancelEntitlement"}),
        method="POST",
        label="POST /v1/entitlement/cancel/{entitlementId}",
    )
    return SimpleNamespace(
        operation=operation,
        method="POST",
        path_parameters={"entitlementId": entitlement_id},
        body={"cancelReasonCategory": "CUSTOMER_CANCELLED", "cancelReasonCode": "NOT_RENEWED"},
        headers=headers,
    )


def _answer(entitlement_id: str, status: str) -> Any:
    record = {"responseCode": "OK", "entitlementId": entitlement_id, "status": status}
    return SimpleNamespace(status_code=200, content=json.dumps(record).encode())


def _revoked_entitlement() -> str:
    """An id the hooks' memory has seen REVOKED."""
    entitlement_id = f"hooks-test-{uuid.uuid4().hex}"
    hooks.bango_terminal_status_final(
        None, _answer(entitlement_id, "REVOKED"), _cancel(entitlement_id, {})
    )
    return entitlement_id


def test_terminal_check_judges_requests_with_a_fresh_request_identifier() -> None:
    entitlement_id = _revoked_entitlement()
    fresh = {hooks.REQUEST_IDENTIFIER_HEADER: f"{hooks.FRESH_REQUEST_IDENTIFIER_PREFIX}1"}

    with pytest.raises(AssertionError, match="which is REVOKED"):
        hooks.bango_terminal_status_final(
            None, _answer(entitlement_id, "CANCELLED"), _cancel(entitlement_id, fresh)
        )


def test_terminal_check_spares_answers_that_may_be_replays() -> None:
    entitlement_id = _revoked_entitlement()
    generated = {hooks.REQUEST_IDENTIFIER_HEADER: "0"}

    assert (
        hooks.bango_terminal_status_final(
            None, _answer(entitlement_id, "CANCELLED"), _cancel(entitlement_id, generated)
        )
        is None
    )


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
