"""How `bango-resale` words what it prints: results, notifications, warnings and errors.

Text for people (one line per error, naming the flag to change), JSON for scripts (errors
included, on stdout; the API's values exactly as sent), ids only under `--quiet`.

Every text line goes out through `printable`: values come from the service (or a receiver),
and a control character in one (an escape sequence in a customer id, a carriage return in an
error message) would otherwise drive the user's terminal. JSON needs no such care: `json.dumps`
escapes those characters itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TextIO

import httpx

from . import _constants, _listen, _sandbox
from ._errors import (
    ApiError,
    AuthenticationError,
    InvalidArgumentError,
    InvalidBaseUrlError,
    NothingListeningError,
    TransportError,
    origin_of,
)
from ._reasons import Reason
from ._results import EchoResult, Entitlement, EntitlementResult

Result = EntitlementResult | EchoResult | list[Entitlement]

#: The client's argument names and the flag (or operand) that sets each one.
FLAG_FOR_FIELD = {
    "entitlement_id": "ENTITLEMENT_ID",
    "customer_identifier": "--customer",
    "merchant_account_key": "--merchant",
    "product_key": "--product",
    "offer_key": "--offer",
    "notification_url": "--notification-url",
    "date_expiry": "--expires",
    "extension_data": "--extension-data",
    "custom_data": "--custom-data",
    "request_id": "--request-id",
    "reason": "--reason",
    "description": "--description",
    "echo_request_id": "ID",
    "status": "--status",
}


#: Where the base URL comes from when the user typed neither.
ANY_BASE_URL_SETTING = f"--base-url or ${_constants.ENV_BASE_URL}"


def flag_message(error: InvalidArgumentError) -> str:
    """The client's message with the flag in place of the Python argument name."""
    return f"{FLAG_FOR_FIELD.get(error.field, error.field)}: {error.detail}"


def _escapes() -> dict[int, str]:
    table = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
    table |= {ord("\t"): "\\t", ord("\n"): "\\n", ord("\r"): "\\r"}
    # Marks and overrides that reorder the text around them (the "Trojan Source" characters),
    # and the two Unicode line breaks.
    bidi = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
    table |= {code: f"\\u{code:04x}" for code in (*bidi, 0x2028, 0x2029)}
    return table


_ESCAPES = _escapes()


def printable(text: str) -> str:
    """`text` with every character that would act on a terminal written as an escape (`\\x1b`):
    C0 controls (line ends too: a value never spans lines), DEL, C1 controls, and the bidi
    controls that reorder what is shown."""
    return text.translate(_ESCAPES)


