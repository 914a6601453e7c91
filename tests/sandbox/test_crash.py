"""Crash safety: kill -9 the sandbox in the middle of a write load (or stop it with SIGTERM),
restart it on the same database.

Every create that was answered 2xx must still exist, and every notification those creates
caused must reach the receiver after the restart.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import httpx
import pytest

from bango_resale_sandbox.testing import SandboxProcess

from support.api import Api
from support.receivers import NotificationSink
from support.waiting import until_reached

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WRITERS = 16
# Creates acknowledged before the crash: enough that some are surely in flight at the kill.
ACKNOWLEDGED_BEFORE_THE_CRASH = 300


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
    # However long this machine takes to acknowledge them: only a hang fails the wait.
    until_reached(lambda: len(acknowledged), ACKNOWLEDGED_BEFORE_THE_CRASH)
    getattr(server, ending)()  # SIGKILL (or SIGTERM) while writers are still sending
    stop.set()
    load.join(timeout=60)
    assert not load.is_alive(), "the writers did not stop"
    killed_with = len(acknowledged)

    restarted = SandboxProcess(server.db_path).start()
    try:
        api = Api(restarted.base_url, ("demo", "demo-secret"))
        missing = [e for e in acknowledged if api.get(e).status_code != 200]
        assert missing == []

        def delivered() -> set[str]:
            return {
                n["entitlementId"]
                for n in receiver.received
                if n["notificationType"] == "ACTIVATION_SUCCESS"
            } & set(acknowledged)

        # Every one arrives, however long redelivery takes here; only a stall fails (longer
        # than the deliverer's longest retry delay, a minute).
        until_reached(lambda: len(delivered()), len(set(acknowledged)), stalled_after=120)
        print(
            f"\ncrash test: {ending} after {killed_with} acknowledged creates; all"
            f" {killed_with} present after restart; ACTIVATION_SUCCESS delivered for"
            f" {len(delivered())}/{killed_with}"
            f" ({len(receiver.received)} POSTs received in all)"
        )
    finally:
        restarted.stop()
