"""Authentication, isolation, input validation, idempotency, magic numbers and rate limiting,
over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bango_resale_sandbox.testing import SandboxThread
from bango_resale_spec import magic_numbers

from support.api import Api, check_conforms

pytestmark = pytest.mark.integration


def test_every_api_route_needs_credentials(sandbox: SandboxThread) -> None:
    anonymous = httpx.Client(base_url=sandbox.base_url)
    wrong = httpx.Client(base_url=sandbox.base_url, auth=("demo", "not-the-secret"))
    for client in (anonymous, wrong):
        for method, path in [
            ("GET", "/v1/entitlement/x"),
            ("POST", "/v1/entitlement"),
            ("GET", "/v1/echo/x"),
            ("POST", "/sandbox/reset"),
            ("GET", "/sandbox/notifications"),
        ]:
            response = client.request(method, path, json={})
            assert response.status_code == 401, (method, path)
            assert response.json()["responseCode"] == "UNAUTHORIZED"
    garbled = httpx.get(f"{sandbox.base_url}/v1/echo/x", headers={"Authorization": "Basic !!"})
    assert garbled.status_code == 401
    assert httpx.get(f"{sandbox.base_url}/sandbox/health").status_code == 200


def test_another_resellers_entitlement_is_not_found(api: Api, api2: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    for response in (
        api2.get(entitlement_id),
        api2.cancel(entitlement_id),
        api2.update(entitlement_id, offerKey="X"),
    ):
        assert response.status_code == 404
        assert response.json()["responseCode"] == "NOT_FOUND"
    assert api2.query(customer).json()["entitlements"] == []
    assert api2.notifications(entitlement_id) == []
    assert api.status(entitlement_id) == "ACTIVE"


def test_echo_returns_the_id(api: Api) -> None:
    body = check_conforms(api.http.get("/v1/echo/ping-1"), "echo")
    assert body["echo"] == "ping-1"


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (
            b'{"customerIdentifier": 7, "merchantAccountKey": "BANGO", "productKey": "BangoMusic"}',
            "customerIdentifier",
        ),
        (b'{"merchantAccountKey": "BANGO", "productKey": "BangoMusic"}', "customerIdentifier"),
        (
            b'{"customerIdentifier": "c", "merchantAccountKey": "BANGO", "productKey": "Bango",'
            b' "surprise": 1}',
            "surprise",
        ),
        (
            b'{"customerIdentifier": "c", "merchantAccountKey": "BANGO", "productKey": "Bango",'
            b' "dateExpiry": "tomorrow"}',
            "dateExpiry",
        ),
        (b"", "body"),
        # Not RFC 3986 URIs: accepted, they would come back in responses that break `format: uri`.
        (
            b'{"customerIdentifier": "c", "merchantAccountKey": "BANGO", "productKey": "Bango",'
            b' "notificationUrl": "http://x y"}',
            "notificationUrl",
        ),
        (
            '{"customerIdentifier": "c", "merchantAccountKey": "BANGO", "productKey": "Bango",'
            ' "notificationUrl": "https://\u00cf"}'.encode(),
            "notificationUrl",
        ),
    ],
)
def test_bad_create_bodies_get_400_naming_the_field(api: Api, content: bytes, field: str) -> None:
    response = api.http.post(
        "/v1/entitlement", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    body = check_conforms(response, "createEntitlement")
    assert body["responseCode"] == "BAD_REQUEST"
    assert field in body["responseMessage"]


def test_huge_body_is_refused_without_a_server_error(api: Api) -> None:
    response = api.http.post(
        "/v1/entitlement",
        content=b"{" + b" " * 200_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "larger than" in response.json()["responseMessage"]


def test_unknown_query_parameter_and_bad_path_parameter_get_400(api: Api) -> None:
    unknown = api.http.get("/v1/entitlement/abc", params={"expand": "all"})
    assert unknown.status_code == 400
    assert "expand" in check_conforms(unknown, "getEntitlement")["responseMessage"]
    bad_id = api.http.get("/v1/entitlement/%20bad%20id")
    assert bad_id.status_code == 400
    assert "entitlementId" in bad_id.json()["responseMessage"]


def test_unknown_reason_pair_is_a_bad_request(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    response = api.cancel(
        entitlement_id, cancelReasonCategory="REVOKED", cancelReasonCode="NOT_RENEWED"
    )
    assert response.status_code == 400
    message = check_conforms(response, "cancelEntitlement")["responseMessage"]
    assert "cancelReasonCode" in message and "NOT_RENEWED" in message
    assert api.status(entitlement_id) == "ACTIVE"


def test_unsupported_method_gets_405_with_allow(api: Api) -> None:
    response = api.http.delete("/v1/entitlement")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"POST", "PATCH"}
    assert response.headers["content-type"] == "application/json"
    assert api.http.get("/v1/nothing-here").status_code == 404


def test_repeated_request_identifier_replays_the_first_response(api: Api, customer: str) -> None:
    headers = {"X-RequestIdentifier": f"req-{customer}"}
    body = {
        "customerIdentifier": customer,
        "merchantAccountKey": "BANGO",
        "productKey": "BangoMusic",
    }
    first = api.http.post("/v1/entitlement", json=body, headers=headers)
    second = api.http.post("/v1/entitlement", json=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert second.headers["x-requestidentifier"] == headers["X-RequestIdentifier"]
    assert len(api.query(customer).json()["entitlements"]) == 1
    assert len(api.notifications(first.json()["entitlementId"])) == 1
    different = api.http.post("/v1/entitlement", json={**body, "offerKey": "O"}, headers=headers)
    assert different.status_code == 409
    assert check_conforms(different, "createEntitlement")["responseCode"] == "BAD_REQUEST"
    assert "X-RequestIdentifier" in different.json()["responseMessage"]
    assert len(api.query(customer).json()["entitlements"]) == 1


@pytest.mark.parametrize(
    ("operation_id", "method", "path", "body"),
    [
        ("queryEntitlements", "POST", "/v1/entitlement/report", {"customerIdentifier": "c"}),
        ("updateEntitlement", "PATCH", "/v1/entitlement", {"entitlementId": "x", "offerKey": "O"}),
        (
            "cancelEntitlement",
            "POST",
            "/v1/entitlement/cancel/x",
            {"cancelReasonCategory": "CUSTOMER_CANCELLED", "cancelReasonCode": "NOT_RENEWED"},
        ),
        (
            "revokeEntitlement",
            "POST",
            "/v1/entitlement/revoke/x",
            {"cancelReasonCategory": "REVOKED", "cancelReasonCode": "ACCOUNT_TERMINATED"},
        ),
        ("reactivateEntitlement", "POST", "/v1/entitlement/reactivate/x", None),
    ],
)
def test_reusing_a_request_identifier_for_another_write_is_a_documented_409(
    api: Api, customer: str, operation_id: str, method: str, path: str, body: object
) -> None:
    headers = {"X-RequestIdentifier": f"reuse-{operation_id}-{customer}"}
    taken = api.http.post(
        "/v1/entitlement/report", json={"customerIdentifier": customer}, headers=headers
    )
    assert taken.status_code == 200
    again = api.http.request(method, path, json=body, headers=headers)
    assert again.status_code == 409, again.text
    assert check_conforms(again, operation_id)["responseCode"] == "BAD_REQUEST"
    assert again.headers["x-requestidentifier"] == headers["X-RequestIdentifier"]


def test_a_read_under_a_repeated_request_identifier_is_never_replayed(
    api: Api, customer: str
) -> None:
    entitlement_id = api.create_id(customer)
    headers = {"X-RequestIdentifier": f"read-{customer}"}
    before = api.http.get(f"/v1/entitlement/{entitlement_id}", headers=headers)
    assert before.json()["status"] == "ACTIVE"
    assert api.cancel(entitlement_id).status_code == 200
    after = api.http.get(f"/v1/entitlement/{entitlement_id}", headers=headers)
    assert check_conforms(after, "getEntitlement")["status"] != "ACTIVE"
    assert after.headers["x-requestidentifier"] == headers["X-RequestIdentifier"]
    # The same id on other reads is no conflict either: nothing was stored under it.
    echo = api.http.get("/v1/echo/other", headers=headers)
    assert (echo.status_code, echo.json()["echo"]) == (200, "other")
    # ...and a write may still take it.
    write = api.http.post(
        "/v1/entitlement/report", json={"customerIdentifier": customer}, headers=headers
    )
    assert write.status_code == 200


def test_other_is_accepted_with_every_category_of_the_reason_table(api: Api, customer: str) -> None:
    import bango_resale_spec as spec

    categories = sorted({row.category for row in spec.reason_rows()})
    assert len(categories) == 4
    for category in categories:
        entitlement_id = api.create_id(customer)
        suspended = api.update(
            entitlement_id,
            entitlementBenefits="SUSPENDED",
            reasonCategory=category,
            reasonCode="OTHER",
        )
        assert suspended.status_code == 200, (category, suspended.text)
        revoked = api.revoke(
            entitlement_id, cancelReasonCategory=category, cancelReasonCode="OTHER"
        )
        assert revoked.status_code == 200, (category, revoked.text)
        record = check_conforms(revoked, "revokeEntitlement")
        assert record["extensionData"]["cancelReasonCategory"] == category
        assert record["extensionData"]["cancelReasonCode"] == "OTHER"


def test_request_identifier_is_scoped_per_reseller(api: Api, api2: Api, customer: str) -> None:
    headers = {"X-RequestIdentifier": f"shared-{customer}"}
    body = {
        "customerIdentifier": customer,
        "merchantAccountKey": "BANGO",
        "productKey": "BangoMusic",
    }
    first = api.http.post("/v1/entitlement", json=body, headers=headers).json()
    second = api2.http.post("/v1/entitlement", json=body, headers=headers).json()
    assert first["entitlementId"] != second["entitlementId"]


def test_idempotent_replay_of_a_conflict_has_no_second_effect(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    headers = {"X-RequestIdentifier": f"cancel-{customer}"}
    path = f"/v1/entitlement/cancel/{entitlement_id}"
    reason = {"cancelReasonCategory": "CUSTOMER_CANCELLED", "cancelReasonCode": "NOT_RENEWED"}
    first = api.http.post(path, json=reason, headers=headers)
    again = api.http.post(path, json=reason, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert api.notification_types(entitlement_id).count("TERMINATION_SUCCESS") == 1
    assert api.http.post(path, json=reason).status_code == 409


@pytest.mark.parametrize(
    ("magic", "status", "code"),
    [
        ("ANY_REQUEST_RETURNS_INTERNAL_ERROR", 500, "INTERNAL_ERROR"),
        ("ANY_REQUEST_RETURNS_SERVICE_UNAVAILABLE", 503, "SERVICE_UNAVAILABLE"),
        ("ANY_REQUEST_RETURNS_TOO_MANY_REQUESTS", 429, "TOO_MANY_REQUESTS"),
        ("CREATE_REQUEST_RETURNS_NOT_AVAILABLE", 409, "NOT_AVAILABLE"),
    ],
)
def test_magic_numbers_force_failures_without_effect(
    api: Api, customer: str, magic: str, status: int, code: str
) -> None:
    response = api.create(customer, magic=magic)
    assert response.status_code == status
    assert check_conforms(response, "createEntitlement")["responseCode"] == code
    if status in (429, 503):
        assert int(response.headers["retry-after"]) >= 1
    assert api.query(customer).json()["entitlements"] == []


@pytest.mark.parametrize(
    "operation", ["CANCEL", "REVOKE", "SUSPEND", "RESUME", "UPDATE", "REACTIVATE"]
)
def test_not_available_magic_numbers(api: Api, customer: str, operation: str) -> None:
    entitlement_id = api.create_id(customer)
    if operation == "RESUME":
        api.suspend(entitlement_id)
    if operation == "REACTIVATE":
        api.cancel(entitlement_id)
    before = api.get(entitlement_id).json()
    magic = f"{operation}_REQUEST_RETURNS_NOT_AVAILABLE"
    calls: dict[str, Callable[[], httpx.Response]] = {
        "CANCEL": lambda: api.cancel(entitlement_id, magic),
        "REVOKE": lambda: api.revoke(entitlement_id, magic),
        "SUSPEND": lambda: api.suspend(entitlement_id, magic),
        "RESUME": lambda: api.resume(entitlement_id, magic),
        "UPDATE": lambda: api.update(entitlement_id, magic, offerKey="X"),
        "REACTIVATE": lambda: api.reactivate(entitlement_id, magic),
    }
    response = calls[operation]()
    assert response.status_code == 409
    assert response.json()["responseCode"] == "NOT_AVAILABLE"
    assert api.get(entitlement_id).json() == before


def test_async_update_applies_changes_when_confirmed(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    accepted = api.update(entitlement_id, "UPDATE_REQUEST_RETURNS_ACCEPTED", offerKey="LATER")
    assert accepted.status_code == 202
    assert check_conforms(accepted, "updateEntitlement")["offerKey"] is None
    assert api.complete(entitlement_id).json()["offerKey"] == "LATER"
    assert api.notification_types(entitlement_id)[-1] == "METADATA_UPDATE"


def test_unknown_magic_number_lists_the_known_ones(api: Api) -> None:
    response = api.http.get("/v1/echo/x", headers={"X-Magic-Number": "MAKE_IT_RAIN"})
    assert response.status_code == 400
    message = response.json()["responseMessage"]
    assert "MAKE_IT_RAIN" in message
    assert all(m.value in message for m in magic_numbers())
    listed = api.http.get("/sandbox/magic-numbers").json()["magicNumbers"]
    assert [(m["magicNumber"], m["effect"]) for m in listed] == [
        (m.value, m.effect) for m in magic_numbers()
    ]


def test_rate_limit_answers_429_with_retry_after(
    in_process_sandbox: Callable[..., SandboxThread], tmp_path: Path
) -> None:
    from bango_resale_sandbox.config import default_config_text

    config = tmp_path / "limited.toml"
    config.write_text(
        # A token every 1,000 s: none comes back during the test, however slowly it runs.
        default_config_text().replace(
            "requests_per_second = 100000\nburst = 200000",
            "requests_per_second = 0.001\nburst = 5",
        )
    )
    server = in_process_sandbox(config=config)
    demo = httpx.Client(base_url=server.base_url, auth=("demo", "demo-secret"))
    statuses = [demo.get("/v1/echo/x").status_code for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3
    limited = demo.get("/v1/echo/x")
    assert limited.status_code == 429
    assert limited.json()["responseCode"] == "TOO_MANY_REQUESTS"
    assert int(limited.headers["retry-after"]) >= 1
    # Buckets are per reseller: the other demo reseller is not throttled.
    other = httpx.Client(base_url=server.base_url, auth=("demo2", "demo2-secret"))
    assert other.get("/v1/echo/x").status_code == 200


def test_explicit_resellers_replace_the_demo_ones(
    in_process_sandbox: Callable[..., SandboxThread],
) -> None:
    server = in_process_sandbox(resellers=[("acme", "s3cret")])
    assert httpx.get(f"{server.base_url}/v1/echo/x", auth=("acme", "s3cret")).status_code == 200
    assert (
        httpx.get(f"{server.base_url}/v1/echo/x", auth=("demo", "demo-secret")).status_code == 401
    )


def test_reset_forgets_only_the_callers_data(
    customer: str, in_process_sandbox: Callable[..., SandboxThread]
) -> None:
    server = in_process_sandbox()
    one = Api(server.base_url, ("demo", "demo-secret"))
    two = Api(server.base_url, ("demo2", "demo2-secret"))
    mine, theirs = one.create_id(customer), two.create_id(customer)
    assert one.http.post("/sandbox/reset").status_code == 200
    assert one.get(mine).status_code == 404
    assert two.get(theirs).status_code == 200


def test_metadata_changes_while_the_merchant_works_on_a_202(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    assert api.cancel(entitlement_id, "CANCEL_REQUEST_RETURNS_ACCEPTED").status_code == 202
    changed = api.update(entitlement_id, offerKey="WHILE-WAITING")
    assert (changed.status_code, changed.json()["offerKey"]) == (200, "WHILE-WAITING")
    assert api.suspend(entitlement_id).status_code == 409
    assert (
        api.update(entitlement_id, "UPDATE_REQUEST_RETURNS_ACCEPTED", offerKey="Y").status_code
        == 409
    )
    ended = api.complete(entitlement_id).json()
    assert (ended["status"], ended["offerKey"]) == ("CANCELLED", "WHILE-WAITING")


def test_integers_past_64_bits_are_kept_exactly_as_sent(api: Api, customer: str) -> None:
    # JSON puts no bound on an integer; a parser that reads one past 64 bits as a double would
    # answer 1e+30 for 10**30, and the contract suite reports the custom property as not kept.
    wide, below = 10**30, -(2**63) - 1
    entitlement_id = api.create_id(customer, extensionData={"ledger": wide})
    deferred = api.revoke(entitlement_id, "REVOKE_REQUEST_RETURNS_ACCEPTED", audit=[below, wide])
    assert deferred.status_code == 202, deferred.text
    revoked = api.complete(entitlement_id)
    assert revoked.status_code == 200, revoked.text
    kept = revoked.json()["extensionData"]
    assert (kept["ledger"], kept["audit"]) == (wide, [below, wide])
    assert api.get(entitlement_id).json()["extensionData"] == kept
    sent = api.notifications(entitlement_id)[-1]["body"]["extensionData"]
    assert sent == kept
