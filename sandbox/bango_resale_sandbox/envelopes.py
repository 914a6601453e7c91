"""The API's JSON envelopes: `responseCode`, `responseMessage` and what an answer carries.

HTTP statuses come from the spec's response-code table; the faults that change what an
answer looks like (an undeclared property, a wrong responseCode) are applied here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

import bango_resale_spec as spec

from . import faults, wire
from .asgi import Response
from .domain import Entitlement, Status
from .faults import Faults
from .usecases import Result

# The activation page's one refusal that has no row in the partner table.
_EXTRA_STATUSES = {"EXPIRED": 410}


def envelope(http_status: int, code: str, message: str, **extra: Any) -> Response:
    """A JSON answer: responseCode, responseMessage and any further fields."""
    body = {"responseCode": code, "responseMessage": message, **extra}
    return Response(http_status, orjson.dumps(body))


class Envelopes:
    """Writes answers with the spec's statuses and the faults in force."""

    def __init__(self, faults_on: Faults) -> None:
        self._status_of = spec.general_http_statuses()
        _check_spec_agrees(self._status_of)
        self.faults = faults_on

    def status_for(self, response_code: str) -> int:
        """The HTTP status of a responseCode, from the spec's table (500 for unknown codes)."""
        return self._status_of.get(response_code) or _EXTRA_STATUSES.get(response_code, 500)

    def error(self, response_code: str, message: str) -> Response:
        status = self.status_for(response_code)
        if response_code == "NOT_FOUND" and self.faults.wrong_response_code:
            response_code = "OK"
        return envelope(status, response_code, message)

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
        tail: dict[str, Any] = {}
        if parameters is not None:
            tail["parameters"] = parameters
        if self.faults.extra_field:
            tail[faults.EXTRA_FIELD_NAME] = 1
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


def _check_spec_agrees(status_of: Mapping[str, int]) -> None:
    """Fail at start-up if the partner spec and this package disagree on basic names."""
    if {s.value for s in Status} != set(spec.entitlement_statuses()):
        raise RuntimeError("the spec's EntitlementStatus differs from the sandbox's statuses")
    if "NOT_FOUND" not in status_of:
        raise RuntimeError("the spec's response-code table has no NOT_FOUND")
