"""Schemathesis hooks: the contract's own checks, data steering, and response recording.

Loaded by the schemathesis CLI through `hooks = "bango_resale_contract.hooks"` in
`schemathesis.toml` (or `SCHEMATHESIS_HOOKS`). Everything here is keyed by the partner spec's
operationIds, so running the same configuration against the sandbox's control spec only
records its responses.

Steering only touches schema-valid (positive) cases and only makes them more meaningful: known
merchants and products, reason pairs from the reason table, and `X-Magic-Number` values that
pick the merchant's answer. Negative cases and every phase stay as schemathesis makes them.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import uuid
import zlib
from collections.abc import Mapping
from typing import Any

import schemathesis
from schemathesis.generation import GenerationMode

import bango_resale_spec as spec
from bango_resale_contract import checks, sandbox_data
from bango_resale_contract.observations import OBSERVATIONS_ENVIRONMENT_VARIABLE, Observation
from bango_resale_contract.sandbox_data import MAGIC_HEADER

_TERMINAL_MEMORY = checks.TerminalStatusMemory()
_RECORD_LOCK = threading.Lock()
REQUEST_IDENTIFIER_HEADER = checks.REQUEST_IDENTIFIER_HEADER
# before_call gives every schema-valid request a request id of its own, starting with this.
FRESH_REQUEST_IDENTIFIER_PREFIX = "contract-"
TRANSIENT_MAGIC_PREFIX = "ANY_REQUEST_RETURNS_"


def _operation_id(case: Any) -> str:
    operation_id = case.operation.definition.raw.get("operationId")
    return str(operation_id) if operation_id else str(case.operation.label)


def _json_body(response: Any) -> Any:
    try:
        return json.loads(response.content) if response.content else None
    except ValueError:
        return None


def _request_body(case: Any) -> Any:
    body = case.body
    return body if isinstance(body, Mapping | list | str | int | float | bool) else None


def _entitlement_id(case: Any) -> str | None:
    path_parameters = case.path_parameters or {}
    candidate = path_parameters.get("entitlementId")
    body = _request_body(case)
    if candidate is None and isinstance(body, Mapping):
        candidate = body.get("entitlementId")
    return candidate if isinstance(candidate, str) else None


def _exchange(case: Any, response: Any) -> checks.Exchange:
    return checks.Exchange(
        operation_id=_operation_id(case),
        http_status=int(response.status_code),
        response_body=_json_body(response),
        request_body=_request_body(case),
        entitlement_id=_entitlement_id(case),
    )


def _fail_on(problems: list[str]) -> None:
    if problems:
        raise AssertionError("; ".join(problems))


def _is_partner_operation(case: Any) -> bool:
    """A documented request of a partner operation (not a probe with another HTTP method,
    whose answer the built-in unsupported_method check judges)."""
    return (
        _operation_id(case) in spec.operation_responses()
        and str(case.method).upper() == str(case.operation.method).upper()
    )


@schemathesis.check
def bango_response_code_matches_status(ctx: Any, response: Any, case: Any) -> bool | None:
    """responseCode agrees with the HTTP status and is documented for the operation."""
    if _is_partner_operation(case):
        _fail_on(checks.response_code_matches_status(_exchange(case, response)))
    return None


@schemathesis.check
def bango_entitlement_status_legal(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 2xx record's status is one the operation documents for that answer."""
    if _is_partner_operation(case):
        _fail_on(checks.entitlement_status_is_legal(_exchange(case, response)))
    return None


@schemathesis.check
def bango_reason_echoed(ctx: Any, response: Any, case: Any) -> bool | None:
    """Cancel, revoke and suspend store the sent reason pair in extensionData."""
    if _is_partner_operation(case):
        _fail_on(checks.reason_is_echoed(_exchange(case, response)))
    return None


@schemathesis.check
def bango_custom_properties_kept(ctx: Any, response: Any, case: Any) -> bool | None:
    """Cancel and revoke keep the custom properties they were sent in extensionData."""
    if _is_partner_operation(case):
        _fail_on(checks.custom_properties_are_kept(_exchange(case, response)))
    return None


@schemathesis.check
def bango_client_action_complete(ctx: Any, response: Any, case: Any) -> bool | None:
    """CLIENT_ACTION_REQUIRED carries a known action and a URL."""
    if _is_partner_operation(case):
        _fail_on(checks.client_action_is_complete(_exchange(case, response)))
    return None


@schemathesis.check
def bango_terminal_status_final(ctx: Any, response: Any, case: Any) -> bool | None:
    """Nothing succeeds on an entitlement seen CANCELLED or REVOKED unless the spec's
    the status machine allows it from that status (reactivate of a CANCELLED one)."""
    if not _is_partner_operation(case):
        return None
    problems = _TERMINAL_MEMORY.judge(_exchange(case, response), response_key=response)
    if not _may_be_a_replay(case):
        _fail_on(problems)
    return None


