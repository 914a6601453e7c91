"""Concurrent requests against one entitlement: the status machine moves exactly once."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from support.api import REASON, Api
from support.receivers import NotificationSink

pytestmark = pytest.mark.integration

CLIENTS = 32


async def cancel_concurrently(base_url: str, entitlement_id: str) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(
        base_url=base_url, auth=("demo", "demo-secret"), limits=limits, timeout=30
    ) as client:
        start = asyncio.Event()

        async def one() -> httpx.Response:
            await start.wait()
            return await client.post(f"/v1/entitlement/cancel/{entitlement_id}", json=REASON)

        tasks = [asyncio.create_task(one()) for _ in range(CLIENTS)]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*tasks)


def test_32_concurrent_cancels_make_one_transition_and_one_notification(
    api: Api, customer: str, receiver: NotificationSink
) -> None:
    entitlement_id = api.create_id(customer, notificationUrl=receiver.url)
    responses = asyncio.run(cancel_concurrently(api.base_url, entitlement_id))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (CLIENTS - 1)
    assert {r.json()["responseCode"] for r in responses if r.status_code == 409} == {
        "NOT_AVAILABLE"
    }
    assert api.notification_types(entitlement_id) == ["ACTIVATION_SUCCESS", "TERMINATION_SUCCESS"]
    received = receiver.wait_for(2)
    assert sorted(n["notificationType"] for n in received) == [
        "ACTIVATION_SUCCESS",
        "TERMINATION_SUCCESS",
    ]
    print(
        f"\n32 concurrent cancels: {statuses.count(200)} x 200, {statuses.count(409)} x 409,"
        f" {len(received)} notification(s) delivered"
    )
