"""A validating proxy: forwards every request to a service unchanged and judges each exchange.

It is an ASGI application served by uvicorn (httptools, uvloop), the sandbox's own stack, and
forwards over a pool of keep-alive connections (`_upstream`, parsed with httptools: httpx costs
more CPU per request than the proxy's whole latency budget): the raw path and query bytes,
every header but the hop-by-hop ones, the body as sent. The answer goes back the same way. In the
default observe mode the traffic is never changed: the answer is sent first and judged after.
With `enforce` a violating answer is replaced by a 502 whose JSON envelope names the rules.

With `notify_url`, the proxy also answers notifications on `RECEIVER_PATH`: it judges each
and hands it on to `notify_url` (the integration's own receiver), returning that answer. An
integration puts the receiver in front of itself by creating entitlements with
`notificationUrl` pointing at the proxy's `RECEIVER_PATH`.

Credentials pass through untouched; the proxy keeps none, and reproducers leave them out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bango_resale_contract._upstream import UpstreamError, UpstreamPool
from bango_resale_contract.live import LiveJudge, Violation
from bango_resale_contract.live_report import summary_table, write_reports

RECEIVER_PATH = "/bango-proxy/notifications"
# Hop-by-hop headers (RFC 9110 section 7.6.1) belong to one connection and are not forwarded;
# host and content-length are set for the next hop.
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
        b"content-length",
    }
)
ENFORCED_STATUS = 502
LOGGER = logging.getLogger("bango_resale_contract.proxy")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _forwardable(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(name, value) for name, value in headers if name.lower() not in HOP_BY_HOP]


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
    _client: httpx.AsyncClient | None = None
    _upstream: UpstreamPool | None = None

    def __post_init__(self) -> None:
        self.upstream = self.upstream.rstrip("/")
        if self.notify_url is not None:
            self.judge.receiver_path = RECEIVER_PATH

    def _pool(self) -> UpstreamPool:
        if self._upstream is None:
            self._upstream = UpstreamPool(self.upstream)
        return self._upstream

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(60.0),
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=256),
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
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        target = raw_path + (b"?" + query if query else b"")
        headers = list(scope["headers"])
        if self.notify_url is not None and scope["path"] == RECEIVER_PATH:
            await self._notification(scope["method"], body, headers, send)
            return
        url = self.upstream + target.decode("latin-1")
        try:
            status, raw_headers, answer_body = await self._pool().request(
                scope["method"], target, _forwardable(headers), body
            )
        except (OSError, TimeoutError, UpstreamError) as error:
            await _refuse(send, f"the upstream service did not answer: {type(error).__name__}", [])
            return
        answer_headers = _forwardable(raw_headers)
        if self.enforce:
            found = self._judge(scope, url, headers, body, status, answer_headers, answer_body)
            if found:
                await _refuse(send, "the answer breaks the partner contract", found)
                return
            await _send(send, status, answer_headers, answer_body)
            return
        await _send(send, status, answer_headers, answer_body)
        self._judge(scope, url, headers, body, status, answer_headers, answer_body)

    async def _forward(
        self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[httpx.Response, bytes]:
        """Send the request on; return the answer and its body as it came (still encoded)."""
        http = self._http()
        request = http.build_request(method, url, headers=_forwardable(headers), content=body)
        answer = await http.send(request, stream=True)
        try:
            raw = b"".join([chunk async for chunk in answer.aiter_raw()])
        finally:
            await answer.aclose()
        return answer, raw

    def _judge(
        self,
        scope: Scope,
        url: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        status: int,
        answer_headers: list[tuple[bytes, bytes]],
        answer_body: bytes,
    ) -> list[Violation]:
        try:
            found = self.judge.exchange(
                scope["method"], url, headers, body, status, answer_headers, answer_body
            )
        except Exception:  # a judge bug must never break the traffic it watches
            LOGGER.exception("the judge failed on %s %s", scope["method"], scope["path"])
            return []
        for violation in found:
            self.log(violation.line())
        return found

    async def _notification(
        self, method: str, body: bytes, headers: list[tuple[bytes, bytes]], send: Send
    ) -> None:
        try:
            for violation in self.judge.notification(body, headers):
                self.log(violation.line())
        except Exception:  # as for exchanges: judging never stops a delivery
            LOGGER.exception("the judge failed on a notification")
        assert self.notify_url is not None
        try:
            answer, answer_body = await self._forward(method, self.notify_url, headers, body)
        except httpx.HTTPError as error:
            await _refuse(
                send, f"the integration's receiver did not answer: {type(error).__name__}", []
            )
            return
        await _send(send, answer.status_code, _forwardable(list(answer.headers.raw)), answer_body)

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


async def _refuse(send: Send, message: str, found: list[Violation]) -> None:
    """Answer 502 with a JSON envelope: what went wrong and, when enforcing, which rules."""
    await _send(
        send, ENFORCED_STATUS, [(b"content-type", b"application/json")], _envelope(message, found)
    )


def _envelope(message: str, found: list[Violation]) -> bytes:
    return json.dumps(
        {
            "responseCode": "CONTRACT_VIOLATION",
            "responseMessage": message,
            "violations": [{"rule": v.rule, "expected": v.expected, "got": v.got} for v in found],
        }
    ).encode()


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
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
        http="httptools",
        lifespan="on",
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
    server.run(sockets=[sock] if sock is not None else None)
    proxy.judge.finish()
    for violation in proxy.judge.violations:
        if violation.reproduce == "-":
            proxy.log(violation.line())
    print(summary_table(proxy.judge), file=sys.stderr, flush=True)
    if report_dir is not None:
        for path in write_reports(proxy.judge, report_dir):
            proxy.log(f"wrote {path}")
    return 1 if proxy.judge.violations_per_rule else 0
