"""Build each operation's request and turn any answer into a result or one of our errors.

Every request comes whole from the generated client's public `build_request` (one per
operation, see scripts/generate.py): method, path, query parameters, headers and body follow the
spec without being copied here. Answers are decoded here and only here: whatever goes wrong inside
the generated models (missing field, bad date, non-JSON body) becomes an `ApiError` subclass.
Both clients share these functions; they differ only in how they send and sleep.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

import bango_resale_spec as spec
from bango_resale_generated.api.activation import get_activation_info, reactivate_entitlement
from bango_resale_generated.api.diagnostics import echo as echo_operation
from bango_resale_generated.api.entitlements import (
    cancel_entitlement,
    create_entitlement,
    get_entitlement,
    query_entitlements,
    revoke_entitlement,
    update_entitlement,
)
from bango_resale_generated.models import (
    CreateEntitlementRequest,
    EntitlementChanges,
    EntitlementStatus,
    ExtensionData,
    QueryEntitlementsRequest,
    ReasonCategory,
    ReasonCode,
    ResumeEntitlementRequest,
    SuspendEntitlementRequest,
    TerminateEntitlementRequest,
)
from bango_resale_generated.types import UNSET, Unset

from . import _constants
from ._actions import UnknownClientAction, parse_client_action
from ._errors import (
    RESPONSE_CODE_ERRORS,
    ApiError,
    InvalidArgumentError,
    MalformedResponseError,
    RequestIdentifierReusedError,
    UnknownClientActionError,
    UnknownResponseCodeError,
    error_class_for,
)
from ._reasons import Reason
from ._results import EchoResult, Entitlement, EntitlementResult, Outcome

T = TypeVar("T")

# Fields the cancel/revoke body owns; custom data must not overwrite them.
TERMINATE_RESERVED_KEYS = frozenset(
    {"cancelReasonCategory", "cancelReasonCode", "cancelReasonDescription"}
)


@dataclass(frozen=True, slots=True)
class Answer:
    """The parts of an HTTP answer decoding needs."""

    status: int
    body: bytes
    headers: Mapping[str, str]
    request_identifier: str | None

    @classmethod
    def from_httpx(cls, response: httpx.Response, request_identifier: str | None) -> Answer:
        echoed = response.headers.get(_constants.REQUEST_ID_HEADER)
        return cls(
            response.status_code, response.content, response.headers, echoed or request_identifier
        )


Decoder = Callable[[Mapping[str, Any], Answer], T]


# What `build_request` may return that the clients send; anything else fails loudly at once
# (see `_prepared`) instead of being dropped on the way to the wire.
CARRIED_REQUEST_PARTS = frozenset({"method", "url", "params", "headers", "json"})


@dataclass(frozen=True, slots=True)
class PreparedCall(Generic[T]):
    """One request ready to send (same on every attempt) and how to read its success body."""

    operation: str
    method: str
    url: str
    params: Mapping[str, Any] | None
    spec_headers: Mapping[str, str]
    json_body: Any
    request_identifier: str | None
    decoder: Decoder[T]

    def headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        # The spec's headers last: a caller's extra headers must not change the request id
        # between attempts, nor the content type of the body.
        if not extra:
            return dict(self.spec_headers)
        return {**extra, **self.spec_headers}

    def encoded_body(self) -> bytes | None:
        if self.json_body is None:
            return None
        return json.dumps(self.json_body, separators=(",", ":")).encode()


@functools.cache
def success_codes() -> frozenset[str]:
    """The `responseCode` values the spec pairs with a success status (2xx)."""
    return frozenset(
        row.response_code for row in spec.response_code_rows() if row.http_status < 400
    )


# --- Validation before sending ------------------------------------------------------------


@functools.cache
def _schema_pattern(*path: str) -> re.Pattern[str]:
    node: Any = spec.load_partner_spec()
    for part in path:
        node = node[part]
    return re.compile(str(node["pattern"]))


@functools.cache
def _schema_max_length(name: str) -> int:
    return int(spec.load_partner_spec()["components"]["schemas"][name]["maxLength"])


def check_identifier(field: str, value: object, schema: str = "EntitlementId") -> str:
    """Refuse an id the API would reject, naming the field and what a valid one looks like."""
    pattern = _schema_pattern("components", "schemas", schema)
    limit = _schema_max_length(schema)
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(field, f"must be a non-empty string, got {value!r}")
    if len(value) > limit or not pattern.fullmatch(value):
        raise InvalidArgumentError(
            field,
            f"{value!r} is not a valid id: use at most {limit} characters matching "
            f"{pattern.pattern}",
        )
    return value


def check_text(field: str, value: object, schema: str) -> str:
    limit = _schema_max_length(schema)
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(field, f"must be a non-empty string, got {value!r}")
    if len(value) > limit:
        raise InvalidArgumentError(field, f"is {len(value)} characters; the limit is {limit}")
    return value


def check_notification_url(value: str) -> str:
    if not re.match(r"^https?://", value):
        raise InvalidArgumentError(
            "notification_url", f"{value!r} must be an absolute http:// or https:// URL"
        )
    return value


def check_timestamp(field: str, value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None:
        raise InvalidArgumentError(
            field, "needs a timezone; pass e.g. datetime.datetime.now(datetime.UTC)"
        )
    return value


def request_identifier_for(given: str | None, *, mutating: bool) -> str | None:
    """The caller's id (validated), a fresh one for a mutating call, else none."""
    if given is not None:
        return check_identifier("request_id", given, "RequestIdentifier")
    return str(uuid.uuid4()) if mutating else None


