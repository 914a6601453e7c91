"""A validating proxy: forwards every request to a service unchanged and judges each exchange.

It has two halves with a message model between them (`_messages`). The server half is this
ASGI application, served by uvicorn through the sandbox's own serving module, so the proxy
holds its clients to the same limits as the sandbox (head size, request deadline, connection
count), read from the same `[server]` configuration. The client half (`_upstream`, aiohttp's
client) sends each request on over a pool of keep-alive connections: the raw path and query,
every header but the hop-by-hop ones, the body piece by piece as it arrives. The answer
comes back the same way, streamed. Interim answers never end an exchange: the server half
answers `Expect: 100-continue` itself, the client half reads past any 1xx.

Of each body the proxy keeps, decoded as it passes (`_bodies`), at most `max_judged_bytes`
(the sandbox's own request limit) to judge; a larger exchange, or one in an encoding the
proxy does not decode, is forwarded all the same and reported as not judged. In the default
observe mode the traffic is never changed: the answer is sent first and judged after, at the
end of the event loop's turn together with the other exchanges answered in it (judging them
one after another keeps the judge's code and data in the processor's caches: about 10 us less
CPU per exchange than judging each between the sends of the next). With `enforce` the answer
is held until judged, and a violating one (or one that could not be judged) is replaced by a
502 whose JSON envelope names the rules.

With `notify_url`, the proxy also answers notifications on `RECEIVER_PATH`: it judges each
and hands it on to `notify_url` (the integration's own receiver), returning that answer. An
integration puts the receiver in front of itself by creating entitlements with
`notificationUrl` pointing at the proxy's `RECEIVER_PATH`.

Credentials pass through untouched; the proxy keeps none, and reproducers leave them out.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlsplit

from bango_resale_contract._bodies import KeptBody
from bango_resale_contract._findings import Violation
from bango_resale_contract._messages import (
    CONTENT_ENCODING,
    CONTENT_LENGTH,
    NotForwardable,
    Request,
    forwarded_answer_headers,
    forwarded_request_headers,
    may_have_body,
)
from bango_resale_contract._upstream import Body, Upstream, UpstreamAnswer, UpstreamError
from bango_resale_contract.live import LiveJudge
from bango_resale_contract.live_report import summary_table, write_reports
from bango_resale_sandbox.config import ServerLimits, load_config

RECEIVER_PATH = "/bango-proxy/notifications"
ENFORCED_STATUS = 502
# responseCode of the proxy's own answers: a refused answer, no answer to forward, a request
# that cannot go on unchanged.
CONTRACT_VIOLATION = "CONTRACT_VIOLATION"
UPSTREAM_FAILED = "UPSTREAM_FAILED"
BAD_REQUEST = "BAD_REQUEST"
# Counted with the exchanges per operation: requests the upstream never (wholly) answered.
NO_ANSWER = "(no answer from the upstream)"
NOT_FORWARDED = "(not forwarded: cannot go on unchanged)"
# The first line the proxy writes; `announced_url` reads the address back from it.
ANNOUNCEMENT = "bango-resale-contract proxy: {url} -> {upstream} ({mode})"
_ANNOUNCED = re.compile(r"bango-resale-contract proxy: (http://\S+) -> ")
LOGGER = logging.getLogger("bango_resale_contract.proxy")
# An answer whose Content-Length is at most this is read whole and sent on in one write.
WHOLE_BELOW = 65536

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Header = tuple[bytes, bytes]
# An answer of the proxy's own: status, headers, JSON body.
Own = tuple[int, list[Header], bytes]


def command(upstream: str, port: int, *flags: str) -> list[str]:
    """The command line that runs the proxy in a process of its own (tests, benchmarks);
    port 0 lets it pick a free one, which it announces (`announced_url`)."""
    return [
        sys.executable,
        "-m",
        "bango_resale_contract",
        "proxy",
        "--upstream",
        upstream,
        "--port",
        str(port),
        *flags,
    ]


def announced_url(output: str) -> str | None:
    """The address a proxy announced in its output, once it has."""
    found = _ANNOUNCED.search(output)
    return found.group(1) if found else None


def default_judged_bytes(config: Path | None = None) -> int:
    """The most of a body the proxy keeps to judge: `max_body_bytes` of the sandbox's
    configuration (its packaged one by default), past which that service refuses a request."""
    return load_config(config).max_body_bytes


class _ClientGone(Exception):
    """The client went away before its request body was complete."""


class AnswerCutOff(Exception):
    """The upstream stopped in the middle of an answer already under way to the client: the
    connection to the client is closed, which is the only way HTTP/1.1 has to say so."""


@dataclass
class ValidatingProxy:
    """The ASGI application (the server half)."""

    upstream: str
    enforce: bool = False
    notify_url: str | None = None
    judge: LiveJudge = field(default_factory=LiveJudge)
    log: Callable[[str], None] = field(
        default=lambda line: print(line, file=sys.stderr, flush=True)
    )
    # Bytes of a request or answer body kept (decoded) for judging; a larger exchange is
    # reported as not judged (and, when enforcing, refused).
    max_judged_bytes: int = field(default_factory=default_judged_bytes)
    # Connections the client half may hold open to each upstream.
    connections: int = ServerLimits().max_connections
    _service: Upstream = field(init=False, repr=False)
    _receiver: Upstream | None = field(default=None, init=False, repr=False)
    _notify_target: bytes = field(default=b"/", init=False, repr=False)
    # Exchanges answered in this turn of the event loop, to be judged at its end (observe).
    _unjudged: list[tuple[Request, KeptBody, int, list[Header], KeptBody]] = field(
        default_factory=list, init=False, repr=False
    )

    def __post_init__(self) -> None:
        self.upstream = self.upstream.rstrip("/")
        self._service = Upstream(self.upstream, connections=self.connections)
        if self.notify_url is not None:
            self.judge.receiver_path = RECEIVER_PATH
            parts = urlsplit(self.notify_url)
            self._receiver = Upstream(
                f"{parts.scheme}://{parts.netloc}", connections=self.connections
            )
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            self._notify_target = target.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        request = Request(
            scope["method"], raw_path + b"?" + query if query else raw_path, scope["headers"]
        )
        if self._receiver is not None and unquote(raw_path.decode("latin-1")) == RECEIVER_PATH:
            await self._notification(request, receive, send)
        else:
            await self._exchange(request, receive, send)

    # The exchange: request in, on to the service, its answer back, judged.

    async def _exchange(self, request: Request, receive: Receive, send: Send) -> None:
        try:
            headers = forwarded_request_headers(request.headers)
        except NotForwardable as error:
            await self._not_forwarded(request, str(error), send)
            return
        limit = self.max_judged_bytes
        sent = KeptBody("request", limit, request.header(CONTENT_ENCODING))
        try:
            up = await self._send_on(self._service, request.target, request, headers, sent, receive)
        except _ClientGone:
            return  # the client left mid-request: nothing was answered, nothing to judge
        except UpstreamError as error:
            await _send_whole(send, *self.unanswered(str(error)))
            return
        try:
            kept = KeptBody("answer", limit, up.answer.header(CONTENT_ENCODING))
            answer_headers = forwarded_answer_headers(up.answer.headers)
            if self.enforce:
                await self._hold_for_verdict(request, sent, up, answer_headers, kept, send)
            else:
                await _pass_on(request.method, up, answer_headers, kept, send)
                self._judge_later(request, sent, up.answer.status, answer_headers, kept)
        except UpstreamError as error:  # the answer stopped before anything was sent on
            await _send_whole(send, *self.unanswered(str(error)))
        finally:
            up.release()

    async def _send_on(
        self,
        upstream: Upstream,
        target: bytes,
        request: Request,
        headers: list[tuple[str, str]],
        sent: KeptBody,
        receive: Receive,
    ) -> UpstreamAnswer:
        """Send the request on, its body as it comes (fed to `sent`); its final answer.
        `_ClientGone` when the client left before its body was complete."""
        body = await _request_body(receive, sent)
        try:
            return await upstream.send(request.method, target, headers, body)
        except UpstreamError:
            if isinstance(body, _StreamedBody) and body.gone:
                raise _ClientGone from None
            raise

    async def _hold_for_verdict(
        self,
        request: Request,
        sent: KeptBody,
        up: UpstreamAnswer,
        headers: list[Header],
        kept: KeptBody,
        send: Send,
    ) -> None:
        """Enforce: the answer is held until judged; a violating one becomes a 502."""
        held: list[bytes] = []
        async for piece in up.pieces():
            kept.feed(piece)
            if kept.why_not is not None:
                break  # nothing more is held: the answer is refused whatever follows
            held.append(piece)
        answer = up.answer
        if sent.why_not is not None or kept.why_not is not None:
            why = sent.why_not or kept.why_not or ""
            self.report_not_judged(request, why)
            await _send_whole(send, *self.refusal(f"the exchange cannot be judged: {why}"))
            return
        found = self._judge(request, sent, answer.status, headers, kept)
        if found:
            await _send_whole(send, *self.refusal("the answer breaks the partner contract", found))
            return
        body = b"".join(held)
        if may_have_body(request.method, answer.status) and answer.header(CONTENT_LENGTH) is None:
            # Delimited by chunks or by the connection closing: now its length is known.
            headers = [*headers, (CONTENT_LENGTH, b"%d" % len(body))]
        await _send_whole(send, answer.status, headers, body)

    def _judge_later(
        self, request: Request, sent: KeptBody, status: int, headers: list[Header], kept: KeptBody
    ) -> None:
        if not self._unjudged:
            asyncio.get_running_loop().call_soon(self.judge_pending)
        self._unjudged.append((request, sent, status, headers, kept))

    def judge_pending(self) -> None:
        """Judge the exchanges answered and not judged yet, in the order they were answered."""
        pending, self._unjudged = self._unjudged, []
        for exchange in pending:
            try:
                self._judge(*exchange)
            except Exception:  # the log failed: the next exchanges are judged all the same
                LOGGER.exception("judging %s %r failed", exchange[0].method, exchange[0].target)

    def _judge(
        self, request: Request, sent: KeptBody, status: int, headers: list[Header], kept: KeptBody
    ) -> list[Violation]:
        """Judge a whole exchange, or report why it cannot be judged."""
        request_body, answer_body = sent.decoded(), kept.decoded()
        if request_body is None or answer_body is None:
            self.report_not_judged(request, sent.why_not or kept.why_not or "")
            return []
        url = self.upstream + request.target.decode("latin-1")
        try:
            found = self.judge.exchange(
                request.method,
                url,
                request.headers,
                request_body,
                status,
                headers,
                answer_body,
            )
        except Exception:  # a judge bug must never break the traffic it watches
            LOGGER.exception("the judge failed on %s %s", request.method, url)
            return []
        for violation in found:
            self.log(violation.line())
        return found

    def report_not_judged(self, request: Request, why: str) -> None:
        """Count and log an exchange that could not be judged."""
        line = self.judge.not_judged(
            request.method, self.upstream + request.target.decode("latin-1"), why, request.headers
        )
        self.log(line)

    # The proxy's own answers.

    def unanswered(self, why: str, what: str = "the upstream service") -> Own:
        """Count a request the upstream never answered; the 502 that says so."""
        self.judge.exchanges[NO_ANSWER] += 1
        return self.refusal(f"{what} did not answer: {why}", (), UPSTREAM_FAILED)

    async def _not_forwarded(self, request: Request, why: str, send: Send) -> None:
        self.judge.exchanges[NOT_FORWARDED] += 1
        self.log(f"NOT FORWARDED {request.method} {request.target!r}: {why}")
        await _send_whole(send, *_envelope(400, BAD_REQUEST, why))

    def refusal(
        self, message: str, found: Sequence[Violation] = (), code: str = CONTRACT_VIOLATION
    ) -> Own:
        """A 502 with a JSON envelope: what went wrong and, when enforcing, which rules."""
        violations = [{"rule": v.rule, "expected": v.expected, "got": v.got} for v in found]
        return _envelope(ENFORCED_STATUS, code, message, violations=violations)

    # Notifications: in on the receiver path, judged, handed on to the integration.

    async def _notification(self, request: Request, receive: Receive, send: Send) -> None:
        assert self._receiver is not None
        try:
            headers = forwarded_request_headers(request.headers)
        except NotForwardable as error:
            await self._not_forwarded(request, str(error), send)
            return
        sent = KeptBody("notification", self.max_judged_bytes, request.header(CONTENT_ENCODING))
        receiver = self._receiver
        try:
            up = await self._send_on(receiver, self._notify_target, request, headers, sent, receive)
        except _ClientGone:
            return
        except UpstreamError as error:
            self._judge_notification(sent, request.headers)
            own = self.unanswered(str(error), "the integration's receiver")
            await _send_whole(send, *own)
            return
        self._judge_notification(sent, request.headers)
        try:
            answer_headers = forwarded_answer_headers(up.answer.headers)
            await _pass_on(request.method, up, answer_headers, None, send)
        except UpstreamError as error:
            await _send_whole(send, *self.unanswered(str(error), "the integration's receiver"))
        finally:
            up.release()

    def _judge_notification(self, sent: KeptBody, headers: list[Header]) -> None:
        self.judge_pending()  # the exchanges before it first, as they happened
        body = sent.decoded()
        if body is None:
            self.log(self.judge.notification_not_judged(sent.why_not or ""))
            return
        try:
            found = self.judge.notification(body, headers)
        except Exception:  # as for exchanges: judging never stops a delivery
            LOGGER.exception("the judge failed on a notification")
            return
        for violation in found:
            self.log(violation.line())

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self._service.start()
                if self._receiver is not None:
                    await self._receiver.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.judge_pending()
                await self._service.close()
                if self._receiver is not None:
                    await self._receiver.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _envelope(status: int, code: str, message: str, **more: Any) -> Own:
    body = json.dumps({"responseCode": code, "responseMessage": message, **more}).encode()
    headers = [(b"content-type", b"application/json"), (CONTENT_LENGTH, b"%d" % len(body))]
    return status, headers, body


class _StreamedBody:
    """A request body that came in several messages, sent on piece by piece as it arrives
    and fed to `kept` on the way; `gone` once the client left before its end."""

    __slots__ = ("first", "gone", "kept", "receive")

    def __init__(self, first: bytes, receive: Receive, kept: KeptBody) -> None:
        self.first = first
        self.receive = receive
        self.kept = kept
        self.gone = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.first:
            yield self.first
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                self.gone = True
                raise _ClientGone
            piece: bytes = message.get("body", b"")
            self.kept.feed(piece)
            if piece:
                yield piece
            if not message.get("more_body", False):
                return


async def _request_body(receive: Receive, kept: KeptBody) -> Body:
    """The request body to send on: whole when it came in one message (the usual case),
    else a `_StreamedBody`. What is read is fed to `kept`."""
    message = await receive()
    if message["type"] == "http.disconnect":
        raise _ClientGone
    first: bytes = message.get("body", b"")
    kept.feed(first)
    if not message.get("more_body", False):
        return first
    return _StreamedBody(first, receive, kept)


async def _pass_on(
    method: str, up: UpstreamAnswer, headers: list[Header], kept: KeptBody | None, send: Send
) -> None:
    """Send the answer on as it arrives (observe), feeding `kept` on the way."""
    answer = up.answer
    length = up.length
    if length is not None and length <= WHOLE_BELOW and may_have_body(method, answer.status):
        body = await up.whole()  # the usual case: small, and sent in one write
        if kept is not None:
            kept.feed(body)
        await _send_whole(send, answer.status, headers, body)
        return
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    try:
        async for piece in up.pieces():
            if kept is not None:
                kept.feed(piece)
            await send({"type": "http.response.body", "body": piece, "more_body": True})
    except UpstreamError as error:
        raise AnswerCutOff(str(error)) from error
    await send({"type": "http.response.body", "body": b""})


async def _send_whole(send: Send, status: int, headers: list[Header], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _QuietCutOffs(logging.Filter):
    """Keeps uvicorn from logging a traceback for an answer the upstream cut off: the proxy
    logged it already, and closing the client's connection is the intended outcome."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], AnswerCutOff))


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=2048)


