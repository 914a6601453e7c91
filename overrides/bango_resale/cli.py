"""`bango-resale`: every operation of the API from a shell, plus the reason table.

    bango-resale create --customer C --merchant BANGO --product BangoMusic
    bango-resale get ENTITLEMENT_ID
    bango-resale query CUSTOMER [--merchant M] [--product P] [--status S]
    bango-resale update ENTITLEMENT_ID [--product P] [--extension-data JSON] ...
    bango-resale suspend ENTITLEMENT_ID --reason ACTIVATION_ROLLBACK/FRAUD_CHECK
    bango-resale resume ENTITLEMENT_ID
    bango-resale cancel ENTITLEMENT_ID --reason CUSTOMER_CANCELLED/NOT_RENEWED
    bango-resale revoke ENTITLEMENT_ID --reason 17
    bango-resale activation-info ENTITLEMENT_ID
    bango-resale reactivate ENTITLEMENT_ID
    bango-resale echo [ID]
    bango-resale reasons
    bango-resale listen [--forward-to URL] [--entitlement ID]     # sandbox only
    bango-resale redeliver NOTIFICATION_ID                        # sandbox only
    bango-resale trigger ENTITLEMENT_ID EVENT [--reason R]        # sandbox only
    bango-resale logs [--follow] [--entitlement ID] [--status S]  # sandbox only

`--json` prints JSON on stdout (errors too); `--quiet` prints only entitlement ids. Connection
settings come from `--base-url`, `--username`, `--password` or the `BANGO_RESALE_*` environment
variables; with no base URL at all, requests go to Bango's production API. These flags, and the
others every command takes, go before or after the command.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import re
import sys
import textwrap
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn, TextIO

import httpx

import bango_resale_spec as spec

from . import _constants, _listen, _sandbox
from ._base_client import resolve_settings
from ._cli_output import ANY_BASE_URL_SETTING, Printer, Result, describe_error, print_reasons
from ._errors import (
    BangoResaleError,
    ConfigurationError,
    InvalidArgumentError,
    TransportError,
)
from ._logging import logger as client_logger
from ._operations import OMITTED
from ._reasons import Reason
from ._retry import RetryPolicy
from ._sync_client import ResaleClient

#: Exit statuses, one per kind of failure, so scripts can tell them apart.
EXIT_OK = 0
#: The platform answered with an error (4xx/5xx, after the retries for transient ones).
EXIT_REFUSED = 1
#: The command line itself is wrong: an unknown flag, a bad value, missing credentials.
EXIT_USAGE = 2
#: No answer at all: the base URL cannot be reached or did not answer in time.
EXIT_UNREACHABLE = 3

EXIT_STATUS_HELP = """\
exit status:
  0  success
  1  the platform refused the request (the error names its HTTP status and responseCode)
  2  usage error: an unknown or invalid flag, a reason not in the table, missing credentials
  3  the platform could not be reached or did not answer in time
"""


class UsageError(Exception):
    """A flag's value is unusable; the message names the flag."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is reported like every other error (JSON under --json)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _common_options(*, after_command: bool) -> argparse.ArgumentParser:
    """The flags every command takes, accepted before the command and after it.

    argparse copies every value a subcommand's parser holds over the top level's, defaults
    included, so after the command the flags default to SUPPRESS (a flag given before the
    command keeps its value unless given again), and `--header` collects into a list of its
    own that `parse_arguments` appends to the one given before.
    """
    unset: Any = argparse.SUPPRESS
    common = argparse.ArgumentParser(
        add_help=False, argument_default=unset if after_command else None
    )
    off = unset if after_command else False
    output = common.add_argument_group("output")
    output.add_argument(
        "--json",
        action="store_true",
        default=off,
        help="print JSON on stdout (errors too, as JSON)",
    )
    output.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=off,
        help="print only the entitlement id(s) (listen: the notification ids)",
    )
    connection = common.add_argument_group("connection")
    connection.add_argument(
        "--base-url",
        help=f"API base URL (default: ${_constants.ENV_BASE_URL}, else Bango production "
        f"{_constants.DEFAULT_BASE_URL})",
    )
    connection.add_argument(
        "--username", help=f"reseller user (default: ${_constants.ENV_USERNAME})"
    )
    connection.add_argument(
        "--password", help=f"reseller password (default: ${_constants.ENV_PASSWORD})"
    )
    connection.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="per-attempt timeout (default: 10)"
    )
    connection.add_argument(
        "--no-retry",
        action="store_true",
        default=off,
        help="fail on the first transient error instead of retrying up to 4 times",
    )
    request = common.add_argument_group("request")
    request.add_argument(
        "--header",
        action="append",
        dest="headers_after_command" if after_command else "header",
        default=unset if after_command else [],
        metavar="NAME:VALUE",
        help="extra request header, e.g. X-Magic-Number:CANCEL_REQUEST_RETURNS_ACCEPTED",
    )
    request.add_argument("--request-id", help="X-RequestIdentifier to send (default: generated)")
    return common


