"""`bango-resale-contract receiver URL`: the command line of the receiver checks (its options
and what it runs; `bango_resale_contract.cli` puts it beside the other commands)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bango_resale_contract._usage import PROG, UsageError
from bango_resale_contract.receiver_checks.credentials import ArgumentError, api_key_header
from bango_resale_contract.receiver_checks.notifications import platform_delivery_timeout
from bango_resale_contract.receiver_checks.runner import check_receiver, checked_arguments
from bango_resale_contract.receiver_checks.verdict import (
    COMMAND,
    JSON_NAME,
    JUNIT_NAME,
    CheckResult,
)

SUMMARY = "play the platform against your notification receiver"
DESCRIPTION = (
    "Send a notification receiver what the platform would (every notification type, repeats,"
    " values a newer platform may send, wrong credentials, bodies that are not notifications)"
    " and judge its answers; exit status 1 when a check fails."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `bango-resale-contract receiver`."""
    parser.add_argument("url", metavar="URL", help="the receiver, e.g. https://…/bango/hooks")
    method = parser.add_mutually_exclusive_group(required=True)
    method.add_argument("--basic", metavar="USER:PASSWORD", help="Basic credentials")
    method.add_argument("--api-key", metavar="KEY", help=f"an {api_key_header()} header")
    method.add_argument("--bearer", metavar="TOKEN", help="a bearer token")
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help=f"where {JSON_NAME} and {JUNIT_NAME} go (default: reports)",
    )


# The command line's name for each argument of `check_receiver`.
_FLAGS = {"url": "URL", "basic": "--basic", "api_key": "--api-key", "bearer_token": "--bearer"}


def run(arguments: argparse.Namespace) -> int:
    """The command: 0 when every check holds, 1 when one fails; a `UsageError` naming the
    flag, before anything is sent, for arguments it cannot use."""
    basic = None
    if arguments.basic is not None:
        user, _, password = arguments.basic.partition(":")
        basic = (user, password)
    try:
        checked_arguments(arguments.url, basic, arguments.api_key, arguments.bearer, None)
    except ArgumentError as error:
        flag = _FLAGS.get(error.argument, error.argument)
        raise UsageError(f"{flag}: {error.message}") from None
    try:
        arguments.report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--report-dir: {error}") from None

    def show(result: CheckResult) -> None:
        print("\n".join(result.lines()), flush=True)

    print(
        f"{PROG} {COMMAND}: sending {arguments.url} what the platform would; it waits"
        f" {platform_delivery_timeout():g} s for each answer",
        flush=True,
    )
    verdict = check_receiver(
        arguments.url,
        basic=basic,
        api_key=arguments.api_key,
        bearer_token=arguments.bearer,
        on_result=show,
    )
    print(verdict.summary())
    for path in verdict.write_reports(arguments.report_dir):
        print(f"report: {path}")
    return 0 if verdict.passed else 1