def serve(
    proxy: ValidatingProxy,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    report_dir: Path | None = None,
    limits: ServerLimits | None = None,
) -> int:
    """Serve until SIGINT or SIGTERM, then write the reports; 1 if anything was violated or
    could not be judged. Port 0 picks a free port; the first line logged names it."""
    import uvicorn
    import uvloop

    import bango_resale_sandbox.server as sandbox_server

    listener = _listen(host, port)
    bound = listener.getsockname()[1]
    server: uvicorn.Server = sandbox_server.build(
        proxy,
        log_level="warning",
        limits=limits or load_config().limits,
        # Forwarded-for headers pass through to the service; the proxy does not act on them.
        proxy_headers=False,
        # The upstream's own Server and Date headers go back as they came.
        server_header=False,
        date_header=False,
        # An Upgrade header is hop-by-hop: such a request is forwarded as plain HTTP.
        ws="none",
    )
    logging.getLogger("uvicorn.error").addFilter(_QuietCutOffs())

    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    # uvicorn's serve() puts its own handlers in place while it runs and, once stopped,
    # puts these back and raises the signal again: it lands here, and the reports get written.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    address = f"[{host}]" if ":" in host else host
    proxy.log(
        ANNOUNCEMENT.format(
            url=f"http://{address}:{bound}",
            upstream=proxy.upstream,
            mode="enforce" if proxy.enforce else "observe",
        )
    )
    # What was loaded to start (the spec, the compiled contract) stays: the collector need not
    # look at it again every time it runs.
    gc.collect()
    gc.freeze()
    try:
        uvloop.run(server.serve(sockets=[listener]))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        listener.close()
    proxy.judge_pending()
    proxy.judge.finish()
    for violation in proxy.judge.violations:
        if violation.reproduce == "-":
            proxy.log(violation.line())
    print(summary_table(proxy.judge), file=sys.stderr, flush=True)
    if report_dir is not None:
        for path in write_reports(proxy.judge, report_dir):
            proxy.log(f"wrote {path}")
    # Exit 1 when anything was violated, or could not be judged and so was not shown to hold.
    return 1 if proxy.judge.violations_per_rule or proxy.judge.not_judged_per_operation else 0
