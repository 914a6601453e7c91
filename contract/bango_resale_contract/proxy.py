"""A validating proxy: forwards every request to a service unchanged and judges each exchange.

It is an ASGI application served by uvicorn (httptools, uvloop), the sandbox's own stack, and
forwards over a pool of keep-alive connections (`_upstream`: httpx costs more CPU per request
than the proxy's whole latency budget): the raw path and query bytes, every header but the
hop-by-hop ones, the body chunk by chunk as it arrives. The answer comes back the same way,
streamed. The usual exchange (a body that fits what is judged) is relayed by the protocol
uvicorn serves with, without the ASGI layer's per-request machinery (`_relay`); the rest goes
through the application. Of each body the proxy keeps at most
`max_judged_bytes` (the sandbox's own request limit) to judge; a larger exchange is forwarded
all the same and reported as not judged. In the default observe mode the traffic is never
changed: the answer is sent first and judged after. With `enforce` the answer is held until
judged, and a violating one is replaced by a 502 whose JSON envelope names the rules.

With `notify_url`, the proxy also answers notifications on `RECEIVER_PATH`: it judges each
and hands it on to `notify_url` (the integration's own receiver), returning that answer. An
integration puts the receiver in front of itself by creating entitlements with
`notificationUrl` pointing at the proxy's `RECEIVER_PATH`.

Credentials pass through untouched; the proxy keeps none, and reproducers leave them out.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import socket
import sys
import tomllib
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from bango_resale_contract._relay import forwardable, relay_protocol
from bango_resale_contract._upstream import Answer, Exchange, UpstreamError, UpstreamPool
from bango_resale_contract.live import LiveJudge, Violation
from bango_resale_contract.live_report import summary_table, write_reports

RECEIVER_PATH = "/bango-proxy/notifications"
ENFORCED_STATUS = 502
# Where the reference sandbox keeps its default limits (see `default_judged_bytes`).
SANDBOX_PACKAGE = "bango_resale_sandbox"
SANDBOX_CONFIG = "default_config.toml"
# responseCode of the proxy's own 502s: a refused answer, or no answer to forward.
CONTRACT_VIOLATION = "CONTRACT_VIOLATION"
UPSTREAM_FAILED = "UPSTREAM_FAILED"
# Counted with the exchanges per operation: requests the upstream never answered.
NO_ANSWER = "(no answer from the upstream)"
LOGGER = logging.getLogger("bango_resale_contract.proxy")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
# A 502 of the proxy's own: status, headers, JSON body.
Refusal = tuple[int, list[tuple[bytes, bytes]], bytes]
# An exchange seen in observe mode: method, target, headers, body, status, answer headers and
# body (a body None: too large to judge).
_Observed = tuple[
    str,
    bytes,
    list[tuple[bytes, bytes]],
    bytes | None,
    int,
    list[tuple[bytes, bytes]],
    bytes | None,
]


def command(upstream: str, port: int, *flags: str) -> list[str]:
    """The command line that runs the proxy in a process of its own (tests, benchmarks)."""
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


def default_judged_bytes() -> int:
    """The most of a body the proxy keeps to judge: `max_body_bytes` of the reference
    sandbox's packaged configuration, past which that service refuses a request outright.
    Read as data: the contract package imports nothing of the sandbox."""
    text = resources.files(SANDBOX_PACKAGE).joinpath(SANDBOX_CONFIG).read_text("utf-8")
    return int(tomllib.loads(text)["server"]["max_body_bytes"])


class _Gone(Exception):
    """The client went away before its request body was complete."""


@dataclass
class ValidatingProxy:
    """The ASGI application."""

    upstream: str
    enforce: bool = False
    notify_url: str | None = None
    judge: LiveJudge = field(default_factory=LiveJudge)
    log: Callable[[str], None] = field(
        default=lambda line: print(line, file=sys.stderr, flush=True)
    )
    # Bytes of a request or answer body kept for judging; a larger exchange is reported as
    # not judged (and, when enforcing, refused).
    max_judged_bytes: int = field(default_factory=default_judged_bytes)
    _client: httpx.AsyncClient | None = None
    _upstream: UpstreamPool | None = None
    # Observed exchanges not judged yet (see `observed`).
    _waiting: list[_Observed] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self.upstream = self.upstream.rstrip("/")
        if self.notify_url is not None:
            self.judge.receiver_path = RECEIVER_PATH

    def pool(self) -> UpstreamPool:
        """The keep-alive connections to the upstream."""
        if self._upstream is None:
            self._upstream = UpstreamPool(self.upstream)
        return self._upstream

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(60.0),
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
                follow_redirects=False,
            )
            # Forward only what the caller sent: none of httpx's default headers.
            self._client.headers = httpx.Headers()
        return self._client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        target = raw_path + b"?" + query if query else raw_path
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if self.notify_url is not None and scope["path"] == RECEIVER_PATH:
            await self._notification(method, await _read_all(receive), headers, send)
            return
        forwarded, length_given = forwardable(headers)
        message = await receive()
        first: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        body: bytes | None = first  # None: larger than what is kept to judge
        try:
            exchange = self.pool().request(
                method, target, forwarded, first, more_body=more, length_given=length_given
            )
            if more:
                body = await self._stream_request(exchange, first, receive)
            answer = exchange.answer
            await answer.head()
        except _Gone:
            return
        except UpstreamError as error:
            await _send_whole(send, *self.unanswered(error))
            return
        answer_headers, _ = forwardable(answer.headers)
        limit = self.max_judged_bytes
        if body is not None and len(body) > limit:
            body = None
        if self.enforce:
            # The verdict comes before the answer: the answer is held until it is judged.
            held = await _read_answer(answer, limit)
            if body is None or held is None:
                self.report_not_judged(method, target, body is None)
                await _send_whole(
                    send, *self.refusal(f"the exchange is larger than the {limit} bytes judged")
                )
                return
            found = self.judge_exchange(
                method, target, headers, body, answer.status, answer_headers, held
            )
            if found:
                await _send_whole(
                    send, *self.refusal("the answer breaks the partner contract", found)
                )
                return
            await _send_whole(send, answer.status, answer_headers, held)
            return
        # Observe: the answer goes on first, as it arrives, and is judged afterwards.
        answer_body = answer.take_all()
        if answer_body is not None:  # the usual case: the whole answer came in one read
            await _send_whole(send, answer.status, answer_headers, answer_body)
            if len(answer_body) > limit:
                answer_body = None
        else:
            answer_body = await _stream_answer(send, answer, answer_headers, limit)
        self.observed(method, target, headers, body, answer.status, answer_headers, answer_body)

    async def _stream_request(
        self, exchange: Exchange, first: bytes, receive: Receive
    ) -> bytes | None:
        """Forward the rest of a request body as it arrives; return it whole to judge, or None
        once it grew past the limit (then only its size was counted)."""
        kept, size, limit = [first], len(first), self.max_judged_bytes
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                exchange.abort()
                raise _Gone
            piece: bytes = message.get("body", b"")
            more = bool(message.get("more_body", False))
            exchange.write(piece, last=not more)
            size += len(piece)
            if size <= limit:
                kept.append(piece)
            if not more:
                break
        return b"".join(kept) if size <= limit else None

    def unanswered(self, error: Exception) -> Refusal:
        """Count a request the upstream never answered; the 502 that says so."""
        self.judge.exchanges[NO_ANSWER] += 1
        return self.refusal(f"the upstream service did not answer: {error}", [], UPSTREAM_FAILED)

    def refusal(
        self, message: str, found: Sequence[Violation] = (), code: str = CONTRACT_VIOLATION
    ) -> Refusal:
        """A 502 with a JSON envelope: what went wrong and, when enforcing, which rules."""
        body = json.dumps(
            {
                "responseCode": code,
                "responseMessage": message,
                "violations": [
                    {"rule": v.rule, "expected": v.expected, "got": v.got} for v in found
                ],
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        return ENFORCED_STATUS, headers, body

    def observed(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | None,
        status: int,
        answer_headers: list[tuple[bytes, bytes]],
        answer_body: bytes | None,
    ) -> None:
        """An exchange went through in observe mode (a body None: too large to keep). It is
        judged, in the order exchanges completed, once the event loop has handled what came in
        this turn: the answers go out first, and judging a turn's exchanges one after another
        keeps the judge's code and data in the CPU's caches, which other work evicts."""
        if not self._waiting:
            self.pool().loop.call_soon(self.judge_waiting)
        self._waiting.append((method, target, headers, body, status, answer_headers, answer_body))

    def judge_waiting(self) -> None:
        """Judge the observed exchanges not judged yet."""
        waiting, self._waiting = self._waiting, []
        for method, target, headers, body, status, answer_headers, answer_body in waiting:
            if body is None or answer_body is None:
                self.report_not_judged(method, target, body is None)
            else:
                self.judge_exchange(
                    method, target, headers, body, status, answer_headers, answer_body
                )

    def report_not_judged(self, method: str, target: bytes, request_side: bool) -> None:
        """Count and log an exchange too large to judge."""
        line = self.judge.not_judged(
            method,
            self.upstream + target.decode("latin-1"),
            f"the {'request' if request_side else 'answer'} body is larger than the"
            f" {self.max_judged_bytes} bytes the proxy keeps to judge",
        )
        self.log(line)

    def judge_exchange(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        status: int,
        answer_headers: list[tuple[bytes, bytes]],
        answer_body: bytes,
    ) -> list[Violation]:
        url = self.upstream + target.decode("latin-1")
        try:
            found = self.judge.exchange(
                method, url, headers, body, status, answer_headers, answer_body
            )
        except Exception:  # a judge bug must never break the traffic it watches
            LOGGER.exception("the judge failed on %s %s", method, url)
            return []
        for violation in found:
            self.log(violation.line())
        return found

    async def _forward(
        self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[httpx.Response, bytes]:
        """Send a notification on; return the answer and its body as it came (still encoded)."""
        http = self._http()
        forwarded = [(n, v) for n, v in forwardable(headers)[0] if n.lower() != b"content-length"]
        request = http.build_request(method, url, headers=forwarded, content=body)
        answer = await http.send(request, stream=True)
        try:
            raw = b"".join([chunk async for chunk in answer.aiter_raw()])
        finally:
            await answer.aclose()
        return answer, raw

    async def _notification(
        self, method: str, body: bytes, headers: list[tuple[bytes, bytes]], send: Send
    ) -> None:
        self.judge_waiting()  # the exchanges before it first, as they happened
        try:
            for violation in self.judge.notification(body, headers):
                self.log(violation.line())
        except Exception:  # as for exchanges: judging never stops a delivery
            LOGGER.exception("the judge failed on a notification")
        assert self.notify_url is not None
        try:
            answer, answer_body = await self._forward(method, self.notify_url, headers, body)
        except httpx.HTTPError as error:
            refusal = self.refusal(
                f"the integration's receiver did not answer: {type(error).__name__}",
                code=UPSTREAM_FAILED,
            )
            await _send_whole(send, *refusal)
            return
        answer_headers = [
            (n, v) for n, v in forwardable(list(answer.headers.raw))[0] if n != b"content-length"
        ]
        await _send_whole(
            send,
            answer.status_code,
            [*answer_headers, (b"content-length", str(len(answer_body)).encode())],
            answer_body,
        )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                if self._upstream is not None:
                    self._upstream.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_all(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _read_answer(answer: Answer, limit: int) -> bytes | None:
    """The whole answer body, or None once it grows past `limit`."""
    kept, size = [], 0
    while piece := await answer.chunk():
        size += len(piece)
        if size > limit:
            return None
        kept.append(piece)
    return b"".join(kept)


async def _stream_answer(
    send: Send, answer: Answer, headers: list[tuple[bytes, bytes]], limit: int
) -> bytes | None:
    """Send the answer on as it arrives; return the body to judge, or None when it grew past
    `limit` (then only its size was counted)."""
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    kept: list[bytes] = []
    size = 0
    while piece := await answer.chunk():
        await send({"type": "http.response.body", "body": piece, "more_body": True})
        size += len(piece)
        if size <= limit:
            kept.append(piece)
    await send({"type": "http.response.body", "body": b""})
    return b"".join(kept) if size <= limit else None


async def _send_whole(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _ReportingServer:
    """uvicorn's server, except that a SIGINT or SIGTERM stops it and returns, instead of being
    raised again once it stopped (which would end the process before the reports are out)."""

    def __new__(cls, config: Any) -> Any:
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                with super().capture_signals():
                    try:
                        yield
                    finally:
                        self._captured_signals.clear()

        return Server(config)


def serve(
    proxy: ValidatingProxy,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    report_dir: Path | None = None,
    sock: socket.socket | None = None,
) -> int:
    """Serve until SIGINT or SIGTERM, then write the reports; 1 if anything was violated."""
    import uvicorn

    config = uvicorn.Config(
        proxy,
        host=host,
        port=port,
        loop="uvloop",
        http=relay_protocol(proxy),
        lifespan="on",
        # Forwarded-for headers pass through to the service; the proxy does not act on them.
        proxy_headers=False,
        access_log=False,
        log_level="warning",
        # The upstream's own Server and Date headers go back as they came.
        server_header=False,
        date_header=False,
    )
    server = _ReportingServer(config)
    proxy.log(
        f"bango-resale-contract proxy: http://{host}:{port} -> {proxy.upstream}"
        f" ({'enforce' if proxy.enforce else 'observe'})"
    )
    # What was loaded to start (the spec, the compiled contract) stays: the collector need not
    # look at it again every time it runs.
    gc.collect()
    gc.freeze()
    server.run(sockets=[sock] if sock is not None else None)
    proxy.judge_waiting()
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
