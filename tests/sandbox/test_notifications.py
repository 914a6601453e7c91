"""The notification outbox and its deliverer, against a real loopback receiver."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bango_resale_sandbox.testing import SandboxThread
from bango_resale_spec import compiled

from support.api import Api
from support.receivers import NotificationSink
from support.waiting import until_reached

pytestmark = pytest.mark.integration


def notification_validator() -> Any:
    return compiled.schema("EntitlementNotification")


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_notifications_are_delivered_with_the_resellers_auth(
    api: Api, api2: Api, customer: str, receiver: NotificationSink
) -> None:
    first = api.create_id(customer, notificationUrl=receiver.url)
    api.cancel(first)
    second = api2.create_id(customer, notificationUrl=receiver.url)
    received = receiver.wait_for(3)
    assert sorted((n["entitlementId"], n["notificationType"]) for n in received) == sorted(
        [
            (first, "ACTIVATION_SUCCESS"),
            (first, "TERMINATION_SUCCESS"),
            (second, "ACTIVATION_SUCCESS"),
        ]
    )
    validator = notification_validator()
    for body in received:
        assert not list(validator.iter_errors(body)), body
    by_entitlement = {
        n["entitlementId"]: h for n, h in zip(received, receiver.headers(), strict=True)
    }
    # demo notifies with Basic credentials, demo2 with an API key (packaged configuration).
    assert by_entitlement[first]["Authorization"].startswith("Basic ")
    assert by_entitlement[second]["X-Api-Key"] == "demo2-notify-key"
    wait_until(lambda: {n["state"] for n in api.notifications(first)} == {"delivered"})


def test_failed_deliveries_are_retried_with_the_same_notification_id(
    api: Api, customer: str
) -> None:
    with NotificationSink(fail_first=2) as flaky:
        entitlement_id = api.create_id(customer, notificationUrl=flaky.url)
        received = flaky.wait_for(1, timeout=15)
        assert len(received) == 1
        assert flaky.requests == 3
        outbox = api.notifications(entitlement_id)
        assert received[0]["notificationId"] == outbox[0]["notificationId"]
        wait_until(lambda: api.notifications(entitlement_id)[0]["state"] == "delivered")
        assert api.notifications(entitlement_id)[0]["attempts"] == 3


def test_urls_off_the_allow_list_are_never_contacted(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer, notificationUrl="https://reseller.example.net/hook")
    [row] = api.notifications(entitlement_id)
    assert (row["state"], row["attempts"]) == ("blocked", 0)
    bare = api.create_id(customer)
    assert api.notifications(bare)[0]["state"] == "no_url"


def test_bad_notification_url_is_rejected(api: Api, customer: str) -> None:
    response = api.create(customer, notificationUrl="ftp://127.0.0.1/x")
    assert response.status_code == 400
    assert "notificationUrl" in response.json()["responseMessage"]


def test_pending_notifications_survive_a_restart(
    in_process_sandbox: Callable[..., SandboxThread], tmp_path: Path, customer: str
) -> None:
    # The receiver's port is held from the start, bound but not listening (connections are
    # refused, as by a receiver that is down), so that no one else can take it meanwhile.
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{held.getsockname()[1]}/notifications"
    server = in_process_sandbox()
    api = Api(server.base_url, ("demo", "demo-secret"))
    entitlement_id = api.create_id(customer, notificationUrl=url)
    wait_until(lambda: api.notifications(entitlement_id)[0]["attempts"] >= 1)
    server.stop()
    with NotificationSink(listener=held) as receiver:
        restarted = SandboxThread(server.db_path).start()
        try:
            received = receiver.wait_for(1, timeout=15)
            assert [n["entitlementId"] for n in received] == [entitlement_id]
        finally:
            restarted.stop()


def test_feed_lists_each_send_in_order_and_redelivery_sends_again(
    api: Api, customer: str, receiver: NotificationSink
) -> None:
    before = api.http.get("/sandbox/notifications/feed", params={"limit": 1}).json()
    start = before["latestCursor"]
    entitlement_id = api.create_id(customer, notificationUrl=receiver.url)
    receiver.wait_for(1)
    page = api.http.get(
        "/sandbox/notifications/feed", params={"after": start, "entitlementId": entitlement_id}
    ).json()
    (entry,) = page["entries"]
    notification = entry["notification"]
    assert notification["notificationType"] == "ACTIVATION_SUCCESS"
    assert json.loads(entry["rawBody"]) == notification["body"]
    assert page["nextCursor"] == entry["cursor"] > start
    # The headers a forwarder needs: the reseller's configured notification credentials.
    assert page["headers"]["Authorization"] == receiver.headers()[0]["Authorization"]

    again = api.http.post(f"/sandbox/notifications/{notification['notificationId']}/redeliver")
    assert again.status_code == 200 and again.json()["notification"]["state"] == "pending"
    received = receiver.wait_for(1)
    # The redelivery arrives however long this machine takes; only a stall fails the wait.
    until_reached(lambda: len(receiver.received), 2)
    assert [n["notificationId"] for n in receiver.received] == [notification["notificationId"]] * 2
    assert received[0] == receiver.received[1]
    later = api.http.get(
        "/sandbox/notifications/feed",
        params={"after": page["nextCursor"], "entitlementId": entitlement_id},
    ).json()
    assert [e["notification"]["notificationId"] for e in later["entries"]] == [
        notification["notificationId"]
    ]
    assert api.http.post("/sandbox/notifications/unknown/redeliver").status_code == 404


class _HoldingReceiver:
    """A receiver that holds its first request open until released, then answers 200 to all."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.arrived = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.ids.append(json.loads(raw)["notificationId"])
                if len(receiver.ids) == 1:
                    receiver.arrived.set()
                    receiver.release.wait(10)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notifications"


def test_a_redelivery_asked_for_while_an_attempt_is_under_way_is_sent(
    api: Api, customer: str
) -> None:
    # The attempt's outcome is written after the receiver answers; a redelivery queued before
    # then must not be overwritten by it (it was, and the promised second send never came).
    receiver = _HoldingReceiver()
    try:
        entitlement_id = api.create_id(customer, notificationUrl=receiver.url)
        assert receiver.arrived.wait(10)
        (notification,) = api.notifications(entitlement_id)
        notification_id = notification["notificationId"]
        again = api.http.post(f"/sandbox/notifications/{notification_id}/redeliver")
        assert again.status_code == 200, again.text
        receiver.release.set()
        wait_until(lambda: len(receiver.ids) >= 2)
        assert receiver.ids == [notification_id] * 2
        wait_until(lambda: api.notifications(entitlement_id)[0]["state"] == "delivered")
    finally:
        receiver.release.set()
        receiver.server.shutdown()
