"""An HTTP server on loopback that records notifications: the suite's own `notificationUrl`.
(Not to be confused with the client's `bango_resale.NotificationReceiver`, which checks and
parses one notification a reseller's own server got.)

It answers every POST with 200 and keeps the JSON bodies in arrival order, so the behaviour
checks can compare what a service sent with what the status machine's rows promise. Delivery
is at least once, so `received` drops repeats of a `notificationId` (keeping the first).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/notifications"


class NotificationServer:
    """Records notifications POSTed to `url`; thread-safe."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, public_url: str | None = None):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                receiver._record(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the suite reports what matters."""

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        bound_host, bound_port = str(self._server.server_address[0]), self._server.server_address[1]
        self.url = public_url or f"http://{bound_host!s}:{bound_port}{PATH}"
        self._condition = threading.Condition()
        self._bodies: list[Any] = []

    def _record(self, body: Any) -> None:
        with self._condition:
            self._bodies.append(body)
            self._condition.notify_all()

    @property
    def deliveries(self) -> int:
        """Every POST received, repeats included."""
        with self._condition:
            return len(self._bodies)

    def received(self, entitlement_id: str) -> list[dict[str, Any]]:
        """One entitlement's notifications in arrival order, each notificationId once."""
        with self._condition:
            return self._unique(entitlement_id)

    def _unique(self, entitlement_id: str) -> list[dict[str, Any]]:
        seen: set[Any] = set()
        found = []
        for body in self._bodies:
            if not isinstance(body, dict) or body.get("entitlementId") != entitlement_id:
                continue
            key = body.get("notificationId")
            if key in seen:
                continue
            seen.add(key)
            found.append(body)
        return found

    def wait_for(self, entitlement_id: str, count: int, timeout: float) -> bool:
        """Wait until `count` distinct notifications of the entitlement arrived."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self._unique(entitlement_id)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._condition.wait(left)
            return True

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def receiving(
    host: str = "127.0.0.1", port: int = 0, public_url: str | None = None
) -> Iterator[NotificationServer]:
    """A started notification server, stopped on exit."""
    receiver = NotificationServer(host, port, public_url)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
