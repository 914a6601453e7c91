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

Usage: .venv/bin/python scripts/bench/bench_console.py [--seconds N] [--rounds N]
       [--baseline DIR] [--db postgresql://...]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_create_floor import Server, create_one, measure, sandbox_server
from bench_proxy import cpu_seconds
from wrk import ensure_wrk

from bango_resale_sandbox.config import default_config_text
from bango_resale_sandbox.testing import free_port

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
    parser.add_argument("--baseline", type=Path, help="a checkout of older code to compare")
    parser.add_argument("--db", help="a postgresql:// URL (default: SQLite files)")
    parser.add_argument("--no-wrk", action="store_true", help="use the Python load generator")
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
            label: sandbox_server(label, free_port(), Path(database(work, name, args.db)), None)
            for label, name in (("log on", "on"), ("log off", "off"))
        }
        sandboxes["log off"].command += ["--config", str(off)]
        if args.baseline is not None:
            sandboxes["baseline"] = sandbox_server(
                "baseline", free_port(), Path(database(work, "base", args.db)), args.baseline
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
    return report(rounds, baseline=args.baseline is not None)


def report(rounds: list[dict[str, float]], *, baseline: bool) -> int:
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
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