def _may_be_a_replay(case: Any) -> bool:
    """Whether the answer may be a replay: a repeated X-RequestIdentifier replays the first
    answer, which may predate the end. Only ids the generator chose (negative cases keep
    theirs) can repeat; the fresh ones before_call gives valid requests cannot."""
    return any(
        name.lower() == REQUEST_IDENTIFIER_HEADER.lower()
        and not str(value).startswith(FRESH_REQUEST_IDENTIFIER_PREFIX)
        for name, value in (case.headers or {}).items()
    )


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """Append every answer to the observations file, for the coverage matrix."""
    path = os.environ.get(OBSERVATIONS_ENVIRONMENT_VARIABLE)
    if not path:
        return
    meta = case.meta
    observation = Observation(
        operation_id=_operation_id(case),
        http_status=int(response.status_code),
        response_code=checks.response_code_of(_json_body(response)),
        source=f"schemathesis:{meta.phase.name.value}" if meta is not None else "schemathesis",
    )
    with _RECORD_LOCK, open(path, "a", encoding="utf-8") as stream:
        stream.write(observation.to_json() + "\n")


def _pick(case: Any, choices: tuple[Any, ...]) -> Any:
    """A choice that depends only on the case's content, so deterministic runs stay so."""
    seed = json.dumps(
        [case.path_parameters, _request_body(case)], sort_keys=True, default=str
    ).encode()
    return choices[zlib.crc32(seed) % len(choices)]


def _reason_pairs() -> tuple[tuple[str, str], ...]:
    """The pairs a reseller may send: the reason table without the platform's own rows."""
    return tuple(
        dict.fromkeys(
            (row.category, row.code) for row in spec.reason_rows() if not row.applied_by_platform
        )
    )


def _with_valid_reason(body: dict[str, Any], case: Any, category: str, code: str) -> None:
    if (body.get(category), body.get(code)) not in _reason_pairs():
        body[category], body[code] = _pick(case, _reason_pairs())


def _set_header(case: Any, name: str, value: str) -> None:
    headers = dict(case.headers or {})
    headers[name] = value
    case.headers = headers


def _drop_forced_failure_magic(case: Any) -> None:
    """Keep the forced-failure magic numbers out of control-spec requests.

    The control spec documents that every sandbox operation honours `X-Magic-Number`, including
    `ANY_REQUEST_RETURNS_INTERNAL_ERROR`; schemathesis's `not_a_server_error` check would then
    report the 500 it asked for. Forcing transient answers is the scenario suite's job, on the
    partner operations, where it is judged against the documented pairs."""
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if name.lower() == MAGIC_HEADER.lower() and str(value).startswith(TRANSIENT_MAGIC_PREFIX):
            remaining = dict(headers)
            del remaining[name]
            case.headers = remaining


@functools.cache
def _products_under_test() -> tuple[tuple[str, str], ...]:
    """The products creates should name: `--product` for another service, else the sandbox's."""
    configured = os.environ.get(sandbox_data.PRODUCTS_ENVIRONMENT_VARIABLE, "")
    return sandbox_data.parse_products(configured) or sandbox_data.KNOWN_PRODUCTS


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    """Steer schema-valid requests toward data the service can act on."""
    operation_id = _operation_id(case)
    if operation_id not in spec.operation_responses():
        _drop_forced_failure_magic(case)
    meta = case.meta
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return
    body = case.body if isinstance(case.body, dict) else None
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == REQUEST_IDENTIFIER_HEADER.lower():
            # The contract refuses a reused id for a different write (409 BAD_REQUEST), and the
            # generator reuses ids freely: a valid request needs an id of its own.
            _set_header(case, name, f"{FRESH_REQUEST_IDENTIFIER_PREFIX}{uuid.uuid4().hex}")
    if operation_id == "createEntitlement" and body is not None:
        # Three in four creates name a product the sandbox sells; the rest stay random and
        # exercise NOT_AVAILABLE.
        # In the stateful phase every create should succeed, in each of its three ways, so that
        # the links of the 200, 201 and 202 answers all get walked.
        stateful = meta.phase.name.value == "stateful"
        product = _pick(case, (*_products_under_test(), *(() if stateful else (None,))))
        if product is not None:
            body["merchantAccountKey"], body["productKey"] = product
            outcomes = (
                sandbox_data.CREATE_OUTCOMES[1:] if stateful else sandbox_data.CREATE_OUTCOMES
            )
            magic = _pick(case, outcomes)
            if magic:
                _set_header(case, MAGIC_HEADER, magic)
        # A caller-chosen entitlementId mostly collides (ALREADY_EXISTS) and starves the
        # stateful phase of fresh entitlements; keep it in one case out of four.
        if "entitlementId" in body and _pick(case, (True, False, False, False)):
            del body["entitlementId"]
    elif operation_id in {"cancelEntitlement", "revokeEntitlement"} and body is not None:
        _with_valid_reason(body, case, "cancelReasonCategory", "cancelReasonCode")
    elif operation_id == "updateEntitlement" and body is not None:
        if body.get("entitlementBenefits") == checks.SUSPEND_BENEFITS:
            _with_valid_reason(body, case, "reasonCategory", "reasonCode")
    elif operation_id == "getActivationInfo":
        _set_header(case, MAGIC_HEADER, _pick(case, sandbox_data.ACTIVATION_INFO_OUTCOMES))
