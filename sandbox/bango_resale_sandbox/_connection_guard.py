"""Per-connection limits around uvicorn's HTTP protocol, by composition.

uvicorn has public knobs for the keep-alive timeout and for switching WebSockets off, but none
for the size of a request head, a deadline to receive a request, or a cap on connections that
favours no one source. This module adds those without touching uvicorn's classes: the protocol
class given to `uvicorn.Config(http=...)` is a `GuardedConnection`, an `asyncio.Protocol` that
builds uvicorn's own httptools protocol for the connection and hands it the transport. The
transport's bytes and connection events pass through the guard first; answers go from uvicorn
to the transport through `OneSendPerAnswer`, which only joins an answer's head to its body.

What the guard needs of uvicorn (0.54, and the range pyproject.toml names) is kept here and
checked by tests/sandbox/test_connection_guard.py:
- uvicorn builds one protocol per connection as `http_class(config=..., server_state=...,
  app_state=..., ...)`, all by keyword; the guard passes the same arguments on to
  `HttpToolsProtocol` (what `Config(http="httptools")` names);
- each request's ASGI scope carries a copy of `app_state` as `scope["state"]` (the ASGI
  lifespan-state extension), which is how the app reaches its connection (`connection_of`);
- uvicorn writes an answer's head to the transport it was given when the app sends
  `http.response.start`, and each body part when the app sends it. Written as they come, a
  small answer costs two sends to the kernel (and two segments to the client); the guard holds
  the head until the first body part and writes both at once.

The guard reads the same bytes as uvicorn with a parser of its own (httptools, with uvicorn's
leniency), registered for three events only: where a request begins, where its head ends and
where it ends. With those and one word from the app (`request_done`, sent by
`GuardMiddleware` when the app has answered), it enforces, per connection:

- a cap on the bytes of a request head: past it the client gets `431` with a JSON envelope and
  the connection is closed, before the head is buffered further. A head is measured exactly,
  except one that begins in the same read as the end of the request before it (pipelining):
  that read's share is not counted, so such a head may pass the cap by up to one read;
- a deadline to receive a request once its first byte has come, and an idle timeout before
  the first request and between requests until the app calls `mark_authenticated`; after that
  uvicorn's own keep-alive timeout (`Config(timeout_keep_alive=...)`) applies;
- `400` with a JSON envelope, and a closed connection, for what cannot be served: a request
  that does not parse (an unknown method among others) and a protocol upgrade (WebSocket,
  h2c, CONNECT); these never reach uvicorn or the app;
- a request answered before it has fully arrived (a refusal that did not read the body) keeps
  its deadline: uvicorn reads and drops the rest, which must come in time;
- a cap on open connections and one per source address. A new connection over either cap
  takes the place of an open one that no request is waiting on: idle before busy, connections
  that never authenticated before those that did, the longest idle first. If every connection
  is serving a request, the new one is closed at once.

Refusals written by the guard follow the answers the app has pending on the connection, in
order: a pipelining client gets its earlier answers first. Besides joining head and body, the
guard writes nothing of uvicorn's later or differently: a head waits only while the app works
out its first body part, and what is held goes out before the connection is closed.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any, cast

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .config import ServerLimits

#: The key under which each request's `scope["state"]` holds its connection.
CONNECTION_STATE_KEY = "bango_resale.connection"
#: The keyword argument of uvicorn's protocol constructor that carries the lifespan state.
APP_STATE_ARGUMENT = "app_state"

Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REASONS = {400: b"Bad Request", 431: b"Request Header Fields Too Large"}
# A connection is in one of these eviction tiers while no request of it is being answered;
# a new connection over a cap takes the place of the first connection of the lowest tier.
_IDLE_ANONYMOUS, _ARRIVING_ANONYMOUS, _IDLE_AUTHENTICATED, _ARRIVING_AUTHENTICATED = range(4)
_NO_DEADLINE = math.inf
# Seconds a refused connection's further bytes are read and dropped before it is closed.
_LINGER_SECONDS = 2.0
# Held writes up to this size are joined into one buffer; larger ones are sent as a vector.
_JOINED_BELOW = 16384


def refusal(status: int, message: str) -> bytes:
    """A whole HTTP answer that refuses a request: the JSON envelope, and `connection: close`."""
    body = orjson.dumps({"responseCode": "BAD_REQUEST", "responseMessage": message})
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"connection: close\r\n\r\n" % (status, _REASONS.get(status, b""), len(body))
    ) + body


def connection_of(scope: Scope) -> GuardedConnection | None:
    """The guarded connection a request arrived on; None when it was not served by the guard."""
    state = scope.get("state")
    connection = None if state is None else state.get(CONNECTION_STATE_KEY)
    return connection if isinstance(connection, GuardedConnection) else None


class GuardMiddleware:
    """Tells each request's connection when the app has answered it (see the module), and holds
    an answer's head until its first body part so that both go out in one send."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get("state")
        connection = None if state is None else state.get(CONNECTION_STATE_KEY)
        if connection is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Set when the connection was made, before any request could arrive on it.
        writer: OneSendPerAnswer = connection.writer

        async def send_head_with_body(message: Mapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                writer.hold()
                try:
                    await send(message)  # uvicorn writes the head: held
                except BaseException:
                    writer.release()
                    raise
                return
            try:
                await send(message)
            finally:
                writer.release()

        await self.app(scope, receive, send_head_with_body)
        # After an exception uvicorn answers 500 itself and closes the connection: the request
        # then never counts as answered, and the connection is never taken for idle.
        connection.request_done()


class OneSendPerAnswer(asyncio.Transport):
    """The connection's transport as uvicorn sees it: while held (from an answer's head to its
    first body part), writes wait and then go out together, so that a small answer costs one
    send to the kernel instead of two. Everything else passes straight through; closing, or
    ending the stream, sends what is held first."""

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__()
        self._transport = transport
        self._held: list[bytes] | None = None

    def hold(self) -> None:
        if self._held is None:
            self._held = []

    def release(self) -> None:
        held, self._held = self._held, None
        if not held or self._transport.is_closing():
            return
        if len(held) == 1:
            self._transport.write(held[0])
        elif sum(map(len, held)) <= _JOINED_BELOW:
            self._transport.write(b"".join(held))
        else:
            self._transport.writelines(held)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held is None:
            self._transport.write(data)
        elif data:
            self._held.append(bytes(data))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def write_eof(self) -> None:
        self.release()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def close(self) -> None:
        self.release()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def get_write_buffer_size(self) -> int:
        held = self._held
        return self._transport.get_write_buffer_size() + (sum(map(len, held)) if held else 0)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()


class Guard:
    """The connections of one server: the caps, eviction and the deadline sweep."""

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self.connections: dict[GuardedConnection, None] = {}
        self.by_source: dict[str, dict[GuardedConnection, None]] = {}
        # Connections no request of which is being answered, by tier, oldest first.
        self.tiers: tuple[dict[GuardedConnection, None], ...] = ({}, {}, {}, {})
        self._sweep: asyncio.TimerHandle | None = None
        shortest = min(limits.request_timeout_seconds, limits.unauthenticated_keep_alive_seconds)
        self.sweep_seconds = max(0.05, min(0.5, shortest / 4))

    def protocol_class(self) -> type[GuardedConnection]:
        """The class to give `uvicorn.Config(http=...)`: its connections obey this guard."""
        guard = self

        class Guarded(GuardedConnection):
            def __init__(self, *args: Any, **uvicorn_arguments: Any) -> None:
                super().__init__(guard, args, uvicorn_arguments)

        return Guarded

    def admit(self, connection: GuardedConnection) -> bool:
        """Make room for a new connection within both caps; False if none can be made."""
        limits = self.limits
        mine = self.by_source.get(connection.source)
        if mine is not None and len(mine) >= limits.max_connections_per_source:
            victim = min(
                (c for c in mine if c.tier is not None),
                key=lambda c: (c.tier, c.since),
                default=None,
            )
            if victim is None:
                return False
            victim.evict()
        if len(self.connections) >= limits.max_connections:
            victim = next((next(iter(tier)) for tier in self.tiers if tier), None)
            if victim is None:
                return False
            victim.evict()
        self.connections[connection] = None
        self.by_source.setdefault(connection.source, {})[connection] = None
        if self._sweep is None:
            loop = connection.loop
            self._sweep = loop.call_later(self.sweep_seconds, self._expire, loop)
        return True

    def release(self, connection: GuardedConnection) -> None:
        if self.connections.pop(connection, 0) is None:
            mine = self.by_source[connection.source]
            del mine[connection]
            if not mine:
                del self.by_source[connection.source]
            connection.retier(None)

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for connection in [c for c in self.connections if c.deadline <= now]:
            connection.expire()
        self._sweep = (
            loop.call_later(self.sweep_seconds, self._expire, loop) if self.connections else None
        )


class GuardedConnection(asyncio.Protocol):
    """One client connection: uvicorn's protocol inside, the guard's limits around it.

    The methods `on_message_begin`, `on_headers_complete` and `on_message_complete` are the
    callbacks of the guard's own parser."""

    def __init__(
        self, guard: Guard, args: tuple[Any, ...], uvicorn_arguments: dict[str, Any]
    ) -> None:
        if args or APP_STATE_ARGUMENT not in uvicorn_arguments:
            raise RuntimeError(
                "uvicorn no longer builds its HTTP protocol with keyword arguments including"
                f" {APP_STATE_ARGUMENT!r}: bango_resale_sandbox._connection_guard needs updating"
            )
        state: MutableMapping[str, Any] = dict(uvicorn_arguments[APP_STATE_ARGUMENT] or {})
        state[CONNECTION_STATE_KEY] = self
        self._guard = guard
        self._limits = guard.limits
        self._inner = HttpToolsProtocol(**{**uvicorn_arguments, APP_STATE_ARGUMENT: state})
        self._parser = httptools.HttpRequestParser(self)
        self._parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.writer: OneSendPerAnswer | None = None
        self.source = ""
        self.authenticated = False
        self.tier: int | None = None
        self.since = 0.0  # when the connection entered its tier
        self.deadline = _NO_DEADLINE
        self._admitted = False
        self._closing = False
        self._refusal = b""  # an answer to write once the pending answers have gone
        self._pending = 0  # requests handed to the app and not answered yet
        self._arriving = False  # a request has begun and not fully arrived
        self._head = -1  # bytes of the request head arriving (-1: none)
        # Per read: the read, whether a request ended in it, whether one began in it, heads
        # completed in it, and the last bytes of a head still arriving (a split terminator).
        self._data = b""
        self._ended_here = False
        self._began_here = False
        self._heads_here = 0
        self._tail = b""

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have the methods of asyncio.Transport without deriving from it.
        self.transport = transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.source = str(peer[0]) if isinstance(peer, tuple) and peer else str(peer or "")
        if not self._guard.admit(self):
            self._closing = True
            transport.abort()
            return
        self._admitted = True
        self.writer = OneSendPerAnswer(transport)
        self._inner.connection_made(self.writer)
        self._idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        if self._admitted:
            self._guard.release(self)
            self._inner.connection_lost(exc)

    def eof_received(self) -> bool | None:
        if self._admitted:
            self._inner.eof_received()
        return None  # the transport closes itself, as for uvicorn's protocol

    def pause_writing(self) -> None:
        if self._admitted:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._admitted:
            self._inner.resume_writing()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        self._data = data
        self._ended_here = self._began_here = False
        self._heads_here = 0
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, "protocol upgrades (WebSocket, h2c, CONNECT) are not supported")
            return
        except httptools.HttpParserError as error:
            self._refuse(400, f"malformed request: {error}")
            return
        finally:
            self._data = b""
        if self._closing:  # a head too large, found by a callback
            return
        if self._head >= 0:  # a head is still arriving
            if not self._began_here:
                self._head += len(data)
            elif not self._ended_here:
                self._head = len(data)
            if self._head > self._limits.max_header_bytes:
                self._refuse_head()
                return
            self._tail = data[-3:]
        self._pending += self._heads_here
        self._inner.data_received(data)

    # -- the guard's parser -------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._closing:  # refused earlier in this read: the rest is dropped
            return
        self._arriving = True
        self._began_here = True
        self._head = 0
        self.deadline = self.loop.time() + self._limits.request_timeout_seconds
        self.retier(_ARRIVING_AUTHENTICATED if self.authenticated else _ARRIVING_ANONYMOUS)

    def on_headers_complete(self) -> None:
        if self._closing:
            return
        data, limit = self._data, self._limits.max_header_bytes
        earlier = 0 if self._began_here else self._head
        # Measured only when it may be too large, and only where its start is known: from the
        # start of this read, or in an earlier read (its last bytes kept in `_tail`).
        if earlier + len(data) > limit and not (self._began_here and self._ended_here):
            window = data if self._began_here else self._tail + data
            end = window.find(b"\r\n\r\n")
            if end >= 0 and earlier + end + 4 - (len(window) - len(data)) > limit:
                self._refuse_head()
        self._head = -1
        self._heads_here += 1

    def on_message_complete(self) -> None:
        if self._closing:
            return
        self._arriving = False
        self._ended_here = True
        self.deadline = _NO_DEADLINE
        if self._pending + self._heads_here:
            self.retier(None)  # the app has it now
        else:
            self._idle()  # answered before all of it had come; the rest was dropped

    # -- from the app and the guard -----------------------------------------------------

    def mark_authenticated(self) -> None:
        self.authenticated = True

    def request_done(self) -> None:
        """The app has answered one request of this connection."""
        self._pending -= 1
        if self._pending or self.transport is None:
            return
        if self._refusal:
            self._send_last(self._refusal)
        elif not (self._closing or self._arriving):
            self._idle()
        # Otherwise a request is still arriving (the next one, or the rest of this one's body,
        # which uvicorn drops): the connection is idle once it has come.

    def evict(self) -> None:
        """Close the connection to make room for a new one; it no longer counts at once."""
        self._closing = True
        self._guard.release(self)
        if self.transport is not None:
            self.transport.close()

    def expire(self) -> None:
        """The deadline passed: a request was too slow to arrive, or the connection idled."""
        self.deadline = _NO_DEADLINE
        self.evict()

    def retier(self, tier: int | None) -> None:
        tiers = self._guard.tiers
        if self.tier is not None:
            del tiers[self.tier][self]
        self.tier = None if self._closing else tier
        if self.tier is not None:
            tiers[self.tier][self] = None
            self.since = self.loop.time()

    def _idle(self) -> None:
        if self.authenticated:
            self.deadline = _NO_DEADLINE  # uvicorn's keep-alive timeout applies
            self.retier(_IDLE_AUTHENTICATED)
        else:
            self.retier(_IDLE_ANONYMOUS)
            self.deadline = self.since + self._limits.unauthenticated_keep_alive_seconds

    def _refuse_head(self) -> None:
        self._refuse(431, f"request headers: larger than {self._limits.max_header_bytes} bytes")

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` after the answers pending on the connection, then close it; read
        nothing more from it."""
        self._closing = True
        self.deadline = _NO_DEADLINE
        self.retier(None)
        answer = refusal(status, message)
        if self._pending:
            self._refusal = answer
        else:
            self._send_last(answer)

    def _send_last(self, answer: bytes) -> None:
        """Write the last answer and end the stream; what the client still sends is read and
        dropped for a moment (closing on unread bytes would reset the connection, and the
        client could lose the answer), then the connection is closed."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self.writer is not None:
            self.writer.release()
        transport.write(answer)
        if transport.can_write_eof():
            transport.write_eof()
            self.deadline = self.loop.time() + _LINGER_SECONDS
        else:
            transport.close()
