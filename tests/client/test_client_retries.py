"""Retries: which failures, how many times, how long, and with which request id."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from client_helpers import Script, envelope, record

import bango_resale as br
from bango_resale import ResaleClient

OK = envelope("OK", **record())


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, "TOO_MANY_REQUESTS"), (500, "INTERNAL_ERROR"), (503, "SERVICE_UNAVAILABLE")],
)
def test_transient_codes_are_retried_until_success(
    status: int, code: str, client: ResaleClient, script: Script, sleeps: list[float]
) -> None:
    script.then(status, envelope(code)).then(status, envelope(code)).then(200, OK)
    result = client.get("ent-1")
    assert result.is_final
    assert len(script.requests) == 3
    assert len(sleeps) == 2


def test_gives_up_after_max_attempts_and_reports_them(
    client: ResaleClient, script: Script, sleeps: list[float]
) -> None:
    script.then(503, envelope("SERVICE_UNAVAILABLE"))
    with pytest.raises(br.ServiceUnavailableError) as caught:
        client.get("ent-1")
    assert len(script.requests) == br.DEFAULT_RETRY_POLICY.max_attempts
    assert caught.value.attempts == br.DEFAULT_RETRY_POLICY.max_attempts
    assert len(sleeps) == br.DEFAULT_RETRY_POLICY.max_attempts - 1


def test_backoff_grows_exponentially_with_bounded_jitter(
    client: ResaleClient, script: Script, sleeps: list[float]
) -> None:
    policy = br.RetryPolicy(max_attempts=5, initial_backoff=1.0, max_backoff=4.0, jitter=0.5)
    script.then(500, envelope("INTERNAL_ERROR"))
    with pytest.raises(br.InternalError):
        client.get("ent-1", retry=policy)
    ceilings = [1.0, 2.0, 4.0, 4.0]
    assert len(sleeps) == 4
    for waited, ceiling in zip(sleeps, ceilings, strict=True):
        assert ceiling * 0.5 <= waited <= ceiling


def test_retry_after_is_honoured(client: ResaleClient, script: Script, sleeps: list[float]) -> None:
    script.then(429, envelope("TOO_MANY_REQUESTS"), headers={"Retry-After": "7"}).then(200, OK)
    client.get("ent-1")
    assert sleeps == [7.0]


def test_retry_after_beyond_the_budget_is_not_waited_for(
    client: ResaleClient, script: Script, sleeps: list[float]
) -> None:
    script.then(429, envelope("TOO_MANY_REQUESTS"), headers={"Retry-After": "3600"})
    with pytest.raises(br.TooManyRequestsError) as caught:
        client.get("ent-1")
    assert sleeps == []
    assert caught.value.retry_after == 3600.0


def test_total_time_budget_stops_retries(
    client: ResaleClient, script: Script, sleeps: list[float]
) -> None:
    policy = br.RetryPolicy(max_attempts=10, initial_backoff=5.0, jitter=0.0, max_total_seconds=12)
    script.then(503, envelope("SERVICE_UNAVAILABLE"))
    with pytest.raises(br.ServiceUnavailableError):
        client.get("ent-1", retry=policy)
    assert sleeps == [5.0]  # the next wait (10 s) would pass the 12 s budget


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (409, "ALREADY_EXISTS"),
        (409, "NOT_AVAILABLE"),
        (400, "BAD_REQUEST"),
        (404, "NOT_FOUND"),
        (401, "UNAUTHORIZED"),
    ],
)
def test_non_transient_answers_are_never_retried(
    status: int, code: str, client: ResaleClient, script: Script, sleeps: list[float]
) -> None:
    script.then(status, envelope(code))
    with pytest.raises(br.ApiError):
        client.cancel("ent-1", ("CUSTOMER_CANCELLED", "NOT_RENEWED"))
    assert len(script.requests) == 1
    assert sleeps == []


def test_connection_errors_and_timeouts_are_retried(
    client: ResaleClient, script: Script, sleeps: list[float]
) -> None:
    script.then_raise(httpx.ConnectError("refused")).then_raise(httpx.ReadTimeout("slow"))
    script.then(200, OK)
    assert client.get("ent-1").is_final
    assert len(script.requests) == 3


def test_proxy_html_503_is_retried_by_status(
    client: ResaleClient, script: Script, sleeps: list[float]
) -> None:
    script.then(503, b"<html>maintenance</html>").then(200, OK)
    assert client.get("ent-1").is_final
    assert len(sleeps) == 1


def test_mutating_call_reuses_its_request_identifier_on_every_attempt(
    client: ResaleClient, script: Script, sleeps: list[float]
) -> None:
    script.then(500, envelope("INTERNAL_ERROR")).then_raise(httpx.ReadTimeout("slow"))
    script.then(200, OK)
    client.cancel("ent-1", ("CUSTOMER_CANCELLED", "NOT_RENEWED"))
    ids = {r.headers["X-RequestIdentifier"] for r in script.requests}
    assert len(script.requests) == 3
    assert len(ids) == 1
    bodies = {r.content for r in script.requests}
    assert len(bodies) == 1


def test_each_call_gets_a_fresh_identifier_and_a_given_one_is_kept(
    client: ResaleClient, script: Script
) -> None:
    script.then(200, OK)
    client.cancel("ent-1", 1)
    client.cancel("ent-1", 1)
    client.cancel("ent-1", 1, request_id="my-id-1")
    ids = [r.headers["X-RequestIdentifier"] for r in script.requests]
    assert ids[0] != ids[1]
    assert ids[2] == "my-id-1"


def test_extra_headers_cannot_override_the_request_identifier(
    client: ResaleClient, script: Script
) -> None:
    script.then(200, OK)
    client.cancel(
        "ent-1", 1, request_id="keep-me", extra_headers={"X-RequestIdentifier": "nope", "X-A": "b"}
    )
    assert script.requests[0].headers["X-RequestIdentifier"] == "keep-me"
    assert script.requests[0].headers["X-A"] == "b"


def test_reads_carry_no_identifier_unless_given(client: ResaleClient, script: Script) -> None:
    script.then(200, OK)
    client.get("ent-1")
    assert "X-RequestIdentifier" not in script.requests[0].headers


def test_per_client_policy_and_per_call_override(script: Script, sleeps: list[float]) -> None:
    script.then(503, envelope("SERVICE_UNAVAILABLE"))
    with ResaleClient(
        "http://bango.test",
        "u",
        "p",
        retry=br.RetryPolicy(max_attempts=2),
        transport=httpx.MockTransport(script),
    ) as client:
        with pytest.raises(br.ServiceUnavailableError):
            client.get("ent-1")
        assert len(script.requests) == 2
        with pytest.raises(br.ServiceUnavailableError):
            client.get("ent-1", retry=br.RetryPolicy.never())
        assert len(script.requests) == 3


def test_default_timeout_is_finite_and_overridable(script: Script) -> None:
    seen: list[dict[str, float | None]] = []

    def capture(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return script(request)

    script.then(200, OK)
    with ResaleClient("http://bango.test", "u", "p", transport=httpx.MockTransport(capture)) as c:
        c.get("ent-1")
        c.get("ent-1", timeout=1.5)
    assert seen[0]["read"] == 10.0 and seen[0]["connect"] == 5.0
    assert seen[1]["read"] == 1.5


def test_async_client_retries_with_the_same_identifier(script: Script, sleeps: list[float]) -> None:
    script.then(503, envelope("SERVICE_UNAVAILABLE")).then(200, OK)

    async def run() -> br.EntitlementResult:
        async with br.AsyncResaleClient(
            "http://bango.test", "u", "p", transport=httpx.MockTransport(script)
        ) as client:
            return await client.revoke("ent-1", ("REVOKED", "OTHER"))

    result = asyncio.run(run())
    assert result.is_final
    assert len(sleeps) == 1
    assert len({r.headers["X-RequestIdentifier"] for r in script.requests}) == 1
    assert script.requests[0].url.path == "/v1/entitlement/revoke/ent-1"


def test_retry_after_as_http_date_is_understood() -> None:
    import datetime
    from email.utils import format_datetime

    from bango_resale._retry_after import parse_retry_after

    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)
    seconds = parse_retry_after(format_datetime(soon, usegmt=True))
    assert seconds is not None and 25 <= seconds <= 31
    assert parse_retry_after("soon-ish") is None


def test_caller_supplied_http_client_still_gets_credentials(script: Script) -> None:
    script.then(200, OK)
    http = httpx.Client(base_url="http://bango.test", transport=httpx.MockTransport(script))
    with ResaleClient("http://bango.test", "u", "p", http_client=http) as client:
        client.get("ent-1")
    assert script.requests[0].headers["Authorization"].startswith("Basic ")
    assert not http.is_closed  # the caller owns it
    http.close()


@pytest.mark.parametrize("zone", ["-0000", ""], ids=["minus-zero", "no-zone"])
def test_retry_after_date_without_a_zone_is_read_as_gmt(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime
    import time

    from bango_resale._retry_after import parse_retry_after

    # Far from UTC, so reading the stamp in local time would be hours off.
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    try:
        soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)
        seconds = parse_retry_after(f"{soon:%a, %d %b %Y %H:%M:%S} {zone}".strip())
    finally:
        monkeypatch.undo()
        time.tzset()
    assert seconds is not None and 25 <= seconds <= 31


def test_backoff_stays_finite_for_any_retry_number() -> None:
    policy = br.RetryPolicy(max_attempts=5000, initial_backoff=0.0, jitter=0.0)
    assert policy.backoff(2000) == 0.0
    assert br.RetryPolicy(jitter=0.0).backoff(2000) == br.DEFAULT_RETRY_POLICY.max_backoff


@pytest.mark.parametrize(
    "changes",
    [
        {"max_attempts": 0},
        {"max_attempts": 2.5},
        {"jitter": 1.5},
        {"initial_backoff": -1.0},
        {"max_total_seconds": float("nan")},
    ],
)
def test_retry_policy_refuses_nonsense(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        br.RetryPolicy(**changes)  # type: ignore[arg-type]
