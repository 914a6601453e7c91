"""The live judge reads bodies as JSON is written, no more leniently."""

from __future__ import annotations

import base64

import pytest

from bango_resale_contract import live

HEADERS = [
    (b"authorization", b"Basic " + base64.b64encode(b"demo:demo-secret")),
    (b"content-type", b"application/json"),
]
RECORD = (
    b'{"responseCode":"OK","responseMessage":"m","entitlementId":"e-1","status":"ACTIVE",'
    b'"dateCreated":"2026-01-01T00:00:00.000Z","dateActivated":"2026-01-01T00:00:00.000Z",'
    b'"dateEnded":null,"dateSuspended":null,"dateResumed":null,'
    b'"dateLastUpdated":"2026-01-01T00:00:00.000Z","dateExpiry":null,"customerIdentifier":"c",'
    b'"merchantAccountKey":"BANGO","productKey":"BangoMusic","offerKey":null,'
    b'"activationCode":null,"entitlementDisplayName":null,"notificationUrl":null,'
    b'"extensionData":{"x":%s}}'
)


def violations(value: bytes) -> list[str]:
    judge = live.LiveJudge()
    found = judge.exchange(
        "GET", "http://service/v1/entitlement/e-1", HEADERS, b"", 200, HEADERS[1:], RECORD % value
    )
    return [violation.rule for violation in found]


@pytest.mark.parametrize("value", [b"1", b"-0.5", b"100000000000000000000000000000", b"1e400"])
def test_numbers_json_allows_pass(value: bytes) -> None:
    assert violations(value) == []


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_an_answer_with_a_token_json_does_not_have_is_not_json(token: bytes) -> None:
    # Python's json module reads these; a partner's JSON parser refuses the whole answer.
    assert violations(token) == ["bango_response_shape"]
