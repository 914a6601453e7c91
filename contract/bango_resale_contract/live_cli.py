"""`bango-resale-contract proxy ...` and `bango-resale-contract audit FILE.har`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

COMMANDS = ("proxy", "audit")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bango-resale-contract",
        description="Judge live or recorded traffic against the partner spec.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    proxy = commands.add_parser(
        "proxy", help="forward traffic to a service and judge every exchange"
    )
    proxy.add_argument("--upstream", required=True, help="base URL of the service, e.g. https://…")
    proxy.add_argument("--host", default="127.0.0.1", help="address to listen on")
    proxy.add_argument(
        "--port",
        type=int,
        default=8080,
        help="port to listen on (default 8080; 0 picks a free one, named in the first line logged)",
    )
    proxy.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="DIR",
        help="write JSON, JUnit XML and the summary table here at exit",
    )
    proxy.add_argument(
        "--notify",
        default=None,
        metavar="URL",
        help="your integration's"
        " notification receiver: the proxy receives notifications on"
        " /bango-proxy/notifications, judges them and hands them on to URL",
    )
    proxy.add_argument(
        "--enforce",
        action="store_true",
        help="answer a violating response with 502 and a JSON envelope naming the rule (for CI)",
    )
    proxy.add_argument(
        "--max-judged-bytes",
        type=int,
        default=None,
        metavar="N",
        help="bytes of each body kept to judge, decoded (default: the sandbox's own request"
        " limit); a larger exchange is forwarded and reported as not judged",
    )
    proxy.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="a sandbox configuration file: its [server] section sets the limits the proxy holds"
        " clients to (head size, request deadline, connections) and the bytes judged (default:"
        " the sandbox's packaged configuration)",
    )
    audit = commands.add_parser("audit", help="judge a recorded HAR file offline")
    audit.add_argument("har", type=Path, metavar="FILE.har")
    audit.add_argument("--report", type=Path, default=None, metavar="DIR")
    return parser


def _absolute_url(value: str, flag: str) -> str:
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as error:
        raise ValueError(f"{flag}: {value!r} is not a URL ({error})") from error
    if url.scheme not in {"http", "https"} or not url.host:
        raise ValueError(f"{flag}: {value!r} is not an http(s) URL with a host")
    return value


def main(argv: Sequence[str]) -> int:
    arguments = _parser().parse_args(argv)
    from bango_resale_contract.live_report import summary_table, write_reports

    if arguments.command == "audit":
        from bango_resale_contract.har import HarError, audit

        try:
            judge, found = audit(arguments.har)
        except HarError as error:
            print(f"FILE.har: {error}", file=sys.stderr)
            return 2
        for violation in found:
            print(violation.line())
        print(summary_table(judge))
        if arguments.report is not None:
            write_reports(judge, arguments.report)
        return 1 if found else 0
    from bango_resale_contract.proxy import ValidatingProxy, serve
    from bango_resale_sandbox.config import ConfigError, load_config

    try:
        upstream = _absolute_url(arguments.upstream, "--upstream")
        notify = _absolute_url(arguments.notify, "--notify") if arguments.notify else None
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    if not 0 <= arguments.port < 65536:
        print(f"--port: {arguments.port} is not a TCP port", file=sys.stderr)
        return 2
    if arguments.max_judged_bytes is not None and arguments.max_judged_bytes < 1:
        print(
            f"--max-judged-bytes: {arguments.max_judged_bytes} is not a positive size",
            file=sys.stderr,
        )
        return 2
    try:
        config = load_config(arguments.config)
    except (OSError, ConfigError) as error:
        print(f"--config: {error}", file=sys.stderr)
        return 2
    proxy = ValidatingProxy(
        upstream,
        enforce=arguments.enforce,
        notify_url=notify,
        max_judged_bytes=arguments.max_judged_bytes or config.max_body_bytes,
        connections=config.limits.max_connections,
    )
    return serve(
        proxy,
        host=arguments.host,
        port=arguments.port,
        report_dir=arguments.report,
        limits=config.limits,
    )
