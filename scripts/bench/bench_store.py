"""The SQLite store's own cost per operation, without HTTP, beside an older store's.

Figures, in microseconds per operation (median of the rounds):
- commit: one create's transaction at a time, each with its own COMMIT (and, in this store,
  the check before it that the file is still the one at the path);
- group: 32 creates' transactions at once, sharing one COMMIT (group commit);
- read: getEntitlement's read of one stored record;
- file check: that check alone (two stat calls), in this store.
With `--baseline DIR` (a checkout of older code, e.g. `git worktree add /tmp/old main`), the
same figures for DIR's store, measured in turns with this one's (each round in a fresh child
process, in alternating order), and the median of each round's ratio this/baseline.

Usage: .venv/bin/python scripts/bench/bench_store.py [--rounds N] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ("commit", "group", "read")


def measure(commits: int, groups: int, reads: int) -> dict[str, float]:
    """One round in this process, on whichever store the path provides."""
    try:
        from bango_resale_sandbox.storage import SqliteStore
    except ModuleNotFoundError:  # older code: one module
        from bango_resale_sandbox.store import SqliteStore  # type: ignore[no-redef]
    from bango_resale_sandbox import domain, wire

    now = wire.parse_time("2026-01-01T00:00:00Z")

    async def run(folder: str) -> dict[str, float]:
        store = SqliteStore(os.path.join(folder, "store.sqlite3"))
        created = 0

        async def create() -> None:
            nonlocal created
            created += 1
            entitlement = domain.new_entitlement(
                entitlement_id=f"e{created}",
                customer_identifier=f"c{created}",
                merchant_account_key="BANGO",
                product_key="BangoMusic",
                display_name="Music",
                now=now,
            )
            async with store.transaction():
                await store.insert("demo", entitlement)

        started = time.perf_counter()
        for _ in range(commits):
            await create()
        commit = (time.perf_counter() - started) / commits
        started = time.perf_counter()
        for _ in range(groups):
            await asyncio.gather(*(create() for _ in range(32)))
        group = (time.perf_counter() - started) / (groups * 32)
        started = time.perf_counter()
        for number in range(reads):
            await store.get_record_json("demo", f"e{number % created + 1}")
        read = (time.perf_counter() - started) / reads
        await store.close()
        return {"commit": commit * 1e6, "group": group * 1e6, "read": read * 1e6}

    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(run(folder))


def file_check_cost(calls: int = 200_000) -> float:
    """Microseconds per check that the store's file (and its log) is still at the path."""
    from bango_resale_sandbox.storage import SqliteStore

    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(os.path.join(folder, "store.sqlite3"))
        check = store._file_problem  # the check itself, as the group commit calls it
        started = time.perf_counter()
        for _ in range(calls):
            check()
        cost = (time.perf_counter() - started) / calls * 1e6
        asyncio.run(store.close())
    return cost


def one_round(source: Path | None, args: argparse.Namespace) -> dict[str, float]:
    """A round in a fresh child process: this checkout's store, or `source`'s."""
    env = dict(os.environ)
    if source is not None:
        paths = [source / "sandbox", source / "spec"]
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    command = [sys.executable, __file__, "--measure", str(args.commits), str(args.groups)]
    output = subprocess.run(
        [*command, str(args.reads)], env=env, check=True, capture_output=True, text=True
    ).stdout
    figures: dict[str, float] = json.loads(output)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--reads", type=int, default=50_000)
    parser.add_argument("--baseline", type=Path, help="a checkout of older code to compare")
    parser.add_argument("--measure", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return 0
    sides: dict[str, Path | None] = {"this": None}
    if args.baseline is not None:
        sides["baseline"] = args.baseline
    rounds: list[dict[str, dict[str, float]]] = []
    for number in range(args.rounds):
        order = list(sides.items()) if number % 2 == 0 else list(reversed(sides.items()))
        results = {label: one_round(source, args) for label, source in order}
        rounds.append(results)
        print(
            f"round {number + 1}: "
            + "; ".join(
                f"{label} " + " ".join(f"{k} {v:.1f}" for k, v in figures.items())
                for label, figures in results.items()
            ),
            flush=True,
        )
    print(f"\nmicroseconds per operation, median of {args.rounds} round(s):")
    for figure in FIGURES:
        line = f"  {figure:<7}"
        for label in sides:
            line += f" {label} {statistics.median(r[label][figure] for r in rounds):8.1f}"
        if "baseline" in sides:
            ratio = statistics.median(r["this"][figure] / r["baseline"][figure] for r in rounds)
            line += f"   this/baseline {ratio:.2f}x (time: lower is faster)"
        print(line)
    print(f"  file check (two stat calls, once per COMMIT): {file_check_cost():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