def _prepared(
    operation: str,
    request: Mapping[str, Any],
    request_identifier: str | None,
    decoder: Decoder[T],
) -> PreparedCall[T]:
    """Wrap what a generated `build_request` returned; refuse a part the clients do not send."""
    dropped = request.keys() - CARRIED_REQUEST_PARTS
    if dropped:
        raise NotImplementedError(
            f"{operation}: the spec defines request parts {sorted(dropped)} that this client "
            "does not send yet"
        )
    return PreparedCall(
        operation=operation,
        method=str(request["method"]).upper(),
        url=str(request["url"]),
        params=request.get("params"),
        spec_headers={str(k): str(v) for k, v in request.get("headers", {}).items()},
        json_body=request.get("json"),
        request_identifier=request_identifier,
        decoder=decoder,
    )


def _rid(request_identifier: str | None) -> str | Unset:
    return UNSET if request_identifier is None else request_identifier


def _optional(value: T | None) -> T | Unset:
    return UNSET if value is None else value


def _extension(data: Mapping[str, Any] | None) -> ExtensionData | Unset:
    return UNSET if data is None else ExtensionData.from_dict(dict(data))


# --- One builder per operation --------------------------------------------------------------


def prepare_create(
    *,
    customer_identifier: str,
    merchant_account_key: str,
    product_key: str,
    offer_key: str | None,
    entitlement_id: str | None,
    notification_url: str | None,
    date_expiry: datetime.datetime | None,
    extension_data: Mapping[str, Any] | None,
    request_id: str | None,
) -> PreparedCall[EntitlementResult]:
    body = CreateEntitlementRequest(
        customer_identifier=check_text(
            "customer_identifier", customer_identifier, "CustomerIdentifier"
        ),
        merchant_account_key=check_text(
            "merchant_account_key", merchant_account_key, "MerchantAccountKey"
        ),
        product_key=check_text("product_key", product_key, "ProductKey"),
        offer_key=_optional(offer_key),
        entitlement_id=_optional(
            None if entitlement_id is None else check_identifier("entitlement_id", entitlement_id)
        ),
        notification_url=_optional(
            None if notification_url is None else check_notification_url(notification_url)
        ),
        date_expiry=_optional(
            None if date_expiry is None else check_timestamp("date_expiry", date_expiry)
        ),
        extension_data=_extension(extension_data),
    )
    rid = request_identifier_for(request_id, mutating=True)
    request = create_entitlement.build_request(body=body, x_request_identifier=_rid(rid))
    return _prepared("createEntitlement", request, rid, decode_entitlement)


def prepare_get(entitlement_id: str, request_id: str | None) -> PreparedCall[EntitlementResult]:
    eid = check_identifier("entitlement_id", entitlement_id)
    rid = request_identifier_for(request_id, mutating=False)
    request = get_entitlement.build_request(eid, x_request_identifier=_rid(rid))
    return _prepared("getEntitlement", request, rid, decode_entitlement)


def prepare_query(
    *,
    customer_identifier: str,
    merchant_account_key: str | None,
    product_key: str | None,
    status: str | None,
    request_id: str | None,
) -> PreparedCall[list[Entitlement]]:
    status_value: EntitlementStatus | Unset = UNSET
    if status is not None:
        try:
            status_value = EntitlementStatus(status)
        except ValueError:
            known = ", ".join(spec.entitlement_statuses())
            raise InvalidArgumentError("status", f"{status!r} is not one of {known}") from None
    body = QueryEntitlementsRequest(
        customer_identifier=check_text(
            "customer_identifier", customer_identifier, "CustomerIdentifier"
        ),
        merchant_account_key=_optional(merchant_account_key),
        product_key=_optional(product_key),
        status=status_value,
    )
    # A report is read-only, but it is a POST: give it an id like every other POST.
    rid = request_identifier_for(request_id, mutating=True)
    request = query_entitlements.build_request(body=body, x_request_identifier=_rid(rid))
    return _prepared("queryEntitlements", request, rid, decode_entitlement_list)


