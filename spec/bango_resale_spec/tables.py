"""The partner spec's tables: reasons, response codes, enums and each operation's outcomes.

The spec is the single source of truth for these lists. The client, the sandbox and the
contract suite call these functions instead of keeping their own copies.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._documents import (
    JOURNEYS_FILE,
    PARTNER_SPEC_FILE,
    SANDBOX_SPEC_FILE,
    document_path,
    document_text,
)
from ._documents import load_document as _load_document

HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete"})


@dataclass(frozen=True, slots=True)
class ReasonRow:
    """One row of Bango's standard reason table (`x-reasons` in the spec)."""

    index: int
    category: str
    code: str
    description: str
    notes: str | None
    suspend_preferred: bool
    applied_by_platform: bool
    #: This document's reading of `notes` (the notes themselves are Bango's words, unedited).
    notes_reading: str | None = None


@dataclass(frozen=True, slots=True)
class ResponseCodeRow:
    """One row of the response-code table (`x-response-codes` at the spec's root).

    `cause` names the one situation a row is limited to (`REQUEST_IDENTIFIER_REUSED` for the
    409 `BAD_REQUEST` row); it is `None` on the general row of a code.
    """

    response_code: str
    http_status: int
    meaning: str
    transient: bool
    cause: str | None = None


#: The `cause` of the response-code row for an `X-RequestIdentifier` reused for another request.
REQUEST_IDENTIFIER_REUSED = "REQUEST_IDENTIFIER_REUSED"


@dataclass(frozen=True, slots=True)
class DocumentedResponse:
    """A documented (HTTP status, responseCode) pair of one operation.

    `entitlement_statuses` lists the statuses the returned record may carry; it is empty for
    responses without a record.
    """

    http_status: int
    response_code: str
    entitlement_statuses: tuple[str, ...]


def partner_spec_path() -> Path:
    """The partner spec's file (for tools that read a path, such as schemathesis)."""
    return document_path(PARTNER_SPEC_FILE)


def sandbox_spec_path() -> Path:
    """The sandbox spec's file; the partner spec sits beside it."""
    return document_path(SANDBOX_SPEC_FILE)


def journeys_path() -> Path:
    """The Arazzo document of Bango's certification journeys; the partner and sandbox specs it
    describes sit beside it."""
    return document_path(JOURNEYS_FILE)


def partner_spec_text() -> str:
    """The partner spec as YAML text, exactly as shipped."""
    return document_text(PARTNER_SPEC_FILE)


def load_partner_spec() -> Mapping[str, Any]:
    """The parsed partner spec (cached; treat it as read-only)."""
    return _load_document(PARTNER_SPEC_FILE)


def load_sandbox_spec() -> Mapping[str, Any]:
    """The parsed sandbox spec (cached; treat it as read-only)."""
    return _load_document(SANDBOX_SPEC_FILE)


@functools.cache
def reason_rows() -> tuple[ReasonRow, ...]:
    """Every row of the standard reason table, in Bango index order."""
    rows = load_partner_spec()["x-reasons"]
    return tuple(
        ReasonRow(
            index=int(row["index"]),
            category=str(row["category"]),
            code=str(row["code"]),
            description=str(row["description"]),
            notes=row.get("notes"),
            suspend_preferred=bool(row.get("suspendPreferred", False)),
            applied_by_platform=bool(row.get("appliedByPlatform", False)),
            notes_reading=row.get("notesReading"),
        )
        for row in sorted(rows, key=lambda r: int(r["index"]))
    )


@functools.cache
def response_code_rows() -> tuple[ResponseCodeRow, ...]:
    """The response-code table: every (responseCode, HTTP status) the API uses."""
    return tuple(
        ResponseCodeRow(
            response_code=str(row["responseCode"]),
            http_status=int(row["httpStatus"]),
            meaning=str(row["meaning"]),
            transient=bool(row.get("transient", False)),
            cause=row.get("cause"),
        )
        for row in load_partner_spec()["x-response-codes"]
    )