def _add(
    commands: Any, name: str, summary: str, details: str, common: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        parents=[common],
        help=summary,
        description=textwrap.fill(f"{summary[0].upper()}{summary[1:]}. {details}".strip(), 88),
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _entitlement_operand(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("entitlement_id", metavar="ENTITLEMENT_ID")


def _reason_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reason",
        required=True,
        help="CATEGORY/CODE or a Bango index (see `bango-resale reasons`)",
    )
    parser.add_argument("--description", help="reason text (default: the table's sample text)")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; `bango-resale COMMAND --help` describes each command."""
    common = _common_options(after_command=True)
    parser = _Parser(
        prog="bango-resale",
        parents=[_common_options(after_command=False)],
        description=textwrap.fill(
            "Manage Bango Resale entitlements from the shell. Without --base-url or "
            f"${_constants.ENV_BASE_URL}, commands talk to Bango production "
            f"({_constants.DEFAULT_BASE_URL}).",
            88,
        ),
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_constants.VERSION)
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    create = _add(
        commands,
        "create",
        "create an entitlement",
        "The answer says whether it is active, pending, or waits for the customer (a URL to "
        "send them to).",
        common,
    )
    create.add_argument("--customer", required=True, help="your id for the customer")
    create.add_argument("--merchant", required=True, help="merchantAccountKey, e.g. BANGO")
    create.add_argument("--product", required=True, help="productKey, e.g. BangoMusic")
    create.add_argument("--offer", help="offerKey")
    create.add_argument("--entitlement-id", help="the id to give it (default: Bango picks one)")
    create.add_argument("--notification-url", help="where Bango sends this entitlement's changes")
    create.add_argument("--expires", metavar="TIMESTAMP", help="dateExpiry, ISO 8601 with zone")
    create.add_argument("--extension-data", metavar="JSON", help="a JSON object to store with it")

    get = _add(commands, "get", "show an entitlement", "", common)
    _entitlement_operand(get)

    query = _add(
        commands,
        "query",
        "list a customer's entitlements",
        "Narrow the list with --merchant, --product and --status.",
        common,
    )
    query.add_argument("customer", metavar="CUSTOMER")
    query.add_argument("--merchant", help="only this merchantAccountKey")
    query.add_argument("--product", help="only this productKey")
    query.add_argument("--status", help="only this status, e.g. ACTIVE")

    update = _add(
        commands,
        "update",
        "change an entitlement's product, offer, expiry, notification URL, customer or data",
        "Fields left out stay as they are. Use suspend/resume to pause and restore access.",
        common,
    )
    _entitlement_operand(update)
    update.add_argument("--product", help="move to this productKey")
    update.add_argument("--customer", help="a new customer id")
    offer = update.add_mutually_exclusive_group()
    offer.add_argument("--offer", help="a new offerKey")
    offer.add_argument("--clear-offer", action="store_true", help="remove the offerKey")
    url = update.add_mutually_exclusive_group()
    url.add_argument("--notification-url", help="a new notification URL")
    url.add_argument(
        "--clear-notification-url", action="store_true", help="remove the notification URL"
    )
    expiry = update.add_mutually_exclusive_group()
    expiry.add_argument("--expires", metavar="TIMESTAMP", help="a new dateExpiry (ISO 8601)")
    expiry.add_argument("--clear-expiry", action="store_true", help="remove the dateExpiry")
    update.add_argument(
        "--extension-data",
        metavar="JSON",
        help='a JSON object merged key by key into extensionData ({"key": null} removes key)',
    )

    suspend = _add(
        commands, "suspend", "pause access", "`bango-resale resume` restores it.", common
    )
    _entitlement_operand(suspend)
    _reason_options(suspend)

    resume = _add(commands, "resume", "restore a suspended entitlement's access", "", common)
    _entitlement_operand(resume)

    for name, summary, details in (
        (
            "cancel",
            "end an entitlement when its paid period ends",
            "Some products end at once; the answer shows the status reached.",
        ),
        ("revoke", "end an entitlement's access now", ""),
    ):
        command = _add(commands, name, summary, details, common)
        _entitlement_operand(command)
        _reason_options(command)
        command.add_argument(
            "--custom-data", metavar="JSON", help="a JSON object of your own properties to store"
        )

    activation = _add(
        commands,
        "activation-info",
        "show how a pending entitlement is activated",
        "Prints a fresh sign-up URL for the customer, or the activation code.",
        common,
    )
    _entitlement_operand(activation)

    reactivate = _add(
        commands,
        "reactivate",
        "restore a cancelled entitlement (deprecated by Bango)",
        "Bango ended support for this on 1 June 2019; create a new entitlement instead.",
        common,
    )
    _entitlement_operand(reactivate)

    echo = _add(
        commands,
        "echo",
        "check the connection and the credentials",
        "The platform returns ID unchanged.",
        common,
    )
    echo.add_argument("echo_id", nargs="?", default="ping", metavar="ID")

    _add(
        commands,
        "reasons",
        "list Bango's cancel, revoke and suspend reasons",
        "Works offline: the table ships in the package.",
        common,
    )

    listen = _add(
        commands,
        "listen",
        "print a sandbox's notifications as they are sent, and forward them to your receiver",
        "Follows the sandbox's notification feed (a sandbox control, not a partner API "
        "operation). A shared sandbox cannot reach your machine: with --forward-to, each "
        "notification's exact body is POSTed to your receiver with the headers the sandbox "
        "sends (your notification credentials), and the receiver's answer is printed. "
        "--json prints one JSON object per line. Stop with Ctrl-C.",
        common,
    )
    listen.add_argument(
        "--forward-to", metavar="URL", help="your receiver, e.g. http://localhost:9000/hooks"
    )
    listen.add_argument("--entitlement", metavar="ID", help="only this entitlement's notifications")
    listen.add_argument(
        "--from-start",
        action="store_true",
        help="first print every notification already sent (default: only new ones)",
    )
    listen.add_argument(
        "--count", type=int, metavar="N", help="stop after N notifications (default: never)"
    )
    listen.add_argument(
        "--poll-interval",
        type=float,
        default=_listen.DEFAULT_POLL_SECONDS,
        metavar="SECONDS",
        help=f"how often to look for new notifications (default: {_listen.DEFAULT_POLL_SECONDS})",
    )

    redeliver = _add(
        commands,
        "redeliver",
        "ask a sandbox to send a notification again",
        "Same notificationId and body; `bango-resale listen` sees it again (a sandbox control).",
        common,
    )
    redeliver.add_argument("notification_id", metavar="NOTIFICATION_ID")

    events = ", ".join(spec.status_machine().events())
    trigger = _add(
        commands,
        "trigger",
        "make a platform event happen to an entitlement in a sandbox",
        "Fires the status machine's row for EVENT from the entitlement's status, with its "
        f"notifications, as the merchant or the platform would (a sandbox control). EVENT is "
        f"one of {events}; the sandbox refuses one the status does not allow, naming those it "
        "does.",
        common,
    )
    _entitlement_operand(trigger)
    trigger.add_argument("event", metavar="EVENT")
    trigger.add_argument(
        "--reason",
        help="with MERCHANT_CANCELLED or MERCHANT_REVOKED: the merchant's reason, "
        "CATEGORY/CODE or a Bango index",
    )
    trigger.add_argument("--description", help="the reason's text (default: the table's)")

    logs = _add(
        commands,
        "logs",
        "print the requests a sandbox answered for you, newest last",
        "Reads the sandbox's request log (a sandbox control): every partner API request your "
        "credentials made, and every sandbox control that changed something, with the answer's "
        "status and responseCode, its X-RequestIdentifier and the time it took. --follow keeps "
        "printing new ones as they come (Ctrl-C to stop). --json prints one JSON object per "
        "line, each entry as the sandbox gives it.",
        common,
    )
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new requests")
    logs.add_argument("--entitlement", metavar="ID", help="only requests that named it")
    logs.add_argument("--operation", metavar="OPERATION_ID", help="only this operation")
    logs.add_argument(
        "--status", metavar="STATUS", help="only this HTTP status (409) or class (4xx)"
    )
    logs.add_argument(
        "--limit",
        type=int,
        default=20,
        metavar="N",
        help="without --follow: how many of the newest requests (default: 20, at most 1000)",
    )
    logs.add_argument(
        "--count", type=int, metavar="N", help="with --follow: stop after N (default: never)"
    )
    logs.add_argument(
        "--poll-interval",
        type=float,
        default=_listen.DEFAULT_POLL_SECONDS,
        metavar="SECONDS",
        help=f"how often to look for new requests (default: {_listen.DEFAULT_POLL_SECONDS})",
    )
    return parser


# --- Reading flag values ---------------------------------------------------------------------


def _headers(values: Sequence[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, separator, content = value.partition(":")
        if not separator or not name.strip():
            raise UsageError(f"--header: {value!r} is not NAME:VALUE")
        headers[name.strip()] = content.strip()
    return headers


def _json_object(flag: str, text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{flag}: not valid JSON ({error.msg} at character {error.pos})") from None
    if not isinstance(value, dict):
        raise UsageError(f'{flag}: must be a JSON object such as \'{{"plan": "family"}}\'')
    return value


def _timestamp(flag: str, text: str | None) -> datetime.datetime | None:
    if text is None:
        return None
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag}: {text!r} is not an ISO 8601 timestamp") from None
    if value.tzinfo is None:
        raise UsageError(f"{flag}: {text!r} needs a time zone, e.g. 2030-01-31T00:00:00Z")
    return value


# --- Running a command -------------------------------------------------------------------------


def _call(client: ResaleClient, args: argparse.Namespace) -> Result:
    options: dict[str, Any] = {
        "extra_headers": _headers(args.header),
        "request_id": args.request_id,
    }
    if args.no_retry:
        options["retry"] = RetryPolicy.never()
    command = args.command
    if command == "create":
        return client.create(
            customer_identifier=args.customer,
            merchant_account_key=args.merchant,
            product_key=args.product,
            offer_key=args.offer,
            entitlement_id=args.entitlement_id,
            notification_url=args.notification_url,
            date_expiry=_timestamp("--expires", args.expires),
            extension_data=_json_object("--extension-data", args.extension_data),
            **options,
        )
    if command == "get":
        return client.get(args.entitlement_id, **options)
    if command == "query":
        return client.query(
            args.customer,
            merchant_account_key=args.merchant,
            product_key=args.product,
            status=args.status,
            **options,
        )
    if command == "update":
        return client.update(args.entitlement_id, **_update_changes(args), **options)
    if command == "suspend":
        # The reason text goes to the client as typed: one reading of it (`Reason.parse`).
        return client.suspend(
            args.entitlement_id, args.reason, description=args.description, **options
        )
    if command == "resume":
        return client.resume(args.entitlement_id, **options)
    if command in {"cancel", "revoke"}:
        return client.terminate(
            args.entitlement_id,
            args.reason,
            immediate=command == "revoke",
            description=args.description,
            custom_data=_json_object("--custom-data", args.custom_data),
            **options,
        )
    if command == "activation-info":
        return client.activation_info(args.entitlement_id, **options)
    if command == "reactivate":
        return client.reactivate(args.entitlement_id, **options)
    return client.echo(args.echo_id, **options)


def _update_changes(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {
        "product_key": args.product if args.product is not None else OMITTED,
        "customer_identifier": args.customer if args.customer is not None else OMITTED,
        "offer_key": None if args.clear_offer else (args.offer or OMITTED),
        "notification_url": (
            None if args.clear_notification_url else (args.notification_url or OMITTED)
        ),
        "date_expiry": (
            None if args.clear_expiry else (_timestamp("--expires", args.expires) or OMITTED)
        ),
    }
    data = _json_object("--extension-data", args.extension_data)
    changes["extension_data"] = OMITTED if data is None else data
    if all(value is OMITTED for value in changes.values()):
        raise UsageError(
            "update: nothing to change; give at least one of --product, --customer, --offer, "
            "--clear-offer, --notification-url, --clear-notification-url, --expires, "
            "--clear-expiry, --extension-data"
        )
    return changes


def _connection(args: argparse.Namespace) -> tuple[str | None, str, str]:
    """The base URL and credentials, or a usage error naming the flags that set them."""
    username = args.username or os.environ.get(_constants.ENV_USERNAME)
    password = args.password or os.environ.get(_constants.ENV_PASSWORD)
    missing = [
        f"--{name} (or ${variable})"
        for name, variable, value in (
            ("username", _constants.ENV_USERNAME, username),
            ("password", _constants.ENV_PASSWORD, password),
        )
        if not value
    ]
    if missing:
        raise UsageError(f"reseller credentials are missing: give {' and '.join(missing)}")
    assert username is not None and password is not None
    return args.base_url, username, password


def base_url_setting(args: argparse.Namespace) -> str:
    """What the user set the base URL with, as they typed it; both when they set neither."""
    if args.base_url:
        return "--base-url"
    if (os.environ.get(_constants.ENV_BASE_URL) or "").strip():
        return f"${_constants.ENV_BASE_URL}"
    return ANY_BASE_URL_SETTING


def exit_status_for(error: BaseException) -> int:
    if isinstance(error, UsageError | InvalidArgumentError | ConfigurationError):
        return EXIT_USAGE
    if isinstance(error, TransportError):
        return EXIT_UNREACHABLE
    return EXIT_REFUSED


@contextmanager
def _shell_notices(printer: Printer) -> Iterator[None]:
    """Warnings and retry notes as one `warning:` line each on stderr, not Python's format."""

    class _ToPrinter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            printer.warning(record.getMessage())

    handler = _ToPrinter(logging.WARNING)
    client_logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield
            finally:
                for warning in caught:
                    printer.warning(str(warning.message))
    finally:
        client_logger.removeHandler(handler)


# --- Entry point -------------------------------------------------------------------------------


def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the CLI; returns the exit status (the console script exits with it)."""
    try:
        return _run(argv, stdout or sys.stdout, stderr or sys.stderr)
    except BrokenPipeError:
        # The reader went away (`bango-resale reasons | head`): not an error. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _run(argv: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Known before parsing, so that even a usage error comes out as JSON when asked for.
    printer = Printer(out, err, as_json="--json" in arguments, quiet=False)
    command: str | None = None
    try:
        args = parse_arguments(arguments)
        command = args.command
        printer.quiet = args.quiet
        printer.base_url_setting = base_url_setting(args)
        if args.json and args.quiet:
            raise UsageError("--json and --quiet cannot be used together")
        with _shell_notices(printer):
            if command == "reasons":
                print_reasons(printer)
                return EXIT_OK
            base_url, username, password = _connection(args)
            if command in SANDBOX_COMMANDS:
                return _sandbox_command(args, printer, base_url, username, password)
            with ResaleClient(base_url, username, password, timeout=args.timeout) as client:
                result = _call(client, args)
    except (UsageError, BangoResaleError) as error:
        status = exit_status_for(error)
        printer.error(error, status, command)
        return status
    printer.result(result)
    return EXIT_OK


def parse_arguments(arguments: Sequence[str]) -> argparse.Namespace:
    """The command line read, flags given before the command merged with those after it."""
    args = build_parser().parse_args(arguments)
    args.header = [*args.header, *getattr(args, "headers_after_command", [])]
    return args


SANDBOX_COMMANDS = frozenset({"listen", "redeliver", "trigger", "logs"})
# What --status of `logs` accepts: an HTTP status, or a class of them.
_STATUS_FILTER = re.compile(r"[1-5]([0-9]{2}|xx)")
# The events that may come with the merchant's reason.
_EVENTS_WITH_REASON = ("MERCHANT_CANCELLED", "MERCHANT_REVOKED")


def _sandbox_command(
    args: argparse.Namespace, printer: Printer, base_url: str | None, username: str, password: str
) -> int:
    settings = resolve_settings(base_url, username, password)
    timeout = None if args.timeout is None else httpx.Timeout(args.timeout)
    controls = _sandbox.SandboxControls(
        settings.base_url, settings.authorization, timeout=timeout, headers=_headers(args.header)
    )
    try:
        if args.command == "redeliver":
            printer.redelivered(controls.redeliver(args.notification_id))
            return EXIT_OK
        if args.command == "trigger":
            return _trigger_command(args, printer, controls)
        if args.command == "logs":
            return _logs_command(args, printer, controls)
        return _listen_command(args, printer, controls)
    finally:
        controls.close()


def _trigger_command(
    args: argparse.Namespace, printer: Printer, controls: _sandbox.SandboxControls
) -> int:
    events = spec.status_machine().events()
    event = args.event.strip().upper()
    if event not in events:
        raise UsageError(
            f"EVENT: {args.event!r} is not an event of the status machine; the events are"
            f" {', '.join(events)}"
        )
    reason = None
    if args.reason is not None or args.description is not None:
        if event not in _EVENTS_WITH_REASON:
            raise UsageError(
                f"--reason: only {' and '.join(_EVENTS_WITH_REASON)} take a reason, not {event}"
            )
        if args.reason is None:
            raise UsageError("--description: give --reason too")
        chosen = Reason.parse(args.reason)  # refused with a message naming --reason
        reason = {
            "reasonCategory": chosen.category,
            "reasonCode": chosen.code,
            "reasonDescription": args.description or chosen.description,
        }
    printer.event_raised(controls.raise_event(args.entitlement_id, event, reason))
    return EXIT_OK


def _logs_command(
    args: argparse.Namespace, printer: Printer, controls: _sandbox.SandboxControls
) -> int:
    if args.status is not None and not _STATUS_FILTER.fullmatch(args.status):
        raise UsageError(f"--status: {args.status!r} is not an HTTP status (409) or class (4xx)")
    if not 1 <= args.limit <= 1000:
        raise UsageError("--limit: must be from 1 to 1000")
    if args.count is not None and args.count < 1:
        raise UsageError("--count: must be 1 or more")
    if args.poll_interval <= 0:
        raise UsageError("--poll-interval: must be more than 0 seconds")
    filters = {
        "entitlementId": args.entitlement,
        "operationId": args.operation,
        "status": args.status,
    }
    if not args.follow:
        page = controls.requests(**filters, limit=args.limit)
        for entry in reversed(page.requests):  # oldest first, the newest last, as a tail
            printer.logged_request(entry)
        if not page.requests and not printer.as_json:
            printer.line("no request matches", to_err=True)
        return EXIT_OK

    def on_ready(cursor: int) -> None:
        printer.line(
            f"Ready: following the requests {controls.base_url} answers for you"
            f" (after cursor {cursor}; Ctrl-C to stop)",
            to_err=True,
        )
        printer.err.flush()

    try:
        _listen.tail_requests(
            controls,
            filters=filters,
            count=args.count,
            poll_seconds=args.poll_interval,
            on_entry=printer.logged_request,
            on_ready=on_ready,
            on_transient=lambda error: printer.warning(
                f"{describe_error(error, 'logs', printer.base_url_setting)}; trying again"
            ),
        )
    except KeyboardInterrupt:
        printer.line("stopped", to_err=True)
    return EXIT_OK


def _listen_command(
    args: argparse.Namespace, printer: Printer, controls: _sandbox.SandboxControls
) -> int:
    forward_to = args.forward_to
    if forward_to is not None and not re.match(r"^https?://[^/\s]+", forward_to):
        raise UsageError(f"--forward-to: {forward_to!r} is not an http:// or https:// URL")
    if args.count is not None and args.count < 1:
        raise UsageError("--count: must be 1 or more")
    if args.poll_interval <= 0:
        raise UsageError("--poll-interval: must be more than 0 seconds")

    def on_ready(cursor: int) -> None:
        target = f", forwarding to {forward_to}" if forward_to else ""
        only = f" of entitlement {args.entitlement}" if args.entitlement else ""
        printer.line(
            f"Ready: following the notifications{only} sent by {controls.base_url}{target}"
            f" (from cursor {cursor}; Ctrl-C to stop)",
            to_err=True,
        )
        printer.err.flush()

    def on_entry(entry: _sandbox.FeedEntry, page: _sandbox.FeedPage) -> None:
        answer = _listen.forward(entry, page.headers, forward_to) if forward_to else None
        printer.notification(entry, answer)

    try:
        _listen.follow(
            controls,
            entitlement_id=args.entitlement,
            from_start=args.from_start,
            count=args.count,
            poll_seconds=args.poll_interval,
            on_entry=on_entry,
            on_ready=on_ready,
            on_transient=lambda error: printer.warning(
                f"{describe_error(error, 'listen', printer.base_url_setting)}; trying again"
            ),
        )
    except KeyboardInterrupt:
        printer.line("stopped", to_err=True)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
