"""A notification receiver for tests: the contract suite's own recorder
(`bango_resale_contract.notification_server`), which can also refuse the first deliveries."""

from __future__ import annotations

import socket
from types import TracebackType
from typing import Any

from bango_resale_contract.notification_server import NotificationServer


class NotificationSink(NotificationServer):
    """Records the notifications POSTed to `url`, with their headers.

    `fail_first` makes it answer 503 to the first N requests (not recorded), to exercise
    redelivery. `listener` serves on a socket the test bound already (and so holds: no other
    process can take the port while a notification to it waits)."""

    def __init__(self, fail_first: int = 0, listener: socket.socket | None = None) -> None:
        super().__init__("127.0.0.1", 0)
        if listener is not None:
            self._server.socket.close()
            self._server.socket = listener
            self._server.server_address = listener.getsockname()
            listener.listen()
            self.port = int(listener.getsockname()[1])
            self.url = f"http://127.0.0.1:{self.port}/notifications"
        self.fail_first = fail_first
        self.requests = 0

    def receive(self, body: Any, headers: dict[str, str]) -> int:
        with self._condition:
            self.requests += 1
            if self.requests <= self.fail_first:
                return 503
        return super().receive(body, headers)

    @property
    def received(self) -> list[dict[str, Any]]:
        """Every notification received (redeliveries too), in arrival order. A body that is not
        a JSON object is left out: a sender killed mid-POST leaves a cut-off one behind."""
        return _notifications(self.bodies())

    def ids(self) -> set[str]:
        return {str(n["notificationId"]) for n in self.received}

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:  # type: ignore[override]
        """Wait until `count` distinct notifications arrived; returns all received."""
        bodies = self.wait_until(
            lambda bodies: len({str(n["notificationId"]) for n in _notifications(bodies)}) >= count,
            timeout,
        )
        return _notifications(bodies)

    def __enter__(self) -> NotificationSink:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _notifications(bodies: list[Any]) -> list[dict[str, Any]]:
    return [body for body in bodies if isinstance(body, dict)]
