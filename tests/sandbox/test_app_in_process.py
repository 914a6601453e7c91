"""What cannot be provoked over the wire: an unexpected exception inside a handler."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest

from bango_resale_sandbox import create_app


def test_unexpected_exception_is_a_logged_json_500(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(str(tmp_path / "in-process.sqlite3"))

    def explode(request: object) -> object:
        raise RuntimeError("boom")

    app._handlers["echo"] = explode  # type: ignore[assignment]

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            return await client.get(
                "/v1/echo/x", auth=("demo", "demo-secret"), headers={"X-RequestIdentifier": "r-1"}
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
    assert app.store.get_response("demo", "r-1") is None
