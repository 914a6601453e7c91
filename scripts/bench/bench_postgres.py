"""The sandbox on PostgreSQL beside the sandbox on SQLite, on loopback, in one run.

Prints requests per second and latency percentiles for:
- getEntitlement and createEntitlement (durable: committed with the WAL flushed) on SQLite and
  on PostgreSQL, one sandbox process each;
- the same on two sandbox processes sharing one PostgreSQL schema, the load split between them,
  and the scaling over one process.
Targets (issue 14): PostgreSQL creates >= 1,000/s; PostgreSQL getEntitlement >= 0.5x SQLite.
The PostgreSQL server is a throwaway one started here (the machine's initdb/pg_ctl), with its
default durability (fsync on), and the sandboxes on it run with postgresql_synchronous_commit
= "on": every acknowledged create has its WAL flushed to disk. SQLite runs with the packaged
configuration (synchronous NORMAL: survives a killed process). Load generator, sandboxes and
database share the machine's cores, so two instances compete with the database for them.

Usage: .venv/bin/python scripts/bench/bench_postgres.py [--seconds N] [--connections N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The throwaway PostgreSQL server the tests use (tests/support/postgres.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))

from bench_sandbox import create_entitlement, measure_create, measure_get, verdict
from loadgen import LoadResult
from wrk import ensure_wrk

from bango_resale_sandbox.config import default_config_text
from bango_resale_sandbox.testing import SandboxProcess

from support.postgres import PostgresServer


def durable_config(folder: Path) -> Path:
    """The packaged configuration with every PostgreSQL commit waiting for its WAL flush."""
    text = default_config_text()
    setting = 'postgresql_synchronous_commit = "off"'
    assert setting in text, "the packaged configuration no longer has " + setting
    path = folder / "durable.toml"
    path.write_text(text.replace(setting, 'postgresql_synchronous_commit = "on"'))
    return path


def together(
    runs: list[tuple[SandboxProcess, str | None]], measure: str, args: argparse.Namespace
) -> tuple[float, list[LoadResult]]:
    """Load every instance at once, each with its share of the connections; total req/s."""
    wrk = None if args.no_wrk else ensure_wrk()
    share = argparse.Namespace(**{**vars(args), "connections": args.connections // len(runs)})
    results: list[LoadResult | None] = [None] * len(runs)

    def one(index: int, server: SandboxProcess, entitlement_id: str | None) -> None:
        if measure == "get":
            assert entitlement_id is not None
            results[index] = measure_get(wrk, server.port, entitlement_id, share)
        else:
            results[index] = measure_create(wrk, server.port, share)

    threads = [
        threading.Thread(target=one, args=(i, server, eid)) for i, (server, eid) in enumerate(runs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = [r for r in results if r is not None]
    return sum(r.rps for r in done), done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-wrk", action="store_true", help="use the Python load generator")
    args = parser.parse_args()
    tool = "loadgen.py" if args.no_wrk or not ensure_wrk() else "wrk"
    print(
        f"loopback, {args.connections} keep-alive clients, {args.seconds:.0f} s per run, load"
        f" from {tool}, {os.cpu_count()} cores shared with whatever else runs on the machine\n"
    )
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, PostgresServer() as postgres:
        durable = durable_config(Path(tmp))
        for label, database, config in (
            ("sqlite", str(Path(tmp) / "bench.sqlite3"), None),
            ("postgresql", postgres.url("bench_one"), durable),
        ):
            log = Path(tmp) / f"{label}.log"
            with SandboxProcess(database, config=config, log_path=log) as sandbox:
                entitlement_id = create_entitlement(sandbox.base_url)
                rps, (get,) = together([(sandbox, entitlement_id)], "get", args)
                figures[f"get {label}"] = rps
                print(f"getEntitlement     {label:<13} 1 process   {get.summary()}")
                rps, (create,) = together([(sandbox, None)], "create", args)
                figures[f"create {label}"] = rps
                print(f"createEntitlement  {label:<13} 1 process   {create.summary()}")
        url = postgres.url("bench_two")
        logs = [Path(tmp) / f"two-{n}.log" for n in range(2)]
        with (
            SandboxProcess(url, config=durable, log_path=logs[0]) as first,
            SandboxProcess(url, config=durable, log_path=logs[1]) as second,
        ):
            entitlement_id = create_entitlement(first.base_url)
            pair = [(first, entitlement_id), (second, entitlement_id)]
            figures["get two"], gets = together(pair, "get", args)
            print(
                f"getEntitlement     postgresql    2 processes {figures['get two']:8.0f} req/s"
                f" ({' + '.join(f'{r.rps:.0f}' for r in gets)})"
            )
            figures["create two"], creates = together(pair, "create", args)
            print(
                f"createEntitlement  postgresql    2 processes {figures['create two']:8.0f} req/s"
                f" ({' + '.join(f'{r.rps:.0f}' for r in creates)})"
            )
    report(figures)
    return 0


def report(f: dict[str, float]) -> None:
    get_ratio = f["get postgresql"] / f["get sqlite"]
    creates = f["create postgresql"]
    print()
    print(
        f"PostgreSQL durable creates, 1 process: {creates:.0f}/s (target >= 1000/s)"
        f"  {verdict(creates >= 1000)}   (SQLite: {f['create sqlite']:.0f}/s)"
    )
    print(
        f"getEntitlement PostgreSQL/SQLite, 1 process: {get_ratio:.2f}x (target >= 0.5x)"
        f"  {verdict(get_ratio >= 0.5)}"
    )
    get_scaling = f["get two"] / f["get postgresql"]
    print(
        f"2 processes on one PostgreSQL vs 1: getEntitlement {get_scaling:.2f}x,"
        f" createEntitlement {f['create two'] / creates:.2f}x (scaling on this machine's cores)"
    )


if __name__ == "__main__":
    sys.exit(main())
