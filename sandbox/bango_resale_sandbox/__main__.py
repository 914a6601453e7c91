"""Command line: `python -m bango_resale_sandbox --host H --port P --db PATH ...`."""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from pathlib import Path

from .config import ConfigError, load_config
from .faults import ENVIRONMENT_VARIABLE, KNOWN_FAULTS, faults_from_environment, parse_faults


def _reseller(value: str) -> tuple[str, str]:
    name, sep, password = value.partition(":")
    if not sep or not name or not password:
        raise argparse.ArgumentTypeError("expected NAME:PASSWORD")
    return name, password


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bango_resale_sandbox",
        description="Run the stateful Bango Resale sandbox (partner API plus sandbox controls).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--db", default="sandbox.sqlite3", help="SQLite file (created if absent)")
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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

    from . import server
    from .app import SandboxApp

    try:
        app = SandboxApp(config, args.db)
    except (sqlite3.Error, OSError) as exc:
        print(f"error: cannot use database {args.db}: {exc}", file=sys.stderr)
        return 2
    print(
        f"Bango Resale sandbox on http://{args.host}:{args.port} (database {args.db};"
        f" resellers: {', '.join(config.resellers)}; controls under /sandbox/)",
        file=sys.stderr,
        flush=True,
    )
    server.run(app, host=args.host, port=args.port, log_level=args.log_level, limits=config.limits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