class _Omitted:
    """Marks an `update` argument the caller did not pass (as opposed to `None`: clear it)."""

    _instance: _Omitted | None = None

    def __new__(cls) -> _Omitted:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "OMITTED"

    def __bool__(self) -> bool:
        return False


OMITTED = _Omitted()


def prepare_update(
    entitlement_id: str,
    *,
    product_key: str | _Omitted,
    offer_key: str | _Omitted | None,
    notification_url: str | _Omitted | None,
    date_expiry: datetime.datetime | _Omitted | None,
    customer_identifier: str | _Omitted,
    extension_data: Mapping[str, Any] | _Omitted,
    request_id: str | None,
) -> PreparedCall[EntitlementResult]:
    eid = check_identifier("entitlement_id", entitlement_id)

    def given(value: T | _Omitted) -> T | Unset:
        return UNSET if isinstance(value, _Omitted) else value

    changes = EntitlementChanges(
        entitlement_id=eid,
        # The same checks as create(), so a bad value is refused here, not by a 400 later.
        product_key=given(
            product_key
            if not isinstance(product_key, str)
            else check_text("product_key", product_key, "ProductKey")
        ),
        offer_key=given(offer_key),
        notification_url=given(
            notification_url
            if not isinstance(notification_url, str)
            else check_notification_url(notification_url)
        ),
        date_expiry=given(
            date_expiry
            if not isinstance(date_expiry, datetime.datetime)
            else check_timestamp("date_expiry", date_expiry)
        ),
        customer_identifier=given(
            customer_identifier
            if not isinstance(customer_identifier, str)
            else check_text("customer_identifier", customer_identifier, "CustomerIdentifier")
        ),
        extension_data=(
            UNSET
            if isinstance(extension_data, _Omitted)
            else ExtensionData.from_dict(dict(extension_data))
        ),
    )
    if len(changes.to_dict()) < 2:
        raise InvalidArgumentError(
            "update",
            "nothing to change: pass at least one of product_key, offer_key, notification_url, "
            "date_expiry, customer_identifier, extension_data (use suspend()/resume() for those)",
        )
    rid = request_identifier_for(request_id, mutating=True)
    request = update_entitlement.build_request(body=changes, x_request_identifier=_rid(rid))
    return _prepared("updateEntitlement", request, rid, decode_entitlement)


def prepare_suspend(
    entitlement_id: str, reason: Reason, description: str | None, request_id: str | None
) -> PreparedCall[EntitlementResult]:
    body = SuspendEntitlementRequest(
        entitlement_id=check_identifier("entitlement_id", entitlement_id),
        entitlement_benefits="SUSPENDED",
        reason_category=ReasonCategory(reason.category),
        reason_code=ReasonCode(reason.code),
        reason_description=check_text(
            "description", description or reason.description, "ReasonDescription"
        ),
    )
    rid = request_identifier_for(request_id, mutating=True)
    request = update_entitlement.build_request(body=body, x_request_identifier=_rid(rid))
    return _prepared("suspend (updateEntitlement)", request, rid, decode_entitlement)


def prepare_resume(entitlement_id: str, request_id: str | None) -> PreparedCall[EntitlementResult]:
    body = ResumeEntitlementRequest(
        entitlement_id=check_identifier("entitlement_id", entitlement_id),
        entitlement_benefits="NORMAL",
    )
    rid = request_identifier_for(request_id, mutating=True)
    request = update_entitlement.build_request(body=body, x_request_identifier=_rid(rid))
    return _prepared("resume (updateEntitlement)", request, rid, decode_entitlement)


def prepare_terminate(
    entitlement_id: str,
    reason: Reason,
    *,
    immediate: bool,
    description: str | None,
    custom_data: Mapping[str, Any] | None,
    request_id: str | None,
) -> PreparedCall[EntitlementResult]:
    eid = check_identifier("entitlement_id", entitlement_id)
    body = TerminateEntitlementRequest(
        cancel_reason_category=ReasonCategory(reason.category),
        cancel_reason_code=ReasonCode(reason.code),
        cancel_reason_description=check_text(
            "description", description or reason.description, "ReasonDescription"
        ),
    )
    if custom_data:
        clash = TERMINATE_RESERVED_KEYS.intersection(custom_data)
        if clash:
            raise InvalidArgumentError(
                "custom_data",
                f"{sorted(clash)} are set from `reason` and `description`; remove them",
            )
        body.additional_properties.update(custom_data)
    rid = request_identifier_for(request_id, mutating=True)
    module = revoke_entitlement if immediate else cancel_entitlement
    operation = "revokeEntitlement" if immediate else "cancelEntitlement"
    request = module.build_request(eid, body=body, x_request_identifier=_rid(rid))
    return _prepared(operation, request, rid, decode_entitlement)


