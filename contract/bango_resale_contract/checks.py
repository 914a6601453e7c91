"""The contract rules generic OpenAPI checks cannot see, as plain functions.

Each rule looks at one exchange (operation, request, response) and returns the problems it
found, as sentences; an empty list means the exchange honours the contract. The rules read the
contract's tables from the partner spec (`bango_resale_spec`), so a change to the spec changes
what is enforced. The schemathesis hooks and the scenario suite both call these functions, so
fuzzed and scripted traffic are judged alike.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import bango_resale_spec as spec

# Request bodies that carry a reason; the spec says (`x-stored-as`) where each lands.
TERMINATE_BODY = "TerminateEntitlementRequest"
SUSPEND_BODY = "SuspendEntitlementRequest"
SUSPEND_BENEFITS = "SUSPENDED"
RESUME_BENEFITS = "NORMAL"
# The update bodies; which one a request is follows from its entitlementBenefits.
RESUME_BODY = "ResumeEntitlementRequest"
CHANGES_BODY = "EntitlementChanges"
UPDATE = "updateEntitlement"
CLIENT_ACTION_REQUIRED = "CLIENT_ACTION_REQUIRED"
NAVIGATE_TO_URL = "NAVIGATE_TO_URL"
REQUEST_IDENTIFIER_HEADER = "X-RequestIdentifier"


class Exchange(NamedTuple):
    """One request and its answer, reduced to what the rules need (a named tuple: the live
    judge builds one per exchange it watches, and a frozen dataclass costs twice as much)."""

    operation_id: str
    http_status: int
    response_body: Any
    request_body: Any = None
    entitlement_id: str | None = None


@functools.cache
def documented_pairs() -> Mapping[str, frozenset[tuple[int, str]]]:
    """Per operationId, the documented (HTTP status, responseCode) pairs."""
    return {
        operation_id: frozenset((o.http_status, o.response_code) for o in outcomes)
        for operation_id, outcomes in spec.operation_responses().items()
    }


@functools.cache
def legal_statuses() -> Mapping[tuple[str, int, str], frozenset[str]]:
    """(operationId, HTTP status, responseCode) -> statuses a returned record may carry."""
    return {
        (operation_id, o.http_status, o.response_code): frozenset(o.entitlement_statuses)
        for operation_id, outcomes in spec.operation_responses().items()
        for o in outcomes
        if o.entitlement_statuses
    }


@functools.cache
def table_pairs() -> frozenset[tuple[int, str]]:
    """Every (HTTP status, responseCode) pair of the spec's root response-code table."""
    return frozenset((row.http_status, row.response_code) for row in spec.response_code_rows())


def _as_object(body: Any) -> Mapping[str, Any] | None:
    if type(body) is dict:  # what JSON decoding gives: no need for the ABC's slower check
        return body
    return body if body is not None and isinstance(body, Mapping) else None


def response_code_of(body: Any) -> str | None:
    """The body's responseCode, when the body is a JSON object that has one."""
    obj = _as_object(body)
    code = obj.get("responseCode") if obj is not None else None
    return code if isinstance(code, str) else None


def response_code_matches_status(exchange: Exchange) -> list[str]:
    """The responseCode agrees with the HTTP status (root table) and the pair is one the
    operation documents. A JSON body without responseCode breaks the envelope rule."""
    obj = _as_object(exchange.response_body)
    if obj is None:
        # Non-JSON bodies are the generic content-type and schema checks' business.
        return []
    code = response_code_of(obj)
    if code is None:
        return [f"HTTP {exchange.http_status} body has no string responseCode"]
    pair = (exchange.http_status, code)
    problems = []
    if pair not in table_pairs():
        expected = sorted(c for s, c in table_pairs() if s == exchange.http_status)
        problems.append(
            f"responseCode {code} with HTTP {exchange.http_status} contradicts the response-code"
            f" table (HTTP {exchange.http_status} means {', '.join(expected) or 'nothing'})"
        )
    operation_pairs = documented_pairs().get(exchange.operation_id)
    if operation_pairs is not None and pair not in operation_pairs:
        problems.append(
            f"{exchange.operation_id} does not document HTTP {exchange.http_status} {code}"
        )
    return problems


