"""The service a run targets: a local sandbox started for it (a port the system picks, a fresh
database, faults), or any URL with its credentials, as the command lines take them."""

from __future__ import annotations

import argparse
import ipaddress
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from bango_resale_contract import sandbox_data

STARTUP_TIMEOUT_SECONDS = 30.0


@contextmanager
def running_sandbox(faults: Sequence[str] = (), log_path: Path | None = None) -> Iterator[str]:
    """A sandbox of its own on a port the system picks, with a new database; yield its URL.

    Started by the sandbox's public launcher (`bango_resale_sandbox.testing.SandboxProcess`,
    the one every test uses): `bango-resale-sandbox` in a child process, its output in
    `log_path`."""
    # Imported here: the sandbox's dependencies come with the contract extra, which a
    # command line checks for before it starts anything (a client-only install gets a hint).
    from bango_resale_sandbox.testing import SandboxProcess

    with tempfile.TemporaryDirectory(prefix="bango-contract-") as scratch:
        log_target = log_path or Path(scratch) / "sandbox.log"
        log_target.unlink(missing_ok=True)  # this run's output only
        sandbox = SandboxProcess(
            Path(scratch) / "sandbox.sqlite3",
            faults=faults,
            # Schemathesis sends wrong credentials on purpose, many times: not an attack.
            login_throttle=False,
            log_path=log_target,
        )
        sandbox.start(timeout=STARTUP_TIMEOUT_SECONDS)  # a RuntimeError with the log's end
        try:
            yield sandbox.base_url
        finally:
            sandbox.stop()


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
