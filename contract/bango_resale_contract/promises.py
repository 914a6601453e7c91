"""Promises the partner spec makes in words and headers, each as a check.

A schema says what an answer looks like; these say what it must mean. Each promise quotes
where the spec makes it, and each has a deliberate sandbox fault that breaks it (see
`PROMISES` and tests/contract/test_promises.py).
"""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import bango_resale_spec as spec

REQUEST_ID_HEADER = "X-RequestIdentifier"
# The create fields a new record keeps as they were sent.
CREATE_ECHOED_FIELDS = (
    "customerIdentifier",
    "merchantAccountKey",
    "productKey",
    "offerKey",
    "notificationUrl",
)


class HeaderLookup(Protocol):
    """Case-insensitive header access, as `httpx.Headers` gives it."""

    def get(self, key: str, default: Any = None) -> Any: ...


class HasPath(Protocol):
    @property
    def path(self) -> str: ...


class RequestLike(Protocol):
    """What the promises read of a request: `httpx.Request` has it, and so has the live
    judge's lighter view of a request it only watched go by."""

    @property
    def url(self) -> HasPath: ...

    @property
    def headers(self) -> HeaderLookup: ...

    @property
    def content(self) -> bytes: ...


class ResponseLike(Protocol):
    """What the promises read of an answer (`httpx.Response` has it)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> HeaderLookup: ...


Check = Callable[[str, RequestLike, ResponseLike, Any], list[str]]


@dataclass(frozen=True, slots=True)
class Promise:
    """One promise: its check name, where the spec makes it, the check, the fault it catches."""

    name: str
    where: str
    check: Check
    fault: str


def _is_object(value: Any) -> bool:
    """A JSON object; decoded JSON gives a dict, recognised before the slower ABC check."""
    return type(value) is dict or isinstance(value, Mapping)


def _json_body(request: RequestLike) -> Mapping[str, Any]:
    if not request.content:  # most reads: nothing to parse
        return {}
    try:
        body = json.loads(request.content)
    except ValueError:
        return {}
    return body if _is_object(body) else {}


def _query_filters_hold(
    operation_id: str, request: RequestLike, response: ResponseLike, body: Any
) -> list[str]:
    if operation_id != "queryEntitlements" or response.status_code != 200:
        return []
    sent = _json_body(request)
    records = body.get("entitlements") if _is_object(body) else None
    problems = []
    for record in records if isinstance(records, list) else []:
        if not _is_object(record):
            continue
        for name in ("customerIdentifier", "merchantAccountKey", "productKey", "status"):
            if name in sent and record.get(name) != sent[name]:
                problems.append(
                    f"the query asked for {name} {sent[name]!r}; entitlement"
                    f" {record.get('entitlementId')} has {record.get(name)!r}"
                )
    return problems


def _request_identifier_echoed(
    operation_id: str, request: RequestLike, response: ResponseLike, body: Any
) -> list[str]:
    sent = request.headers.get(REQUEST_ID_HEADER)
    if sent is None or response.status_code >= 500:
        return []
    echoed = response.headers.get(REQUEST_ID_HEADER)
    if echoed != sent:
        return [f"{REQUEST_ID_HEADER} {sent!r} was sent; the answer echoes {echoed!r}"]
    return []


def _echo_returns_the_id(
    operation_id: str, request: RequestLike, response: ResponseLike, body: Any
) -> list[str]:
    if operation_id != "echo" or response.status_code != 200 or not _is_object(body):
        return []
    asked = request.url.path.rsplit("/", 1)[-1]
    if body.get("echo") != asked:
        return [f"echo of {asked!r} answered {body.get('echo')!r}"]
    return []


def _record_is_what_was_asked(
    operation_id: str, request: RequestLike, response: ResponseLike, body: Any
) -> list[str]:
    if not 200 <= response.status_code < 300 or not _is_object(body):
        return []
    if "entitlementId" not in body:
        return []
    sent = _json_body(request)
    problems = []
    if operation_id == "createEntitlement":
        for name in (*CREATE_ECHOED_FIELDS, "entitlementId"):
            if name in sent and body.get(name) != sent[name]:
                problems.append(
                    f"create sent {name} {sent[name]!r}; the record has {body.get(name)!r}"
                )
        return problems
    asked = sent.get("entitlementId") if operation_id == "updateEntitlement" else None
    asked = asked or request.url.path.rsplit("/", 1)[-1]
    if body.get("entitlementId") != asked:
        problems.append(f"asked about {asked!r}; the answer is about {body.get('entitlementId')!r}")
    return problems


def moment(value: Any) -> datetime.datetime | None:
    """A record's RFC 3339 time as a datetime; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _dates_match_the_status(
    operation_id: str, request: RequestLike, response: ResponseLike, body: Any
) -> list[str]:
    if not 200 <= response.status_code < 300 or not _is_object(body):
        return []
    status = body.get("status")
    activated, ended = body.get("dateActivated"), body.get("dateEnded")
    problems = []
    if status == "PENDING" and activated is not None:
        problems.append(f"a PENDING record has dateActivated {activated}")
    if status == "ACTIVE-ENDING":
        end, updated = moment(ended), moment(body.get("dateLastUpdated"))
        if end is None or (updated is not None and end < updated):
            problems.append(
                f"an ACTIVE-ENDING record has dateEnded {ended!r}; access runs until it, so it"
                " lies ahead"
            )
    if status in {"CANCELLED", "REVOKED"} and ended is None:
        problems.append(f"a {status} record has no dateEnded")
    if status == "SUSPENDED" and body.get("dateSuspended") is None:
        problems.append("a SUSPENDED record has no dateSuspended")
    return problems


