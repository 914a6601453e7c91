"""The API's JSON envelopes: `responseCode`, `responseMessage` and what an answer carries.

HTTP statuses come from the spec's response-code table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import bango_resale_spec as spec

from . import _json, wire
from .asgi import Response
from .domain import Entitlement, Status
from .services import Result

# The activation page's one refusal that has no row in the partner table.
_EXTRA_STATUSES = {"EXPIRED": 410}
# The RequestIdentifier schema's pattern and length, as bytes.
_ECHOABLE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


def envelope(http_status: int, code: str, message: str, **extra: Any) -> Response:
    """A JSON answer: responseCode, responseMessage and any further fields."""
    body = {"responseCode": code, "responseMessage": message, **extra}
    return Response(http_status, _json.dumps(body))


class Envelopes:
    """Writes answers with the spec's statuses."""

    def __init__(self) -> None:
        self._status_of = spec.general_http_statuses()
        _check_spec_agrees(self._status_of)

    def status_for(self, response_code: str) -> int:
        """The HTTP status of a responseCode, from the spec's table (500 for unknown codes)."""
        return self._status_of.get(response_code) or _EXTRA_STATUSES.get(response_code, 500)

    def error(self, response_code: str, message: str) -> Response:
        return envelope(self.status_for(response_code), response_code, message)

    def retry_later(self, response_code: str, message: str, seconds: int) -> Response:
        response = envelope(
            self.status_for(response_code),
            response_code,
            f"{message}; retry after {seconds} second(s)",
        )
        response.headers.append((b"retry-after", str(seconds).encode()))
        return response

    def entitlement(
        self,
        status: int,
        code: str,
        message: str,
        record: bytes,
        parameters: Mapping[str, Any] | None = None,
    ) -> Response:
        """An answer carrying one entitlement record (its JSON) and any `parameters`."""
        tail = None if parameters is None else {"parameters": parameters}
        return Response(status, wire.record_envelope(code, message, record, tail))

    def result(self, result: Result) -> Response:
        return self.entitlement(
            result.http_status,
            result.response_code,
            result.message,
            wire.record_json(result.entitlement),
            result.parameters,
        )

    def done(self, entitlement: Entitlement, message: str) -> Response:
        return self.entitlement(200, "OK", message, wire.record_json(entitlement))

    def echo(self, request_id: bytes | None) -> tuple[tuple[bytes, bytes], ...]:
        """The `X-RequestIdentifier` header an answer echoes: only a well-formed id, since
        the response header has the request header's schema."""
        if request_id is None or not _ECHOABLE_REQUEST_ID.fullmatch(request_id):
            return ()
        return ((b"x-requestidentifier", request_id),)


def _check_spec_agrees(status_of: Mapping[str, int]) -> None:
    """Fail at start-up if the partner spec and this package disagree on basic names."""
    if {s.value for s in Status} != set(spec.entitlement_statuses()):
        raise RuntimeError("the spec's EntitlementStatus differs from the sandbox's statuses")
    if "NOT_FOUND" not in status_of:
        raise RuntimeError("the spec's response-code table has no NOT_FOUND")
