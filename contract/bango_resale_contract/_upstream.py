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

`UpstreamPool.request` starts an exchange at once, without awaiting anything (a new
connection, when no idle one is left, is opened in the background and the request written
when it is up), so a caller driven by callbacks pays for no task. The answer can be read
either way: awaited (`head`, `chunk`) or followed through a callback (`on_progress`).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httptools

# Answer bytes buffered for a reader before the upstream connection stops being read.
HIGH_WATER = 256 * 1024
# How often in-flight exchanges are checked against the timeout: one timer for the pool,
# not one per request.
SWEEP_SECONDS = 1.0


class UpstreamError(Exception):
    """The upstream closed the connection, timed out or sent something that is not HTTP/1.1.
    `nothing_received` says no byte of an answer came, so the request may be sent again on
    another connection when it was sent whole."""

    def __init__(self, message: str, *, nothing_received: bool = False) -> None:
        super().__init__(message)
        self.nothing_received = nothing_received


class Answer:
    """One answer as it arrives: `await head()`, then `await chunk()` until it returns b"";
    or, for a caller driven by callbacks, `on_progress` is called whenever the head, a piece
    of body, the end or an error came (read them with `take`)."""

    __slots__ = (
        "_chunks",
        "_connection",
        "_held",
        "_resend",
        "_waiter",
        "buffered",
        "complete",
        "error",
        "head_done",
        "headers",
        "keep_alive",
        "on_progress",
        "status",
    )

    def __init__(self, connection: _Connection, resend: bytes | None) -> None:
        self._connection = connection
        # The whole request, kept while it may be sent again on another connection.
        self._resend = resend
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self._chunks: deque[bytes] = deque()
        self.buffered = 0
        self.head_done = False
        self.complete = False
        self.keep_alive = False
        self._held = False
        self.error: UpstreamError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.on_progress: Callable[[], None] | None = None

    def _wake(self) -> None:
        if self.on_progress is not None:
            # While the connection parses a read, what it brings is passed on once, after.
            if not self._connection.feeding:
                self.on_progress()
            return
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self) -> None:
        self._waiter = self._connection.pool.loop.create_future()
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
        return self.take()

    def take(self) -> bytes:
        """The body that arrived since the last take (b"" if none)."""
        chunks = self._chunks
        if not chunks:
            return b""
        body = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self.buffered = 0
        self._resume()
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
            self._resume()
        return piece

    def hold(self) -> None:
        """Stop reading from the upstream until `release` (the reader's own client is slow)."""
        self._held = True
        if self._connection.answer is self:
            self._connection.pause()

    def release(self) -> None:
        self._held = False
        if self.buffered < HIGH_WATER // 2:
            self._resume()

    def abandon(self) -> None:
        """Nobody reads the rest: the connection, if still on this answer, is closed."""
        self._resend = None
        if not self.complete and self._connection.answer is self:
            self._connection._finish_with(UpstreamError("the answer was abandoned"))

    def _resume(self) -> None:
        # Once complete, the connection may already serve another answer: leave it be.
        if self._connection.answer is self:
            self._connection.resume()

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
    """One keep-alive connection; at most one exchange at a time. It may be handed an
    exchange before it is connected: what is written meanwhile goes out once it is."""

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.connecting: asyncio.Future[Any] | None = None
        self.unsent: list[bytes] = []
        self.answer: Answer | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.head_request = False
        self.request_sent = True
        self.received = False
        self.reused = False
        self.closed = False
        self.paused = False
        self.feeding = False
        self.last_activity = 0.0

    # asyncio protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connecting = None
        if self.closed:
            transport.close()
            return
        if self.unsent:
            unsent, self.unsent = self.unsent, []
            self.transport.write(b"".join(unsent))  # type: ignore[union-attr]

    def _connected(self, attempt: asyncio.Future[Any]) -> None:
        if attempt.cancelled():
            return
        error = attempt.exception()
        if error is not None:
            self._finish_with(UpstreamError(f"cannot connect to the upstream: {error}"))

    def data_received(self, data: bytes) -> None:
        self.received = True
        self.last_activity = self.pool.loop.time()
        answer = self.answer
        if self.parser is None or answer is None:  # bytes nobody asked for: not to be trusted
            self._close()
            return
        self.feeding = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._finish_with(UpstreamError(f"the upstream's answer is not HTTP/1.1: {error}"))
        finally:
            self.feeding = False
        if answer.on_progress is not None:
            answer.on_progress()

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
        answer._resend = None  # something came back: the request is not sent again
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
        self.pool.busy.discard(self)
        if self.paused and self.transport is not None:  # read again for the next exchange
            self.paused = False
            self.transport.resume_reading()
        if answer.keep_alive and not self.closed:
            self.reused = True
            self.pool.release(self)
        else:
            self._close()
        answer._wake()

    # the pool's side
    def start(self, method: str, message: bytes, answer: Answer, *, whole: bool) -> None:
        self.answer = answer
        answer._connection = self
        self.parser = httptools.HttpResponseParser(self)
        self.head_request = method == "HEAD"
        self.request_sent = whole
        self.received = False
        self.last_activity = self.pool.loop.time()
        self.pool.watch(self)
        self.write(message)

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        if self.transport is None:
            self.unsent.append(data)
        else:
            self.transport.write(data)

    def _finish_with(self, error: UpstreamError) -> None:
        answer, self.answer = self.answer, None
        self.parser = None
        self.pool.busy.discard(self)
        self._close()
        if answer is None:
            return
        # A kept-alive connection the upstream closed meanwhile: send again on another one,
        # but only when nothing came back (else the request may have been acted on).
        if self.reused and error.nothing_received and answer._resend is not None:
            self.pool.resend(answer)
        else:
            answer._fail(error)

    def _close(self) -> None:
        self.closed = True
        self.pool.forget(self)
        if self.transport is not None:
            self.transport.close()
        elif self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None

    def pause(self) -> None:
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        answer = self.answer
        if answer is not None and answer._held:
            return
        if self.paused and self.transport is not None and not self.closed:
            self.paused = False
            self.transport.resume_reading()