class Printer:
    """Writes results and errors in the format the flags ask for."""

    def __init__(self, out: TextIO, err: TextIO, *, as_json: bool, quiet: bool) -> None:
        self.out = out
        self.err = err
        self.as_json = as_json
        self.quiet = quiet
        #: The flag or variable the user set the base URL with, for hints that name it.
        self.base_url_setting = ANY_BASE_URL_SETTING

    def document(self, value: Any) -> None:
        # ensure_ascii (the default) keeps control and bidi characters escaped in the JSON too.
        json.dump(value, self.out, indent=2)
        self.out.write("\n")

    def line(self, *texts: str, to_err: bool = False) -> None:
        """Write each text as one line, escaped by `printable`."""
        stream = self.err if to_err else self.out
        stream.write("".join(f"{printable(text)}\n" for text in texts))

    def warning(self, text: str) -> None:
        self.line(f"warning: {text}", to_err=True)

    def result(self, result: Result) -> None:
        if isinstance(result, list):
            self._entitlements(result)
        elif isinstance(result, EchoResult):
            if self.as_json:
                self.document({"responseCode": result.response_code, "echo": result.echo})
            elif not self.quiet:
                self.line(f"{result.response_code}: echo {result.echo}")
        else:
            self._entitlement_result(result)

    def _entitlements(self, entitlements: list[Entitlement]) -> None:
        if self.as_json:
            self.document([_as_sent(e) for e in entitlements])
            return
        for entitlement in entitlements:
            if self.quiet:
                self.line(entitlement.entitlement_id)
            else:
                self.line(
                    f"{entitlement.entitlement_id}  {entitlement.status}  "
                    f"{entitlement.merchant_account_key}/{entitlement.product_key}  "
                    f"created {entitlement.date_created.isoformat()}"
                )
        if not entitlements and not self.quiet:
            self.line("no entitlements match", to_err=True)

    def _entitlement_result(self, result: EntitlementResult) -> None:
        entitlement = result.entitlement
        action = result.client_action
        if self.as_json:
            # The answer as sent, between what the CLI adds: how it came and what it allows.
            answer = entitlement.sent
            if answer is None:  # not from an answer: rebuild one
                answer = {
                    "responseCode": result.response_code,
                    "responseMessage": result.response_message,
                    **entitlement.to_json(),
                    **({} if action is None else {"parameters": dict(action.parameters)}),
                }
            self.document(
                {
                    "httpStatus": result.http_status,
                    "outcome": result.outcome.value,
                    "requestIdentifier": result.request_identifier,
                    **answer,
                    "allowedOperations": list(entitlement.allowed_operations),
                }
            )
            return
        if self.quiet:
            self.line(entitlement.entitlement_id)
            return
        lines = [
            f"{entitlement.entitlement_id}  {entitlement.status}  "
            f"({result.outcome.value}, HTTP {result.http_status} {result.response_code})",
            f"  customer  {entitlement.customer_identifier}",
            f"  product   {entitlement.merchant_account_key}/{entitlement.product_key}"
            + (f" (offer {entitlement.offer_key})" if entitlement.offer_key else ""),
            f"  created   {entitlement.date_created.isoformat()}",
        ]
        for label, value in (
            ("ends", entitlement.date_ended),
            ("expires", entitlement.date_expiry),
            ("suspended", entitlement.date_suspended),
        ):
            if value is not None:
                lines.append(f"  {label:<9} {value.isoformat()}")
        if entitlement.activation_code:
            lines.append(f"  code      {entitlement.activation_code}")
        if entitlement.notification_url:
            lines.append(f"  notify    {entitlement.notification_url}")
        if entitlement.extension_data:
            lines.append(f"  extension {json.dumps(dict(entitlement.extension_data))}")
        lines.append(f"  allows    {', '.join(entitlement.allowed_operations) or 'nothing'}")
        if action is not None:
            url = dict(action.parameters).get("url")
            expiry = dict(action.parameters).get("urlExpiry")
            lines.append(
                f"  action    {action.action}"
                + (f" {url}" if url else "")
                + (f" (expires {expiry})" if expiry else "")
            )
        self.line(*lines)

    def notification(self, entry: _sandbox.FeedEntry, answer: _listen.Forwarded | None) -> None:
        notification = entry.notification
        if self.as_json:
            document: dict[str, Any] = {"cursor": entry.cursor, "queuedAt": entry.queued_at}
            document["notification"] = dict(notification)
            if answer is not None:
                document["forwarded"] = answer.to_json()
            # One object per line, so `| jq` can read the stream as it comes.
            self.out.write(json.dumps(document) + "\n")
        elif self.quiet:
            self.line(entry.notification_id)
        else:
            self.line(
                f"{entry.queued_at}  {notification.get('notificationType')}  "
                f"entitlement {notification.get('entitlementId')}  "
                f"notification {entry.notification_id}  "
                f"(sandbox delivery: {notification.get('state')})"
            )
            if answer is not None:
                if answer.error is not None:
                    outcome = f"no answer: {answer.error}"
                else:
                    body = " ".join(answer.body.split())
                    body = body if len(body) <= 120 else body[:117] + "..."
                    outcome = f"HTTP {answer.status}" + (f" {body}" if body else "")
                self.line(f"  -> POST {answer.url}: {outcome} ({answer.milliseconds:.0f} ms)")
        self.out.flush()

    def redelivered(self, notification: Any) -> None:
        if self.as_json:
            self.document(dict(notification))
        elif not self.quiet:
            self.line(
                f"{notification.get('notificationId')} queued again"
                f" (sandbox delivery: {notification.get('state')})"
            )

    def event_raised(self, document: Mapping[str, Any]) -> None:
        entitlement = document.get("entitlement") or {}
        if self.as_json:
            self.document(dict(document))
        elif self.quiet:
            self.line(str(entitlement.get("entitlementId")))
        else:
            rows = ", ".join(str(row) for row in document.get("rows") or ()) or "none"
            self.line(
                f"{document.get('event')} happened to {entitlement.get('entitlementId')}:"
                f" now {entitlement.get('status')} (rows fired: {rows})"
            )

    def logged_request(self, entry: Mapping[str, Any]) -> None:
        """One entry of the request log: a line of text, or its JSON on a line of its own."""
        if self.as_json:
            self.out.write(json.dumps(dict(entry)) + "\n")
        elif self.quiet:
            if entry.get("entitlementId"):  # a request that named none has nothing to print
                self.line(str(entry["entitlementId"]))
        else:
            answer = f"{entry.get('httpStatus')} {entry.get('responseCode') or ''}".rstrip()
            if entry.get("responseMessage"):
                answer += f": {entry['responseMessage']}"
            extras = [f"{entry.get('milliseconds')} ms"]
            if entry.get("entitlementId"):
                extras.insert(0, f"entitlement {entry['entitlementId']}")
            if entry.get("requestIdentifier"):
                extras.insert(0, f"request id {entry['requestIdentifier']}")
            self.line(
                f"{entry.get('at')}  {entry.get('method')} {entry.get('path')}"
                f"  {entry.get('operationId')}  {answer}  ({', '.join(extras)})"
            )
        self.out.flush()

    def error(self, error: BaseException, exit_status: int, command: str | None) -> None:
        message = describe_error(error, command, self.base_url_setting)
        if not self.as_json:
            self.line(f"error: {message}", to_err=True)
            return
        document: dict[str, Any] = {
            "error": type(error).__name__,
            "exitStatus": exit_status,
            "message": message,
        }
        if isinstance(error, ApiError):
            document |= {
                "httpStatus": error.http_status,
                "responseCode": error.response_code,
                "responseMessage": error.response_message,
                "requestIdentifier": error.request_identifier,
            }
        elif isinstance(error, TransportError):
            document |= {
                "url": error.url,
                "attempts": error.attempts,
                "requestIdentifier": error.request_identifier,
            }
            if isinstance(error, NothingListeningError):
                document["startCommand"] = error.start_command
        self.document(document)


