"""Notifications: authenticate (Basic, API key, bearer), parse, dedupe."""

from __future__ import annotations

import json

import pytest

import bango_resale as br
from bango_resale import NotificationReceiver, build_notification_request
from bango_resale.testing import sample_entitlement

URL = "https://reseller.test/hooks/bango"


def test_basic_auth_notification_parses_to_a_typed_event() -> None:
    receiver = NotificationReceiver(basic=("bango", "hook-secret"))
    entitlement = sample_entitlement("ACTIVE", "ent-7")
    request = build_notification_request(
        URL,
        entitlement,
        "ACTIVATION_SUCCESS",
        notification_id="n-1",
        basic=("bango", "hook-secret"),
    )
    event = receiver.receive(request.headers, request.content)
    assert event.notification_type == "ACTIVATION_SUCCESS"
    assert event.has_known_type
    assert event.entitlement == entitlement
    assert event.dedupe_key == "n-1"


def test_redelivery_has_the_same_dedupe_key() -> None:
    receiver = NotificationReceiver(api_key="k-123")
    request = build_notification_request(
        URL, sample_entitlement(), "TERMINATION_SUCCESS", notification_id="n-2", api_key="k-123"
    )
    first = receiver.receive(request.headers, request.content)
    second = receiver.receive(dict(request.headers), request.content)
    seen = {first.dedupe_key}
    assert second.dedupe_key in seen


def test_bearer_token_is_accepted() -> None:
    receiver = NotificationReceiver(bearer_token="tok")
    request = build_notification_request(
        URL, sample_entitlement(), "PRODUCT_UPDATE", bearer_token="tok"
    )
    assert receiver.receive(request.headers, request.content).notification_type == "PRODUCT_UPDATE"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic Ym9ndXM6Ym9ndXM="},
        {"Authorization": "Bearer wrong"},
        {"X-Api-Key": "wrong"},
    ],
)
def test_wrong_or_missing_credentials_are_refused(headers: dict[str, str]) -> None:
    receiver = NotificationReceiver(basic=("bango", "hook-secret"), api_key="k", bearer_token="t")
    request = build_notification_request(URL, sample_entitlement(), "ACTIVATION_SUCCESS")
    with pytest.raises(br.NotificationAuthenticationError):
        receiver.receive(headers, request.content)


def test_receiver_without_credentials_is_refused() -> None:
    with pytest.raises(br.ConfigurationError):
        NotificationReceiver()


def test_unknown_notification_type_and_status_are_kept() -> None:
    receiver = NotificationReceiver(api_key="k")
    request = build_notification_request(
        URL, sample_entitlement("DORMANT"), "PRICE_CHANGED", api_key="k"
    )
    event = receiver.receive(request.headers, request.content)
    assert event.notification_type == "PRICE_CHANGED"
    assert not event.has_known_type
    assert event.entitlement.status == "DORMANT"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", json.dumps({"responseCode": "OK"}).encode()],
    ids=["text", "array", "missing-fields"],
)
def test_malformed_body_is_an_invalid_notification(body: bytes) -> None:
    receiver = NotificationReceiver(api_key="k")
    with pytest.raises(br.InvalidNotificationError):
        receiver.receive({"X-Api-Key": "k"}, body)


def test_missing_notification_id_is_invalid() -> None:
    request = build_notification_request(URL, sample_entitlement(), "ACTIVATION_SUCCESS")
    body = json.loads(request.content)
    del body["notificationId"]
    with pytest.raises(br.InvalidNotificationError):
        NotificationReceiver(api_key="k").parse(json.dumps(body))


@pytest.mark.parametrize(
    "authorization",
    ["Basic caf\u00e9", "Bearer \u2603", "Basic \ud800", "\u00ff\u00fe"],
    ids=["latin1", "snowman", "lone-surrogate", "no-scheme"],
)
def test_non_ascii_authorization_is_an_authentication_error(authorization: str) -> None:
    receiver = NotificationReceiver(basic=("bango", "hook-secret"), bearer_token="t")
    request = build_notification_request(URL, sample_entitlement(), "ACTIVATION_SUCCESS")
    with pytest.raises(br.NotificationAuthenticationError):
        receiver.receive({"Authorization": authorization}, request.content)


@pytest.mark.parametrize("scheme", ["basic", "BASIC", "bAsIc"])
def test_basic_scheme_is_case_insensitive(scheme: str) -> None:
    receiver = NotificationReceiver(basic=("bango", "hook-secret"))
    request = build_notification_request(
        URL, sample_entitlement(), "ACTIVATION_SUCCESS", basic=("bango", "hook-secret")
    )
    token = request.headers["Authorization"].split(" ", 1)[1]
    headers = {"authorization": f"{scheme} {token}"}
    assert receiver.receive(headers, request.content).notification_type == "ACTIVATION_SUCCESS"


def test_bearer_scheme_is_case_insensitive_but_the_token_is_not() -> None:
    receiver = NotificationReceiver(bearer_token="Tok")
    request = build_notification_request(URL, sample_entitlement(), "ACTIVATION_SUCCESS")
    assert receiver.receive({"Authorization": "bearer Tok"}, request.content)
    with pytest.raises(br.NotificationAuthenticationError):
        receiver.receive({"Authorization": "Bearer tok"}, request.content)


@pytest.mark.parametrize("basic", [("", ""), ("bango", ""), ("", "secret"), ("ban:go", "secret")])
def test_unusable_basic_credentials_are_a_configuration_error(basic: tuple[str, str]) -> None:
    with pytest.raises(br.ConfigurationError, match="basic="):
        NotificationReceiver(basic=basic)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        ('{"a":' * 50_000 + "1" + "}" * 50_000).encode(),
        "[" * 100_000,
        b"\xff\xfe",
        b'{"notificationId": "n", "notificationType": "X", "extensionData": []}',
        json.dumps({"notificationId": "n", "notificationType": "X", "dateCreated": 5}),
        b"1" * 5000,
        b"",
    ],
    ids=[
        "deep-array",
        "deep-object",
        "deep-text",
        "not-utf8",
        "extension-array",
        "date-number",
        "huge-int",
        "empty",
    ],
)
def test_hostile_bodies_are_invalid_notifications(body: bytes | str) -> None:
    receiver = NotificationReceiver(api_key="k")
    with pytest.raises(br.InvalidNotificationError):
        receiver.receive({"X-Api-Key": "k"}, body)