def prepare_activation_info(
    entitlement_id: str, request_id: str | None
) -> PreparedCall[EntitlementResult]:
    eid = check_identifier("entitlement_id", entitlement_id)
    rid = request_identifier_for(request_id, mutating=False)
    request = get_activation_info.build_request(eid, x_request_identifier=_rid(rid))
    return _prepared("getActivationInfo", request, rid, decode_entitlement)


def prepare_reactivate(
    entitlement_id: str, request_id: str | None
) -> PreparedCall[EntitlementResult]:
    eid = check_identifier("entitlement_id", entitlement_id)
    rid = request_identifier_for(request_id, mutating=True)
    request = reactivate_entitlement.build_request(eid, x_request_identifier=_rid(rid))
    return _prepared("reactivateEntitlement", request, rid, decode_entitlement)


@functools.cache
def _echo_id_schema() -> Mapping[str, Any]:
    operation = spec.load_partner_spec()["paths"]["/v1/echo/{echoRequestId}"]["get"]
    for parameter in operation["parameters"]:
        if parameter.get("name") == "echoRequestId":
            schema: Mapping[str, Any] = parameter["schema"]
            return schema
    raise LookupError("the spec's echo operation has no echoRequestId parameter")


def prepare_echo(echo_request_id: str, request_id: str | None) -> PreparedCall[EchoResult]:
    schema = _echo_id_schema()
    pattern = re.compile(str(schema["pattern"]))
    limit = int(schema["maxLength"])
    if len(echo_request_id) > limit or not pattern.fullmatch(echo_request_id):
        raise InvalidArgumentError(
            "echo_request_id",
            f"{echo_request_id!r}: use 1 to {limit} characters matching {pattern.pattern}",
        )
    rid = request_identifier_for(request_id, mutating=False)
    request = echo_operation.build_request(echo_request_id, x_request_identifier=_rid(rid))
    return _prepared("echo", request, rid, decode_echo)


# --- Decoding: the one place answers become results or errors --------------------------------


def _text(payload: Mapping[str, Any], key: str) -> str:
    value = payload[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} must be a string, got {value!r}")
    return value


