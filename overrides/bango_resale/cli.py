"""`bango-resale`: the everyday tasks from a shell.

    bango-resale reasons                      # the standard reason table
    bango-resale get ENTITLEMENT_ID
    bango-resale cancel ENTITLEMENT_ID --reason CUSTOMER_CANCELLED/NOT_RENEWED
    bango-resale revoke ENTITLEMENT_ID --reason 17
    bango-resale suspend ENTITLEMENT_ID --reason ACTIVATION_ROLLBACK/FRAUD_CHECK
    bango-resale resume ENTITLEMENT_ID
    bango-resale echo [ID]

Add `--json` for machine-readable output. Connection settings come from `--base-url`,
`--username`, `--password` or the `BANGO_RESALE_*` environment variables. Exit status: 0 on
success, 1 when the platform refused or could not be reached, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ._client import ResaleClient
from ._errors import ApiError, BangoResaleError, InvalidArgumentError
from ._reasons import Reason
from ._results import EchoResult, EntitlementResult

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    common.add_argument("--base-url", help="API base URL (default: $BANGO_RESALE_BASE_URL)")
    common.add_argument("--username", help="reseller user (default: $BANGO_RESALE_USERNAME)")
    common.add_argument("--password", help="reseller password (default: $BANGO_RESALE_PASSWORD)")
    common.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="extra request header, e.g. X-Magic-Number:CANCEL_REQUEST_RETURNS_ACCEPTED",
    )
    common.add_argument("--request-id", help="X-RequestIdentifier to send (default: generated)")

    parser = argparse.ArgumentParser(
        prog="bango-resale", description="Manage Bango Resale entitlements from the shell."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("reasons", parents=[common], help="list the standard reasons")
    commands.add_parser("get", parents=[common], help="show an entitlement").add_argument(
        "entitlement_id"
    )
    for name, text in (
        ("cancel", "end at the end of the paid period"),
        ("revoke", "end access now"),
        ("suspend", "pause access"),
    ):
        command = commands.add_parser(name, parents=[common], help=text)
        command.add_argument("entitlement_id")
        command.add_argument(
            "--reason",
            required=True,
            help="CATEGORY/CODE or a Bango index (see `bango-resale reasons`)",
        )
        command.add_argument("--description", help="reason text (default: the sample text)")
    commands.add_parser("resume", parents=[common], help="end a suspension").add_argument(
        "entitlement_id"
    )
    commands.add_parser("echo", parents=[common], help="check connectivity").add_argument(
        "echo_id", nargs="?", default="ping"
    )
    return parser


def _headers(values: Sequence[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, separator, content = value.partition(":")
        if not separator or not name.strip():
            raise InvalidArgumentError("--header", f"{value!r} is not NAME:VALUE")
        headers[name.strip()] = content.strip()
    return headers


def _print_reasons(as_json: bool, out: TextIO) -> None:
    reasons = Reason.all()
    if as_json:
        rows = [
            {
                "index": r.index,
                "category": r.category,
                "code": r.code,
                "description": r.description,
                "notes": r.notes,
                "suspendPreferred": r.suspend_preferred,
                "appliedByPlatform": r.applied_by_platform,
            }
            for r in reasons
        ]
        json.dump(rows, out, indent=2)
        out.write("\n")
        return
    header = ("#", "CATEGORY", "CODE", "DESCRIPTION")
    table = [(str(r.index), r.category, r.code, _describe(r)) for r in reasons]
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(3)]
    for row in [header, *table]:
        out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)))
        out.write(f"  {row[3]}\n")


def _describe(reason: Reason) -> str:
    flags = []
    if reason.suspend_preferred:
        flags.append("prefer suspend")
    if reason.applied_by_platform:
        flags.append("platform only")
    return reason.description + (f" [{', '.join(flags)}]" if flags else "")


def _print_result(result: EntitlementResult | EchoResult, as_json: bool, out: TextIO) -> None:
    if isinstance(result, EchoResult):
        if as_json:
            json.dump({"responseCode": result.response_code, "echo": result.echo}, out)
            out.write("\n")
        else:
            out.write(f"{result.response_code}: echo {result.echo}\n")
        return
    entitlement = result.entitlement
    action = result.client_action
    if as_json:
        document: dict[str, Any] = {
            "httpStatus": result.http_status,
            "outcome": result.outcome.value,
            "responseCode": result.response_code,
            "responseMessage": result.response_message,
            "requestIdentifier": result.request_identifier,
            **entitlement.to_json(),
            "allowedOperations": list(entitlement.allowed_operations),
        }
        if action is not None:
            document["parameters"] = dict(action.parameters)
        json.dump(document, out, indent=2)
        out.write("\n")
        return
    lines = [
        f"{entitlement.entitlement_id}  {entitlement.status}  "
        f"({result.outcome.value}, HTTP {result.http_status} {result.response_code})",
        f"  customer  {entitlement.customer_identifier}",
        f"  product   {entitlement.merchant_account_key}/{entitlement.product_key}",
        f"  created   {entitlement.date_created.isoformat()}",
    ]
    if entitlement.date_ended is not None:
        lines.append(f"  ends      {entitlement.date_ended.isoformat()}")
    if entitlement.extension_data:
        lines.append(f"  extension {json.dumps(dict(entitlement.extension_data))}")
    lines.append(f"  allows    {', '.join(entitlement.allowed_operations) or 'nothing'}")
    if action is not None:
        lines.append(f"  action    {action.action} {dict(action.parameters).get('url', '')}")
    out.write("\n".join(lines) + "\n")


def _print_error(error: BangoResaleError, as_json: bool, out: TextIO) -> None:
    if as_json and isinstance(error, ApiError):
        document = {
            "error": type(error).__name__,
            "httpStatus": error.http_status,
            "responseCode": error.response_code,
            "responseMessage": error.response_message,
            "requestIdentifier": error.request_identifier,
        }
        json.dump(document, out)
        out.write("\n")
    elif as_json:
        json.dump({"error": type(error).__name__, "message": str(error)}, out)
        out.write("\n")
    else:
        out.write(f"error: {type(error).__name__}: {error}\n")


def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the CLI; returns the exit status (the console script exits with it)."""
    try:
        return _run(argv, stdout, stderr)
    except BrokenPipeError:
        # The reader went away (`bango-resale reasons | head`): not an error. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _run(argv: Sequence[str] | None, stdout: TextIO | None, stderr: TextIO | None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = _parser().parse_args(argv)
    if args.command == "reasons":
        _print_reasons(args.json, out)
        return EXIT_OK
    try:
        headers = _headers(args.header)
        with ResaleClient(args.base_url, args.username, args.password) as client:
            options: dict[str, Any] = {"extra_headers": headers, "request_id": args.request_id}
            result: EntitlementResult | EchoResult
            if args.command == "get":
                result = client.get(args.entitlement_id, **options)
            elif args.command in {"cancel", "revoke"}:
                result = client.terminate(
                    args.entitlement_id,
                    Reason.parse(args.reason),
                    immediate=args.command == "revoke",
                    description=args.description,
                    **options,
                )
            elif args.command == "suspend":
                result = client.suspend(
                    args.entitlement_id,
                    Reason.parse(args.reason),
                    description=args.description,
                    **options,
                )
            elif args.command == "resume":
                result = client.resume(args.entitlement_id, **options)
            else:
                result = client.echo(args.echo_id, **options)
    except InvalidArgumentError as error:
        _print_error(error, args.json, err)
        return EXIT_USAGE
    except BangoResaleError as error:
        _print_error(error, args.json, err)
        return EXIT_FAILED
    _print_result(result, args.json, out)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
