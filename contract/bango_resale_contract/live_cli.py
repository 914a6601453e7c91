"""`bango-resale-contract proxy` and `bango-resale-contract audit FILE.har`: judge live or
recorded traffic. Each command's options, and what it runs once they are checked."""

from __future__ import annotations

import argparse
import errno
import socket
from pathlib import Path

import httpx

from bango_resale_contract._usage import UsageError

PROXY_SUMMARY = "forward your integration's traffic and judge every exchange"
PROXY_DESCRIPTION = (
    "Forward every request to the service unchanged and every answer back, and judge each"
    " exchange against the partner spec (shape, responseCode pairs, the status machine). On"
    " exit (Ctrl-C or SIGTERM) the reports go to --report DIR; exit status 1 when anything was"
    " violated or could not be judged."
)
AUDIT_SUMMARY = "judge a recorded HAR file with the proxy's rules"
AUDIT_DESCRIPTION = (
    "Judge the exchanges of a HAR file (a browser's network panel, Redocly's proxy) with the"
    " proxy's rules; exit status 1 when anything was violated."
)


def add_proxy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--upstream",
        required=True,
        metavar="URL",
        help="base URL of the service to forward to, e.g. https://resale.example.com",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port",
        type=int,
        default=8080,
        help="port to listen on (default 8080; 0 picks a free one, named in the first line logged)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="DIR",
        help="write proxy-report.json, proxy-junit.xml and proxy-summary.txt here at exit",
    )
    parser.add_argument(
        "--notify",
        default=None,
        metavar="URL",
        help="your integration's notification receiver: the proxy receives notifications on"
        " /bango-proxy/notifications, judges them and hands them on to URL",
    )
    parser.add_argument(
        "--enforce",
        action="store_true",
        help="answer a violating response with 502 and a JSON envelope naming the rule (for CI)",
    )
    parser.add_argument(
        "--max-judged-bytes",
        type=int,
        default=None,
        metavar="N",
        help="bytes of each body kept to judge, decoded (default: the sandbox's own request"
        " limit); a larger exchange is forwarded and reported as not judged",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="a sandbox configuration file: its [server] section sets the limits the proxy holds"
        " clients to (head size, request deadline, connections) and the bytes judged (default:"
        " the sandbox's packaged configuration)",
    )


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("har", type=Path, metavar="FILE.har", help="the recorded traffic")
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="DIR",
        help="write proxy-report.json, proxy-junit.xml and proxy-summary.txt here",
    )


def _absolute_url(value: str, flag: str) -> str:
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as error:
        raise UsageError(f"{flag}: {value!r} is not a URL ({error})") from error
    if url.scheme not in {"http", "https"} or not url.host:
        raise UsageError(f"{flag}: {value!r} is not an http(s) URL with a host")
    return value


def _check_listening(host: str, port: int) -> None:
    """Bind there for a moment: a busy port or an address not of this machine is a usage
    error now, not a traceback from the server."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
            probe.bind((host, port))
    except OSError as error:
        # A port taken or reserved is the port's fault; anything else (no such address here,
        # a name that does not resolve) the host's.
        flag = "--port" if error.errno in (errno.EADDRINUSE, errno.EACCES) else "--host"
        raise UsageError(f"{flag}: cannot listen on {host}:{port} ({error.strerror})") from error


def _check_report_dir(folder: Path, flag: str) -> None:
    """The reports are written at the end: a folder that cannot be made fails at the start."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"{flag}: {error}") from error


def proxy(arguments: argparse.Namespace) -> int:
    """Serve until stopped, then report: 0 clean, 1 violations or exchanges not judged."""
    from bango_resale_contract.proxy import ValidatingProxy, serve
    from bango_resale_sandbox.config import ConfigError, load_config

    upstream = _absolute_url(arguments.upstream, "--upstream")
    notify = _absolute_url(arguments.notify, "--notify") if arguments.notify else None
    if not 0 <= arguments.port < 65536:
        raise UsageError(f"--port: {arguments.port} is not a TCP port")
    if arguments.max_judged_bytes is not None and arguments.max_judged_bytes < 1:
        raise UsageError(f"--max-judged-bytes: {arguments.max_judged_bytes} is not a positive size")
    try:
        config = load_config(arguments.config)
    except (OSError, ConfigError) as error:
        raise UsageError(f"--config: {error}") from error
    _check_listening(arguments.host, arguments.port)
    if arguments.report is not None:
        _check_report_dir(arguments.report, "--report")
    served = ValidatingProxy(
        upstream,
        enforce=arguments.enforce,
        notify_url=notify,
        max_judged_bytes=arguments.max_judged_bytes or config.max_body_bytes,
        connections=config.limits.max_connections,
    )
    return serve(
        served,
        host=arguments.host,
        port=arguments.port,
        report_dir=arguments.report,
        limits=config.limits,
    )


def audit(arguments: argparse.Namespace) -> int:
    """Judge the file: 0 clean, 1 violations."""
    from bango_resale_contract.har import HarError
    from bango_resale_contract.har import audit as audit_har
    from bango_resale_contract.live_report import summary_table, write_reports

    if not arguments.har.is_file():
        raise UsageError(f"FILE.har: {arguments.har} is not a file")
    if arguments.report is not None:
        _check_report_dir(arguments.report, "--report")
    try:
        judge, found = audit_har(arguments.har)
    except HarError as error:
        raise UsageError(f"FILE.har: {error}") from error
    for violation in found:
        print(violation.line())
    print(summary_table(judge))
    if arguments.report is not None:
        write_reports(judge, arguments.report)
    return 1 if found else 0
