"""Crash safety: kill -9 the sandbox in the middle of a write load (or stop it with SIGTERM),
restart it on the same database.

Every create that was answered 2xx must still exist, and every notification those creates
caused must reach the receiver after the restart.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from bango_resale_sandbox.testing import SandboxProcess

from support.api import Api
from support.receivers import NotificationSink

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WRITERS = 16


async def write_until_refused(
    base_url: str, notification_url: str, acknowledged: list[str], stop: threading.Event
) -> None:
    limits = httpx.Limits(max_connections=WRITERS, max_keepalive_connections=WRITERS)
    async with httpx.AsyncClient(
        base_url=base_url, auth=("demo", "demo-secret"), limits=limits, timeout=5
    ) as client:

        async def writer(number: int) -> None:
            sequence = 0
            while not stop.is_set():
                sequence += 1
                try:
                    response = await client.post(
                        "/v1/entitlement",
                        json={
                            "customerIdentifier": f"crash-{number}-{sequence}",
                            "merchantAccountKey": "BANGO",
                            "productKey": "BangoMusic",
                            "notificationUrl": notification_url,
                        },
                        headers={"X-Magic-Number": "CREATE_REQUEST_RETURNS_ACTIVATED"},
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if 200 <= response.status_code < 300:
                    acknowledged.append(response.json()["entitlementId"])

        await asyncio.gather(*(writer(n) for n in range(WRITERS)))


@pytest.mark.parametrize("ending", ["kill", "stop"], ids=["kill-9", "sigterm"])
def test_kill_9_during_writes_loses_no_acknowledged_write_or_notification(
    sandbox_server: Callable[..., SandboxProcess], receiver: NotificationSink, ending: str
) -> None:
    server = sandbox_server()
    acknowledged: list[str] = []
    stop = threading.Event()
    load = threading.Thread(
        target=lambda: asyncio.run(
            write_until_refused(server.base_url, receiver.url, acknowledged, stop)
        )
    )
    load.start()
    deadline = time.monotonic() + 10
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    getattr(server, ending)()  # SIGKILL (or SIGTERM) while writers are still sending
    stop.set()
    load.join(timeout=30)
    killed_with = len(acknowledged)
    assert killed_with >= 300

    restarted = SandboxProcess(server.db_path, port=server.port).start()
    try:
        api = Api(restarted.base_url, ("demo", "demo-secret"))
        missing = [e for e in acknowledged if api.get(e).status_code != 200]
        assert missing == []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            delivered = {
                n["entitlementId"]
                for n in receiver.wait_for(0, timeout=0)
                if n["notificationType"] == "ACTIVATION_SUCCESS"
            }
            if delivered >= set(acknowledged):
                break
            time.sleep(0.1)
        undelivered = set(acknowledged) - delivered
        assert not undelivered, f"{len(undelivered)} notification(s) never delivered"
        print(
            f"\ncrash test: {ending} after {killed_with} acknowledged creates; all"
            f" {killed_with} present after restart; ACTIVATION_SUCCESS delivered for"
            f" {len(delivered & set(acknowledged))}/{killed_with}"
            f" ({len(receiver.received)} POSTs received in all)"
        )
    finally:
        restarted.stop()
