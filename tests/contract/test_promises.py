"""Each promise the spec makes in words is a check, and each has a sandbox fault it catches."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from bango_resale_contract import promises
from bango_resale_contract.scenarios import run_scenarios
from bango_resale_sandbox.faults import KNOWN_FAULTS
from bango_resale_sandbox.testing import SandboxThread


def _exchange(
    method: str, path: str, status: int, body: object, *, sent: object = None, **headers: str
) -> tuple[httpx.Request, httpx.Response]:
    request = httpx.Request(method, f"http://service{path}", json=sent, headers=headers)
    return request, httpx.Response(status, json=body)


def test_query_filters_must_hold_for_every_record() -> None:
    request, response = _exchange(
        "POST",
        "/v1/entitlement/report",
        200,
        {"entitlements": [{"entitlementId": "e-1", "customerIdentifier": "c", "status": "ACTIVE"}]},
        sent={"customerIdentifier": "c", "status": "REVOKED"},
    )
    problems = promises.judge("queryEntitlements", request, response, response.json())
    assert problems == [
        "bango_query_filters_hold: the query asked for status 'REVOKED'; entitlement e-1 has"
        " 'ACTIVE'"
    ]


def test_a_request_identifier_must_come_back() -> None:
    request, response = _exchange(
        "GET", "/v1/echo/x", 200, {"echo": "x"}, **{"X-RequestIdentifier": "r-1"}
    )
    assert promises.judge("echo", request, response, response.json()) == [
        "bango_request_identifier_echoed: X-RequestIdentifier 'r-1' was sent; the answer"
        " echoes None"
    ]


def test_echo_record_and_dates_say_what_was_asked() -> None:
    request, response = _exchange("GET", "/v1/echo/abc", 200, {"echo": "ABC"})
    assert promises.judge("echo", request, response, response.json())
    request, response = _exchange(
        "GET", "/v1/entitlement/e-1", 200, {"entitlementId": "e-2", "status": "REVOKED"}
    )
    found = promises.judge("getEntitlement", request, response, response.json())
    assert any("asked about 'e-1'" in p for p in found)
    assert any("REVOKED record has no dateEnded" in p for p in found)


def test_every_promise_names_a_known_sandbox_fault() -> None:
    assert {p.fault for p in promises.PROMISES} <= KNOWN_FAULTS
    assert len({p.name for p in promises.PROMISES}) == len(promises.PROMISES)


@pytest.mark.integration
def test_the_clean_sandbox_keeps_every_promise(
    in_process_sandbox: Callable[..., SandboxThread],
) -> None:
    url = in_process_sandbox(login_throttle=False).base_url
    report = run_scenarios(url, "demo", "demo-secret")
    assert report.violations == []


@pytest.mark.integration
@pytest.mark.parametrize("promise", promises.PROMISES, ids=lambda p: p.fault)
def test_each_promise_catches_its_fault(
    promise: promises.Promise, in_process_sandbox: Callable[..., SandboxThread]
) -> None:
    url = in_process_sandbox(faults=[promise.fault], login_throttle=False).base_url
    report = run_scenarios(url, "demo", "demo-secret")
    found = [v for v in report.violations if v.startswith(f"{promise.name}: ")]
    assert found, report.violations
    assert all("reproduce with: curl" in v for v in found)


def test_a_429_must_say_when_to_retry() -> None:
    request = httpx.Request("GET", "http://service/v1/entitlement/e-1")
    limited = httpx.Response(429, json={"responseCode": "TOO_MANY_REQUESTS"})
    assert promises.judge("getEntitlement", request, limited, limited.json()) == [
        "bango_required_headers_sent: an HTTP 429 answer carries Retry-After (the spec requires"
        " it: how many seconds to wait); this one has none"
    ]
    told = httpx.Response(429, json={}, headers={"Retry-After": "5"})
    assert promises.judge("getEntitlement", request, told, {}) == []
    garbled = httpx.Response(503, json={}, headers={"Retry-After": "soon"})
    assert promises.judge("getEntitlement", request, garbled, {}) == [
        "bango_required_headers_sent: Retry-After is 'soon'; the spec documents a whole number"
        " of seconds"
    ]
    # A 503 may leave it out.
    assert promises.judge("getEntitlement", request, httpx.Response(503, json={}), {}) == []


def test_an_update_answered_200_shows_what_it_changed() -> None:
    sent = {"entitlementId": "e-1", "productKey": "NEW", "extensionData": {"k": "v", "gone": None}}
    request = httpx.Request("PATCH", "http://service/v1/entitlement", json=sent)

    def judged(status: int, **record: object) -> list[str]:
        body = {"responseCode": "OK", "entitlementId": "e-1", "status": "ACTIVE", **record}
        return promises.judge("updateEntitlement", request, httpx.Response(status, json=body), body)

    assert judged(200, productKey="NEW", extensionData={"k": "v"}) == []
    assert judged(200, productKey="OLD", extensionData={"k": "v"}) == [
        "bango_update_applied: the update sent productKey 'NEW' and was answered 200 OK (done);"
        " the record still has 'OLD'"
    ]
    assert judged(200, productKey="NEW", extensionData={}) == [
        "bango_update_applied: the update sent extensionData.k 'v' and was answered 200 OK"
        " (done); the record has None"
    ]
    # A 202 changes nothing yet.
    assert judged(202, productKey="OLD", extensionData={}) == []