@functools.cache
def general_http_statuses() -> Mapping[str, int]:
    """For every error `responseCode`, the HTTP status it comes with unless a `cause` says
    otherwise (success codes have several statuses and are left out)."""
    statuses: dict[str, int] = {}
    for row in response_code_rows():
        if row.http_status >= 400 and row.cause is None:
            statuses.setdefault(row.response_code, row.http_status)
    return statuses


def response_code_row_for(cause: str) -> ResponseCodeRow:
    """The response-code row limited to `cause` (for example `REQUEST_IDENTIFIER_REUSED`)."""
    for row in response_code_rows():
        if row.cause == cause:
            return row
    raise KeyError(f"the partner spec's x-response-codes has no row for cause {cause!r}")


@functools.cache
def reason_fallback_code() -> str:
    """The code any category accepts when none of its listed codes fits (`x-reason-fallback`)."""
    return str(load_partner_spec()["x-reason-fallback"]["code"])


@functools.cache
def reason_fallback_description() -> str:
    """The sample description of a fallback reason (`x-reason-fallback`)."""
    return str(load_partner_spec()["x-reason-fallback"]["description"])


@functools.cache
def accepted_reason_pairs() -> frozenset[tuple[str, str]]:
    """Every (category, code) a reseller may send: the table's pairs, and every category with
    the fallback code, as Bango's table says to use it when no listed code fits."""
    rows = reason_rows()
    fallback = reason_fallback_code()
    return frozenset({(r.category, r.code) for r in rows} | {(r.category, fallback) for r in rows})


def _schema_enum(name: str) -> tuple[str, ...]:
    return tuple(str(v) for v in load_partner_spec()["components"]["schemas"][name]["enum"])


@functools.cache
def entitlement_statuses() -> tuple[str, ...]:
    """The seven entitlement statuses."""
    return _schema_enum("EntitlementStatus")


@functools.cache
def terminal_statuses() -> tuple[str, ...]:
    """The end statuses (`x-terminal`): no operation leaves them, except that the deprecated
    reactivate may bring back a `CANCELLED` one."""
    schema = load_partner_spec()["components"]["schemas"]["EntitlementStatus"]
    return tuple(str(v) for v in schema["x-terminal"])


@functools.cache
def response_codes() -> tuple[str, ...]:
    """Every known responseCode value."""
    return _schema_enum("ResponseCode")


@functools.cache
def notification_types() -> tuple[str, ...]:
    """Every known notificationType value."""
    return _schema_enum("NotificationType")


@functools.cache
def client_actions() -> tuple[str, ...]:
    """Every known client action (`parameters.action`)."""
    return _schema_enum("ClientAction")


@functools.cache
def reason_storage_keys(schema_name: str) -> Mapping[str, str]:
    """For a request schema that carries a reason, request field -> extensionData key.

    Read from the schema's `x-stored-as` extension (`SuspendEntitlementRequest`,
    `TerminateEntitlementRequest`).
    """
    schema = load_partner_spec()["components"]["schemas"][schema_name]
    return {str(field): str(key) for field, key in schema["x-stored-as"].items()}


def resolve(
    node: Mapping[str, Any], document: Mapping[str, Any] | None = None
) -> Mapping[str, Any]:
    """`node`, following its local `$ref`s within `document` (default: the partner spec)."""
    spec = document if document is not None else load_partner_spec()
    while "$ref" in node:
        target: Any = spec
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@functools.cache
def operation_responses() -> Mapping[str, tuple[DocumentedResponse, ...]]:
    """For every operationId, the documented (HTTP status, responseCode) pairs.

    Read from the `x-response-codes` extension on each of the operation's responses.
    """
    outcomes: dict[str, tuple[DocumentedResponse, ...]] = {}
    for path_item in load_partner_spec()["paths"].values():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            pairs: list[DocumentedResponse] = []
            for status, response in operation["responses"].items():
                for entry in resolve(response)["x-response-codes"]:
                    pairs.append(
                        DocumentedResponse(
                            http_status=int(status),
                            response_code=str(entry["responseCode"]),
                            entitlement_statuses=tuple(entry.get("entitlementStatuses", ())),
                        )
                    )
            outcomes[str(operation["operationId"])] = tuple(pairs)
    return outcomes
