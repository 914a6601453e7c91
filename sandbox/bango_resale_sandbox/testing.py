"""Helpers for tests and benchmarks of anything that talks to the sandbox.

The one launcher, in two forms with the same arguments and the same `base_url`/`port`/`db_path`,
each a context manager (or start()/stop()) that returns once the server answers:

- `SandboxThread` serves the real app with the real uvicorn server (the sandbox's own limits) on
  a free loopback port, in a background thread of the calling process: real HTTP and a real
  database, without paying a Python start-up per sandbox. The default for tests.
- `SandboxProcess` starts `python -m bango_resale_sandbox` in a child process, for what needs
  one: a crash (`kill()`, SIGKILL), the command line and its environment, a log file, several
  instances on one database.

The others:
- `PostgresServer` runs a throwaway PostgreSQL server (the machine's `initdb`/`pg_ctl`) in a
  temporary folder on a free loopback port, as an unprivileged user when run as root.
- `NotificationSink` is a loopback HTTP server that records every notification POSTed to it.
- `Api` is a thin client of one sandbox for one reseller, returning raw httpx responses.
- `check_conforms` checks a partner-API response against what the spec documents for it.
"""

from __future__ import annotations

import gc
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from .config import load_config

# The packaged configuration's two demo resellers, as (name, password) pairs.
DEMO_RESELLER, SECOND_DEMO_RESELLER = [
    (reseller.name, reseller.password) for reseller in load_config().resellers.values()
][:2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Sandbox:
    """What both forms of the launcher share: their arguments, address and context manager."""

    def __init__(
        self,
        db_path: Path | str,
        *,
        port: int | None = None,
        config: Path | str | None = None,
        faults: Sequence[str] = (),
        resellers: Sequence[tuple[str, str]] = (),
        login_throttle: bool = True,
    ) -> None:
        # A SQLite file, or a postgresql:// URL (kept as the string it is).
        self.db_path: Path | str = (
            db_path if str(db_path).startswith("postgresql://") else Path(db_path)
        )
        self.port = port or free_port()
        self.config = config
        self.faults = tuple(faults)
        self.resellers = tuple(resellers)
        self.login_throttle = login_throttle

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class SandboxProcess(_Sandbox):
    """A sandbox server in a child process. Use as a context manager, or start()/stop()."""

    def __init__(
        self,
        db_path: Path | str,
        *,
        port: int | None = None,
        config: Path | str | None = None,
        faults: Sequence[str] = (),
        resellers: Sequence[tuple[str, str]] = (),
        log_path: Path | str | None = None,
        extra_env: dict[str, str] | None = None,
        login_throttle: bool = True,
        program: Sequence[str] = (sys.executable, "-m", "bango_resale_sandbox"),
        cwd: Path | str | None = None,
    ) -> None:
        super().__init__(
            db_path,
            port=port,
            config=config,
            faults=faults,
            resellers=resellers,
            login_throttle=login_throttle,
        )
        if log_path is None:
            log_path = (
                self.db_path.with_suffix(".log")
                if isinstance(self.db_path, Path)
                else tempfile.mkstemp(prefix="sandbox-", suffix=".log")[1]
            )
        self.log_path = Path(log_path)
        self.extra_env = extra_env or {}
        # The command that runs the sandbox: this interpreter's module, or another install's
        # console script (`bango-resale-sandbox` of a wheel in its own virtual environment).
        self.program = tuple(program)
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        command = [
            *self.program,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--db",
            str(self.db_path),
        ]
        if self.config is not None:
            command += ["--config", str(self.config)]
        for fault in self.faults:
            command += ["--fault", fault]
        for name, password in self.resellers:
            command += ["--reseller", f"{name}:{password}"]
        if not self.login_throttle:
            command.append("--no-login-throttle")
        return command

    def start(self, timeout: float = 20.0) -> Self:
        env = {**os.environ, **self.extra_env}
        if "BANGO_SANDBOX_FAULTS" not in self.extra_env:
            # Faults come only from this object, never from the caller's environment.
            env.pop("BANGO_SANDBOX_FAULTS", None)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.cwd
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"sandbox exited early; see {self.log_path}:\n"
                    + self.log_path.read_text(errors="replace")[-3000:]
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/sandbox/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"sandbox did not answer within {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        """Graceful stop (SIGTERM), then wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Crash: SIGKILL, no chance to clean up."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


class SandboxThread(_Sandbox):
    """The sandbox in this process: `uvicorn.Server` on a background thread, serving the app the
    command line would build (same configuration, faults and resellers). start()/stop(), or use
    it as a context manager."""

    # Set by start(); the arguments are those of every launcher (`_Sandbox`).
    _server: Any = None
    _listener: socket.socket | None = None
    _thread: threading.Thread | None = None
    _gc_threshold: tuple[int, int, int] = (700, 10, 10)

    def start(self, timeout: float = 20.0) -> Self:
        from . import create_app, load_config, server
        from .faults import parse_faults

        # Restored by stop(): the app's start-up retunes the collector.
        self._gc_threshold = gc.get_threshold()
        config = load_config(None if self.config is None else Path(self.config))
        if self.resellers:
            config = config.with_resellers(list(self.resellers))
        config = config.with_faults(parse_faults(self.faults))
        if not self.login_throttle:
            config = config.without_login_throttle()
        app = create_app(str(self.db_path), config.serving_on("127.0.0.1", self.port))
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._server = server.build(app, log_level="warning", limits=config.limits)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._listener]},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the in-process sandbox on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Graceful stop: uvicorn's shutdown (lifespan included), then join the thread."""
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
            self._thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            # The app tunes the collector for a process of its own (freeze, high threshold):
            # give the test process its settings back.
            gc.unfreeze()
            gc.set_threshold(*self._gc_threshold)


