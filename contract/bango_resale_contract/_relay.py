"""The proxy's hot path: the usual exchange forwarded from within uvicorn's own protocol.

uvicorn parses each request with httptools and, for an ASGI application, builds a scope, an
event, a task and message dicts per request, and checks every header it writes: on the 2-core
development machine a trivial ASGI application costs about 35 us of CPU per request under
load, a bare httptools protocol about 7, while the whole proxied exchange has 70. So the
protocol the proxy serves with (`relay_protocol`) is uvicorn's, with one change: a request
whose body is known to fit what the proxy keeps to judge (no body, or a Content-Length within
`max_judged_bytes`), arriving while nothing else is under way on its connection, is forwarded
from the parser's callbacks straight to the upstream pool, and its answer is written back
from the pool's callbacks, with no task and no message dicts. Everything else (streamed or
larger request bodies, `Expect: 100-continue`, pipelined requests, upgrades, the notification
receiver) goes to the ASGI application as before, and uvicorn's connection handling (graceful
shutdown, flow control, 400 on a malformed request) is untouched; its keep-alive timeout is
kept with one timer per connection instead of one per request.

The relayed exchange is judged by the same `ValidatingProxy.judge_exchange` (through
`observed` in observe mode) as one through the application, with the same rules, limits,
observe and enforce modes and 502 envelopes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from bango_resale_contract._upstream import Answer

if TYPE_CHECKING:
    from bango_resale_contract.proxy import ValidatingProxy

# Hop-by-hop headers (RFC 9110 section 7.6.1) belong to one connection and are not forwarded;
# host is set for the next hop. Content-Length passes: bodies are forwarded as they stream.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
    }
)
CONTENT_LENGTH = b"content-length"
TRANSFER_ENCODING = b"transfer-encoding"
EXPECT = b"expect"
# Request headers that decide whether the protocol relays the request itself.
_NOTED = frozenset({CONTENT_LENGTH, TRANSFER_ENCODING, EXPECT})
LOGGER = logging.getLogger("bango_resale_contract.proxy")
Header = tuple[bytes, bytes]


def forwardable(headers: list[tuple[bytes, bytes]]) -> tuple[list[tuple[bytes, bytes]], bool]:
    """The headers to pass on, and whether they carry a Content-Length."""
    kept = []
    length_given = False
    for pair in headers:
        name = pair[0].lower()
        if name not in HOP_BY_HOP:
            kept.append(pair)
            if name == CONTENT_LENGTH:
                length_given = True
    return kept, length_given


def response_head(
    status: int, headers: list[tuple[bytes, bytes]], *, chunked: bool, close: bool
) -> bytes:
    """The status line and headers as they go to the client."""
    lines = [b"%s: %s\r\n" % pair for pair in headers]
    if chunked:
        lines.append(b"transfer-encoding: chunked\r\n")
    if close:
        lines.append(b"connection: close\r\n")
    lines.append(b"\r\n")
    return (STATUS_LINE.get(status) or b"HTTP/1.1 %d \r\n" % status) + b"".join(lines)


class _NoEvent:
    """What uvicorn sets on a cycle when the client goes; a relayed exchange needs no event."""

    __slots__ = ()

    def set(self) -> None:
        pass


class _Relayed:
    """One request forwarded by the protocol itself, from its head to its answer's last byte.

    It stands in for uvicorn's request-response cycle on the connection (`response_complete`,
    `keep_alive`, `disconnected`, `message_event`), so uvicorn's pipelining, shutdown and
    disconnect handling treat it as one."""

    __slots__ = (
        "answer",
        "answer_headers",
        "body",
        "chunked",
        "disconnected",
        "forwarded",
        "headers",
        "keep_alive",
        "kept",
        "length_given",
        "method",
        "protocol",
        "reading",
        "response_complete",
        "size",
        "started",
        "target",
    )
    message_event = _NoEvent()

    def __init__(
        self,
        protocol: RelayProtocol,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        forwarded: list[tuple[bytes, bytes]],
        length_given: bool,
        keep_alive: bool,
    ) -> None:
        self.protocol = protocol
        self.method = method
        self.target = target
        self.headers = headers
        self.forwarded = forwarded
        self.length_given = length_given
        self.keep_alive = keep_alive
        self.body: list[bytes] = []
        self.reading = True
        self.disconnected = False
        self.response_complete = False
        self.answer: Answer | None = None
        self.answer_headers: list[tuple[bytes, bytes]] = []
        self.started = False
        self.chunked = False
        self.kept: list[bytes] | None = []  # the answer body kept to judge; None past the limit
        self.size = 0

    def forward(self) -> None:
        """The request is whole: send it on."""
        self.reading = False
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        self.body = [body]
        proxy = self.protocol.proxy
        exchange = proxy.pool().request(
            self.method, self.target, self.forwarded, body, length_given=self.length_given
        )
        answer = self.answer = exchange.answer
        answer.on_progress = self.progress
        if self.protocol.flow.write_paused:
            answer.hold()

    def progress(self) -> None:
        """The answer moved on (head, body, end or error): pass on what came."""
        try:
            self._progress()
        except Exception:  # a bug here must not take the event loop's callback with it
            LOGGER.exception("relaying %s %r failed", self.method, self.target)
            self._close()

    def _progress(self) -> None:
        answer = self.answer
        assert answer is not None
        if self.response_complete:
            answer.take()
            return
        proxy = self.protocol.proxy
        if not self.started:
            if not answer.head_done:
                if answer.error is not None:
                    self._send_whole(proxy.unanswered(answer.error))
                return
            self.started = True
            self.answer_headers, length_given = forwardable(answer.headers)
            self.chunked = not length_given and self._has_body(answer.status)
            if proxy.enforce:
                self._hold_for_verdict(answer)
                return
            if answer.complete:  # the usual case: the whole answer came in one read
                body = answer.take()
                self._write_whole(body)
                self._finish(body if len(body) <= proxy.max_judged_bytes else None)
                return
            self._write(self._head())
        if proxy.enforce:
            self._hold_for_verdict(answer)
            return
        piece = answer.take()
        if piece:
            self._write(b"%x\r\n%s\r\n" % (len(piece), piece) if self.chunked else piece)
            self._keep(piece)
        if answer.complete:
            if self.chunked:
                self._write(b"0\r\n\r\n")
            kept = self.kept
            self._finish(b"".join(kept) if kept is not None else None)
        elif answer.error is not None:
            # Cut off mid-answer: the client cannot be told otherwise than by closing.
            proxy.unanswered(answer.error)
            proxy.log(f"the upstream cut off its answer to {self.method} {self.target!r}")
            self._close()

    def _keep(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.kept is not None:
            if self.size <= self.protocol.proxy.max_judged_bytes:
                self.kept.append(piece)
            else:
                self.kept = None

    def _hold_for_verdict(self, answer: Answer) -> None:
        """Enforce: the answer is held until judged; a violating one becomes a 502."""
        piece = answer.take()
        if piece:
            self._keep(piece)
        if answer.error is not None and not answer.complete:
            self._send_whole(self.protocol.proxy.unanswered(answer.error))
            return
        if not answer.complete:
            return
        proxy = self.protocol.proxy
        if self.kept is None:
            proxy.report_not_judged(self.method, self.target, False)
            self._send_whole(
                proxy.refusal(
                    f"the exchange is larger than the {proxy.max_judged_bytes} bytes judged", []
                )
            )
            return
        held = b"".join(self.kept)
        found = proxy.judge_exchange(*self._seen(), held)
        if found:
            self._send_whole(proxy.refusal("the answer breaks the partner contract", found))
            return
        self._write_whole(held)
        self._done()

    def _seen(self) -> tuple[str, bytes, list[Header], bytes, int, list[Header]]:
        """The exchange as the proxy judges it, but for the answer's body."""
        answer = self.answer
        assert answer is not None
        return (
            self.method,
            self.target,
            self.headers,
            self.body[0],
            answer.status,
            self.answer_headers,
        )

    def _write_whole(self, body: bytes) -> None:
        """The answer, head and whole body in one write (framed by its length)."""
        if self.chunked:
            self.answer_headers.append((CONTENT_LENGTH, b"%d" % len(body)))
            self.chunked = False
        self._write(self._head() + body)

    def _has_body(self, status: int) -> bool:
        return self.method != "HEAD" and status >= 200 and status not in (204, 304)

    def _head(self) -> bytes:
        answer = self.answer
        assert answer is not None
        return response_head(
            answer.status, self.answer_headers, chunked=self.chunked, close=not self.keep_alive
        )

    def _send_whole(self, refusal: tuple[int, list[tuple[bytes, bytes]], bytes]) -> None:
        status, headers, body = refusal
        self._write(response_head(status, headers, chunked=False, close=not self.keep_alive) + body)
        self._done()

    def _write(self, data: bytes) -> None:
        if not self.disconnected:
            self.protocol.write_through(data)

    def _finish(self, answer_body: bytes | None) -> None:
        """The answer went on (observe mode): free the connection, have it judged."""
        self._done()
        self.protocol.proxy.observed(*self._seen(), answer_body)

    def _done(self) -> None:
        self.response_complete = True
        if self.answer is not None:
            self.answer.on_progress = None  # no reference cycle left for the collector
        protocol = self.protocol
        if protocol.relayed is self:
            protocol.relayed = None
        if self.disconnected:
            return
        if not self.keep_alive:
            protocol.transport.close()
        protocol.on_response_complete()

    def _close(self) -> None:
        self.response_complete = True
        if self.answer is not None:
            self.answer.on_progress = None
            self.answer.abandon()
        if self.protocol.relayed is self:
            self.protocol.relayed = None
        if not self.disconnected:
            self.protocol.transport.close()


class RelayProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, relaying the usual exchange itself (see the module)."""

    proxy: ValidatingProxy  # set on the class `relay_protocol` makes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.relayed: _Relayed | None = None  # the request being read, relayed
        self.pending: list[bytes] = []  # what uvicorn wrote in this turn, not sent yet
        self.idle_since: float | None = None  # when the last answer went, if idle since
        self.raw: asyncio.Transport | None = None
        # Of the request being read: the headers to forward, its Content-Length (None: not
        # given; -1: given twice or not a number), whether its body is streamed (chunked).
        self.forwarded: list[tuple[bytes, bytes]] = []
        self.length: int | None = None
        self.streamed = False

    # uvicorn writes a response's head and body apart: through `_Coalescing`, its writes
    # within one turn of the event loop go out as one system call.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.raw = transport
        super().connection_made(_Coalescing(self, transport))  # type: ignore[arg-type]

    def write_through(self, data: bytes) -> None:
        """Write at once, after anything uvicorn still holds for this connection."""
        assert self.raw is not None
        if self.pending:
            self.flush()
        self.raw.write(data)

    def flush(self) -> None:
        if self.pending and self.raw is not None:
            pending, self.pending = self.pending, []
            self.raw.write(pending[0] if len(pending) == 1 else b"".join(pending))

    # Parser callbacks
    def on_message_begin(self) -> None:
        # The scope is built only for a request that goes to the application.
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        self.forwarded = []
        self.length = None
        self.streamed = False

    def on_header(self, name: bytes, value: bytes) -> None:
        # uvicorn's (names in lower case, Expect noted), sorting what is forwarded on the way.
        name = name.lower()
        pair = (name, value)
        self.headers.append(pair)
        if name in _NOTED:
            if name == CONTENT_LENGTH:
                self.length = -1 if self.length is not None or not value.isdigit() else int(value)
            elif name == TRANSFER_ENCODING:
                self.streamed = True
            elif name == EXPECT and value.lower() == b"100-continue":
                self.expect_100_continue = True
        if name not in HOP_BY_HOP:
            self.forwarded.append(pair)

    def on_headers_complete(self) -> None:
        relayed = self._relayable()
        if relayed is None:
            headers, url, expect = self.headers, self.url, self.expect_100_continue
            HttpToolsProtocol.on_message_begin(self)
            self.headers = self.scope["headers"] = headers
            self.url, self.expect_100_continue = url, expect
            super().on_headers_complete()
            return
        self.relayed = relayed
        self.cycle = relayed  # type: ignore[assignment]

    def _relayable(self) -> _Relayed | None:
        """The request as one the protocol relays itself, or None for the application."""
        cycle, parser, proxy = self.cycle, self.parser, self.proxy
        length = self.length
        if (
            (cycle is not None and not cycle.response_complete)
            or self.expect_100_continue
            or self.streamed  # a streamed body: the application forwards it as it comes
            or (length is not None and not 0 <= length <= proxy.max_judged_bytes)
            or self.limit_concurrency is not None
            or parser.should_upgrade()
        ):
            return None
        url = httptools.parse_url(self.url)
        path: bytes = url.path
        receiver = proxy.judge.receiver_path
        if receiver is not None:
            text = path.decode("latin-1")
            if (unquote(text) if "%" in text else text) == receiver:
                return None
        query = url.query
        http_version = parser.get_http_version()
        return _Relayed(
            self,
            parser.get_method().decode("ascii"),
            path + b"?" + query if query else path,
            self.headers,
            self.forwarded,
            length is not None,
            http_version != "1.0" and parser.should_keep_alive(),
        )

    def on_body(self, body: bytes) -> None:
        relayed = self.relayed
        if relayed is not None and relayed.reading:
            relayed.body.append(body)
        else:
            super().on_body(body)

    def on_message_complete(self) -> None:
        relayed = self.relayed
        if relayed is not None and relayed.reading:
            relayed.forward()
        else:
            super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        relayed = self.relayed
        if relayed is not None:
            relayed.disconnected = True
            if relayed.reading:
                self.relayed = None  # a request never sent on: nothing to judge
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        # uvicorn's, but for the keep-alive timer: uvicorn arms one after every answer and
        # cancels it at the next request, a timer made and dropped per request. Here the
        # connection keeps one; when it fires it closes the connection if it has been idle
        # for the keep-alive timeout since its last answer, and otherwise waits the rest.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self.idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self._keep_alive_due
            )

    def _unset_keepalive_if_required(self) -> None:
        self.idle_since = None  # busy: the timer, when it fires, finds so and lets it be

    def _keep_alive_due(self) -> None:
        self.timeout_keep_alive_task = None
        if self.idle_since is None:
            return  # busy: the next answer arms it again
        left = self.idle_since + self.timeout_keep_alive - self.loop.time()
        if left > 0:
            self.timeout_keep_alive_task = self.loop.call_later(left, self._keep_alive_due)
        else:
            self.timeout_keep_alive_handler()

    # A slow client: stop reading the upstream's answer until it caught up.
    def pause_writing(self) -> None:
        super().pause_writing()
        if self.relayed is not None and self.relayed.answer is not None:
            self.relayed.answer.hold()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.relayed is not None and self.relayed.answer is not None:
            self.relayed.answer.release()


class _Coalescing:
    """The transport uvicorn writes to: its writes within one turn of the event loop go out
    as one (uvicorn writes a response's head and body separately)."""

    __slots__ = ("_protocol", "_transport")

    def __init__(self, protocol: RelayProtocol, transport: asyncio.Transport) -> None:
        self._protocol = protocol
        self._transport = transport

    def write(self, data: bytes) -> None:
        protocol = self._protocol
        if not protocol.pending:
            protocol.loop.call_soon(protocol.flush)
        protocol.pending.append(data)

    def close(self) -> None:
        self._protocol.flush()
        self._transport.close()

    def is_closing(self) -> bool:  # asked after every answer: not through __getattr__
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def relay_protocol(proxy: ValidatingProxy) -> type[RelayProtocol]:
    """The protocol class uvicorn serves `proxy` with."""
    return type("ProxyRelayProtocol", (RelayProtocol,), {"proxy": proxy})