def _optional_text(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{key} must be a string or null, got {value!r}")
    return value


def _stamp(payload: Mapping[str, Any], key: str) -> datetime.datetime | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{key} must be an RFC 3339 date-time, got {value!r}")
    return datetime.datetime.fromisoformat(value)


def _required_stamp(payload: Mapping[str, Any], key: str) -> datetime.datetime:
    stamp = _stamp(payload, key)
    if stamp is None:
        raise KeyError(key)
    return stamp


# `Entitlement` has one field per field of the generated `EntitlementRecord`, under the same
# name except these, plus `sent` (the object as sent); tests/client/test_client_spec_coverage.py
# holds the two together.
RENAMED_RECORD_FIELDS = {"entitlement_display_name": "display_name"}


def entitlement_from_payload(payload: Mapping[str, Any]) -> Entitlement:
    """Our record type straight from the decoded JSON.

    This is the hot path of every call. The generated models' `from_dict` does the same job
    but costs about twice as much (attrs objects, then a second conversion), which the
    overhead budget in `scripts/bench/bench_client_overhead.py` cannot afford. A test decodes
    a record carrying every `EntitlementRecord` field of the spec both here and through the
    generated model and requires the same values, so a field the spec adds fails it until it
    is read here.
    """
    extension = payload.get("extensionData", {})
    if not isinstance(extension, dict):
        raise TypeError("extensionData must be an object")
    return Entitlement(
        entitlement_id=_text(payload, "entitlementId"),
        status=_text(payload, "status"),
        customer_identifier=_text(payload, "customerIdentifier"),
        merchant_account_key=_text(payload, "merchantAccountKey"),
        product_key=_text(payload, "productKey"),
        date_created=_required_stamp(payload, "dateCreated"),
        date_last_updated=_required_stamp(payload, "dateLastUpdated"),
        date_activated=_stamp(payload, "dateActivated"),
        date_ended=_stamp(payload, "dateEnded"),
        date_suspended=_stamp(payload, "dateSuspended"),
        date_resumed=_stamp(payload, "dateResumed"),
        date_expiry=_stamp(payload, "dateExpiry"),
        offer_key=_optional_text(payload, "offerKey"),
        activation_code=_optional_text(payload, "activationCode"),
        display_name=_optional_text(payload, "entitlementDisplayName"),
        notification_url=_optional_text(payload, "notificationUrl"),
        extension_data=extension,
        sent=payload,
    )


_OUTCOME_BY_STATUS = {200: Outcome.FINAL, 201: Outcome.CREATED, 202: Outcome.ACCEPTED}


def decode_entitlement(payload: Mapping[str, Any], answer: Answer) -> EntitlementResult:
    response_code = _text(payload, "responseCode")
    outcome = _OUTCOME_BY_STATUS.get(answer.status, Outcome.FINAL)
    if response_code == "CLIENT_ACTION_REQUIRED":
        outcome = Outcome.ACTION_REQUIRED
    parameters = payload.get("parameters")
    action = None
    if isinstance(parameters, Mapping):
        action = parse_client_action(parameters)
    elif outcome is Outcome.ACTION_REQUIRED:
        raise ValueError("CLIENT_ACTION_REQUIRED without parameters")
    result = EntitlementResult(
        entitlement=entitlement_from_payload(payload),
        outcome=outcome,
        http_status=answer.status,
        response_code=response_code,
        response_message=_text(payload, "responseMessage"),
        request_identifier=answer.request_identifier,
        client_action=action,
    )
    if isinstance(action, UnknownClientAction):
        raise UnknownClientActionError(
            f"the platform asked for client action {action.action!r}, which this client does "
            "not know; the entitlement is in `.result` (upgrade bango-resale or handle it "
            "from `.result.client_action.parameters`)",
            result=result,
            body=answer.body,
        )
    return result


def decode_entitlement_list(payload: Mapping[str, Any], answer: Answer) -> list[Entitlement]:
    records = payload["entitlements"]
    if not isinstance(records, list):
        raise TypeError("entitlements must be an array")
    return [entitlement_from_payload(record) for record in records]


def decode_echo(payload: Mapping[str, Any], answer: Answer) -> EchoResult:
    echoed = payload["echo"]
    if not isinstance(echoed, str):
        raise TypeError("echo is not a string")
    return EchoResult(
        echo=echoed,
        response_code=str(payload["responseCode"]),
        response_message=str(payload["responseMessage"]),
        request_identifier=answer.request_identifier,
    )


def _envelope(body: bytes) -> Mapping[str, Any] | None:
    if not body:
        return None
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def decode_answer(call: PreparedCall[T], answer: Answer, attempts: int = 1) -> T:
    """The typed result of a success, or raise the matching `ApiError` subclass."""
    payload = _envelope(answer.body)
    code = payload.get("responseCode") if payload is not None else None
    response_code = code if isinstance(code, str) else None
    message = payload.get("responseMessage") if payload is not None else None
    response_message = message if isinstance(message, str) else None

    def error(cls: type[ApiError], text: str) -> ApiError:
        return cls(
            text,
            http_status=answer.status,
            response_code=response_code,
            response_message=response_message,
            request_identifier=answer.request_identifier,
            body=answer.body,
            headers=answer.headers,
            attempts=attempts,
        )

    if 200 <= answer.status < 300:
        if payload is None:
            raise error(
                MalformedResponseError,
                f"{call.operation}: HTTP {answer.status} with a body that is not a JSON object",
            )
        if response_code not in success_codes():
            if response_code in RESPONSE_CODE_ERRORS:
                cls = error_class_for(answer.status, response_code)
                raise error(cls, f"{call.operation}: {response_code}: {response_message}")
            raise error(
                UnknownResponseCodeError,
                f"{call.operation}: unknown responseCode {response_code!r} with HTTP "
                f"{answer.status}; Bango may have added a code this client does not know",
            )
        try:
            return call.decoder(payload, answer)
        except ApiError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise error(
                MalformedResponseError,
                f"{call.operation}: HTTP {answer.status} body does not match the spec ({exc!r})",
            ) from exc

    cls = error_class_for(answer.status, response_code)
    if payload is None:
        detail = "a body that is not a Bango JSON envelope"
    elif cls is RequestIdentifierReusedError:
        detail = (
            f"{response_code}: X-RequestIdentifier {answer.request_identifier!r} was already "
            "used for a different request, so nothing was done; pass a new request_id for a "
            "new request"
        )
    else:
        detail = f"{response_code}: {response_message}"
    raise error(cls, f"{call.operation}: HTTP {answer.status}, {detail}")
