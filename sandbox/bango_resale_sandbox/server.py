"""Runs the sandbox under uvicorn with limits on what a connection can make the server hold.

uvicorn's httptools protocol has no bound on the size of a request head and no deadline for
receiving one, so one slow or oversized client could keep memory and a connection for as long
as it liked. `limited_protocol` adds, per connection:

- a cap on the bytes of a request head (request line and headers): past it the client gets
  `431` and the connection is closed, before the head is buffered any further;
- a deadline for receiving a whole request (head and body) once it has begun, and for the
  first request after the connection opened: past it the connection is closed;
- a cap on open connections: a connection past it is closed at once.

Idle keep-alive connections are closed by uvicorn's own `timeout_keep_alive`.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .config import ServerLimits


def limited_protocol(limits: ServerLimits) -> type[HttpToolsProtocol]:
    """An httptools protocol class that enforces `limits` on every connection."""

    class LimitedHttpToolsProtocol(HttpToolsProtocol):
        _head_bytes = 0
        _head_done = True
        _rejected = False
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if len(self.connections) >= limits.max_connections:
                transport.close()
                return
            super().connection_made(transport)
            self._head_done = False
            self._arm_deadline()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_deadline()
            if self.transport is not None:
                super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._rejected:
                return
            if not self._head_done:
                self._head_bytes += len(data)
            super().data_received(data)
            if not self._head_done and self._head_bytes > limits.max_header_bytes:
                self._reject_head()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_done = False
            self._arm_deadline()

        def on_headers_complete(self) -> None:
            self._head_done = True
            # A head that arrived in one read completes inside it: measure what was parsed.
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
            if size > limits.max_header_bytes:
                self._reject_head()
                return
            super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            if not self._rejected:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if self._rejected:
                return
            self._disarm_deadline()
            self._head_bytes = 0
            super().on_message_complete()

        def _reject_head(self) -> None:
            if self._rejected:
                return
            self._rejected = True
            self._disarm_deadline()
            body = orjson.dumps(
                {
                    "responseCode": "BAD_REQUEST",
                    "responseMessage": f"request headers: larger than {limits.max_header_bytes}"
                    " bytes",
                }
            )
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                b"content-type: application/json\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n"
                b"connection: close\r\n\r\n" + body
            )
            self.transport.close()

        def _arm_deadline(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(
                    limits.request_timeout_seconds, self._deadline_passed
                )

        def _disarm_deadline(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _deadline_passed(self) -> None:
            self._deadline = None
            self._rejected = True
            self.transport.close()

    return LimitedHttpToolsProtocol


def build(app: Any, *, log_level: str, limits: ServerLimits, **uvicorn_options: Any) -> Any:
    """The uvicorn server for `app` (a `uvicorn.Server`), configured with `limits`;
    `uvicorn_options` are further `uvicorn.Config` keyword arguments."""
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        loop="uvloop",
        http=limited_protocol(limits),
        lifespan="on",
        timeout_keep_alive=limits.keep_alive_seconds,
        **uvicorn_options,
    )
    return uvicorn.Server(config)


def run(
    app: Any,
    *,
    sockets: list[socket.socket],
    log_level: str,
    limits: ServerLimits,
    **uvicorn_options: Any,
) -> None:
    """Serve `app` on already bound sockets until interrupted."""
    build(app, log_level=log_level, limits=limits, **uvicorn_options).run(sockets=sockets)
