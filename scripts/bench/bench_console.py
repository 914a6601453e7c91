"""What the console's request log costs: getEntitlement and create with the log on and off.

Side by side in one run, on loopback with 32 keep-alive clients (wrk when installed): this
checkout's sandbox with the packaged configuration (request log on, `request_log_size =
10000`) and the same sandbox with `request_log_size = 0` (log off). With `--baseline DIR` (a
checkout of older code, e.g. `git worktree add /tmp/old main`) that code's sandbox runs too, so
the figures also show what the rest of the console's bookkeeping costs (the transitions and
delivery attempts it records whatever the log's setting). Target: the log on keeps at least
0.9x of the log off's requests per second, for both operations.

Every sandbox runs for the whole benchmark (idle but for the one under load); the runs go in
rounds whose order alternates, so that drift in the machine's load hits each alike; the
figures are medians of the rounds, and the ratios medians of each round's ratio. Beside the
throughput, the CPU time the sandbox process spent per request: on a busy machine, what other
processes take from the sandbox moves its throughput far more than its CPU per request.

Then the same two sandboxes' applications in this process, without the network: requests
handed to each ASGI app in turn, log on and log off alternating, the CPU time each took
(`--in-process N` requests per run, 0 to skip). With no server, no load generator and no
sockets in the figure, the difference is the log's own cost, the figure a loaded machine
disturbs least (the writer's rounds fall inside the runs and are counted); it is set beside
the CPU a request served over HTTP took, as the throughput it would leave.

Usage: .venv/bin/python scripts/bench/bench_console.py [--seconds N] [--rounds N]
       [--baseline DIR] [--db postgresql://...] [--in-process N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_create_floor import AUTH_HEADER, CREATE_BODY, Server, create_one, measure, sandbox_server
from bench_proxy import cpu_seconds
from wrk import ensure_wrk

from bango_resale_sandbox.app import SandboxApp
from bango_resale_sandbox.config import default_config_text, load_config

LOG_SETTING = "request_log_size = 10000"
TARGET = 0.9


def config_without_log(folder: Path) -> Path:
    """The packaged configuration with the request log switched off."""
    text = default_config_text()
    if LOG_SETTING not in text:
        raise SystemExit(f"the packaged configuration no longer says {LOG_SETTING!r}")
    path = folder / "log-off.toml"
    path.write_text(text.replace(LOG_SETTING, "request_log_size = 0"), "utf-8")
    return path


def database(work: Path, label: str, url: str | None) -> str:
    """A new SQLite file, or a new schema of the PostgreSQL server at `url`."""
    if url is None:
        return str(work / f"{label}.sqlite3")
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}schema=bench_{label.replace(' ', '_')}_{uuid.uuid4().hex[:8]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=23200, help="first of three ports to use")
    parser.add_argument("--baseline", type=Path, help="a checkout of older code to compare")
    parser.add_argument("--db", help="a postgresql:// URL (default: SQLite files)")
    parser.add_argument("--no-wrk", action="store_true", help="use the Python load generator")
    parser.add_argument(
        "--in-process",
        type=int,
        default=20_000,
        metavar="N",
        help="getEntitlement requests per in-process run (creates: a fifth); 0 skips it",
    )
    args = parser.parse_args()
    wrk = None if args.no_wrk else ensure_wrk()
    print(
        f"loopback, {args.connections} keep-alive clients, {args.seconds:.0f} s per run,"
        f" {args.rounds} round(s), load from {'wrk' if wrk else 'loadgen.py'},"
        f" {'PostgreSQL' if args.db else 'SQLite'}"
    )
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as servers:
        work = Path(tmp)
        off = config_without_log(work)
        sandboxes: dict[str, Server] = {
            label: sandbox_server(label, port, Path(database(work, name, args.db)), None)
            for label, name, port in (
                ("log on", "on", args.port),
                ("log off", "off", args.port + 1),
            )
        }
        sandboxes["log off"].command += ["--config", str(off)]
        if args.baseline is not None:
            sandboxes["baseline"] = sandbox_server(
                "baseline", args.port + 2, Path(database(work, "base", args.db)), args.baseline
            )
        get_paths = {}
        pids = {}
        for label, server in sandboxes.items():
            servers.enter_context(server)
            assert server.process is not None
            pids[server.port] = server.process.pid
            get_paths[label] = f"/v1/entitlement/{create_one(server.port)}"
        runs = [
            (f"{operation} {label}", server.port, path, operation == "create")
            for operation in ("get", "create")
            for label, server in sandboxes.items()
            for path in [get_paths[label] if operation == "get" else "/v1/entitlement"]
        ]
        rounds: list[dict[str, float]] = []
        for number in range(args.rounds):
            print(f"round {number + 1}")
            figures = {}
            for name, port, path, create in runs if number % 2 == 0 else reversed(runs):
                pid = pids[port]
                before = cpu_seconds(pid)
                result = measure(wrk, port, args, path=path, create=create)
                cpu = (cpu_seconds(pid) - before) / max(result.requests, 1) * 1e6
                bad = {s: c for s, c in result.statuses.items() if s >= 300 or s == 0}
                warning = f"  WARNING non-2xx {bad}" if bad else ""
                print(f"  {name:<16} {result.summary()}  {cpu:.0f} us CPU{warning}", flush=True)
                figures[name] = result.rps
                figures[f"{name} cpu"] = cpu
            rounds.append(figures)
    missed = report(rounds, baseline=args.baseline is not None)
    if args.in_process:
        with tempfile.TemporaryDirectory() as tmp:
            in_process_cpu = asyncio.run(in_process(Path(tmp), args.in_process, args.rounds))
        served = {
            operation: statistics.median(r[f"{operation} log off cpu"] for r in rounds)
            for operation in ("get", "create")
        }
        report_in_process(in_process_cpu, args.in_process, served)
    return 1 if missed else 0


# -- in process: the ASGI apps themselves, no network -------------------------------------


def _scope(method: str, path: str, length: int) -> dict[str, Any]:
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"authorization", AUTH_HEADER.encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(length).encode()),
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


async def _ask(app: SandboxApp, method: str, path: str, body: bytes = b"") -> bytes:
    """One request through the app; its body, once the app answered 200."""
    sent: list[Mapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)

    await app(_scope(method, path, len(body)), receive, send)
    if sent[0]["status"] != 200:
        raise SystemExit(f"{method} {path}: HTTP {sent[0]['status']} {sent[1]['body'][:300]!r}")
    return bytes(sent[1]["body"])


async def in_process(work: Path, requests: int, rounds: int) -> dict[str, list[float]]:
    """Microseconds of CPU per request, per run: "get log on", "create log off", ..."""
    apps = {
        "log on": SandboxApp(load_config(), str(work / "on.sqlite3")),
        "log off": SandboxApp(load_config(config_without_log(work)), str(work / "off.sqlite3")),
    }
    paths = {}
    for label, app in apps.items():
        await app.startup()
        created = await _ask(app, "POST", "/v1/entitlement", (CREATE_BODY % 0).encode())
        paths[label] = f"/v1/entitlement/{json.loads(created)['entitlementId']}"
    cpu: dict[str, list[float]] = {}
    made = 0
    try:
        for number in range(rounds):
            order = list(apps) if number % 2 == 0 else list(reversed(apps))
            for operation in ("get", "create"):
                for label in order:
                    app = apps[label]
                    count = requests if operation == "get" else max(requests // 5, 1)
                    started = time.process_time()
                    for n in range(count):
                        if operation == "get":
                            await _ask(app, "GET", paths[label])
                        else:
                            made += 1
                            body = (CREATE_BODY % made).encode()
                            await _ask(app, "POST", "/v1/entitlement", body)
                        if n % 200 == 199:
                            await asyncio.sleep(0)  # the app's own tasks get their turns
                    # The log's writer waits for its round (FLUSH_SECONDS): let it write what
                    # this run logged before the clock stops.
                    await asyncio.sleep(0.3)
                    elapsed = time.process_time() - started
                    cpu.setdefault(f"{operation} {label}", []).append(elapsed / count * 1e6)
    finally:
        for app in apps.values():
            await app.shutdown()
    return cpu


def report_in_process(
    cpu: dict[str, list[float]], requests: int, served: Mapping[str, float]
) -> None:
    """The log's own cost per request, in process, and what it comes to beside the CPU a
    request served over HTTP takes (`served`: the log-off sandbox's, per operation): the
    throughput that cost leaves, if CPU were all that counted."""
    print(f"\nin process (the ASGI apps, no network; {requests} gets and {requests // 5} creates"
          " per run):")  # fmt: skip
    for operation in ("get", "create"):
        on, off = cpu[f"{operation} log on"], cpu[f"{operation} log off"]
        cost = statistics.median(a - b for a, b in zip(on, off, strict=True))
        share = cost / served[operation]
        print(
            f"{operation}: {statistics.median(on):.1f} vs {statistics.median(off):.1f} us of CPU"
            f" per request, log on vs off: the log costs {cost:.1f} us (median of rounds),"
            f" {share:.1%} of the {served[operation]:.0f} us a request served over HTTP took;"
            f" throughput left {1 / (1 + share):.2f}x"
        )


def report(rounds: list[dict[str, float]], *, baseline: bool) -> bool:
    missed = False

    def line(label: str, mine: str, theirs: str, target: float | None) -> None:
        nonlocal missed
        a = statistics.median(r[mine] for r in rounds)
        b = statistics.median(r[theirs] for r in rounds)
        ratio = statistics.median(r[mine] / r[theirs] for r in rounds)
        verdict = ""
        if target is not None:
            verdict = "  PASS" if ratio >= target else "  MISS"
            missed = missed or ratio < target
        shown = "" if target is None else f"; target >= {target}x"
        print(f"{label}: {a:.0f} vs {b:.0f} req/s; ratio {ratio:.2f}x (median of rounds{shown})"
              f"{verdict}")  # fmt: skip

    def cpu(label: str, mine: str, theirs: str) -> None:
        a = statistics.median(r[f"{mine} cpu"] for r in rounds)
        b = statistics.median(r[f"{theirs} cpu"] for r in rounds)
        ratio = statistics.median(r[f"{mine} cpu"] / r[f"{theirs} cpu"] for r in rounds)
        print(f"{label}: {a:.0f} vs {b:.0f} us of CPU per request; {ratio:.2f}x")

    print()
    for operation in ("get", "create"):
        line(f"{operation} log on/off", f"{operation} log on", f"{operation} log off", TARGET)
        cpu(f"  {operation} log on/off", f"{operation} log on", f"{operation} log off")
    if baseline:
        for operation in ("get", "create"):
            for setting in ("on", "off"):
                mine = f"{operation} log {setting}"
                line(f"{mine}/baseline", mine, f"{operation} baseline", None)
                cpu(f"  {mine}/baseline", mine, f"{operation} baseline")
    return missed


if __name__ == "__main__":
    sys.exit(main())
