"""The validating proxy's cost, side by side with the sandbox direct, on loopback.

Prints, in one run:
- getEntitlement direct and through the proxy with 32 keep-alive connections: requests per
  second and latency percentiles; the throughput ratio (target >= 60%) and the added median
  latency (target < 1 ms); the same added median with one connection, where no queueing hides
  or inflates the proxy's own time;
- memory per entitlement: the judge's state for many entitlements (tracemalloc, in process),
  and the proxy process's resident memory before and after a long run of creates through it.

Everything (sandbox, proxy, load generator) shares the machine's cores: on a 2-core machine
with other work running the figures are noisy and the proxy's ratio is a lower bound, since the
proxy takes CPU the sandbox would otherwise have.

Usage: .venv/bin/python scripts/bench/bench_proxy.py [--seconds N] [--connections N]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sandbox import AUTH, AUTH_HEADER, CREATE_BODY, HOST, create_entitlement, verdict
from loadgen import LoadResult, build_request, run_load
from wrk import ensure_wrk, run_wrk

from bango_resale_contract.live import LiveJudge
from bango_resale_sandbox.testing import SandboxProcess, free_port


def start_proxy(upstream: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bango_resale_contract",
                "proxy",
                "--upstream",
                upstream,
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://{HOST}:{port}/v1/echo/ready", timeout=1)
            return process
        except urllib.error.HTTPError:
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the proxy did not start:\n" + log.read_text()[-2000:])


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


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
    assert len(judge.tracked) == count + 1 and not judge.violations, judge.violations[:1]
    return grown / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--long-run-seconds", type=float, default=20.0)
    parser.add_argument("--entitlements", type=int, default=20000, help="for the judge's memory")
    parser.add_argument("--no-wrk", action="store_true", help="use the Python load generator")
    args = parser.parse_args()
    wrk = None if args.no_wrk else ensure_wrk()
    cores = os.cpu_count()
    print(
        f"loopback, {args.connections} keep-alive clients, {args.seconds:.0f} s per run, load"
        f" from {'wrk' if wrk else 'loadgen.py'}; sandbox, proxy and load share {cores} cores"
        " (with other work running, figures are noisy)\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with SandboxProcess(workdir / "bench.sqlite3") as sandbox:
            proxy_port = free_port()
            proxy = start_proxy(sandbox.base_url, proxy_port, workdir / "proxy.log")
            try:
                entitlement_id = create_entitlement(sandbox.base_url)
                record = read_record(sandbox.base_url, entitlement_id)
                direct = measure_get(
                    wrk, sandbox.port, entitlement_id, args.connections, args.seconds
                )
                print(f"getEntitlement  direct   {direct.summary()}")
                through = measure_get(
                    wrk, proxy_port, entitlement_id, args.connections, args.seconds
                )
                print(f"getEntitlement  proxied  {through.summary()}")
                direct_1 = measure_get(None, sandbox.port, entitlement_id, 1, args.seconds)
                print(f"1 connection    direct   {direct_1.summary()}")
                through_1 = measure_get(None, proxy_port, entitlement_id, 1, args.seconds)
                print(f"1 connection    proxied  {through_1.summary()}")
                rss_before = rss_bytes(proxy.pid)
                long_run = creates(wrk, proxy_port, args.connections, args.long_run_seconds)
                rss_after = rss_bytes(proxy.pid)
                print(f"long run        creates  {long_run.summary()}")
            finally:
                proxy.send_signal(signal.SIGTERM)
                try:
                    proxy.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proxy.kill()
            summary = (workdir / "proxy.log").read_text()
    ratio = through.rps / direct.rps
    added = through.percentile(50) - direct.percentile(50)
    added_1 = through_1.percentile(50) - direct_1.percentile(50)
    created = long_run.statuses.get(200, 0) + long_run.statuses.get(201, 0)
    per_entitlement = judge_bytes_per_entitlement(record, args.entitlements)
    print()
    print(
        f"throughput proxied/direct ({args.connections} conns): {ratio:.0%} (target >= 60%)"
        f"  {verdict(ratio >= 0.6)}"
    )
    print(
        f"added median latency ({args.connections} conns): {added:.2f} ms (target < 1 ms)"
        f"  {verdict(added < 1)}"
    )
    print(
        f"added median latency (1 conn): {added_1:.3f} ms (target < 1 ms)  {verdict(added_1 < 1)}"
    )
    print(
        f"judge state: {per_entitlement:.0f} bytes per entitlement ({args.entitlements}"
        " followed, tracemalloc)"
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