class Exchange:
    """A request under way: write the rest of its body, if any, then read the answer."""

    __slots__ = ("_chunked", "answer")

    def __init__(self, answer: Answer, chunked: bool) -> None:
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
        connection = self.answer._connection
        if data:
            connection.write(data)
        if last:
            connection.request_sent = True

    def abort(self) -> None:
        """The caller went away mid-request: the connection is not reusable."""
        self.answer._connection._finish_with(UpstreamError("the request was abandoned"))


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
        # Connections with an exchange under way, checked by one sweep against the timeout.
        self.busy: set[_Connection] = set()
        self._sweeping: asyncio.TimerHandle | None = None
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

    def watch(self, connection: _Connection) -> None:
        self.busy.add(connection)
        if self._sweeping is None:
            self._sweeping = self.loop.call_later(SWEEP_SECONDS, self._sweep)

    def _sweep(self) -> None:
        """Fail the exchanges that heard nothing from the upstream for `timeout` seconds."""
        self._sweeping = None
        now = self.loop.time()
        for connection in [c for c in self.busy if now - c.last_activity >= self.timeout]:
            connection._finish_with(UpstreamError(f"no answer within {self.timeout:g} s"))
        if self.busy:
            self._sweeping = self.loop.call_later(SWEEP_SECONDS, self._sweep)

    def _connection(self) -> _Connection:
        """An idle kept-alive connection, or a new one that connects in the background."""
        idle = self._idle
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
        connection = _Connection(self)
        attempt = asyncio.ensure_future(
            self.loop.create_connection(lambda: connection, self.host, self.port, ssl=self.ssl)
        )
        connection.connecting = attempt
        attempt.add_done_callback(connection._connected)
        return connection

    def head(
        self, method: str, target: bytes, headers: list[tuple[bytes, bytes]], framing: bytes
    ) -> bytes:
        """The request's head as it goes to the upstream (`framing`: b"" or a header line)."""
        lines = [b"\r\n%s: %s" % pair for pair in headers]
        return b"%s %s%s HTTP/1.1\r\nhost: %s%s%s\r\n\r\n" % (
            method.encode(),
            self.prefix,
            target,
            self.host_header,
            b"".join(lines),
            framing,
        )

    def request(
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
        first = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") if chunked else body
        message = self.head(method, target, headers, framing) + first
        connection = self._connection()
        answer = Answer(connection, None if more_body else message)
        connection.start(method, message, answer, whole=not more_body)
        return Exchange(answer, chunked)

    def resend(self, answer: Answer) -> None:
        """Send a whole request again, on another connection, for the same answer."""
        message = answer._resend
        assert message is not None
        method = message[: message.index(b" ")].decode()
        self._connection().start(method, message, answer, whole=True)

    def close(self) -> None:
        while self._idle:
            self._idle.pop()._close()
        if self._sweeping is not None:
            self._sweeping.cancel()
            self._sweeping = None
