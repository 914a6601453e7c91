"""What hostile clients can make the sandbox hold: memory and connection time.

Four connections each try to send a 50 MB request header; a fifth sends half a request head
and stops. Prints the server's resident memory before and after, and how long the half-sent
head kept its connection open, next to the configured limits. Targets: memory grows by less
than 16 MB, and the half-sent head is closed within the request timeout (plus 2 s).
Exit status 1 when a target is missed.

    .venv/bin/python scripts/bench/bench_hostile_clients.py [--megabytes N] [--connections N]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from bango_resale_sandbox.config import load_config
from bango_resale_sandbox.testing import SandboxProcess

MEMORY_GROWTH_TARGET_MB = 16
CLOSE_SLACK_SECONDS = 2.0


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc")


def send_huge_header(port: int, total: int, accepted: list[int], slot: int) -> None:
    chunk = b"a" * 65536
    with socket.create_connection(("127.0.0.1", port)) as conn:
        try:
            conn.sendall(b"GET /sandbox/health HTTP/1.1\r\nHost: bench\r\nX-Big: ")
            while accepted[slot] < total:
                conn.sendall(chunk)
                accepted[slot] += len(chunk)
        except OSError:  # the server closed the connection: what we want
            pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=50, help="header size each client tries")
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    limits = load_config().limits
    with tempfile.TemporaryDirectory() as tmp, SandboxProcess(Path(tmp) / "b.sqlite3") as server:
        assert server.process is not None
        before = resident_mb(server.process.pid)
        accepted = [0] * args.connections
        threads = [
            threading.Thread(
                target=send_huge_header,
                args=(server.port, args.megabytes * 2**20, accepted, i),
            )
            for i in range(args.connections)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        after = resident_mb(server.process.pid)
        with socket.create_connection(("127.0.0.1", server.port)) as half:
            half.sendall(b"GET /sandbox/health HTTP/1.1\r\nX-Half: ")
            started = time.monotonic()
            half.settimeout(limits.request_timeout_seconds + 60)
            with contextlib.suppress(OSError):  # closed or reset: either ends the wait
                half.recv(16)
            held = time.monotonic() - started
    growth = after - before
    grew_ok = growth < MEMORY_GROWTH_TARGET_MB
    closed_ok = held <= limits.request_timeout_seconds + CLOSE_SLACK_SECONDS
    sent = ", ".join(f"{n / 2**20:.1f}" for n in accepted)
    print(
        f"max_header_bytes {limits.max_header_bytes}, request_timeout_seconds"
        f" {limits.request_timeout_seconds:g}"
    )
    print(
        f"{args.connections} clients x {args.megabytes} MB header: sent before the server"
        f" closed (MB, incl. socket buffers): {sent}"
    )
    print(
        f"server RSS: {before:.0f} MB before, {after:.0f} MB after, growth {growth:.1f} MB"
        f" (target < {MEMORY_GROWTH_TARGET_MB} MB)  {'PASS' if grew_ok else 'MISS'}"
    )
    print(
        f"half-sent head held open {held:.1f} s (target <= {limits.request_timeout_seconds:g}"
        f" + {CLOSE_SLACK_SECONDS:g} s)  {'PASS' if closed_ok else 'MISS'}"
    )
    return 0 if grew_ok and closed_ok else 1


if __name__ == "__main__":
    sys.exit(main())
