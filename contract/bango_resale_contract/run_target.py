"""The service a run targets: a local sandbox started for it (free port, fresh database,
faults), or any URL with its credentials, as the command lines take them."""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bango_resale_contract import sandbox_data

STARTUP_TIMEOUT_SECONDS = 30.0
HEALTH_PATH = "/sandbox/health"


def _free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll the service until it answers HTTP at all; raise if it dies or never does."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the sandbox exited with code {process.returncode} on start-up")
        try:
            httpx.get(base_url + HEALTH_PATH, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(
        f"the service at {base_url} did not answer within {STARTUP_TIMEOUT_SECONDS}s"
    )


@contextmanager
def running_sandbox(faults: Sequence[str] = (), log_path: Path | None = None) -> Iterator[str]:
    """Run `python -m bango_resale_sandbox` on a free port with a new database; yield its URL."""
    with tempfile.TemporaryDirectory(prefix="bango-contract-") as scratch:
        port = _free_port()
        command = [
            sys.executable,
            "-m",
            "bango_resale_sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            str(Path(scratch) / "sandbox.sqlite3"),
            # Schemathesis sends wrong credentials on purpose, many times: not an attack.
            "--no-login-throttle",
        ]
        for fault in faults:
            command += ["--fault", fault]
        environment = dict(os.environ)
        # Faults come only from the arguments above, never from the caller's environment.
        environment.pop("BANGO_SANDBOX_FAULTS", None)
        log_target = log_path or Path(scratch) / "sandbox.log"
        log_target.parent.mkdir(parents=True, exist_ok=True)
        with open(log_target, "wb") as log:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=environment
            )
            base_url = f"http://127.0.0.1:{port}"
            try:
                _wait_until_up(base_url, process)
                yield base_url
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def is_loopback(url: str) -> bool:
    """Whether the URL names this machine's loopback (`localhost`, 127.0.0.0/8, ::1): a
    service there can reach a receiver listening on loopback too."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """--url, --user, --password and --fault, the same for every command line here."""
    parser.add_argument(
        "--url", default="", help="base URL of the service to test (default: start the sandbox)"
    )
    parser.add_argument("--user", default="", help="Basic-auth user (only used with --url)")
    parser.add_argument("--password", default="", help="Basic-auth password (with --url)")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        help="switch a deliberate sandbox fault on (repeatable; only without --url)",
    )


def target_from_arguments(arguments: argparse.Namespace) -> tuple[str | None, str, str]:
    """(url or None for the sandbox, user, password); ValueError for faults with a URL."""
    url = str(arguments.url).strip() or None
    if url is None:
        # `make` always passes --user/--password, and USER is the login name in most shells:
        # credentials given without a URL are not meant for the sandbox.
        return None, sandbox_data.DEMO_USER, sandbox_data.DEMO_PASSWORD
    if arguments.fault:
        raise ValueError("--fault only applies to the sandbox this command starts")
    return url, str(arguments.user), str(arguments.password)
