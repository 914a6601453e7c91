"""Command line: `bango-resale-sandbox --host H --port P --db PATH ...` (or `python -m ...`)."""

from __future__ import annotations

import argparse
import logging
import os
import re
import socket
import sqlite3
import sys
from pathlib import Path

from . import EXTRA_HINT, MissingExtraError, load_app_class
from .config import ConfigError, load_config
from .faults import ENVIRONMENT_VARIABLE, KNOWN_FAULTS, faults_from_environment, parse_faults

# The line that tells where the sandbox listens, once it does (with --port 0, the port the
# system picked): launchers read the address from it (`announced_url`).
ANNOUNCEMENT = (
    "Bango Resale sandbox on {url} (database {database}; resellers: {resellers};"
    " controls under /sandbox/)"
)
_ANNOUNCED = re.compile(r"^Bango Resale sandbox on (http://\S+) \(database ", re.MULTILINE)


def announced_url(output: str) -> str | None:
    """The address a sandbox announced in its output, once it has."""
    found = _ANNOUNCED.search(output)
    return found.group(1) if found else None


def _reseller(value: str) -> tuple[str, str]:
    name, sep, password = value.partition(":")
    if not sep or not name or not password:
        raise argparse.ArgumentTypeError("expected NAME:PASSWORD")
    return name, password


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bango-resale-sandbox",
        description="Run the stateful Bango Resale sandbox (partner API plus sandbox controls).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to listen on (0: one the system picks, named in the line announcing the"
        " sandbox)",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("BANGO_SANDBOX_DB", "sandbox.sqlite3"),
        help="SQLite file (created if absent), or postgresql://user@host:port/dbname[?schema=NAME]"
        " for a sandbox that several instances share (default: $BANGO_SANDBOX_DB or"
        " sandbox.sqlite3)",
    )
    parser.add_argument(
        "--reseller",
        action="append",
        type=_reseller,
        default=[],
        metavar="NAME:PASSWORD",
        help="a reseller's credentials (repeatable); replaces the configured resellers",
    )
    parser.add_argument("--config", type=Path, help="TOML configuration (default: packaged)")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help=f"switch on a deliberate fault (repeatable; also ${ENVIRONMENT_VARIABLE}):"
        f" {', '.join(sorted(KNOWN_FAULTS))}",
    )
    parser.add_argument(
        "--no-login-throttle",
        action="store_true",
        help="never throttle failed logins (for test harnesses that send wrong credentials on"
        " purpose, such as the contract suite)",
    )
    parser.add_argument("--log-level", default="warning", help="uvicorn/sandbox log level")
    return parser


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(2048)
    except OSError:
        listener.close()
        raise
    listener.set_inheritable(True)
    return listener


def _database_error() -> type[Exception]:
    """psycopg's base error when it is installed (only a PostgreSQL store needs it)."""
    try:
        import psycopg
    except ModuleNotFoundError:
        return sqlite3.Error
    return psycopg.Error


def _shown(database: str) -> str:
    """The database as it may be printed: a URL's password replaced by ***."""
    return re.sub(r"^(postgres(?:ql)?://[^:/@]*):[^@/]*@", r"\1:***@", database)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        app_class = load_app_class()
        from . import server
    except ModuleNotFoundError as error:
        missing = (
            error if isinstance(error, MissingExtraError) else f"uvicorn is missing: {EXTRA_HINT}"
        )
        print(f"error: {missing}", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config)
        faults = parse_faults(args.fault) | faults_from_environment()
    except (ConfigError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.reseller:
        config = config.with_resellers(args.reseller)
    config = config.with_faults(faults)
    if args.no_login_throttle:
        config = config.without_login_throttle()
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if faults:
        logging.getLogger("bango_resale_sandbox").warning(
            "deliberate faults switched on: %s", ", ".join(sorted(faults))
        )

    # Bind before announcing anything: a busy port must fail with one line, not after a
    # "listening" line that is not true.
    try:
        listener = _listen(args.host, args.port)
    except OSError as error:
        # Named as the user gives the port: `make sandbox` sets PORT=, and says so.
        port_option = os.environ.get("BANGO_SANDBOX_PORT_OPTION") or "--port"
        print(
            f"error: cannot listen on {args.host}:{args.port}: {error.strerror or error}"
            f" (pick another {port_option})",
            file=sys.stderr,
        )
        return 2
    host, port = listener.getsockname()[:2]
    config = config.serving_on(host, port)
    try:
        app = app_class(config, args.db)
    except (sqlite3.Error, OSError, ValueError, _database_error()) as exc:
        listener.close()
        reason = " ".join(str(exc).split())  # psycopg's messages span lines
        print(f"error: cannot use database {_shown(args.db)}: {reason}", file=sys.stderr)
        return 2
    announcement = ANNOUNCEMENT.format(
        url=f"http://{_url_host(host)}:{port}",
        database=_shown(args.db),
        resellers=", ".join(config.resellers),
    )
    print(announcement, file=sys.stderr, flush=True)
    server.run(app, sockets=[listener], log_level=args.log_level, limits=config.limits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
