"""The client against the real sandbox over loopback HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import bango_resale as br
from bango_resale import NavigateToUrl, Outcome, ResaleClient
from bango_resale_sandbox.testing import SandboxThread

pytestmark = pytest.mark.integration

MAGIC = "X-Magic-Number"


def new_customer() -> str:
    return f"cust-{uuid.uuid4().hex[:12]}"


def create(client: ResaleClient, magic: str | None = None) -> br.EntitlementResult:
    return client.create(
        customer_identifier=new_customer(),
        merchant_account_key="BANGO",
        product_key="BangoMusic",
        extra_headers={MAGIC: magic} if magic else None,
    )


def test_echo(live: ResaleClient) -> None:
    assert live.echo("hello-1").echo == "hello-1"


def test_create_activated_then_cancel_with_reason(live: ResaleClient) -> None:
    created = create(live, "CREATE_REQUEST_RETURNS_ACTIVATED")
    assert created.outcome is Outcome.FINAL
    assert created.entitlement.status == "ACTIVE"
    cancelled = live.cancel(
        created.entitlement.entitlement_id, ("CUSTOMER_CANCELLED", "NOT_RENEWED")
    )
    # The sandbox's BANGO/BangoMusic merchant ends a cancelled entitlement at once (its
    # `cancel = "immediate"`), so the soft end shows as CANCELLED, never ACTIVE-ENDING.
    assert cancelled.outcome is Outcome.FINAL
    assert cancelled.entitlement.status == "CANCELLED"
    assert cancelled.entitlement.extension_data["cancelReasonCode"] == "NOT_RENEWED"
    again = live.get(created.entitlement.entitlement_id)
    assert again.entitlement.status == cancelled.entitlement.status


def test_activation_required_and_refresh(live: ResaleClient) -> None:
    created = create(live, "CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED")
    assert created.requires_action
    action = created.client_action
    assert isinstance(action, NavigateToUrl)
    assert action.url.startswith("http")
    fresh = live.refresh_client_action(created.entitlement.entitlement_id)
    assert isinstance(fresh, NavigateToUrl)
    assert fresh.url.startswith("http")
    assert fresh.url != action.url, "a refreshed activation URL must be a new one"
    handled: list[str] = []
    live.register_action_handler(NavigateToUrl, lambda a: handled.append(a.url))
    live.handle_client_action(created)
    assert handled == [action.url]


def test_cancel_accepted_is_a_202(live: ResaleClient) -> None:
    created = create(live, "CREATE_REQUEST_RETURNS_ACTIVATED")
    accepted = live.cancel(
        created.entitlement.entitlement_id,
        1,
        extra_headers={MAGIC: "CANCEL_REQUEST_RETURNS_ACCEPTED"},
    )
    assert accepted.outcome is Outcome.ACCEPTED
    assert accepted.http_status == 202
    assert accepted.entitlement.status == "ACTIVE"


def test_typed_errors_from_the_sandbox(live: ResaleClient) -> None:
    with pytest.raises(br.NotFoundError):
        live.get("no-such-entitlement")
    created = create(live, "CREATE_REQUEST_RETURNS_ACTIVATED")
    eid = created.entitlement.entitlement_id
    live.revoke(eid, ("REVOKED", "OTHER"))
    with pytest.raises(br.ConflictError) as caught:
        live.revoke(eid, ("REVOKED", "OTHER"))
    assert isinstance(caught.value, br.NotAvailableError)
    assert caught.value.request_identifier


def test_wrong_credentials(sandbox: SandboxThread) -> None:
    with (
        ResaleClient(sandbox.base_url, "demo", "wrong") as client,
        pytest.raises(br.UnauthorizedError),
    ):
        client.echo()


def test_service_unavailable_is_retried_then_raised(
    live: ResaleClient, sleeps: list[float]
) -> None:
    created = create(live, "CREATE_REQUEST_RETURNS_ACTIVATED")
    with pytest.raises(br.ServiceUnavailableError) as caught:
        live.get(
            created.entitlement.entitlement_id,
            extra_headers={MAGIC: "ANY_REQUEST_RETURNS_SERVICE_UNAVAILABLE"},
            retry=br.RetryPolicy(max_attempts=3),
        )
    assert caught.value.attempts == 3
    assert len(sleeps) == 2


def test_same_request_identifier_replays_without_a_second_effect(live: ResaleClient) -> None:
    created = create(live, "CREATE_REQUEST_RETURNS_ACTIVATED")
    eid = created.entitlement.entitlement_id
    rid = f"replay-{uuid.uuid4().hex}"
    first = live.revoke(eid, ("REVOKED", "OTHER"), request_id=rid)
    second = live.revoke(eid, ("REVOKED", "OTHER"), request_id=rid)
    assert first.entitlement == second.entitlement
    assert second.request_identifier == rid


def test_suspend_resume_and_query(live: ResaleClient) -> None:
    created = create(live, "CREATE_REQUEST_RETURNS_ACTIVATED")
    eid = created.entitlement.entitlement_id
    assert (
        live.suspend(eid, ("ACTIVATION_ROLLBACK", "FRAUD_CHECK")).entitlement.status == "SUSPENDED"
    )
    resumed = live.resume(eid)
    assert resumed.entitlement.status == "ACTIVE"
    assert resumed.entitlement.date_resumed is not None
    found = live.query(created.entitlement.customer_identifier)
    assert [e.entitlement_id for e in found] == [eid]


def test_async_client_against_the_sandbox(sandbox: SandboxThread) -> None:
    import asyncio

    async def run() -> str:
        async with br.AsyncResaleClient(sandbox.base_url, "demo", "demo-secret") as client:
            created = await client.create(
                customer_identifier=new_customer(),
                merchant_account_key="BANGO",
                product_key="BangoMusic",
                extra_headers={MAGIC: "CREATE_REQUEST_RETURNS_ACTIVATED"},
            )
            revoked = await client.revoke(created.entitlement.entitlement_id, 17)
            return revoked.entitlement.status

    assert asyncio.run(run()) == "REVOKED"


def test_quickstart_example_runs_against_the_sandbox(
    sandbox: SandboxThread, repo_root: Path
) -> None:
    result = subprocess.run(
        [sys.executable, str(repo_root / "examples" / "quickstart.py")],
        env={**os.environ, "BANGO_RESALE_BASE_URL": sandbox.base_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for marker in (
        "created",
        "cancelled",
        "send the customer to",
        "not available:",
        "notification",
    ):
        assert marker in result.stdout
