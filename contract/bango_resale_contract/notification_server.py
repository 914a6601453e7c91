"""An HTTP server on loopback that records notifications: the suite's own `notificationUrl`.
(Not to be confused with the client's `bango_resale.NotificationReceiver`, which checks and
parses one notification a reseller's own server got.)

It answers every POST with 200 and keeps the JSON bodies (with their headers) in arrival
order, so the behaviour checks can compare what a service sent with what the status machine's
rows promise. Delivery is at least once, so `received` drops repeats of a `notificationId`
(keeping the first). A subclass may answer otherwise by overriding `receive`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/notifications"


class NotificationServer:
    """Records notifications POSTed to `url`; thread-safe.

    `public_url` is the address the service reaches the receiver at, when that is not the one
    it listens on (a tunnel, another name of the host); a `{port}` in it stands for the port
    bound, for `port=0`."""

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
                status = receiver.receive(body, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the suite reports what matters."""

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        bound_host, bound_port = str(self._server.server_address[0]), self._server.server_address[1]
        self.port = int(bound_port)
        self.url = (
            public_url.replace("{port}", str(bound_port))
            if public_url
            else f"http://{bound_host!s}:{bound_port}{PATH}"
        )
        self._condition = threading.Condition()
        self._bodies: list[Any] = []
        self._headers: list[dict[str, str]] = []

    def receive(self, body: Any, headers: dict[str, str]) -> int:
        """Keep one POSTed body (None for one that is not JSON) and its headers; the HTTP
        status to answer."""
        with self._condition:
            self._bodies.append(body)
            self._headers.append(headers)
            self._condition.notify_all()
        return 200

    def bodies(self) -> list[Any]:
        """Every body received, repeats included, in arrival order."""
        with self._condition:
            return list(self._bodies)

    def headers(self) -> list[dict[str, str]]:
        """The headers of each body `bodies()` lists, in the same order."""
        with self._condition:
            return list(self._headers)

    def wait_until(self, ready: Callable[[list[Any]], bool], timeout: float) -> list[Any]:
        """Wait until `ready(bodies)` holds or `timeout` seconds passed; the bodies then."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while not ready(self._bodies):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._condition.wait(left)
            return list(self._bodies)

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
