"""The sandbox's durable create against its floor, and its GET against an older sandbox.

Side by side in one run, on loopback with 32 keep-alive clients (wrk when installed):
- createEntitlement on the sandbox, and on the *floor*: a raw ASGI app on the same server
  stack (uvicorn, uvloop, the sandbox's limited httptools protocol) that checks Basic auth,
  inserts one entitlement row and one outbox row into the sandbox's own SQLite schema (WAL,
  the same `synchronous` setting) and commits once per request. Target: >= 0.6x the floor.
- getEntitlement on the sandbox and on the same floor app, which checks Basic auth, reads the
  record by its primary key and writes it back with the envelope's two fields. Target:
  >= 0.85x the floor.
- with `--baseline DIR` (a checkout of older code, e.g. `git worktree add /tmp/old main`):
  getEntitlement and createEntitlement of that older sandbox beside this one's. Target for
  the GET: within 10% of the older code's requests per second.

The servers run one at a time, in rounds (floor, this sandbox, baseline, ...), so that drift
in the machine's load hits each alike; the figures are the median of the rounds.

Usage: .venv/bin/python scripts/bench/bench_create_floor.py [--seconds N] [--rounds N]
       [--baseline DIR] [--port N]
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import LoadResult, build_request, run_load
from wrk import ensure_wrk, run_wrk

from bango_resale_sandbox.testing import DEMO_RESELLER

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
AUTH = DEMO_RESELLER  # the packaged configuration's first reseller, as both sandboxes run it
AUTH_HEADER = "Basic " + base64.b64encode(f"{AUTH[0]}:{AUTH[1]}".encode()).decode()
CREATE_BODY = (
    '{"customerIdentifier":"bench-%d","merchantAccountKey":"BANGO","productKey":"BangoMusic"}'
)

# -- the floor: a raw ASGI app --------------------------------------------------------------


def floor_app(db_path: str) -> Callable[..., Awaitable[None]]:
    """The least a durable create must do (authenticate, parse, two inserts, one commit), and
    the least a getEntitlement must do (authenticate, one primary-key read, the JSON back)."""
    import sqlite3

    import orjson

    from bango_resale_sandbox.storage.sqlite import SCHEMA

    db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # the sandbox's default (server.sqlite_synchronous)
    db.executescript(SCHEMA)
    users = {AUTH[0]: AUTH[1].encode()}
    seq = [0]

    def authorised(header: bytes | None) -> bool:
        if header is None or not header.startswith(b"Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).partition(b":")
        except binascii.Error:
            return False
        expected = users.get(user.decode("latin-1"))
        return expected is not None and hmac.compare_digest(password, expected)

    async def app(scope: Mapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        headers = dict(scope["headers"])
        if not authorised(headers.get(b"authorization")):
            status, body = 401, b'{"responseCode":"UNAUTHORIZED"}'
        elif scope["method"] == "GET":
            # The least a getEntitlement must do: one primary-key read, the record written back.
            entitlement_id = scope["path"].rpartition("/")[2]
            row = db.execute(
                "SELECT record FROM entitlements WHERE reseller = ? AND entitlement_id = ?",
                (AUTH[0], entitlement_id),
            ).fetchone()
            if row is None:
                status, body = 404, b'{"responseCode":"NOT_FOUND"}'
            else:
                status, body = (
                    200,
                    b'{"responseCode":"OK","responseMessage":"Success",' + row[0][1:],
                )
        else:
            raw = b""
            more = True
            while more:
                message = await receive()
                raw += message.get("body", b"")
                more = message.get("more_body", False)
            request = orjson.loads(raw)
            entitlement_id = str(uuid.uuid4())
            now = time.time()
            record = orjson.dumps({"entitlementId": entitlement_id, "status": "ACTIVE", **request})
            seq[0] += 1
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT INTO entitlements (entitlement_id, reseller, customer_identifier,"
                " merchant_account_key, product_key, offer_key, status, ends_at, expires_at,"
                " created_seq, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entitlement_id,
                    AUTH[0],
                    request["customerIdentifier"],
                    request["merchantAccountKey"],
                    request["productKey"],
                    None,
                    "ACTIVE",
                    None,
                    None,
                    seq[0],
                    record,
                ),
            )
            db.execute(
                "INSERT INTO notifications (notification_id, reseller, entitlement_id,"
                " notification_type, url, body, state, next_attempt_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (str(uuid.uuid4()), AUTH[0], entitlement_id, "ACTIVATION_SUCCESS", None,
                 record, "undeliverable", now, now),
            )  # fmt: skip
            db.execute("COMMIT")
            status, body = 200, b'{"responseCode":"OK","responseMessage":"Success",' + record[1:]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def serve_floor(port: int, db_path: str) -> None:
    from bango_resale_sandbox import server
    from bango_resale_sandbox.config import ServerLimits

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, port))
    listener.listen(1024)
    server.run(floor_app(db_path), sockets=[listener], log_level="warning", limits=ServerLimits())


# -- servers under test ---------------------------------------------------------------------


class Server:
    """One server under test, in a child process."""

    def __init__(self, label: str, command: list[str], port: int, env: Mapping[str, str]) -> None:
        self.label, self.command, self.port, self.env = label, command, port, env
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(
            self.command, env={**os.environ, **self.env}, stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited early")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.label} did not start")

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def sandbox_server(label: str, port: int, db: Path, source: Path | None) -> Server:
    """The sandbox of this checkout, or of `source` (its packages first on the path)."""
    env = {"BANGO_SANDBOX_FAULTS": ""}
    if source is not None:
        paths = [source / "sandbox", source / "spec", source / "overrides", source / "generated"]
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths if p.exists())
    command = [sys.executable, "-m", "bango_resale_sandbox", "--host", HOST, "--port", str(port)]
    return Server(label, [*command, "--db", str(db)], port, env)


def create_one(port: int) -> str:
    request = urllib.request.Request(
        f"http://{HOST}:{port}/v1/entitlement",
        method="POST",
        data=(CREATE_BODY % 0).encode(),
        headers={"Content-Type": "application/json", "Authorization": AUTH_HEADER},
    )
    with urllib.request.urlopen(request) as response:
        return str(json.loads(response.read())["entitlementId"])


def measure(
    wrk: str | None, port: int, args: argparse.Namespace, *, path: str, create: bool
) -> LoadResult:
    if wrk:
        return run_wrk(
            wrk,
            f"http://{HOST}:{port}{path}",
            auth_header=AUTH_HEADER,
            connections=args.connections,
            seconds=args.seconds,
            method="POST" if create else "GET",
            body_format=CREATE_BODY if create else None,
        )

    def factory(n: int) -> bytes:
        body = (CREATE_BODY % n).encode() if create else b""
        return build_request("POST" if create else "GET", HOST, port, path, auth=AUTH, body=body)

    return run_load(HOST, port, factory, connections=args.connections, seconds=args.seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=23100, help="first of three ports to use")
    parser.add_argument("--baseline", type=Path, help="a checkout of older code to compare")
    parser.add_argument("--no-wrk", action="store_true", help="use the Python load generator")
    parser.add_argument("--serve-floor", nargs=2, metavar=("PORT", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        serve_floor(int(args.serve_floor[0]), args.serve_floor[1])
        return 0
    wrk = None if args.no_wrk else ensure_wrk()
    print(
        f"loopback, {args.connections} keep-alive clients, {args.seconds:.0f} s per run,"
        f" {args.rounds} round(s), load from {'wrk' if wrk else 'loadgen.py'}"
    )
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as servers:
        work = Path(tmp)
        floor_command = [
            sys.executable, __file__, "--serve-floor", str(args.port), str(work / "floor.sqlite3")
        ]  # fmt: skip
        # All servers run for the whole benchmark (idle but for the one under load), so
        # each measurement of one sits right next to the same measurement of the other.
        servers.enter_context(Server("floor", floor_command, args.port, {}))
        sandboxes = {"this": (None, args.port + 1)}
        if args.baseline is not None:
            sandboxes["baseline"] = (args.baseline, args.port + 2)
        get_paths = {"floor": f"/v1/entitlement/{create_one(args.port)}"}
        for label, (source, port) in sandboxes.items():
            db = work / f"{label}.sqlite3"
            servers.enter_context(sandbox_server(label, port, db, source))
            get_paths[label] = f"/v1/entitlement/{create_one(port)}"
        runs: list[tuple[str, int, str, bool]] = [("create floor", args.port, "/", True)]
        for label, (_, port) in sandboxes.items():
            runs.append((f"create {label}", port, "/v1/entitlement", True))
        runs.append(("get floor", args.port, get_paths["floor"], False))
        for label, (_, port) in sandboxes.items():
            runs.append((f"get {label}", port, get_paths[label], False))
        rounds: list[dict[str, float]] = []
        for number in range(args.rounds):
            print(f"round {number + 1}")
            figures = {}
            # Alternate the order from round to round, so no server always goes first.
            for name, port, path, create in runs if number % 2 == 0 else reversed(runs):
                result = measure(wrk, port, args, path=path, create=create)
                bad = {s: c for s, c in result.statuses.items() if s >= 300 or s == 0}
                warning = f"  WARNING non-2xx {bad}" if bad else ""
                print(f"  {name:<16} {result.summary()}{warning}", flush=True)
                figures[name] = result.rps
            rounds.append(figures)
    report(rounds, baseline=args.baseline is not None)
    return 0


def report(rounds: list[dict[str, float]], *, baseline: bool) -> None:
    """Medians of the rounds, and the median of each round's ratio (the machine's load drifts
    between rounds; within one it hits both sides of a ratio alike)."""

    def line(label: str, mine: str, theirs: str, target: float) -> None:
        a = statistics.median(r[mine] for r in rounds)
        b = statistics.median(r[theirs] for r in rounds)
        ratio = statistics.median(r[mine] / r[theirs] for r in rounds)
        verdict = "PASS" if ratio >= target else "MISS"
        print(
            f"{label}: {a:.0f} vs {b:.0f} req/s; ratio {ratio:.2f}x (median of rounds;"
            f" target >= {target}x)  {verdict}"
        )

    print()
    line("create this/floor", "create this", "create floor", 0.6)
    line("get this/floor", "get this", "get floor", 0.85)
    if baseline:
        line("get this/baseline", "get this", "get baseline", 0.9)
        line("create this/baseline", "create this", "create baseline", 0.0)


if __name__ == "__main__":
    sys.exit(main())
