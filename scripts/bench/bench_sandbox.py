"""Sandbox throughput against Prism's mock, side by side, on loopback with 32 clients.

Prints requests per second and latency percentiles for:
- getEntitlement on the sandbox and on `prism mock spec/bango-resale.openapi.yaml`;
- createEntitlement (a durable SQLite write, plus its outbox row) on the sandbox.
Targets (issue 3): sandbox getEntitlement >= 3x Prism with p99 < 20 ms; create >= 1,000/s.

Usage: .venv/bin/python scripts/bench/bench_sandbox.py [--seconds N] [--connections N]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_create_floor import HOST, measure
from loadgen import LoadResult
from wrk import ensure_wrk

from bango_resale_sandbox.testing import SandboxProcess

ROOT = Path(__file__).resolve().parents[2]
PRISM = ROOT / "node_modules" / ".bin" / "prism"
SPEC = ROOT / "spec" / "bango-resale.openapi.yaml"
# The id in the spec's examples: what Prism's mock serves for any id.
PRISM_EXAMPLE_ID = "5f0c1c9e-8a51-4c59-9d9e-2f1e6f3f6a10"


def start_prism(log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Prism's mock server on a port it binds itself (port 0), and that port, which it names
    in its "listening on" line."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(PRISM), "mock", str(SPEC), "-h", HOST, "-p", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("prism exited:\n" + log.read_text()[-2000:])
        listening = re.search(r"Prism is listening on http://[^:]+:(\d+)", log.read_text())
        if listening:
            return process, int(listening.group(1))
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("prism did not start")


def create_entitlement(base_url: str) -> str:
    request = urllib.request.Request(
        f"{base_url}/v1/entitlement",
        method="POST",
        data=json.dumps(
            {
                "customerIdentifier": "bench-reader",
                "merchantAccountKey": "BANGO",
                "productKey": "BangoMusic",
            }
        ).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": "Basic ZGVtbzpkZW1vLXNlY3JldA==",
        },
    )
    with urllib.request.urlopen(request) as response:
        return str(json.loads(response.read())["entitlementId"])


def measure_get(
    wrk: str | None, port: int, entitlement_id: str, args: argparse.Namespace
) -> LoadResult:
    return measure(wrk, port, args, path=f"/v1/entitlement/{entitlement_id}", create=False)


def measure_create(wrk: str | None, port: int, args: argparse.Namespace) -> LoadResult:
    return measure(wrk, port, args, path="/v1/entitlement", create=True)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-wrk", action="store_true", help="use the Python load generator")
    args = parser.parse_args()
    wrk = None if args.no_wrk else ensure_wrk()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prism, prism_port = start_prism(workdir / "prism.log")
        try:
            with SandboxProcess(workdir / "bench.sqlite3") as sandbox:
                entitlement_id = create_entitlement(sandbox.base_url)
                print(
                    f"loopback, {args.connections} keep-alive clients, {args.seconds:.0f} s"
                    f" per run, load from {'wrk' if wrk else 'loadgen.py'}\n"
                )
                prism_get = measure_get(wrk, prism_port, PRISM_EXAMPLE_ID, args)
                print(f"getEntitlement     prism    {prism_get.summary()}")
                prism.terminate()  # free its CPU before the sandbox runs
                prism.wait(timeout=10)
                sandbox_get = measure_get(wrk, sandbox.port, entitlement_id, args)
                print(f"getEntitlement     sandbox  {sandbox_get.summary()}")
                create = measure_create(wrk, sandbox.port, args)
                print(f"createEntitlement  sandbox  {create.summary()}")
        finally:
            if prism.poll() is None:
                prism.kill()
    report(prism_get, sandbox_get, create)
    return 0


def report(prism_get: LoadResult, sandbox_get: LoadResult, create: LoadResult) -> None:
    ratio = sandbox_get.rps / prism_get.rps
    p99 = sandbox_get.percentile(99)
    print()
    print(f"getEntitlement sandbox/prism ratio: {ratio:.1f}x (target >= 3x)  {verdict(ratio >= 3)}")
    print(f"getEntitlement sandbox p99: {p99:.2f} ms (target < 20 ms)  {verdict(p99 < 20)}")
    print(
        f"createEntitlement: {create.rps:.0f}/s (target >= 1000/s)  {verdict(create.rps >= 1000)}"
    )
    bad = {s: c for r in (sandbox_get, create) for s, c in r.statuses.items() if s >= 300}
    if bad:
        print(f"WARNING: non-2xx answers from the sandbox: {bad}")


if __name__ == "__main__":
    sys.exit(main())
