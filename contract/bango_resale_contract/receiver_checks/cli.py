"""`bango-resale-contract receiver URL`: the command line of the receiver checks."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from bango_resale_contract.receiver_checks.credentials import ArgumentError, api_key_header
from bango_resale_contract.receiver_checks.notifications import platform_delivery_timeout
from bango_resale_contract.receiver_checks.runner import check_receiver, checked_arguments
from bango_resale_contract.receiver_checks.verdict import (
    COMMAND,
    JSON_NAME,
    JUNIT_NAME,
    CheckResult,
)


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line naming the flag (argparse prints the usage first)."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _parser() -> _Parser:
    parser = _Parser(
        prog=f"bango-resale-contract {COMMAND}",
        description="Send a notification receiver what the platform would, and judge its answers.",
    )
    parser.add_argument("url", metavar="URL", help="the receiver, e.g. https://…/bango/hooks")
    method = parser.add_mutually_exclusive_group(required=True)
    method.add_argument("--basic", metavar="USER:PASSWORD", help="Basic credentials")
    method.add_argument("--api-key", metavar="KEY", help=f"an {api_key_header()} header")
    method.add_argument("--bearer", metavar="TOKEN", help="a bearer token")
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports"),
        help=f"where {JSON_NAME} and {JUNIT_NAME} go (default: reports)",
    )
    return parser


# The command line's name for each argument of `check_receiver`.
_FLAGS = {"url": "URL", "basic": "--basic", "api_key": "--api-key", "bearer_token": "--bearer"}


def _usage(argv: Sequence[str]) -> tuple[argparse.Namespace, tuple[str, str] | None]:
    arguments = _parser().parse_args(argv)
    basic = None
    if arguments.basic is not None:
        user, _, password = arguments.basic.partition(":")
        basic = (user, password)
    try:
        checked_arguments(arguments.url, basic, arguments.api_key, arguments.bearer, None)
    except ArgumentError as error:
        raise _UsageError(
            f"{_FLAGS.get(error.argument, error.argument)}: {error.message}"
        ) from None
    try:
        arguments.report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _UsageError(f"--report-dir: {error}") from None
    return arguments, basic


def main(argv: Sequence[str]) -> int:
    """The subcommand: 0 when every check holds, 1 when one fails, 2 for a usage error."""
    prog = f"bango-resale-contract {COMMAND}"
    try:
        arguments, basic = _usage(argv)
    except _UsageError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2

    def show(result: CheckResult) -> None:
        print("\n".join(result.lines()), flush=True)

    print(
        f"{prog}: sending {arguments.url} what the platform would; it waits"
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
