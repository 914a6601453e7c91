"""Notifications of one entitlement arrive one at a time and in order, over real HTTP, even
when the receiver fails or stalls for a while; other entitlements are not held back."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bango_resale_sandbox.config import default_config_text
from bango_resale_sandbox.testing import SandboxProcess

from support.api import Api

pytestmark = pytest.mark.integration


class ApplyingReceiver:
    """A receiver that applies each notification's status in arrival order (dropping repeats
    by notificationId), as a reseller's own system would.

    Until `troubled_until`, a `flaky` one answers 503 to a share of the requests and stalls on
    another share past the deliverer's timeout (applying the notification, as a slow receiver
    that finishes its work would); `stuck_paths` answer 503 until then.
    """

    def __init__(
        self,
        trouble_seconds: float,
        seed: int = 7,
        stuck_paths: set[str] | None = None,
        flaky: bool = True,
    ):
        self.applied: dict[str, str] = {}  # entitlementId -> status last applied
        self.arrivals: dict[str, list[str]] = {}  # entitlementId -> notificationIds, first seen
        self.in_flight: dict[str, int] = {}
        self.overlaps = 0
        self.troubled_until = time.monotonic() + trouble_seconds
        self.stuck_paths = stuck_paths or set()
        self.flaky = flaky
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = receiver.handle(self.path, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def handle(self, path: str, body: dict[str, Any]) -> int:
        entitlement_id = body["entitlementId"]
        troubled = time.monotonic() < self.troubled_until
        with self._lock:
            self.in_flight[entitlement_id] = self.in_flight.get(entitlement_id, 0) + 1
            if self.in_flight[entitlement_id] > 1:
                self.overlaps += 1
            roll = self._random.random()
        try:
            if troubled and (path in self.stuck_paths or (self.flaky and roll < 0.3)):
                return 503
            if troubled and self.flaky and roll < 0.45:
                time.sleep(0.6)  # past the deliverer's 0.3 s timeout
            with self._lock:
                seen = self.arrivals.setdefault(entitlement_id, [])
                if body["notificationId"] not in seen:
                    seen.append(body["notificationId"])
                    self.applied[entitlement_id] = body["status"]
            return 200
        finally:
            with self._lock:
                self.in_flight[entitlement_id] -= 1

    def __enter__(self) -> ApplyingReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def fast_retry_sandbox(
    sandbox_server: Callable[..., SandboxProcess], tmp_path: Path
) -> Iterator[SandboxProcess]:
    # In a process of its own: delivery gives up after 0.3 s here, and the test process's
    # receiver and client threads must not hold the server's interpreter that long.
    text = default_config_text()
    for old, new in [
        ("timeout_seconds = 5.0", "timeout_seconds = 0.3"),
        ("first_retry_seconds = 0.5", "first_retry_seconds = 0.05"),
        ("max_retry_seconds = 60.0", "max_retry_seconds = 0.2"),
    ]:
        assert old in text
        text = text.replace(old, new)
    config = tmp_path / "fast-retry.toml"
    config.write_text(text)
    yield sandbox_server(config=config)


def life_of_an_entitlement(api: Api, customer: str, url: str) -> str:
    """Create, update, suspend, resume and cancel at once: five notifications."""
    entitlement_id = api.create_id(customer, notificationUrl=url)
    for response in (
        api.update(entitlement_id, extensionData={"step": "updated"}),
        api.suspend(entitlement_id),
        api.resume(entitlement_id),
        api.cancel(entitlement_id),
    ):
        assert response.status_code == 200, response.text
    return entitlement_id


def wait_until_settled(api: Api, timeout: float = 60.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = api.notifications()
        if all(row["state"] == "delivered" for row in rows):
            return rows
        assert time.monotonic() < deadline, [r for r in rows if r["state"] != "delivered"][:3]
        time.sleep(0.1)


@pytest.mark.parametrize("trouble_seconds", [0.0, 3.0], ids=["healthy", "failing-and-stalling"])
def test_a_receiver_applying_in_arrival_order_ends_with_the_current_status(
    fast_retry_sandbox: SandboxProcess, trouble_seconds: float
) -> None:
    api = Api(fast_retry_sandbox.base_url, ("demo", "demo-secret"))
    with ApplyingReceiver(trouble_seconds=trouble_seconds) as receiver:
        with ThreadPoolExecutor(max_workers=6) as pool:
            ids = list(
                pool.map(
                    lambda i: life_of_an_entitlement(api, f"order-{i}", receiver.url()), range(30)
                )
            )
        rows = wait_until_settled(api)
        outbox: dict[str, list[str]] = {}
        for row in rows:
            outbox.setdefault(row["entitlementId"], []).append(row["notificationId"])
        out_of_order = [e for e in ids if receiver.arrivals.get(e) != outbox[e]]
        assert out_of_order == [], f"{len(out_of_order)} of {len(ids)} out of order"
        wrong = {
            e: (receiver.applied.get(e), api.status(e))
            for e in ids
            if receiver.applied.get(e) != api.status(e)
        }
        assert wrong == {}
        if trouble_seconds:
            # The trouble really happened: some rows needed more than one attempt.
            assert max(row["attempts"] for row in rows) > 1
        else:
            # (A stalled attempt that the deliverer gave up on may overlap its retry.)
            assert receiver.overlaps == 0, "two notifications of one entitlement in flight"


def test_a_stuck_entitlement_does_not_hold_back_the_others(
    fast_retry_sandbox: SandboxProcess,
) -> None:
    api = Api(fast_retry_sandbox.base_url, ("demo", "demo-secret"))
    with ApplyingReceiver(trouble_seconds=4.0, stuck_paths={"/stuck"}, flaky=False) as receiver:
        stuck = api.create_id("stuck-customer", notificationUrl=receiver.url("/stuck"))
        api.cancel(stuck)
        healthy = [
            api.create_id(f"fine-{i}", notificationUrl=receiver.url("/fine")) for i in range(5)
        ]
        deadline = time.monotonic() + 3.0
        while not all(row["state"] == "delivered" for e in healthy for row in api.notifications(e)):
            assert time.monotonic() < deadline, "healthy entitlements were held back"
            time.sleep(0.05)
        states = [row["state"] for row in api.notifications(stuck)]
        assert states == ["pending", "pending"]  # the cancel waits behind the activation
        wait_until_settled(api)
        assert receiver.applied[stuck] == "CANCELLED"
