"""A lean HTTP/1.1 keep-alive load generator for the benchmarks (not a benchmark itself).

The machine has two cores and the generator competes with the server for them, so it avoids
HTTP client libraries: each connection is an asyncio Protocol on uvloop that writes a prepared
request, parses just enough of the answer (status line, Content-Length) to know where it ends,
records the latency, and sends the next request.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import uvloop

RequestFactory = Callable[[int], bytes]


@dataclass
class LoadResult:
    """What one run measured."""

    requests: int
    seconds: float
    latencies: list[float] = field(repr=False)
    statuses: dict[int, int]
    # Set when a tool reports percentiles instead of raw latencies (wrk).
    fixed_percentiles: dict[int, float] = field(default_factory=dict)
    note: str = ""
    tool: str = "loadgen"

    @property
    def rps(self) -> float:
        """Successful answers per second: a refusal (429, 503) is fast and must not count."""
        answered = sum(n for status, n in self.statuses.items() if 200 <= status < 400)
        return answered / self.seconds

    def percentile(self, p: int) -> float:
        if self.fixed_percentiles:
            return self.fixed_percentiles[p]
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000

    def summary(self) -> str:
        return (
            f"{self.rps:9.0f} req/s  p50 {self.percentile(50):6.2f} ms  p99"
            f" {self.percentile(99):6.2f} ms  ({self.tool}; statuses"
            f" {dict(sorted(self.statuses.items()))}){' ' + self.note if self.note else ''}"
        )


def build_request(
    method: str,
    host: str,
    port: int,
    path: str,
    *,
    auth: tuple[str, str],
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> bytes:
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}:{port}",
        f"Authorization: Basic {token}",
        "Connection: keep-alive",
    ]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in {"POST", "PUT", "PATCH"}:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Connection(asyncio.Protocol):
    def __init__(self, runner: _Runner) -> None:
        self.runner = runner
        self.buffer = bytearray()
        self.sent_at = 0.0
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, so no isinstance check.
        self.transport = cast(asyncio.Transport, transport)
        self.send_next()

    def send_next(self) -> None:
        assert self.transport is not None
        if not self.runner.running:
            self.transport.close()
            return
        request = self.runner.next_request()
        self.sent_at = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = bytes(self.buffer[:head_end]).lower()
            length_at = head.find(b"content-length:")
            length = 0
            if length_at >= 0:
                line_end = head.find(b"\r\n", length_at)
                length = int(head[length_at + 15 : line_end if line_end >= 0 else None])
            total = head_end + 4 + length
            if len(self.buffer) < total:
                return
            status = int(head[9:12])
            del self.buffer[:total]
            self.runner.record(status, time.perf_counter() - self.sent_at)
            self.send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class _Runner:
    def __init__(self, factory: RequestFactory) -> None:
        self.factory = factory
        self.counter = 0
        self.running = True
        self.measuring = False
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}

    def next_request(self) -> bytes:
        self.counter += 1
        return self.factory(self.counter)

    def record(self, status: int, latency: float) -> None:
        if self.measuring:
            self.latencies.append(latency)
            self.statuses[status] = self.statuses.get(status, 0) + 1


async def _run(
    host: str, port: int, factory: RequestFactory, connections: int, seconds: float, warmup: float
) -> LoadResult:
    loop = asyncio.get_running_loop()
    runner = _Runner(factory)
    protocols = []
    for _ in range(connections):
        _, protocol = await loop.create_connection(lambda: _Connection(runner), host, port)
        protocols.append(protocol)
    await asyncio.sleep(warmup)
    runner.measuring = True
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    runner.measuring = False
    elapsed = time.perf_counter() - started
    runner.running = False
    await asyncio.wait([p.closed for p in protocols], timeout=5)
    return LoadResult(len(runner.latencies), elapsed, runner.latencies, runner.statuses)


def run_load(
    host: str,
    port: int,
    factory: RequestFactory,
    *,
    connections: int = 32,
    seconds: float = 5.0,
    warmup: float = 1.0,
) -> LoadResult:
    """Keep `connections` keep-alive connections busy for `seconds` (after a warm-up)."""
    return uvloop.run(_run(host, port, factory, connections, seconds, warmup))