class PostgresServer:
    """A PostgreSQL server of its own in a temporary folder: `initdb`, then `pg_ctl start` on a
    free loopback port; `stop()` shuts it down and removes the folder.

    The binaries come from PATH or Debian's /usr/lib/postgresql/<version>/bin (package
    `postgresql`). PostgreSQL refuses to run as root, so as root the server runs as the
    `postgres` user (created by the Debian package) or `nobody`.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="bango-pg-"))
        self.data = self.folder / "data"
        self.bin = _postgres_bin()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = "postgres" if _user_exists("postgres") else "nobody"
            shutil.chown(self.folder, user)
            os.chmod(self.folder, 0o700)
            self._as_user = ["runuser", "-u", user, "--"]

    def url(self, schema: str | None = None) -> str:
        base = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        return base if schema is None else f"{base}?schema={schema}"

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_user, *command], check=True, capture_output=True, cwd=self.folder)

    def start(self) -> PostgresServer:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.resume()
        return self

    def resume(self) -> None:
        """Start the server on its data folder (after `start`, or again after `halt`)."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
            " -c max_connections=200 -c shared_buffers=128MB"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "start",
        )

    def halt(self) -> None:
        """Shut the server down, keeping its data, as a database outage would."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        if self.data.exists():
            stop = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"]
            subprocess.run([*self._as_user, *stop], capture_output=True, cwd=self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _postgres_bin() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4])
    )
    if not versions:
        raise RuntimeError(
            "no PostgreSQL server binaries (pg_ctl): install Debian's postgresql package"
            " (make install does, from system-packages.txt)"
        )
    return Path(versions[-1]).parent


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class NotificationSink:
    """A loopback HTTP server that records POSTed JSON bodies and their headers.

    `fail_first` makes it answer 503 to the first N requests, to exercise redelivery.
    """

    def __init__(self, fail_first: int = 0, port: int = 0) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.fail_first = fail_first
        self.requests = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests += 1
                    failing = receiver.requests <= receiver.fail_first
                    if not failing:
                        receiver.received.append(json.loads(raw))
                        receiver.headers.append(dict(self.headers.items()))
                self.send_response(503 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/notifications"

    def ids(self) -> set[str]:
        with self._lock:
            return {str(n["notificationId"]) for n in self.received}

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until `count` distinct notifications arrived; returns all received."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.ids()) >= count:
                break
            time.sleep(0.02)
        with self._lock:
            return list(self.received)

    def __enter__(self) -> NotificationSink:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


REASON = {
    "cancelReasonCategory": "CUSTOMER_CANCELLED",
    "cancelReasonCode": "NOT_RENEWED",
    "cancelReasonDescription": "Customer has not renewed their entitlement",
}
SUSPEND = {
    "entitlementBenefits": "SUSPENDED",
    "reasonCategory": "ACTIVATION_ROLLBACK",
    "reasonCode": "FRAUD_CHECK",
}


class Api:
    """A thin client of one sandbox for one reseller; every method returns the raw response."""

    def __init__(self, base_url: str, auth: tuple[str, str]) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, auth=auth, timeout=10.0)

    def close(self) -> None:
        self.http.close()

    def create(
        self,
        customer: str,
        *,
        merchant: str = "BANGO",
        product: str = "BangoMusic",
        magic: str | None = None,
        **fields: Any,
    ) -> httpx.Response:
        body = {
            "customerIdentifier": customer,
            "merchantAccountKey": merchant,
            "productKey": product,
            **fields,
        }
        return self.http.post("/v1/entitlement", json=body, headers=_magic(magic))

    def create_id(self, customer: str, **kwargs: Any) -> str:
        response = self.create(customer, **kwargs)
        assert response.status_code in (200, 201, 202), response.text
        return str(response.json()["entitlementId"])

    def get(self, entitlement_id: str) -> httpx.Response:
        return self.http.get(f"/v1/entitlement/{entitlement_id}")

    def status(self, entitlement_id: str) -> str:
        return str(self.get(entitlement_id).json()["status"])

    def update(
        self, entitlement_id: str, magic: str | None = None, **fields: Any
    ) -> httpx.Response:
        return self.http.patch(
            "/v1/entitlement",
            json={"entitlementId": entitlement_id, **fields},
            headers=_magic(magic),
        )

    def suspend(self, entitlement_id: str, magic: str | None = None) -> httpx.Response:
        return self.update(entitlement_id, magic, **SUSPEND)

    def resume(self, entitlement_id: str, magic: str | None = None) -> httpx.Response:
        return self.update(entitlement_id, magic, entitlementBenefits="NORMAL")

    def cancel(self, entitlement_id: str, magic: str | None = None, **body: Any) -> httpx.Response:
        return self.http.post(
            f"/v1/entitlement/cancel/{entitlement_id}",
            json={**REASON, **body},
            headers=_magic(magic),
        )

    def revoke(self, entitlement_id: str, magic: str | None = None, **body: Any) -> httpx.Response:
        return self.http.post(
            f"/v1/entitlement/revoke/{entitlement_id}",
            json={**REASON, **body},
            headers=_magic(magic),
        )

    def reactivate(self, entitlement_id: str, magic: str | None = None) -> httpx.Response:
        return self.http.post(f"/v1/entitlement/reactivate/{entitlement_id}", headers=_magic(magic))

    def activation_info(self, entitlement_id: str, magic: str | None = None) -> httpx.Response:
        return self.http.get(
            f"/v1/entitlement/activationInfo/{entitlement_id}", headers=_magic(magic)
        )

    def query(self, customer: str, **filters: Any) -> httpx.Response:
        return self.http.post(
            "/v1/entitlement/report", json={"customerIdentifier": customer, **filters}
        )

    def complete(self, entitlement_id: str) -> httpx.Response:
        return self.http.post(f"/sandbox/entitlements/{entitlement_id}/complete")

    def advance(self, seconds: float) -> httpx.Response:
        return self.http.post("/sandbox/clock/advance", json={"seconds": seconds})

    def notifications(self, entitlement_id: str | None = None) -> list[dict[str, Any]]:
        """Every notification (of one entitlement, if given), following the pages."""
        params = {} if entitlement_id is None else {"entitlementId": entitlement_id}
        found: list[dict[str, Any]] = []
        while True:
            response = self.http.get("/sandbox/notifications", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            found += page["notifications"]
            if page["nextCursor"] is None:
                return found
            params["cursor"] = page["nextCursor"]

    def notification_types(self, entitlement_id: str) -> list[str]:
        return [n["notificationType"] for n in self.notifications(entitlement_id)]


def _magic(value: str | None) -> dict[str, str]:
    return {} if value is None else {"X-Magic-Number": value}


class ContractViolation(AssertionError):
    """A response does not match what the partner spec documents for its operation."""


def check_conforms(response: httpx.Response, operation_id: str) -> dict[str, Any]:
    """Check a partner-API response against the spec; returns the parsed body.

    The status must be documented for the operation, the body must match its schema, the
    responseCode must be one the response lists in `x-response-codes`, and a returned record's
    status must be one of that code's `entitlementStatuses`.
    """
    from bango_resale_spec import compiled, operation_responses

    status = response.status_code
    validator = compiled.partner().by_id[operation_id].responses.get(status)
    if validator is None:
        raise ContractViolation(f"{operation_id}: HTTP {status} is not documented: {response.text}")
    codes = [pair for pair in operation_responses()[operation_id] if pair.http_status == status]
    if not response.headers.get("content-type", "").startswith("application/json"):
        raise ContractViolation(f"{operation_id}: content type {response.headers}")
    body: dict[str, Any] = response.json()
    errors = validator.errors(body)
    if errors:
        raise ContractViolation(f"{operation_id} {status}: {errors}; {body}")
    entry = next((c for c in codes if c.response_code == body["responseCode"]), None)
    if entry is None:
        raise ContractViolation(
            f"{operation_id} {status}: responseCode {body['responseCode']} is not"
            f" among {[c.response_code for c in codes]}"
        )
    statuses = entry.entitlement_statuses
    if statuses and body.get("status") not in statuses:
        raise ContractViolation(
            f"{operation_id} {status} {body['responseCode']}: record status"
            f" {body.get('status')} is not among {list(statuses)}"
        )
    return body
