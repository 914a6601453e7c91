"""ASGI basics: the callable's types, a response, reading a request body, sending an answer.

Nothing here knows the API: the pipeline and the handlers build on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bango_resale_spec.compiled import RequestInvalid

JSON = b"application/json"
Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    content_type: bytes = JSON
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


async def read_body(receive: Receive, headers: Mapping[bytes, bytes], limit: int) -> bytes:
    """The whole request body, refused (RequestInvalid) past `limit` bytes or when the
    connection closes before it is complete."""
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestInvalid(f"body: larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            # Half a body is not the body: never act on it.
            raise RequestInvalid("body: the connection closed before the body was complete")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestInvalid(f"body: larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def send_response(
    send: Send, response: Response, extra_headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    headers = [
        (b"content-type", response.content_type),
        (b"content-length", str(len(response.body)).encode()),
        *response.headers,
        *extra_headers,
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def header_text(value: bytes | None) -> str | None:
    """A header's value as text (HTTP headers are Latin-1)."""
    return None if value is None else value.decode("latin-1")


def base_url(scope: Scope, configured: str | None) -> str:
    """Where the sandbox's own pages are reached: configured, else the address the connection
    arrived on. Never the `Host` header, which the caller controls."""
    if configured:
        return configured
    host, port = scope.get("server") or ("127.0.0.1", 80)
    if ":" in host:
        host = f"[{host}]"
    return f"{scope.get('scheme', 'http')}://{host}:{port}"
