"""A lean HTTP/1.1 client for the proxy's hot path: a pool of keep-alive connections to one
upstream, answers parsed with httptools (the C parser uvicorn uses).

httpx (and httpcore beneath it) spends over a millisecond of CPU per request on a small
machine, more than the whole budget the proxy has; this client spends a few dozen
microseconds. It sends the request bytes it is given, adds only Host and Content-Length, and
hands back the status, the raw header list and the body exactly as they came.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools

READ_SIZE = 65536


class UpstreamError(Exception):
    """The upstream closed the connection or sent something that is not HTTP/1.1."""


@dataclass(slots=True)
class _Answer:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)
    headers_done: bool = False
    done: bool = False

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.done = True


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class UpstreamPool:
    """Keep-alive connections to the service at `base_url` (http or https)."""

    def __init__(self, base_url: str, *, max_idle: int = 256, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http(s) URL with a host")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/").encode()
        default_port = self.port == (443 if parts.scheme == "https" else 80)
        self.host_header = (parts.netloc if not default_port else self.host).encode("idna")
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self.max_idle = max_idle
        self.timeout = timeout
        self._idle: list[_Connection] = []

    async def _connect(self) -> _Connection:
        reader, writer = await asyncio.open_connection(
            self.host, self.port, ssl=self.ssl, limit=READ_SIZE
        )
        return _Connection(reader, writer)

    async def request(
        self, method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send one request (target: raw path and query); return status, headers, body."""
        head = [
            f"{method} ".encode(),
            self.prefix,
            target,
            b" HTTP/1.1\r\nhost: ",
            self.host_header,
        ]
        for name, value in headers:
            head += [b"\r\n", name, b": ", value]
        if body or method in {"POST", "PUT", "PATCH"}:
            head += [b"\r\ncontent-length: ", str(len(body)).encode()]
        head.append(b"\r\n\r\n")
        message = b"".join(head) + body
        while self._idle:
            connection = self._idle.pop()
            try:
                return await asyncio.wait_for(
                    self._exchange(connection, method, message), self.timeout
                )
            except (UpstreamError, ConnectionError) as error:
                # A kept-alive connection the upstream closed meanwhile: try the next one,
                # unless part of an answer came (then the request may have been acted on).
                if not getattr(error, "nothing_received", False):
                    raise
        connection = await asyncio.wait_for(self._connect(), self.timeout)
        return await asyncio.wait_for(self._exchange(connection, method, message), self.timeout)

    async def _exchange(
        self, connection: _Connection, method: str, message: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        answer = _Answer()
        parser = httptools.HttpResponseParser(answer)
        received = False
        try:
            connection.writer.write(message)
            while not answer.done:
                data = await connection.reader.read(READ_SIZE)
                if not data:
                    error = UpstreamError("the upstream closed the connection")
                    error.nothing_received = not received  # type: ignore[attr-defined]
                    raise error
                received = True
                parser.feed_data(data)
                if method == "HEAD" and answer.headers_done:
                    break
            answer.status = parser.get_status_code()
            keep = parser.should_keep_alive()
        except httptools.HttpParserError as error:
            connection.close()
            raise UpstreamError(f"the upstream's answer is not HTTP/1.1: {error}") from error
        except BaseException:
            connection.close()
            raise
        if keep and len(self._idle) < self.max_idle:
            self._idle.append(connection)
        else:
            connection.close()
        return answer.status, answer.headers, b"".join(answer.body)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