@functools.cache
def _documented_headers() -> Mapping[tuple[str, int], tuple[tuple[str, bool, bool], ...]]:
    """(operationId, HTTP status) -> the answer's documented headers: (name, required,
    whether its value is a whole number)."""
    found: dict[tuple[str, int], tuple[tuple[str, bool, bool], ...]] = {}
    for path_item in spec.load_partner_spec()["paths"].values():
        for method, operation in path_item.items():
            if method not in spec.HTTP_METHODS:
                continue
            for status, response in operation["responses"].items():
                headers = spec.resolve(response).get("headers", {})
                found[(str(operation["operationId"]), int(status))] = tuple(
                    (
                        str(name),
                        bool(spec.resolve(header).get("required")),
                        spec.resolve(header).get("schema", {}).get("type") == "integer",
                    )
                    for name, header in headers.items()
                )
    return found


def _required_headers_sent(
    operation_id: str, request: RequestLike, response: ResponseLike, body: Any
) -> list[str]:
    documented = _documented_headers().get((operation_id, response.status_code), ())
    problems = []
    for name, required, whole_number in documented:
        value = response.headers.get(name)
        if value is None:
            if required:
                problems.append(
                    f"an HTTP {response.status_code} answer carries {name} (the spec requires"
                    " it: how many seconds to wait); this one has none"
                )
        elif whole_number and not str(value).strip().isdigit():
            problems.append(f"{name} is {value!r}; the spec documents a whole number of seconds")
    return problems


# The update fields a record shows as they were sent, once the update took effect.
UPDATE_APPLIED_FIELDS = ("productKey", "offerKey", "notificationUrl", "customerIdentifier")


def _update_applied(
    operation_id: str, request: RequestLike, response: ResponseLike, body: Any
) -> list[str]:
    if operation_id != "updateEntitlement" or response.status_code != 200 or not _is_object(body):
        return []
    if body.get("responseCode") != "OK":
        return []
    sent = _json_body(request)
    if "entitlementBenefits" in sent:
        return []  # a suspend or resume changes no field
    problems = []
    for name in UPDATE_APPLIED_FIELDS:
        if name in sent and body.get(name) != sent[name]:
            problems.append(
                f"the update sent {name} {sent[name]!r} and was answered 200 OK (done); the"
                f" record still has {body.get(name)!r}"
            )
    if "dateExpiry" in sent and moment(sent["dateExpiry"]) != moment(body.get("dateExpiry")):
        problems.append(
            f"the update sent dateExpiry {sent['dateExpiry']!r} and was answered 200 OK (done);"
            f" the record has {body.get('dateExpiry')!r}"
        )
    extension_sent = sent.get("extensionData")
    shown = body.get("extensionData")
    if isinstance(extension_sent, Mapping) and isinstance(shown, Mapping):
        for key, value in extension_sent.items():
            if value is not None and shown.get(key) != value:
                problems.append(
                    f"the update sent extensionData.{key} {value!r} and was answered 200 OK"
                    f" (done); the record has {shown.get(key)!r}"
                )
    return problems


PROMISES: tuple[Promise, ...] = (
    Promise(
        "bango_query_filters_hold",
        "queryEntitlements: lists one customer's entitlements, optionally narrowed to a"
        " merchant, a product or a status",
        _query_filters_hold,
        "query_ignores_status",
    ),
    Promise(
        "bango_request_identifier_echoed",
        "Conventions, Idempotency: responses echo X-RequestIdentifier",
        _request_identifier_echoed,
        "request_id_not_echoed",
    ),
    Promise(
        "bango_echo_returns_the_id",
        "echo: returns the id from the path in `echo`",
        _echo_returns_the_id,
        "echo_mangled",
    ),
    Promise(
        "bango_record_is_what_was_asked",
        "single-entitlement answers are about the entitlement asked for; a new record keeps"
        " the fields the create sent",
        _record_is_what_was_asked,
        "create_drops_offer",
    ),
    Promise(
        "bango_dates_match_the_status",
        "EntitlementStatus and the date fields: ACTIVE-ENDING keeps access until dateEnded;"
        " ended records carry dateEnded; PENDING ones are not yet activated",
        _dates_match_the_status,
        "active_ending_without_end",
    ),
    Promise(
        "bango_required_headers_sent",
        "TooManyRequests: wait as Retry-After says (a required header, whole seconds); root"
        " x-modelled: Retry-After is always sent with 429",
        _required_headers_sent,
        "retry_after_missing",
    ),
    Promise(
        "bango_update_applied",
        "updateEntitlement 200: done; the record shows the result",
        _update_applied,
        "product_change_ignored",
    ),
)


def judge(operation_id: str, request: RequestLike, response: ResponseLike, body: Any) -> list[str]:
    """Every broken promise of one exchange, as `check name: problem`."""
    return [
        f"{promise.name}: {problem}"
        for promise in PROMISES
        for problem in promise.check(operation_id, request, response, body)
    ]
