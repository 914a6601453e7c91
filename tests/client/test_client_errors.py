"""Every error answer becomes the right exception class, never a stray ValueError."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from client_helpers import Script, envelope, record

import bango_resale as br
import bango_resale_spec as spec
from bango_resale import ResaleClient
from bango_resale._errors import CAUSE_ERRORS, RESPONSE_CODE_ERRORS, STATUS_ERRORS

ERROR_ROWS = [row for row in spec.response_code_rows() if row.http_status >= 400]


def test_error_classes_cover_exactly_the_spec_response_codes() -> None:
    error_codes = {row.response_code for row in ERROR_ROWS}
    assert set(RESPONSE_CODE_ERRORS) == error_codes
    assert set(STATUS_ERRORS) == {row.http_status for row in ERROR_ROWS}
    success_codes = {row.response_code for row in spec.response_code_rows()} - error_codes
    assert success_codes == {"OK", "CLIENT_ACTION_REQUIRED"}
    assert set(CAUSE_ERRORS) == {row.cause for row in ERROR_ROWS if row.cause is not None}


@pytest.mark.parametrize("row", ERROR_ROWS, ids=lambda r: r.response_code)
def test_each_response_code_raises_its_class_beneath_its_status_class(
    row: spec.ResponseCodeRow, client: ResaleClient, script: Script
) -> None:
    script.then(
        row.http_status,
        envelope(row.response_code, "why"),
        headers={"X-RequestIdentifier": "rid-1"},
    )
    with pytest.raises(br.ApiError) as caught:
        client.get("ent-1", retry=br.RetryPolicy.never())
    error = caught.value
    if row.cause is not None:
        assert type(error) is CAUSE_ERRORS[row.cause]
        assert isinstance(error, RESPONSE_CODE_ERRORS[row.response_code])
    else:
        assert type(error) is RESPONSE_CODE_ERRORS[row.response_code]
    assert isinstance(error, STATUS_ERRORS[row.http_status])
    assert error.http_status == row.http_status
    assert error.response_code == row.response_code
    assert error.response_message == "why"
    assert error.request_identifier == "rid-1"
    assert json.loads(error.body) == envelope(row.response_code, "why")


def test_a_reused_request_identifier_raises_a_typed_error_saying_so(
    client: ResaleClient, script: Script
) -> None:
    script.then(
        409,
        envelope("BAD_REQUEST", "X-RequestIdentifier ord-1 already stands for a different request"),
        headers={"X-RequestIdentifier": "ord-1"},
    ).then(400, envelope("BAD_REQUEST", "productKey: this field is required"))
    with pytest.raises(br.RequestIdentifierReusedError) as caught:
        client.cancel("ent-1", ("CUSTOMER_CANCELLED", "NOT_RENEWED"), request_id="ord-1")
    error = caught.value
    assert isinstance(error, br.ConflictError) and isinstance(error, br.BadRequestError)
    assert (error.http_status, error.response_code) == (409, "BAD_REQUEST")
    assert "'ord-1' was already used for a different request" in str(error)
    assert "new request_id" in str(error)
    # A plain 400 BAD_REQUEST stays what it was.
    with pytest.raises(br.BadRequestError) as plain:
        client.get("ent-1")
    assert type(plain.value) is br.BadRequestError


def test_not_available_is_catchable_as_conflict(client: ResaleClient, script: Script) -> None:
    script.then(409, envelope("NOT_AVAILABLE"))
    with pytest.raises(br.ConflictError):
        client.cancel("ent-1", ("CUSTOMER_CANCELLED", "NOT_RENEWED"))


def test_unknown_code_on_documented_status_gets_the_status_class(
    client: ResaleClient, script: Script
) -> None:
    script.then(409, envelope("BRAND_NEW_CONFLICT"))
    with pytest.raises(br.ConflictError) as caught:
        client.get("ent-1")
    assert type(caught.value) is br.ConflictError
    assert caught.value.response_code == "BRAND_NEW_CONFLICT"


def test_undocumented_status_is_typed(client: ResaleClient, script: Script) -> None:
    script.then(418, envelope("TEAPOT"))
    with pytest.raises(br.UnexpectedStatusError) as caught:
        client.get("ent-1")
    assert caught.value.http_status == 418


def test_non_json_error_body_is_typed_not_json_decode_error(
    client: ResaleClient, script: Script
) -> None:
    script.then(400, b"<html>Bad gateway thing</html>", headers={"content-type": "text/html"})
    with pytest.raises(br.InvalidRequestError) as caught:
        client.get("ent-1")
    assert caught.value.response_code is None
    assert caught.value.body.startswith(b"<html>")


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", json.dumps(envelope("OK")).encode(), b""],
    ids=["text", "array", "missing-record-fields", "empty"],
)
def test_malformed_success_body_is_typed(body: bytes, client: ResaleClient, script: Script) -> None:
    script.then(200, body)
    with pytest.raises(br.MalformedResponseError) as caught:
        client.get("ent-1")
    assert not isinstance(caught.value, ValueError)


def test_bad_date_in_record_is_malformed(client: ResaleClient, script: Script) -> None:
    script.then(200, envelope("OK", **{**record(), "dateActivated": "yesterday"}))
    with pytest.raises(br.MalformedResponseError):
        client.get("ent-1")


def test_unknown_response_code_on_success_status(client: ResaleClient, script: Script) -> None:
    script.then(200, envelope("PARTIALLY_OK", **record()))
    with pytest.raises(br.UnknownResponseCodeError) as caught:
        client.get("ent-1")
    assert caught.value.response_code == "PARTIALLY_OK"


def test_unknown_status_value_is_kept_as_text(client: ResaleClient, script: Script) -> None:
    script.then(200, envelope("OK", **record(status="HIBERNATING")))
    result = client.get("ent-1")
    assert result.entitlement.status == "HIBERNATING"
    assert not result.entitlement.has_known_status


def test_connection_failure_is_a_transport_error(client: ResaleClient, script: Script) -> None:
    script.then_raise(httpx.ConnectError("refused"))
    with pytest.raises(br.ConnectError) as caught:
        client.get("ent-1", retry=br.RetryPolicy.never())
    assert caught.value.attempts == 1


def test_timeout_is_a_transport_error(client: ResaleClient, script: Script) -> None:
    script.then_raise(httpx.ReadTimeout("slow"))
    with pytest.raises(br.RequestTimeoutError):
        client.get("ent-1", retry=br.RetryPolicy.never())


def test_error_repr_and_message_name_the_code(client: ResaleClient, script: Script) -> None:
    script.then(404, envelope("NOT_FOUND", "no such entitlement"))
    with pytest.raises(br.NotFoundError) as caught:
        client.get("ent-1")
    assert "NOT_FOUND" in str(caught.value)
    assert "no such entitlement" in repr(caught.value)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.get("bad id!"), "entitlement_id"),
        (lambda c: c.get("ok", request_id="has space"), "request_id"),
        (
            lambda c: c.create(customer_identifier="", merchant_account_key="B", product_key="P"),
            "customer_identifier",
        ),
        (
            lambda c: c.create(
                customer_identifier="c",
                merchant_account_key="B",
                product_key="P",
                notification_url="ftp://x",
            ),
            "notification_url",
        ),
        (lambda c: c.update("ent-1"), "update"),
        (lambda c: c.update("ent-1", product_key=""), "product_key"),
        (lambda c: c.update("ent-1", customer_identifier="x" * 10_000), "customer_identifier"),
        (lambda c: c.query("c", status="SLEEPING"), "status"),
        (lambda c: c.echo("spaces are bad"), "echo_request_id"),
        (
            lambda c: c.cancel("ent-1", 1, custom_data={"cancelReasonCode": "X"}),
            "custom_data",
        ),
    ],
)
def test_client_side_validation_names_the_field_and_sends_nothing(
    call: object, field: str, client: ResaleClient, script: Script
) -> None:
    script.then(200, envelope("OK", **record()))
    with pytest.raises(br.InvalidArgumentError) as caught:
        call(client)  # type: ignore[operator]
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert script.requests == []


def test_missing_credentials_name_the_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BANGO_RESALE_USERNAME", raising=False)
    monkeypatch.delenv("BANGO_RESALE_PASSWORD", raising=False)
    with pytest.raises(br.ConfigurationError, match="BANGO_RESALE_USERNAME"):
        ResaleClient("http://bango.test")


def test_error_headers_are_case_insensitive(client: ResaleClient, script: Script) -> None:
    script.then(
        429,
        envelope("TOO_MANY_REQUESTS"),
        headers={"Retry-After": "3600", "X-RequestIdentifier": "rid-9"},
    )
    with pytest.raises(br.TooManyRequestsError) as caught:
        client.get("ent-1")
    headers = caught.value.headers
    assert headers["Retry-After"] == headers["retry-after"] == "3600"
    assert headers["X-RequestIdentifier"] == "rid-9"
    assert caught.value.retry_after == 3600.0


# --- Where to connect, and what to do when nothing answers ----------------------------------


def test_a_refused_loopback_connection_fails_at_once_and_says_how_to_start_the_sandbox(
    refusing_port: int, sleeps: list[float]
) -> None:
    with (
        ResaleClient(f"http://127.0.0.1:{refusing_port}", "demo", "demo-secret") as client,
        pytest.raises(br.NothingListeningError) as caught,
    ):
        client.echo()
    error = caught.value
    assert isinstance(error, br.ConnectError)
    assert (error.attempts, sleeps) == (1, [])
    assert error.start_command == f"bango-resale-sandbox --port {refusing_port}"
    message = str(error)
    assert f"`bango-resale-sandbox --port {refusing_port}`" in message
    assert "base_url" in message and "BANGO_RESALE_BASE_URL" not in message


def test_the_async_client_fails_as_fast_and_names_the_variable_it_read(
    refusing_port: int, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BANGO_RESALE_BASE_URL", f"http://localhost:{refusing_port}")

    async def echo() -> None:
        async with br.AsyncResaleClient(username="demo", password="demo-secret") as client:
            await client.echo()

    with pytest.raises(br.NothingListeningError) as caught:
        asyncio.run(echo())
    assert (caught.value.attempts, sleeps) == (1, [])
    assert "BANGO_RESALE_BASE_URL" in str(caught.value)
    assert "base_url" not in str(caught.value)


def _refused(request: httpx.Request) -> httpx.Response:
    # How httpx reports a refused connection: its ConnectError, caused by the OS's refusal.
    raise httpx.ConnectError("[Errno 111] Connection refused") from ConnectionRefusedError(
        111, "Connection refused"
    )


@pytest.mark.parametrize(
    ("base_url", "command"),
    [
        ("http://127.0.0.1:8000", "bango-resale-sandbox --port 8000"),
        ("http://localhost:8001", "bango-resale-sandbox --port 8001"),
        ("http://127.0.0.2:9000/", "bango-resale-sandbox --host 127.0.0.2 --port 9000"),
        ("http://[::1]:8002", "bango-resale-sandbox --host ::1 --port 8002"),
        ("http://127.0.0.1", "bango-resale-sandbox --port 80"),
    ],
)
def test_every_loopback_form_counts_as_local(
    base_url: str, command: str, sleeps: list[float]
) -> None:
    with (
        ResaleClient(base_url, "u", "p", transport=httpx.MockTransport(_refused)) as client,
        pytest.raises(br.NothingListeningError) as caught,
    ):
        client.get("ent-1")
    assert caught.value.start_command == command
    assert sleeps == []


def test_a_refused_remote_connection_keeps_its_retries(sleeps: list[float]) -> None:
    with (
        ResaleClient(
            "https://resale.example", "u", "p", transport=httpx.MockTransport(_refused)
        ) as client,
        pytest.raises(br.ConnectError) as caught,
    ):
        client.get("ent-1")
    assert not isinstance(caught.value, br.NothingListeningError)
    assert caught.value.attempts == br.DEFAULT_RETRY_POLICY.max_attempts
    assert len(sleeps) == br.DEFAULT_RETRY_POLICY.max_attempts - 1


@pytest.mark.parametrize(
    ("given", "suggested"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("localhost:8000", "http://localhost:8000"),
        ("resale.api.bango.net", "https://resale.api.bango.net"),
    ],
)
def test_a_base_url_without_a_scheme_is_refused_up_front_with_the_likely_fix(
    given: str, suggested: str
) -> None:
    with pytest.raises(br.InvalidBaseUrlError) as caught:
        ResaleClient(given, "u", "p")
    error = caught.value
    assert isinstance(error, br.ConfigurationError)
    assert error.setting == "base_url"
    assert str(error) == (
        f"base_url: {given!r} is not an http:// or https:// URL; did you mean {suggested!r}?"
    )


def test_a_bad_base_url_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BANGO_RESALE_BASE_URL", "ftp://files.example")
    with pytest.raises(br.InvalidBaseUrlError) as caught:
        ResaleClient(username="u", password="p")
    assert caught.value.setting == "BANGO_RESALE_BASE_URL"
    assert str(caught.value) == (
        "BANGO_RESALE_BASE_URL: 'ftp://files.example' is not an http:// or https:// URL"
    )


@pytest.mark.parametrize(
    ("username", "password", "named", "not_named"),
    [
        ("user", None, ("password=", "BANGO_RESALE_PASSWORD"), ("username", "USERNAME")),
        (None, "secret", ("username=", "BANGO_RESALE_USERNAME"), ("password", "PASSWORD")),
    ],
)
def test_missing_credentials_name_only_what_is_missing(
    username: str | None,
    password: str | None,
    named: tuple[str, ...],
    not_named: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BANGO_RESALE_USERNAME", raising=False)
    monkeypatch.delenv("BANGO_RESALE_PASSWORD", raising=False)
    with pytest.raises(br.ConfigurationError) as caught:
        ResaleClient("http://bango.test", username, password)
    message = str(caught.value)
    assert all(word in message for word in named), message
    assert not any(word in message for word in not_named), message
