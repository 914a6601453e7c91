"""Results and client actions: final / created / accepted / action required, and dispatch."""

from __future__ import annotations

import asyncio
import datetime
import warnings

import httpx
import pytest
from client_helpers import Script, envelope, record

import bango_resale as br
from bango_resale import NavigateToUrl, Outcome, ResaleClient

FUTURE = "2099-01-01T00:00:00+00:00"
PAST = "2000-01-01T00:00:00+00:00"


def action_required(
    url: str = "https://merchant.test/a", expiry: str = FUTURE
) -> dict[str, object]:
    parameters = {"action": "NAVIGATE_TO_URL", "url": url, "urlExpiry": expiry}
    return envelope("CLIENT_ACTION_REQUIRED", **record("PENDING"), parameters=parameters)


def create(client: ResaleClient) -> br.EntitlementResult:
    return client.create(
        customer_identifier="cust-1", merchant_account_key="BANGO", product_key="BangoMusic"
    )


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (200, "OK", Outcome.FINAL),
        (201, "OK", Outcome.CREATED),
        (202, "OK", Outcome.ACCEPTED),
    ],
)
def test_outcome_follows_the_status(
    status: int, code: str, outcome: Outcome, client: ResaleClient, script: Script
) -> None:
    script.then(status, envelope(code, **record()))
    result = create(client)
    assert result.outcome is outcome
    assert result.http_status == status
    assert result.client_action is None
    assert result.is_pending_notification is (outcome is Outcome.ACCEPTED)


def test_action_required_gives_a_typed_navigate_action(
    client: ResaleClient, script: Script
) -> None:
    script.then(202, action_required())
    result = create(client)
    assert result.requires_action
    assert result.entitlement.status == "PENDING"
    action = result.client_action
    assert isinstance(action, NavigateToUrl)
    assert action.url == "https://merchant.test/a"
    assert action.expiry == datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC)
    assert not action.is_expired()


def test_registered_handler_receives_the_action(client: ResaleClient, script: Script) -> None:
    script.then(202, action_required())
    visited: list[str] = []
    client.register_action_handler(NavigateToUrl, lambda a: visited.append(a.url))
    handled = client.handle_client_action(create(client))
    assert visited == ["https://merchant.test/a"]
    assert isinstance(handled, NavigateToUrl)
    assert len(script.requests) == 1


def test_expired_url_is_refreshed_through_activation_info(
    client: ResaleClient, script: Script
) -> None:
    script.then(202, action_required(expiry=PAST))
    script.then(200, {**action_required("https://merchant.test/fresh"), "responseCode": "OK"})
    visited: list[str] = []
    client.register_action_handler(NavigateToUrl, lambda a: visited.append(a.url))
    client.handle_client_action(create(client))
    assert visited == ["https://merchant.test/fresh"]
    assert script.requests[-1].url.path == "/v1/entitlement/activationInfo/ent-1"
    assert script.requests[-1].method == "GET"


def test_refresh_without_a_new_url_is_a_clear_error(client: ResaleClient, script: Script) -> None:
    script.then(202, action_required(expiry=PAST))
    script.then(200, envelope("OK", **{**record("PENDING"), "activationCode": "CODE-1"}))
    client.register_action_handler(NavigateToUrl, lambda a: None)
    with pytest.raises(br.ClientActionError, match="no new URL"):
        client.handle_client_action(create(client))


def test_no_registered_handler_is_a_clear_error(client: ResaleClient, script: Script) -> None:
    script.then(202, action_required())
    with pytest.raises(br.ClientActionError, match="register_action_handler"):
        client.handle_client_action(create(client))


def test_result_without_action_cannot_be_dispatched(client: ResaleClient, script: Script) -> None:
    script.then(200, envelope("OK", **record()))
    with pytest.raises(br.InvalidArgumentError, match="requires_action"):
        client.handle_client_action(create(client))


def test_unknown_action_raises_but_keeps_the_result(client: ResaleClient, script: Script) -> None:
    body = envelope(
        "CLIENT_ACTION_REQUIRED", **record("PENDING"), parameters={"action": "SCAN_QR", "qr": "x"}
    )
    script.then(202, body)
    with pytest.raises(br.UnknownClientActionError) as caught:
        create(client)
    error = caught.value
    assert error.result.entitlement.entitlement_id == "ent-1"
    assert isinstance(error.result.client_action, br.UnknownClientAction)
    assert error.result.client_action.parameters["qr"] == "x"
    assert "SCAN_QR" in str(error)
    assert len(script.requests) == 1  # a known answer: never retried