def _as_sent(entitlement: Entitlement) -> Any:
    return entitlement.to_json() if entitlement.sent is None else entitlement.sent


def describe_error(
    error: BaseException, command: str | None, base_url_setting: str = ANY_BASE_URL_SETTING
) -> str:
    """One line for a shell user: what failed, why, and which flag or setting to look at.

    `base_url_setting` names what the user set the base URL with (`--base-url`, the
    variable, or both when neither was set), so that a hint names what they typed.
    """
    doing = f"{command}: " if command else ""
    if isinstance(error, InvalidArgumentError):
        return flag_message(error)
    if isinstance(error, ApiError):
        text = (
            f"{doing}the platform answered HTTP {error.http_status}"
            f" {error.response_code or '(no responseCode)'}"
        )
        if error.response_message:
            text += f": {error.response_message}"
        if isinstance(error, AuthenticationError):
            text += " (check --username and --password)"
        if error.request_identifier:
            text += f" [request id {error.request_identifier}]"
        return text
    if isinstance(error, NothingListeningError):
        return (
            f"{doing}nothing listens at {origin_of(httpx.URL(error.url or ''))} (connection"
            f" refused): start the sandbox with `{error.start_command}`, or correct"
            f" {base_url_setting}"
        )
    if isinstance(error, TransportError):
        cause = str(error).rsplit(": ", 1)[-1] or type(error).__name__
        tries = f" after {error.attempts} attempts" if error.attempts > 1 else ""
        return f"{doing}no answer from {error.url}{tries}: {cause} (check {base_url_setting})"
    if isinstance(error, InvalidBaseUrlError):
        return f"{base_url_setting}: {error.detail}"
    text = str(error)
    # Said once: a client message may already start with the operation's name.
    return text if text.startswith(doing) else f"{doing}{text}"


def print_reasons(printer: Printer) -> None:
    reasons = Reason.all()
    if printer.as_json:
        printer.document(
            [
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
        )
        return
    header = ("#", "CATEGORY", "CODE", "DESCRIPTION")
    table = [(str(r.index), r.category, r.code, _describe(r)) for r in reasons]
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(3)]
    for row in [header, *table]:
        cells = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        printer.line(f"{cells}  {row[3]}")


def _describe(reason: Reason) -> str:
    flags = []
    if reason.suspend_preferred:
        flags.append("prefer suspend")
    if reason.applied_by_platform:
        flags.append("platform only")
    return reason.description + (f" [{', '.join(flags)}]" if flags else "")