def entitlement_status_is_legal(exchange: Exchange) -> list[str]:
    """A 2xx single-entitlement response carries a status the operation documents for it."""
    if not 200 <= exchange.http_status < 300:
        return []
    obj = _as_object(exchange.response_body)
    code = response_code_of(obj)
    if obj is None or code is None:
        return []
    allowed = legal_statuses().get((exchange.operation_id, exchange.http_status, code))
    if allowed is None:
        # Not a single-entitlement response (query, echo) or an undocumented pair, which
        # response_code_matches_status reports.
        return []
    status = obj.get("status")
    if status not in allowed:
        return [
            f"{exchange.operation_id} HTTP {exchange.http_status} {code} returned status"
            f" {status!r}; the spec allows {', '.join(sorted(allowed))}"
        ]
    return []


def _sent_reason(exchange: Exchange) -> tuple[Mapping[str, str], Mapping[str, Any]] | None:
    """The request's reason fields (field -> extensionData key) and the request body."""
    request = _as_object(exchange.request_body)
    if request is None:
        return None
    if exchange.operation_id in {"cancelEntitlement", "revokeEntitlement"}:
        return spec.reason_storage_keys(TERMINATE_BODY), request
    if (
        exchange.operation_id == "updateEntitlement"
        and request.get("entitlementBenefits") == SUSPEND_BENEFITS
    ):
        return spec.reason_storage_keys(SUSPEND_BODY), request
    return None


def reason_is_echoed(exchange: Exchange) -> list[str]:
    """After a cancel, revoke or suspend that took effect (HTTP 200), extensionData holds the
    reason pair (and description) that was sent.

    202 answers are left alone: the change, and so the stored reason, comes later.
    """
    if exchange.http_status != 200 or response_code_of(exchange.response_body) != "OK":
        return []
    sent = _sent_reason(exchange)
    response = _as_object(exchange.response_body)
    if sent is None or response is None:
        return []
    storage_keys, request = sent
    extension_data = _as_object(response.get("extensionData"))
    if extension_data is None:
        return [f"{exchange.operation_id} took effect but extensionData is not an object"]
    problems = []
    for name, stored_under in storage_keys.items():
        if name not in request:
            continue
        if stored_under not in extension_data:
            problems.append(f"extensionData.{stored_under} does not hold the {name} that was sent")
        elif extension_data[stored_under] != request[name]:
            problems.append(
                f"extensionData.{stored_under} is {extension_data[stored_under]!r}, but the"
                f" request sent {request[name]!r}"
            )
    return problems


@functools.cache
def declared_properties(schema_name: str) -> frozenset[str]:
    """The properties a request schema of the partner spec names (the rest are custom)."""
    schema = spec.load_partner_spec()["components"]["schemas"][schema_name]
    return frozenset(schema.get("properties", {}))


def custom_properties_are_kept(exchange: Exchange) -> list[str]:
    """After a cancel or revoke that took effect (HTTP 200 OK), extensionData holds each custom
    property the request sent (one its body schema does not name), as it was sent."""
    if exchange.operation_id not in {"cancelEntitlement", "revokeEntitlement"}:
        return []
    if exchange.http_status != 200 or response_code_of(exchange.response_body) != "OK":
        return []
    request = _as_object(exchange.request_body)
    response = _as_object(exchange.response_body)
    if request is None or response is None:
        return []
    declared = declared_properties(TERMINATE_BODY)
    custom = {name: value for name, value in request.items() if name not in declared}
    extension_data = _as_object(response.get("extensionData"))
    if not custom or extension_data is None:
        return []  # (extensionData that is not an object: reason_is_echoed says so)
    problems = []
    for name, value in custom.items():
        if name not in extension_data:
            problems.append(
                f"the request sent the custom property {name!r} ({value!r}), which extensionData"
                " should keep; it has no such key"
            )
        elif extension_data[name] != value:
            problems.append(
                f"the request sent the custom property {name!r} as {value!r}; extensionData"
                f" keeps {extension_data[name]!r}"
            )
    return problems


def _is_absolute_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def client_action_is_complete(exchange: Exchange) -> list[str]:
    """CLIENT_ACTION_REQUIRED comes with a known action and the URL to send the customer to;
    so does any other response that carries `parameters`."""
    obj = _as_object(exchange.response_body)
    if obj is None:
        return []
    code = response_code_of(obj)
    parameters = obj.get("parameters")
    if parameters is None:
        if code == CLIENT_ACTION_REQUIRED:
            return ["CLIENT_ACTION_REQUIRED without parameters"]
        return []
    parameters = _as_object(parameters)
    if parameters is None:
        return ["parameters is not an object"]
    action = parameters.get("action")
    problems = []
    if action not in spec.client_actions():
        problems.append(
            f"parameters.action {action!r} is not a documented client action"
            f" ({', '.join(spec.client_actions())})"
        )
    if action == NAVIGATE_TO_URL or code == CLIENT_ACTION_REQUIRED:
        if not _is_absolute_url(parameters.get("url")):
            problems.append(f"parameters.url {parameters.get('url')!r} is not an http(s) URL")
        if not isinstance(parameters.get("urlExpiry"), str):
            problems.append("parameters.urlExpiry is missing")
    return problems


