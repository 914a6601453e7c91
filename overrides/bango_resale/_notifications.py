"""Receive the platform's status-change notifications (and build fake ones for tests).

Bango does not sign notifications. It authenticates to your receiver with Basic credentials,
an `X-Api-Key` header or a bearer token, whichever you configured; `NotificationReceiver`
checks that in constant time, then parses the body into a `NotificationEvent`. Delivery is
at least once, so drop repeats by `event.dedupe_key`.
"""

from __future__ import annotations

import base64
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

import bango_resale_spec as spec

from . import _constants
from ._errors import (
    ConfigurationError,
    InvalidNotificationError,
    NotificationAuthenticationError,
)
from ._operations import entitlement_from_payload
from ._results import Entitlement


@dataclass(frozen=True, slots=True)
class NotificationEvent:
    """One status-change notification. Unknown `notification_type` values are kept as text."""

    notification_id: str
    notification_type: str
    entitlement: Entitlement
    response_code: str
    response_message: str

    @property
    def dedupe_key(self) -> str:
        """Stable across redeliveries of the same notification: store it to drop repeats."""
        return self.notification_id

    @property
    def has_known_type(self) -> bool:
        return self.notification_type in spec.notification_types()


def _same(given: str, expected: str) -> bool:
    # compare_digest keeps the comparison time independent of where the strings differ;
    # surrogatepass lets any str (even one with lone surrogates) be compared, never raise.
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def _header(headers: Mapping[str, str], name: str) -> str:
    """A header's value by case-insensitive name, "" when absent (bytes read as Latin-1)."""
    for key, value in headers.items():
        key_text = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if key_text.lower() == name.lower():
            return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return ""


class NotificationReceiver:
    """Authenticates and parses incoming notification requests.

    Configure the method(s) you gave Bango: `basic=(user, password)`, `api_key=` and/or
    `bearer_token=`. A request passes when any configured method matches.
    """

    def __init__(
        self,
        *,
        basic: tuple[str, str] | None = None,
        api_key: str | None = None,
        bearer_token: str | None = None,
    ) -> None:
        if basic is None and not api_key and not bearer_token:
            raise ConfigurationError(
                "NotificationReceiver needs basic=(user, password), api_key= or bearer_token=; "
                "notifications are unsigned, so an unauthenticated receiver accepts forgeries"
            )
        if basic is not None:
            user, password = basic
            if not user or not password:
                raise ConfigurationError(
                    "NotificationReceiver basic=: user name and password must both be non-empty;"
                    " pass the credentials configured for your notifications"
                )
            if ":" in user:
                raise ConfigurationError(
                    "NotificationReceiver basic=: the user name must not contain ':' (RFC 7617)"
                )
        self._basic = (
            None
            if basic is None
            else base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode("ascii")
        )
        self._api_key = api_key or None
        self._bearer = bearer_token or None

    def authenticate(self, headers: Mapping[str, str]) -> None:
        """Raise `NotificationAuthenticationError` unless a configured credential matches.

        Header names and the `Basic`/`Bearer` scheme are matched without regard to case
        (RFC 9110, RFC 7617); any header value, even one that is not ASCII, is just a miss.
        """
        authorization = _header(headers, "authorization")
        scheme, _, credentials = authorization.strip().partition(" ")
        scheme, credentials = scheme.lower(), credentials.strip()
        api_key = _header(headers, _constants.API_KEY_HEADER)
        # Evaluate every configured check so timing does not reveal which one was close.
        matches = [
            self._basic is not None and _same(credentials, self._basic) and scheme == "basic",
            self._bearer is not None and _same(credentials, self._bearer) and scheme == "bearer",
            self._api_key is not None and _same(api_key, self._api_key),
        ]
        if not any(matches):
            raise NotificationAuthenticationError(
                "notification credentials missing or wrong; answer 401"
            )

    def parse(self, body: bytes | str) -> NotificationEvent:
        """The typed event; `InvalidNotificationError` if the body is not a notification."""
        try:
            payload = json.loads(body)
        except (ValueError, TypeError) as exc:  # UnicodeDecodeError is a ValueError
            raise InvalidNotificationError(f"notification body is not JSON: {exc}") from exc
        except RecursionError:
            raise InvalidNotificationError("notification body is nested too deeply") from None
        if not isinstance(payload, dict):
            raise InvalidNotificationError("notification body is not a JSON object")
        try:
            notification_id = payload["notificationId"]
            notification_type = payload["notificationType"]
            if not isinstance(notification_id, str) or not notification_id:
                raise ValueError("notificationId must be a non-empty string")
            if not isinstance(notification_type, str):
                raise TypeError("notificationType must be a string")
            return NotificationEvent(
                notification_id=notification_id,
                notification_type=notification_type,
                entitlement=entitlement_from_payload(payload),
                response_code=str(payload["responseCode"]),
                response_message=str(payload["responseMessage"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise InvalidNotificationError(
                f"notification body does not match the spec: {exc!r}"
            ) from exc

    def receive(self, headers: Mapping[str, str], body: bytes | str) -> NotificationEvent:
        """Authenticate, then parse: the one call a webhook endpoint needs."""
        self.authenticate(headers)
        return self.parse(body)


def build_notification_request(
    url: str,
    entitlement: Entitlement,
    notification_type: str,
    *,
    notification_id: str | None = None,
    basic: tuple[str, str] | None = None,
    api_key: str | None = None,
    bearer_token: str | None = None,
    response_message: str = "Status changed",
) -> httpx.Request:
    """A request shaped like the platform's notification, for testing a receiver."""
    body: dict[str, Any] = {
        "responseCode": "OK",
        "responseMessage": response_message,
        **entitlement.to_json(),
        "notificationType": notification_type,
        "notificationId": notification_id or str(uuid.uuid4()),
    }
    headers = {"Content-Type": "application/json"}
    if basic is not None:
        token = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    elif bearer_token:
        headers["Authorization"] = f"Bearer {bearer_token}"
    if api_key:
        headers[_constants.API_KEY_HEADER] = api_key
    return httpx.Request("POST", url, headers=headers, content=json.dumps(body).encode())