def test_action_required_without_parameters_is_malformed(
    client: ResaleClient, script: Script
) -> None:
    script.then(202, envelope("CLIENT_ACTION_REQUIRED", **record("PENDING")))
    with pytest.raises(br.MalformedResponseError):
        create(client)


def test_reactivate_warns_deprecation(client: ResaleClient, script: Script) -> None:
    script.then(200, envelope("OK", **record()))
    with pytest.warns(DeprecationWarning, match="deprecated"):
        client.reactivate("ent-1")
    assert script.requests[0].url.path == "/v1/entitlement/reactivate/ent-1"


def test_terminate_picks_revoke_or_cancel(client: ResaleClient, script: Script) -> None:
    script.then(200, envelope("OK", **record("REVOKED")))
    client.terminate("ent-1", ("REVOKED", "OTHER"), immediate=True)
    client.terminate("ent-1", ("CUSTOMER_CANCELLED", "NOT_RENEWED"), immediate=False)
    paths = [r.url.path for r in script.requests]
    assert paths == ["/v1/entitlement/revoke/ent-1", "/v1/entitlement/cancel/ent-1"]


def test_cancel_body_carries_reason_and_custom_data(client: ResaleClient, script: Script) -> None:
    script.then(202, envelope("OK", **record()))
    client.cancel("ent-1", 1, description="Did not renew", custom_data={"ticket": "T-9"})
    assert script.body() == {
        "cancelReasonCategory": "CUSTOMER_CANCELLED",
        "cancelReasonCode": "NOT_RENEWED",
        "cancelReasonDescription": "Did not renew",
        "ticket": "T-9",
    }


def test_suspend_resume_update_query_echo_bodies(client: ResaleClient, script: Script) -> None:
    script.then(200, envelope("OK", **record()))
    client.suspend("ent-1", ("ACTIVATION_ROLLBACK", "FRAUD_CHECK"))
    assert script.body() == {
        "entitlementId": "ent-1",
        "entitlementBenefits": "SUSPENDED",
        "reasonCategory": "ACTIVATION_ROLLBACK",
        "reasonCode": "FRAUD_CHECK",
        "reasonDescription": "Entitlement has been cancelled due to suspected fraud",
    }
    client.resume("ent-1")
    assert script.body() == {"entitlementId": "ent-1", "entitlementBenefits": "NORMAL"}
    client.update("ent-1", offer_key=None, product_key="BangoMusicPlus")
    assert script.body() == {
        "entitlementId": "ent-1",
        "offerKey": None,
        "productKey": "BangoMusicPlus",
    }
    assert {r.method for r in script.requests} == {"PATCH"}

    script.answers = [
        httpx.Response(
            200, json=envelope("OK", entitlements=[record(), record("REVOKED", "ent-2")])
        )
    ]
    found = client.query("cust-1", status="ACTIVE")
    assert [e.entitlement_id for e in found] == ["ent-1", "ent-2"]
    assert found[1].is_terminal
    assert script.body() == {"customerIdentifier": "cust-1", "status": "ACTIVE"}

    script.answers = [httpx.Response(200, json=envelope("OK", echo="ping-1"))]
    assert client.echo("ping-1").echo == "ping-1"
    assert script.requests[-1].url.path == "/v1/echo/ping-1"


def test_async_client_dispatches_to_a_coroutine_handler(script: Script) -> None:
    script.then(202, action_required())
    visited: list[str] = []

    async def open_page(action: NavigateToUrl) -> None:
        visited.append(action.url)

    async def run() -> None:
        async with br.AsyncResaleClient(
            "http://bango.test", "u", "p", transport=httpx.MockTransport(script)
        ) as client:
            client.register_action_handler(NavigateToUrl, open_page)
            result = await client.create(
                customer_identifier="c", merchant_account_key="BANGO", product_key="BangoMusic"
            )
            await client.handle_client_action(result)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                await client.get("ent-1")

    asyncio.run(run())
    assert visited == ["https://merchant.test/a"]


def test_typed_actions_are_the_spec_client_actions() -> None:
    import bango_resale_spec as spec
    from bango_resale._actions import NAVIGATE_TO_URL

    # One typed class per action the spec lists; a new one must get a class, not be ignored.
    assert set(spec.client_actions()) == {NAVIGATE_TO_URL}