def allowed_from(exchange: Exchange) -> tuple[str, ...] | None:
    """The statuses the entitlement must be in for this request (from the spec's status
    machine, for the operation or, for update, for the body sent); None for requests without
    a precondition (create, reads)."""
    if exchange.operation_id == UPDATE:
        request = _as_object(exchange.request_body) or {}
        benefits = request.get("entitlementBenefits")
        if benefits == SUSPEND_BENEFITS:
            return spec.body_allowed_from(SUSPEND_BODY)
        if benefits == RESUME_BENEFITS:
            return spec.body_allowed_from(RESUME_BODY)
        return spec.body_allowed_from(CHANGES_BODY)
    try:
        return spec.operation_allowed_from(exchange.operation_id)
    except KeyError:
        return None


@dataclass
class TerminalStatusMemory:
    """Remembers which entitlements were last seen in a terminal status, to catch an operation
    that succeeds on one although no row of the status machine starts it there (the contract
    answers NOT_AVAILABLE).

    Terminal statuses are the only ones nothing but a request can leave, so a remembered one is
    still current. A success the spec does allow from it (reactivate of a CANCELLED one) may
    change the status at any time, so the memory forgets that entitlement. The verdict for a
    response is cached by identity because schemathesis may run checks on the same response
    again.
    """

    terminal: dict[str, str] = field(default_factory=dict)
    _verdicts: dict[int, tuple[object, list[str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def judge(self, exchange: Exchange, response_key: object | None = None) -> list[str]:
        """Problems with this exchange given what was seen before; then remember it."""
        with self._lock:
            if response_key is not None:
                cached = self._verdicts.get(id(response_key))
                if cached is not None and cached[0] is response_key:
                    return cached[1]
            problems = self._judge(exchange)
            if response_key is not None:
                self._verdicts[id(response_key)] = (response_key, problems)
            return problems

    def _judge(self, exchange: Exchange) -> list[str]:
        entitlement_id = exchange.entitlement_id
        response = _as_object(exchange.response_body)
        succeeded = 200 <= exchange.http_status < 300
        problems: list[str] = []
        last_status = self.terminal.get(entitlement_id) if entitlement_id is not None else None
        allowed = allowed_from(exchange)
        if succeeded and last_status is not None and allowed is not None:
            if last_status in allowed:
                # A way out of this terminal status, under way or done: stop judging this id.
                del self.terminal[str(entitlement_id)]
                return problems
            problems.append(
                f"{exchange.operation_id} answered HTTP {exchange.http_status} for"
                f" entitlement {entitlement_id}, which is {last_status}; the contract allows it"
                f" only from {', '.join(allowed)} and says NOT_AVAILABLE otherwise"
            )
        if response is not None and succeeded:
            record_id = response.get("entitlementId")
            status = response.get("status")
            # An accepted way out (a 202 reactivate still shows CANCELLED) is not remembered:
            # the merchant may finish it at any time.
            way_out = allowed is not None and status in allowed
            if isinstance(record_id, str) and status in spec.terminal_statuses() and not way_out:
                self.terminal[record_id] = str(status)
        return problems


@dataclass(slots=True)
class _Seen:
    """What an answer last showed of one entitlement."""

    customer: Any
    merchant: Any
    product: Any
    status: Any
    extension_data: Mapping[str, Any] | None


@dataclass
class RecordMemory:
    """Remembers what the service's answers showed of each entitlement, to judge later answers
    against it: an update keeps the extensionData keys it did not send (`MERGED_CHECK`), a
    query lists every entitlement of the customer it matches (`QUERY_CHECK`).

    Only what cannot change unseen is relied on. An entitlement answered 202 is forgotten (the
    merchant changes it later, unseen); a status filter is held only against entitlements last
    seen in a terminal status (time and merchants move the others). For scripted traffic: an
    X-RequestIdentifier replay of an old answer would mislead it.
    """

    seen: dict[str, _Seen] = field(default_factory=dict)

    def judge(self, exchange: Exchange) -> list[tuple[str, str]]:
        """(check name, problem) for this exchange given what was seen before; then remember."""
        problems = [*self._merged(exchange), *self._complete(exchange)]
        self._remember(exchange)
        return problems

    def _merged(self, exchange: Exchange) -> list[tuple[str, str]]:
        if exchange.operation_id != UPDATE or exchange.http_status != 200:
            return []
        request = _as_object(exchange.request_body) or {}
        response = _as_object(exchange.response_body) or {}
        sent = _as_object(request.get("extensionData"))
        before = self.seen.get(str(exchange.entitlement_id))
        shown = _as_object(response.get("extensionData"))
        if sent is None or before is None or before.extension_data is None or shown is None:
            return []
        dropped = {
            key: value
            for key, value in before.extension_data.items()
            if key not in sent and shown.get(key, _MISSING) != value
        }
        if not dropped:
            return []
        return [
            (
                MERGED_CHECK,
                f"the update sent extensionData keys {sorted(sent)}; the record had"
                f" {sorted(before.extension_data)} before, and keys not sent stay as they were"
                f" (merged, not replaced); the answer has {_shown_keys(shown, dropped)}",
            )
        ]

    def _complete(self, exchange: Exchange) -> list[tuple[str, str]]:
        if exchange.operation_id != "queryEntitlements" or exchange.http_status != 200:
            return []
        request = _as_object(exchange.request_body) or {}
        response = _as_object(exchange.response_body) or {}
        listed = response.get("entitlements")
        if "customerIdentifier" not in request or not isinstance(listed, list):
            return []
        ids = {record.get("entitlementId") for record in listed if _as_object(record)}
        status = request.get("status")
        missing = [
            entitlement_id
            for entitlement_id, seen in self.seen.items()
            if entitlement_id not in ids
            and seen.customer == request["customerIdentifier"]
            and request.get("merchantAccountKey", seen.merchant) == seen.merchant
            and request.get("productKey", seen.product) == seen.product
            and (status is None or (status == seen.status and status in spec.terminal_statuses()))
        ]
        if not missing:
            return []
        return [
            (
                QUERY_CHECK,
                f"the query matches {len(ids) + len(missing)} entitlements known to be the"
                f" customer's (at least); the answer lists {len(ids)}, leaving out"
                f" {', '.join(sorted(missing))}",
            )
        ]

    def _remember(self, exchange: Exchange) -> None:
        if not 200 <= exchange.http_status < 300:
            return
        response = _as_object(exchange.response_body) or {}
        if exchange.http_status == 202:
            for key in (exchange.entitlement_id, response.get("entitlementId")):
                self.seen.pop(str(key), None)
            return
        listed = response.get("entitlements")
        records = listed if isinstance(listed, list) else [response]
        for record in records:
            record = _as_object(record) or {}
            entitlement_id = record.get("entitlementId")
            if isinstance(entitlement_id, str) and "status" in record:
                self.seen[entitlement_id] = _Seen(
                    customer=record.get("customerIdentifier"),
                    merchant=record.get("merchantAccountKey"),
                    product=record.get("productKey"),
                    status=record.get("status"),
                    extension_data=_as_object(record.get("extensionData")),
                )


_MISSING = object()


def _shown_keys(shown: Mapping[str, Any], dropped: Mapping[str, Any]) -> str:
    lost = [key for key in dropped if key not in shown]
    changed = [key for key in dropped if key in shown]
    parts = [f"keys {sorted(shown)}"]
    if lost:
        parts.append(f"without {sorted(lost)}")
    if changed:
        parts.append(f"with {sorted(changed)} changed")
    return ", ".join(parts)


# Each stateless rule under the name of the schemathesis check that applies it (hooks), so a
# scenario violation and a fuzzing failure of the same rule read alike.
RULES: Mapping[str, Callable[[Exchange], list[str]]] = {
    "bango_response_code_matches_status": response_code_matches_status,
    "bango_entitlement_status_legal": entitlement_status_is_legal,
    "bango_reason_echoed": reason_is_echoed,
    "bango_custom_properties_kept": custom_properties_are_kept,
    "bango_client_action_complete": client_action_is_complete,
}
# The check that applies TerminalStatusMemory.
TERMINAL_STATUS_CHECK = "bango_terminal_status_final"
# The checks RecordMemory applies.
MERGED_CHECK = "bango_extension_data_merged"
QUERY_CHECK = "bango_query_complete"
