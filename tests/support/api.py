"""A thin client of one sandbox for one reseller, returning raw httpx answers, and a check of a
partner-API answer against what the spec documents for it."""

from __future__ import annotations

from typing import Any

import httpx

from bango_resale_spec import compiled, operation_responses

REASON = {
    "cancelReasonCategory": "CUSTOMER_CANCELLED",
    "cancelReasonCode": "NOT_RENEWED",
    "cancelReasonDescription": "Customer has not renewed their entitlement",
}
SUSPEND = {
    "entitlementBenefits": "SUSPENDED",
    "reasonCategory": "ACTIVATION_ROLLBACK",
    "reasonCode": "FRAUD_CHECK",
}


class Api:
    """A thin client of one sandbox for one reseller; every method returns the raw response."""

    def __init__(self, base_url: str, auth: tuple[str, str]) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, auth=auth, timeout=10.0)

    def close(self) -> None:
        self.http.close()

    def create(
        self,
        customer: str,
        *,
        merchant: str = "BANGO",
        product: str = "BangoMusic",
        magic: str | None = None,
        **fields: Any,
    ) -> httpx.Response:
        body = {
            "customerIdentifier": customer,
            "merchantAccountKey": merchant,
            "productKey": product,
            **fields,
        }
        return self.http.post("/v1/entitlement", json=body, headers=_magic(magic))

    def create_id(self, customer: str, **kwargs: Any) -> str:
        response = self.create(customer, **kwargs)
        assert response.status_code in (200, 201, 202), response.text
        return str(response.json()["entitlementId"])

    def get(self, entitlement_id: str) -> httpx.Response:
        return self.http.get(f"/v1/entitlement/{entitlement_id}")

    def status(self, entitlement_id: str) -> str:
        return str(self.get(entitlement_id).json()["status"])

    def update(
        self, entitlement_id: str, magic: str | None = None, **fields: Any
    ) -> httpx.Response:
        return self.http.patch(
            "/v1/entitlement",
            json={"entitlementId": entitlement_id, **fields},
            headers=_magic(magic),
        )

    def suspend(self, entitlement_id: str, magic: str | None = None) -> httpx.Response:
        return self.update(entitlement_id, magic, **SUSPEND)

    def resume(self, entitlement_id: str, magic: str | None = None) -> httpx.Response:
        return self.update(entitlement_id, magic, entitlementBenefits="NORMAL")

    def cancel(self, entitlement_id: str, magic: str | None = None, **body: Any) -> httpx.Response:
        return self.http.post(
            f"/v1/entitlement/cancel/{entitlement_id}",
            json={**REASON, **body},
            headers=_magic(magic),
        )

    def revoke(self, entitlement_id: str, magic: str | None = None, **body: Any) -> httpx.Response:
        return self.http.post(
            f"/v1/entitlement/revoke/{entitlement_id}",
            json={**REASON, **body},
            headers=_magic(magic),
        )

    def reactivate(self, entitlement_id: str, magic: str | None = None) -> httpx.Response:
        return self.http.post(f"/v1/entitlement/reactivate/{entitlement_id}", headers=_magic(magic))

    def activation_info(self, entitlement_id: str, magic: str | None = None) -> httpx.Response:
        return self.http.get(
            f"/v1/entitlement/activationInfo/{entitlement_id}", headers=_magic(magic)
        )

    def query(self, customer: str, **filters: Any) -> httpx.Response:
        return self.http.post(
            "/v1/entitlement/report", json={"customerIdentifier": customer, **filters}
        )

    def complete(self, entitlement_id: str) -> httpx.Response:
        return self.http.post(f"/sandbox/entitlements/{entitlement_id}/complete")

    def advance(self, seconds: float) -> httpx.Response:
        return self.http.post("/sandbox/clock/advance", json={"seconds": seconds})

    def notifications(self, entitlement_id: str | None = None) -> list[dict[str, Any]]:
        """Every notification (of one entitlement, if given), following the pages."""
        params = {} if entitlement_id is None else {"entitlementId": entitlement_id}
        found: list[dict[str, Any]] = []
        while True:
            response = self.http.get("/sandbox/notifications", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            found += page["notifications"]
            if page["nextCursor"] is None:
                return found
            params["cursor"] = page["nextCursor"]

    def notification_types(self, entitlement_id: str) -> list[str]:
        return [n["notificationType"] for n in self.notifications(entitlement_id)]


def _magic(value: str | None) -> dict[str, str]:
    return {} if value is None else {"X-Magic-Number": value}


class ContractViolation(AssertionError):
    """A response does not match what the partner spec documents for its operation."""


def check_conforms(response: httpx.Response, operation_id: str) -> dict[str, Any]:
    """Check a partner-API response against the spec; returns the parsed body.

    The status must be documented for the operation, the body must match its schema (the
    validator `bango_resale_spec.compiled` built, the one the proxy judges with), the
    responseCode must be one the response lists in `x-response-codes`, and a returned record's
    status must be one of that code's `entitlementStatuses`.
    """
    status = response.status_code
    validator = compiled.partner().by_id[operation_id].responses.get(status)
    if validator is None:
        raise ContractViolation(f"{operation_id}: HTTP {status} is not documented: {response.text}")
    codes = [pair for pair in operation_responses()[operation_id] if pair.http_status == status]
    if not response.headers.get("content-type", "").startswith("application/json"):
        raise ContractViolation(f"{operation_id}: content type {response.headers}")
    body: dict[str, Any] = response.json()
    errors = validator.errors(body)
    if errors:
        raise ContractViolation(f"{operation_id} {status}: {errors}; {body}")
    entry = next((c for c in codes if c.response_code == body["responseCode"]), None)
    if entry is None:
        raise ContractViolation(
            f"{operation_id} {status}: responseCode {body['responseCode']} is not"
            f" among {[c.response_code for c in codes]}"
        )
    statuses = entry.entitlement_statuses
    if statuses and body.get("status") not in statuses:
        raise ContractViolation(
            f"{operation_id} {status} {body['responseCode']}: record status"
            f" {body.get('status')} is not among {list(statuses)}"
        )
    return body
