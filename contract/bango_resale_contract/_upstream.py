"""A lean HTTP/1.1 client for the proxy's hot path: a pool of keep-alive connections to one
upstream, each an asyncio protocol whose answers are parsed with httptools (the C parser
uvicorn uses), bodies streamed both ways.

httpx (and httpcore beneath it) spends over a millisecond of CPU per request on a small
machine, more than the whole budget the proxy has; asyncio streams with `wait_for` cost a task
and a timer per request. This client writes the request head and body it is given (adding only
Host, and Content-Length or chunked framing when the caller gave none), and hands the answer
back as it arrives: status and raw headers first, then the body chunk by chunk, exactly as
they came. A connection goes back to the pool when its answer is complete, so a client that
reads slowly never holds one.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from urllib.parse import urlsplit

import httptools

# Answer bytes buffered for a reader before the upstream connection stops being read.
HIGH_WATER = 256 * 1024


class UpstreamError(Exception):
    """The upstream closed the connection, timed out or sent something that is not HTTP/1.1.
    `nothing_received` says no byte of an answer came, so the request may be sent again on
    another connection when it was sent whole."""

    def __init__(self, message: str, *, nothing_received: bool = False) -> None:
        super().__init__(message)
        self.nothing_received = nothing_received


class Answer:
    """One answer as it arrives: `await head()`, then `await chunk()` until it returns b""."""

    __slots__ = (
        "_chunks",
        "_connection",
        "_waiter",
        "buffered",
        "complete",
        "error",
        "head_done",
        "headers",
        "keep_alive",
        "status",
    )

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self._chunks: deque[bytes] = deque()
        self.buffered = 0
        self.head_done = False
        self.complete = False
        self.keep_alive = False
        self.error: UpstreamError | None = None
        self._waiter: asyncio.Future[None] | None = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def head(self) -> None:
        """Wait for the status line and headers."""
        while not self.head_done:
            if self.error is not None:
                raise self.error
            await self._wait()

    def take_all(self) -> bytes | None:
        """The whole body at once when it has all arrived already (the usual case), else None."""
        if not self.complete:
            return None
        body = b"".join(self._chunks)
        self._chunks.clear()
        self.buffered = 0
        return body

    async def chunk(self) -> bytes:
        """The next piece of the body; b"" once it is complete."""
        while not self._chunks:
            if self.complete:
                return b""
            if self.error is not None:
                raise self.error
            await self._wait()
        piece = self._chunks.popleft()
        self.buffered -= len(piece)
        if self.buffered < HIGH_WATER // 2:
            self._connection.resume()
        return piece

    def _add(self, piece: bytes) -> None:
        self._chunks.append(piece)
        self.buffered += len(piece)
        if self.buffered > HIGH_WATER:
            self._connection.pause()
        self._wake()

    def _fail(self, error: UpstreamError) -> None:
        if not self.complete and self.error is None:
            self.error = error
            self._wake()


class _Connection(asyncio.Protocol):
    """One keep-alive connection; at most one exchange at a time."""

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.answer: Answer | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.head_request = False
        self.request_sent = True
        self.received = False
        self.closed = False
        self.paused = False
        self.last_activity = 0.0
        self.timer: asyncio.TimerHandle | None = None

    # asyncio protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received = True
        self.last_activity = self.pool.loop.time()
        if self.parser is None:  # bytes nobody asked for: the connection cannot be trusted
            self._close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._finish_with(UpstreamError(f"the upstream's answer is not HTTP/1.1: {error}"))

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        self._finish_with(
            UpstreamError("the upstream closed the connection", nothing_received=not self.received)
        )

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.answer is not None
        self.answer.headers.append((name, value))

    def on_headers_complete(self) -> None:
        answer, parser = self.answer, self.parser
        assert answer is not None and parser is not None
        answer.status = parser.get_status_code()
        answer.head_done = True
        if self.head_request:  # no body follows, whatever Content-Length says
            self.on_message_complete()
        else:
            answer._wake()

    def on_body(self, body: bytes) -> None:
        if self.answer is not None:
            self.answer._add(body)

    def on_message_complete(self) -> None:
        answer, parser = self.answer, self.parser
        if answer is None or parser is None:
            return
        # httptools forgets keep-alive once the message is complete: ask before that.
        answer.keep_alive = parser.should_keep_alive() and self.request_sent
        answer.complete = True
        self.answer = None
        self.parser = None
        self._disarm()
        answer._wake()
        if answer.keep_alive and not self.closed:
            self.pool.release(self)
        else:
            self._close()

    # the pool's side
    def start(self, method: str, message: bytes, *, whole: bool) -> Answer:
        assert self.transport is not None
        answer = Answer(self)
        self.answer = answer
        self.parser = httptools.HttpResponseParser(self)
        self.head_request = method == "HEAD"
        self.request_sent = whole
        self.received = False
        self.last_activity = self.pool.loop.time()
        self.timer = self.pool.loop.call_later(self.pool.timeout, self._check_deadline)
        self.transport.write(message)
        return answer

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def _check_deadline(self) -> None:
        self.timer = None
        idle = self.pool.loop.time() - self.last_activity
        if idle < self.pool.timeout:
            self.timer = self.pool.loop.call_later(self.pool.timeout - idle, self._check_deadline)
            return
        self._finish_with(UpstreamError(f"no answer within {self.pool.timeout:g} s"))

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _finish_with(self, error: UpstreamError) -> None:
        self._disarm()
        answer, self.answer = self.answer, None
        self.parser = None
        if answer is not None:
            answer._fail(error)
        self._close()

    def _close(self) -> None:
        self.closed = True
        self.pool.forget(self)
        if self.transport is not None:
            self.transport.close()

    def pause(self) -> None:
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.paused and self.transport is not None and not self.closed:
            self.paused = False
            self.transport.resume_reading()


class Exchange:
    """A request under way: write the rest of its body, if any, then read the answer."""

    __slots__ = ("_chunked", "_connection", "answer")

    def __init__(self, connection: _Connection, answer: Answer, chunked: bool) -> None:
        self._connection = connection
        self.answer = answer
        self._chunked = chunked

    def write(self, piece: bytes, *, last: bool) -> None:
        """Forward the next piece of the request body (framed when the length was unknown)."""
        if self._chunked:
            data = (b"%x\r\n%s\r\n" % (len(piece), piece) if piece else b"") + (
                b"0\r\n\r\n" if last else b""
            )
        else:
            data = piece
        if data:
            self._connection.write(data)
        if last:
            self._connection.request_sent = True

    def abort(self) -> None:
        """The caller went away mid-request: the connection is not reusable."""
        self._connection._finish_with(UpstreamError("the request was abandoned"))


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
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def release(self, connection: _Connection) -> None:
        if len(self._idle) < self.max_idle:
            self._idle.append(connection)
        else:
            connection._close()

    def forget(self, connection: _Connection) -> None:
        if connection in self._idle:
            self._idle.remove(connection)

    async def _connection(self) -> tuple[_Connection, bool]:
        """A connection, and whether it was kept alive from an earlier exchange."""
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection, True
        _, connection = await asyncio.wait_for(
            self.loop.create_connection(
                lambda: _Connection(self), self.host, self.port, ssl=self.ssl
            ),
            self.timeout,
        )
        return connection, False

    def _head(
        self, method: str, target: bytes, headers: list[tuple[bytes, bytes]], framing: bytes
    ) -> bytes:
        parts = [method.encode(), b" ", self.prefix, target, b" HTTP/1.1\r\nhost: "]
        parts.append(self.host_header)
        for name, value in headers:
            parts += [b"\r\n", name, b": ", value]
        parts += [framing, b"\r\n\r\n"]
        return b"".join(parts)

    async def send(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        more_body: bool = False,
        length_given: bool = False,
    ) -> Exchange:
        """Send a request (target: raw path and query) and the first piece of its body; with
        `more_body`, the caller writes the rest through the exchange. `length_given`: the
        headers already carry the Content-Length of the whole body."""
        if length_given:
            framing = b""
        elif more_body:
            framing = b"\r\ntransfer-encoding: chunked"
        elif body or method in {"POST", "PUT", "PATCH"}:
            framing = b"\r\ncontent-length: " + str(len(body)).encode()
        else:
            framing = b""
        chunked = more_body and not length_given
        head = self._head(method, target, headers, framing)
        first = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") if chunked else body
        while True:
            connection, reused = await self._connection()
            answer = connection.start(method, head + first, whole=not more_body)
            exchange = Exchange(connection, answer, chunked)
            if more_body:
                return exchange
            try:
                await answer.head()
            except UpstreamError as error:
                # A kept-alive connection the upstream closed meanwhile: send again on another
                # one, but only when nothing came back (else the request may have been acted on).
                if reused and error.nothing_received:
                    continue
                raise
            return exchange

    def close(self) -> None:
        while self._idle:
            self._idle.pop()._close()
