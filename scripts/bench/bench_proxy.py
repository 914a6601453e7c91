"""The validating proxy's cost, side by side with the sandbox direct, on loopback.

Prints, in one run:
- throughput: getEntitlement direct and through the proxy at saturation, 32 keep-alive
  connections kept busy by `wrk` (C, one thread: the least CPU taken from the servers), in
  alternating rounds (direct, proxied, direct, ...) so that a neighbour's load falls on both
  alike, and the ratio of each round and their median (target >= 60%); with the CPU each server
  process spent per request;
- latency: the added median (target <= 0.5 ms) at 32 connections, measured open loop at one fixed
  offered rate both paths sustain (a quarter of the proxied saturation throughput: open-loop
  arrivals, one request per connection at a time, cost more per request than a saturated
  stream that batches its reads and writes, so half was already past what the proxy could
  take on this 2-core machine while other work ran), latency counted
  from each request's scheduled time so queueing is not hidden. This is a choice: with both
  runs closed loop at saturation the median is just connections / throughput, so the latency
  ratio would only restate the throughput ratio; at a rate both sustain it shows the time the
  proxy adds to a request. The saturated medians are printed too, for reference. Also the
  added median with one connection, one request at a time;
- memory per entitlement: the judge's state for many entitlements (tracemalloc, in process;
  target <= 250 bytes), and the proxy process's resident memory before and after a long run of
  creates through it;
- with --floor, a bare forwarder (`bare_forwarder.py`: uvicorn and aiohttp, nothing judged) in
  the same alternating rounds, with its CPU per request: what the two libraries alone allow on
  this machine;
- with --compare-clients, the CPU per request of the HTTP client libraries the proxy could
  forward with (httpx, httpcore, aiohttp), against the sandbox, 32 requests at a time.

Everything (sandbox, proxy, load generator) shares the machine's cores: on a 2-core machine
with other work running the figures are noisy and the proxy's ratio is a lower bound, since the
proxy takes CPU the sandbox would otherwise have.

Usage: .venv/bin/python scripts/bench/bench_proxy.py [--seconds N] [--connections N]
       [--rounds N] [--floor] [--compare-clients]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvloop
from bench_create_floor import AUTH, AUTH_HEADER, CREATE_BODY, HOST
from bench_sandbox import create_entitlement, verdict
from loadgen import LoadResult, build_request, run_load
from wrk import ensure_wrk, run_wrk

from bango_resale_contract.live import LiveJudge
from bango_resale_contract.proxy import announced_url
from bango_resale_contract.proxy import command as proxy_command
from bango_resale_sandbox.testing import SandboxProcess


class _OpenLoopConnection(asyncio.Protocol):
    """One keep-alive connection of the open-loop generator: requests are due at scheduled
    times; one due while the previous is still out waits, and its latency counts from when it
    was due."""

    def __init__(self, request: bytes, record: list[tuple[float, float]]) -> None:
        self.request = request
        self.record = record
        self.due: list[float] = []
        self.out: float | None = None
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def schedule(self, when: float) -> None:
        self.due.append(when)
        if self.out is None:
            self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.out = self.due.pop(0)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (head_end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self.buffer[:head_end]).lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buffer) < head_end + 4 + length:
                return
            del self.buffer[: head_end + 4 + length]
            assert self.out is not None
            self.record.append((self.out, time.perf_counter() - self.out))
            self.out = None
            if self.due:
                self._send()


async def _open_loop(
    port: int, request: bytes, connections: int, rate: float, seconds: float, warmup: float
) -> LoadResult:
    loop = asyncio.get_running_loop()
    record: list[tuple[float, float]] = []
    pool = []
    for _ in range(connections):
        _, protocol = await loop.create_connection(
            lambda: _OpenLoopConnection(request, record), HOST, port
        )
        pool.append(protocol)
    start = time.perf_counter()
    measure_from, end = start + warmup, start + warmup + seconds
    sent = 0
    while (now := time.perf_counter()) < end:
        while start + sent / rate <= now:  # every request due by now, round robin
            pool[sent % connections].schedule(start + sent / rate)
            sent += 1
        await asyncio.sleep(max(0.0, start + sent / rate - time.perf_counter()))
    await asyncio.sleep(1.0)  # let the last answers come
    latencies = [latency for due, latency in record if measure_from <= due < end]
    for protocol in pool:
        assert protocol.transport is not None
        protocol.transport.close()
    missing = sum(1 for p in pool for due in p.due if measure_from <= due < end)
    note = f"offered {rate:.0f} req/s open loop" + (f", {missing} unanswered" if missing else "")
    return LoadResult(len(latencies), seconds, latencies, {200: len(latencies)}, note=note)


def measure_open_loop(
    port: int, entitlement_id: str, connections: int, rate: float, seconds: float
) -> LoadResult:
    request = build_request("GET", HOST, port, f"/v1/entitlement/{entitlement_id}", auth=AUTH)
    return uvloop.run(_open_loop(port, request, connections, rate, seconds, warmup=1.0))


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_proxy(upstream: str, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The proxy on a port it picks, and that port."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
            proxy_command(upstream, 0),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        url = announced_url(log.read_text())
        if url is not None:
            return process, int(url.rsplit(":", 1)[1])
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the proxy did not start:\n" + log.read_text()[-2000:])


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def start_bare_forwarder(upstream: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve().parent / "bare_forwarder.py"), upstream],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"the bare forwarder did not start: {line!r}")
    return process, int(line.split()[-1])


def measure_get(
    wrk: str | None, port: int, entitlement_id: str, connections: int, seconds: float
) -> LoadResult:
    path = f"/v1/entitlement/{entitlement_id}"
    if wrk and connections > 1:
        return run_wrk(
            wrk,
            f"http://{HOST}:{port}{path}",
            auth_header=AUTH_HEADER,
            connections=connections,
            seconds=seconds,
        )
    request = build_request("GET", HOST, port, path, auth=AUTH)
    return run_load(HOST, port, lambda _n: request, connections=connections, seconds=seconds)


def creates(wrk: str | None, port: int, connections: int, seconds: float) -> LoadResult:
    if wrk:
        return run_wrk(
            wrk,
            f"http://{HOST}:{port}/v1/entitlement",
            auth_header=AUTH_HEADER,
            connections=connections,
            seconds=seconds,
            method="POST",
            body_format=CREATE_BODY,
        )

    def factory(n: int) -> bytes:
        body = (CREATE_BODY % n).encode()
        return build_request("POST", HOST, port, "/v1/entitlement", auth=AUTH, body=body)

    return run_load(HOST, port, factory, connections=connections, seconds=seconds)


def read_record(base_url: str, entitlement_id: str) -> dict[str, object]:
    request = urllib.request.Request(
        f"{base_url}/v1/entitlement/{entitlement_id}", headers={"Authorization": AUTH_HEADER}
    )
    with urllib.request.urlopen(request) as response:
        record: dict[str, object] = json.loads(response.read())
    return record


def judge_bytes_per_entitlement(record: dict[str, object], count: int) -> float:
    """The judge's memory growth per entitlement it follows, measured with tracemalloc: `count`
    creates answered with copies of a real record under fresh ids."""
    judge = LiveJudge()
    headers = [(b"authorization", b"Basic eDp5"), (b"content-type", b"application/json")]
    answer_headers = [(b"content-type", b"application/json")]
    request = json.dumps(
        {key: record[key] for key in ("customerIdentifier", "merchantAccountKey", "productKey")}
    ).encode()

    def answer(number: int) -> bytes:
        return json.dumps(
            {**record, "entitlementId": f"00000000-0000-4000-8000-{number:012d}"}
        ).encode()

    url = "http://service/v1/entitlement"
    judge.exchange("POST", url, headers, request, 200, answer_headers, answer(0))  # warm caches
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for number in range(1, count + 1):
        judge.exchange("POST", url, headers, request, 200, answer_headers, answer(number))
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert judge.tracked_count() == count + 1 and not judge.violations, judge.violations[:1]
    return grown / count


async def _client_cpu(kind: str, port: int, path: str, requests: int, at_once: int) -> float:
    """CPU seconds per request one HTTP client library spends forwarding GETs, as the proxy's
    client half would: keep-alive, raw body read to its end."""
    headers = [(b"authorization", AUTH_HEADER.encode())]
    if kind == "aiohttp":
        import aiohttp
        import yarl

        session = aiohttp.ClientSession(
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
        )
        url = yarl.URL(f"http://{HOST}:{port}{path}", encoded=True)
        text = [(n.decode(), v.decode()) for n, v in headers]

        async def one() -> None:
            async with session.get(url, headers=text, allow_redirects=False) as answer:
                async for _ in answer.content.iter_any():
                    pass

        async def close() -> None:
            await session.close()
    elif kind == "httpx":
        import httpx

        client = httpx.AsyncClient(limits=httpx.Limits(max_connections=64))
        client.headers = httpx.Headers()

        async def one() -> None:
            request = client.build_request("GET", f"http://{HOST}:{port}{path}", headers=headers)
            answer = await client.send(request, stream=True)
            async for _ in answer.aiter_raw():
                pass
            await answer.aclose()

        async def close() -> None:
            await client.aclose()
    else:
        import httpcore

        pool = httpcore.AsyncConnectionPool(max_connections=64)
        target = httpcore.URL(scheme=b"http", host=HOST.encode(), port=port, target=path.encode())
        with_host = [(b"host", f"{HOST}:{port}".encode()), *headers]

        async def one() -> None:
            answer = await pool.handle_async_request(
                httpcore.Request(b"GET", target, headers=with_host)
            )
            async for _ in answer.aiter_stream():
                pass
            await answer.aclose()

        async def close() -> None:
            await pool.aclose()

    for _ in range(at_once):  # open the connections first
        await one()
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await one()

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(at_once)))
    spent = time.process_time() - started
    await close()
    return spent / requests


def compare_clients(port: int, entitlement_id: str, requests: int = 3000) -> None:
    path = f"/v1/entitlement/{entitlement_id}"
    print("client half, CPU per forwarded getEntitlement (32 at a time, in this process):")
    for kind in ("aiohttp", "httpcore", "httpx"):
        cost = uvloop.run(_client_cpu(kind, port, path, requests, 32))
        print(f"  {kind:9} {cost * 1e6:7.0f} us")
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="alternating saturation rounds")
    parser.add_argument("--long-run-seconds", type=float, default=20.0)
    parser.add_argument("--entitlements", type=int, default=20000, help="for the judge's memory")
    parser.add_argument("--no-wrk", action="store_true", help="use the Python load generator")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure a bare uvicorn + aiohttp forwarder in the same rounds",
    )
    parser.add_argument(
        "--compare-clients",
        action="store_true",
        help="also measure the CPU per request of httpx, httpcore and aiohttp as the client half",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="offered req/s for the open-loop latency (default: a quarter of proxied saturation)",
    )
    args = parser.parse_args()
    wrk = None if args.no_wrk else ensure_wrk()
    cores = os.cpu_count() or 1
    print(
        f"loopback, {args.connections} keep-alive clients, {args.seconds:.0f} s per run, load"
        f" from {'wrk' if wrk else 'loadgen.py'}; sandbox, proxy and load share {cores} cores"
        " (with other work running, figures are noisy: compare the ratios)\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with SandboxProcess(workdir / "bench.sqlite3") as sandbox:
            proxy, proxy_port = start_proxy(sandbox.base_url, workdir / "proxy.log")
            bare = start_bare_forwarder(sandbox.base_url) if args.floor else None
            floors: list[float] = []
            try:
                entitlement_id = create_entitlement(sandbox.base_url)
                record = read_record(sandbox.base_url, entitlement_id)
                if args.compare_clients:
                    compare_clients(sandbox.port, entitlement_id)
                assert sandbox.process is not None
                servers = {"sandbox": sandbox.process.pid, "proxy": proxy.pid}
                measure_get(wrk, proxy_port, entitlement_id, args.connections, 1)  # warm up
                directs, throughs, ratios = [], [], []
                cpu_direct = 0.0
                cpu_through = {"sandbox": 0.0, "proxy": 0.0}
                cpu_floor = {"sandbox": 0.0, "forwarder": 0.0}
                floor_requests = 0
                for number in range(1, args.rounds + 1):
                    cpu = {name: cpu_seconds(pid) for name, pid in servers.items()}
                    direct = measure_get(
                        wrk, sandbox.port, entitlement_id, args.connections, args.seconds
                    )
                    cpu_direct += cpu_seconds(servers["sandbox"]) - cpu["sandbox"]
                    cpu = {name: cpu_seconds(pid) for name, pid in servers.items()}
                    through = measure_get(
                        wrk, proxy_port, entitlement_id, args.connections, args.seconds
                    )
                    for name, pid in servers.items():
                        cpu_through[name] += cpu_seconds(pid) - cpu[name]
                    directs.append(direct)
                    throughs.append(through)
                    ratios.append(through.rps / direct.rps)
                    print(f"round {number}  saturation  direct   {direct.summary()}")
                    print(f"round {number}  saturation  proxied  {through.summary()}")
                    if bare is not None:
                        pids = {"sandbox": servers["sandbox"], "forwarder": bare[0].pid}
                        cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
                        floor = measure_get(
                            wrk, bare[1], entitlement_id, args.connections, args.seconds
                        )
                        for name, pid in pids.items():
                            cpu_floor[name] += cpu_seconds(pid) - cpu[name]
                        floor_requests += floor.requests
                        floors.append(floor.rps / direct.rps)
                        print(f"round {number}  saturation  bare     {floor.summary()}")
                rate = args.rate or max(
                    100.0, round(statistics.median(t.rps for t in throughs) / 4, -2)
                )
                open_direct = measure_open_loop(
                    sandbox.port, entitlement_id, args.connections, rate, args.seconds
                )
                print(f"open loop       direct   {open_direct.summary()}")
                open_through = measure_open_loop(
                    proxy_port, entitlement_id, args.connections, rate, args.seconds
                )
                print(f"open loop       proxied  {open_through.summary()}")
                direct_1 = measure_get(None, sandbox.port, entitlement_id, 1, args.seconds)
                print(f"1 connection    direct   {direct_1.summary()}")
                through_1 = measure_get(None, proxy_port, entitlement_id, 1, args.seconds)
                print(f"1 connection    proxied  {through_1.summary()}")
                rss_before = rss_bytes(proxy.pid)
                long_run = creates(wrk, proxy_port, args.connections, args.long_run_seconds)
                rss_after = rss_bytes(proxy.pid)
                print(f"long run        creates  {long_run.summary()}")
            finally:
                if bare is not None:
                    bare[0].kill()
                    bare[0].wait()
                proxy.send_signal(signal.SIGTERM)
                try:
                    proxy.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proxy.kill()
            summary = (workdir / "proxy.log").read_text()
    ratio = statistics.median(ratios)
    direct_requests = sum(d.requests for d in directs)
    through_requests = sum(t.requests for t in throughs)
    added = open_through.percentile(50) - open_direct.percentile(50)
    added_1 = through_1.percentile(50) - direct_1.percentile(50)
    created = long_run.statuses.get(200, 0) + long_run.statuses.get(201, 0)
    per_entitlement = judge_bytes_per_entitlement(record, args.entitlements)
    print()
    print(
        f"throughput ({args.connections} conns, saturation, {args.rounds} alternating rounds):"
        f" direct {statistics.median(d.rps for d in directs):.0f} req/s, proxied"
        f" {statistics.median(t.rps for t in throughs):.0f} req/s; ratio per round"
        f" {', '.join(f'{r:.0%}' for r in ratios)}, median {ratio:.0%} (target >= 60%)"
        f"  {verdict(ratio >= 0.6)}"
    )
    if floors:
        print(
            f"  bare forwarder (uvicorn + aiohttp, nothing judged): ratio per round"
            f" {', '.join(f'{r:.0%}' for r in floors)}, median {statistics.median(floors):.0%}"
        )
    floor_cpu = (
        f"; bare forwarder: sandbox {cpu_floor['sandbox'] / floor_requests * 1e6:.0f} us,"
        f" forwarder {cpu_floor['forwarder'] / floor_requests * 1e6:.0f} us"
        if floor_requests
        else ""
    )
    print(
        f"CPU per request: sandbox direct {cpu_direct / direct_requests * 1e6:.0f} us;"
        f" proxied: sandbox {cpu_through['sandbox'] / through_requests * 1e6:.0f} us,"
        f" proxy {cpu_through['proxy'] / through_requests * 1e6:.0f} us{floor_cpu}"
    )
    # What CPU alone allows: the direct path costs the sandbox's time per request; the proxied
    # one the sandbox's plus the proxy's, the proxy on one core of its own at best.
    cost_direct = cpu_direct / direct_requests
    cost_sandbox, cost_proxy = (cpu_through[n] / through_requests for n in ("sandbox", "proxy"))
    bound = min(1 / cost_proxy, cores / (cost_sandbox + cost_proxy)) / min(
        1 / cost_direct, cores / cost_direct
    )
    print(
        f"  ratio CPU alone allows: idle machine {bound:.0%} (proxy on a core of its own);"
        f" a fixed CPU share {cost_direct / (cost_sandbox + cost_proxy):.0%}"
    )
    # The same bound solved for the proxy: the most CPU per request it may take for 60%.
    budget = min(cost_direct / 0.6, cores * cost_direct / 0.6 - cost_sandbox)
    print(
        f"  60% allows the proxy at most {budget * 1e6:.0f} us per request with the sandbox's"
        f" costs above (idle machine, the load generator's CPU not counted)"
    )
    print(
        f"added median latency ({args.connections} conns, open loop at {rate:.0f} req/s):"
        f" direct {open_direct.percentile(50):.2f} ms, proxied"
        f" {open_through.percentile(50):.2f} ms, added {added:.2f} ms (target <= 0.5 ms)"
        f"  {verdict(added <= 0.5)}"
    )
    print(
        f"added median latency (1 conn): direct {direct_1.percentile(50):.3f} ms, proxied"
        f" {through_1.percentile(50):.3f} ms, added {added_1:.3f} ms (for reference)"
    )
    print(
        f"judge state: {per_entitlement:.0f} bytes per followed entitlement"
        f" ({args.entitlements} followed, tracemalloc; target <= 250)"
        f"  {verdict(per_entitlement <= 250)}"
    )
    if created:
        grown = rss_after - rss_before
        print(
            f"proxy RSS over the long run: {rss_before / 2**20:.1f} MiB -> {rss_after / 2**20:.1f}"
            f" MiB after {created} creates ({grown / created:.0f} bytes per entitlement,"
            " allocator slack included)"
        )
    if "total violations" in summary:
        total = summary.rsplit("total violations", 1)[1].split()[0]
        print(f"violations the proxy reported during the benchmark: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
