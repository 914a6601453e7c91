"""`bango-resale listen` and `redeliver` end to end: a real sandbox, the real command, and a real
local receiver that checks the notification credentials."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from bango_resale import NotificationAuthenticationError, NotificationReceiver, ResaleClient
from bango_resale.cli import main
from bango_resale_sandbox.testing import SandboxThread

# What the sandbox's demo reseller is configured to send notifications with.
DEMO_NOTIFICATION_CREDENTIALS = ("bango-notifier", "demo-notify-secret")


class Receiver:
    """A developer's local notification endpoint: checks auth, keeps the raw bodies."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.refused = 0
        checker = NotificationReceiver(basic=DEMO_NOTIFICATION_CREDENTIALS)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    event = checker.receive(dict(self.headers.items()), raw)
                except NotificationAuthenticationError:
                    receiver.refused += 1
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                receiver.bodies.append(raw)
                answer = f"thanks for {event.notification_type}".encode()
                self.send_response(202)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/bango"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    local = Receiver()
    local.thread.start()
    yield local
    local.server.shutdown()
    local.server.server_close()


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def activated(client: ResaleClient, customer: str) -> str:
    return client.create(
        customer_identifier=customer,
        merchant_account_key="BANGO",
        product_key="BangoMusic",
        extra_headers={"X-Magic-Number": "CREATE_REQUEST_RETURNS_ACTIVATED"},
    ).entitlement.entitlement_id


def feed_body(sandbox: SandboxThread, notification_id: str) -> bytes:
    """The exact bytes the sandbox sends for a notification (from its own feed)."""
    answer = httpx.get(
        f"{sandbox.base_url}/sandbox/notifications/feed",
        params={"limit": 500},
        auth=("demo", "demo-secret"),
    ).json()
    (raw,) = {
        e["rawBody"]
        for e in answer["entries"]
        if e["notification"]["notificationId"] == notification_id
    }
    return str(raw).encode()


def test_listen_forwards_new_notifications_and_redeliveries(
    sandbox: SandboxThread,
    live: ResaleClient,
    receiver: Receiver,
    environment: dict[str, str],
) -> None:
    mine = activated(live, "listen-mine")  # sent before listening: not shown
    listener = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bango_resale.cli",
            "listen",
            "--entitlement",
            mine,
            "--forward-to",
            receiver.url,
            "--count",
            "2",
            "--json",
            "--poll-interval",
            "0.1",
        ],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stderr is not None
        ready = listener.stderr.readline()
        assert ready.startswith("Ready: following the notifications of entitlement"), ready

        activated(live, "listen-other")  # another entitlement: filtered out
        live.suspend(mine, ("ACTIVATION_ROLLBACK", "FRAUD_CHECK"))
        first = live_notifications(sandbox, mine)[0]
        code, out, err = run("redeliver", first)
        assert code == 0 and f"{first} queued again" in out, err

        stdout, stderr = listener.communicate(timeout=30)
    finally:
        listener.kill()
    assert listener.returncode == 0, stderr

    lines = [json.loads(line) for line in stdout.splitlines()]
    assert [line["notification"]["notificationType"] for line in lines] == [
        "SUSPENSION_SUCCESS",
        "ACTIVATION_SUCCESS",
    ]
    assert {line["notification"]["entitlementId"] for line in lines} == {mine}
    assert lines[1]["notification"]["notificationId"] == first  # the same one, sent again
    assert [line["forwarded"]["status"] for line in lines] == [202, 202]
    assert lines[0]["forwarded"]["body"] == "thanks for SUSPENSION_SUCCESS"

    # The receiver got the sandbox's exact bytes, with the reseller's notification credentials.
    assert receiver.refused == 0
    expected = [
        feed_body(sandbox, lines[0]["notification"]["notificationId"]),
        feed_body(sandbox, first),
    ]
    assert receiver.bodies == expected


def live_notifications(sandbox: SandboxThread, entitlement_id: str) -> list[str]:
    answer = httpx.get(
        f"{sandbox.base_url}/sandbox/notifications",
        params={"entitlementId": entitlement_id},
        auth=("demo", "demo-secret"),
    ).json()
    return [n["notificationId"] for n in answer["notifications"]]


def test_listen_prints_a_line_per_notification_and_the_receivers_answer(
    live: ResaleClient, receiver: Receiver, environment: dict[str, str]
) -> None:
    mine = activated(live, "listen-text")
    code, out, err = run(
        "listen",
        "--from-start",
        "--entitlement",
        mine,
        "--count",
        "1",
        "--forward-to",
        receiver.url,
    )
    assert code == 0, err
    first, second = out.splitlines()
    assert "ACTIVATION_SUCCESS" in first and mine in first
    assert second.startswith(f"  -> POST {receiver.url}: HTTP 202 thanks for ACTIVATION_SUCCESS")


def test_listen_and_redeliver_refuse_bad_input_in_shell_terms(environment: dict[str, str]) -> None:
    code, _, err = run("listen", "--forward-to", "localhost:9000")
    assert code == 2 and err.startswith("error: listen: --forward-to:"), err
    code, out, err = run("redeliver", "no-such-notification", "--json")
    assert code == 1 and err == ""
    document = json.loads(out)
    assert (document["httpStatus"], document["responseCode"]) == (404, "NOT_FOUND")
