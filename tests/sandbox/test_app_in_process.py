"""What cannot be provoked over the wire: an unexpected exception or a transient answer
inside a handler."""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from bango_resale_sandbox import create_app
from bango_resale_sandbox.asgi import Response
from bango_resale_sandbox.envelopes import envelope


def test_unexpected_exception_is_a_logged_json_500(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(str(tmp_path / "in-process.sqlite3"))

    async def explode(request: object) -> object:
        raise RuntimeError("boom")

    app.pipeline.handlers["queryEntitlements"] = explode  # type: ignore[assignment]

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.post(
                "/v1/entitlement/report",
                json={"customerIdentifier": "c-1"},
                auth=("demo", "demo-secret"),
                headers={"X-RequestIdentifier": "r-1"},
            )

    with caplog.at_level(logging.ERROR, logger="bango_resale_sandbox"):
        response = asyncio.run(call())
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "responseCode": "INTERNAL_ERROR",
        "responseMessage": "An unexpected error occurred",
    }
    assert response.headers["x-requestidentifier"] == "r-1"
    assert "boom" in caplog.text
    # The failed request left no idempotency record behind: the transaction rolled back.
    assert asyncio.run(app.store.get_response("demo", "r-1")) is None


def test_a_transient_answer_is_not_remembered_so_a_retry_can_succeed(tmp_path: Path) -> None:
    app = create_app(str(tmp_path / "in-process.sqlite3"))
    query = app.pipeline.handlers["queryEntitlements"]
    transient = [envelope(503, "SERVICE_UNAVAILABLE", "Down for maintenance")]

    async def flaky(request: Any) -> Response:
        return transient.pop() if transient else await query(request)

    app.pipeline.handlers["queryEntitlements"] = flaky

    async def call_three_times() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return [
                await client.post(
                    "/v1/entitlement/report",
                    json={"customerIdentifier": "c-1"},
                    auth=("demo", "demo-secret"),
                    headers={"X-RequestIdentifier": "retry-1"},
                )
                for _ in range(3)
            ]

    first, retry, replay = asyncio.run(call_three_times())
    assert first.status_code == 503
    assert (retry.status_code, retry.json()["entitlements"]) == (200, [])
    # The success is what the id now stands for.
    assert (replay.status_code, replay.content) == (200, retry.content)


def test_a_refusal_after_a_write_leaves_no_trace(tmp_path: Path) -> None:
    from bango_resale_sandbox.domain import DomainError

    app = create_app(str(tmp_path / "in-process.sqlite3"))

    async def write_then_refuse(request: Any) -> Response:
        await app.store.set_clock_offset("demo", 3600.0)
        raise DomainError("NOT_AVAILABLE", "refused after a write")

    app.pipeline.handlers["cancelEntitlement"] = write_then_refuse

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.post(
                "/v1/entitlement/cancel/any-id",
                auth=("demo", "demo-secret"),
                headers={"X-RequestIdentifier": "r-refused"},
                json={"cancelReasonCategory": "CUSTOMER_CANCELLED", "cancelReasonCode": "OTHER"},
            )

    response = asyncio.run(call())
    assert response.status_code == 409
    assert response.json()["responseCode"] == "NOT_AVAILABLE"
    # The handler's write is undone, while the refusal itself is remembered for replays.
    assert asyncio.run(app.store.clock_offsets()) == {}
    assert asyncio.run(app.store.get_response("demo", "r-refused")) is not None


def test_a_body_cut_off_by_a_disconnect_is_never_acted_on(tmp_path: Path) -> None:
    app = create_app(str(tmp_path / "in-process.sqlite3"))
    # A whole JSON object arrives, but the declared body is longer: the rest never comes.
    part = b'{"customerIdentifier":"c","merchantAccountKey":"BANGO","productKey":"BangoMusic"}'
    messages = [
        {"type": "http.request", "body": part, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/entitlement",
        "query_string": b"",
        "headers": [
            (b"authorization", b"Basic " + base64.b64encode(b"demo:demo-secret")),
            (b"content-length", str(len(part) + 40).encode()),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400
    found = app.store.query("demo", "c", merchant_account_key=None, product_key=None, status=None)
    assert asyncio.run(found) == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/sandbox/entitlements/unknown/merchant-cancel", {"reasonCode": "CUSTOMER_CANCELLED"}),
        ("/sandbox/entitlements/unknown/merchant-revoke", {"reasonCategory": "REVOKED"}),
        ("/v1/entitlement/unknown/cancel", {"reasonCode": "NOT_RENEWED"}),
    ],
)
def test_an_unknown_entitlement_is_not_found_before_its_reason_is_judged(
    tmp_path: Path, path: str, body: dict[str, Any]
) -> None:
    """The reason is read at the edge but checked where the contract orders it: after the
    entitlement is found (schemathesis sends half a reason for ids that name nothing)."""
    app = create_app(str(tmp_path / "in-process.sqlite3"))

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.post(path, json=body, auth=("demo", "demo-secret"))

    response = asyncio.run(call())
    assert response.status_code == 404, response.text
    assert response.json()["responseCode"] == "NOT_FOUND"
