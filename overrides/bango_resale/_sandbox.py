"""The sandbox's own controls (`spec/sandbox.openapi.yaml`), called over plain HTTP.

The generated client covers the partner API only; the commands that work a sandbox
(`listen`, `redeliver`, `trigger`, `logs`) call these few controls with the reseller's
credentials, and a refusal becomes the same typed error the partner API's would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from . import _constants
from ._errors import MalformedResponseError, error_class_for, transport_error

FEED_PATH = "/sandbox/notifications/feed"
FEED_PAGE_SIZE = 100
REQUESTS_PATH = "/sandbox/requests"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One send of a notification: where it is in the feed, and what was sent."""

    cursor: int
    queued_at: str
    raw_body: bytes
    notification: Mapping[str, Any]

    @property
    def notification_id(self) -> str:
        return str(self.notification.get("notificationId", ""))


@dataclass(frozen=True, slots=True)
class FeedPage:
    entries: list[FeedEntry]
    next_cursor: int
    latest_cursor: int
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RequestPage:
    """Entries of the request log (each as the sandbox gives it) and the cursors around."""

    requests: list[Mapping[str, Any]]
    next_cursor: int | None
    latest_cursor: int


class SandboxControls:
    """The sandbox controls the commands use, over the reseller's credentials."""

    def __init__(
        self,
        base_url: str,
        authorization: str,
        *,
        timeout: httpx.Timeout | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout or _constants.DEFAULT_TIMEOUT,
            headers={
                "Authorization": authorization,
                "Accept": "application/json",
                "User-Agent": _constants.USER_AGENT,
                **(headers or {}),
            },
        )

    def close(self) -> None:
        self._http.close()

    def feed(self, after: int, entitlement_id: str | None = None) -> FeedPage:
        params: dict[str, str | int] = {"after": after, "limit": FEED_PAGE_SIZE}
        if entitlement_id is not None:
            params["entitlementId"] = entitlement_id
        document = self._call("GET", FEED_PATH, params=params)
        try:
            return FeedPage(
                entries=[
                    FeedEntry(
                        cursor=int(entry["cursor"]),
                        queued_at=str(entry["queuedAt"]),
                        raw_body=str(entry["rawBody"]).encode(),
                        notification=dict(entry["notification"]),
                    )
                    for entry in document["entries"]
                ],
                next_cursor=int(document["nextCursor"]),
                latest_cursor=int(document["latestCursor"]),
                headers={str(k): str(v) for k, v in dict(document["headers"]).items()},
            )
        except (KeyError, TypeError, ValueError) as error:
            raise self._malformed(FEED_PATH, f"the feed answer lacks {error}", document) from error

    def redeliver(self, notification_id: str) -> Mapping[str, Any]:
        path = f"/sandbox/notifications/{quote(notification_id, safe='')}/redeliver"
        document = self._call("POST", path)
        notification = document.get("notification")
        if not isinstance(notification, Mapping):
            raise self._malformed(path, "the answer carries no notification", document)
        return notification

    def raise_event(
        self, entitlement_id: str, event: str, reason: Mapping[str, str] | None = None
    ) -> Mapping[str, Any]:
        """Make a platform event happen to the entitlement (`raiseEvent`); the answer: the
        event, the rows fired and the record afterwards."""
        path = (
            f"/sandbox/entitlements/{quote(entitlement_id, safe='')}/events/{quote(event, safe='')}"
        )
        document = self._call("POST", path, json=dict(reason) if reason else None)
        if not isinstance(document.get("entitlement"), Mapping):
            raise self._malformed(path, "the answer carries no entitlement", document)
        return document

    def requests(self, **filters: str | int | None) -> RequestPage:
        """Entries of the request log (`listRequests`); `filters` are its query parameters
        (None leaves one out)."""
        params = {name: value for name, value in filters.items() if value is not None}
        document = self._call("GET", REQUESTS_PATH, params=params)
        try:
            next_cursor = document["nextCursor"]
            return RequestPage(
                requests=[dict(entry) for entry in document["requests"]],
                next_cursor=None if next_cursor is None else int(next_cursor),
                latest_cursor=int(document["latestCursor"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise self._malformed(
                REQUESTS_PATH, f"the request log's answer lacks {error}", document
            ) from error

    def _call(self, method: str, path: str, **options: Any) -> Mapping[str, Any]:
        url = f"{self.base_url}{path}"
        try:
            response = self._http.request(method, path, **options)
        except httpx.HTTPError as error:
            raise transport_error(
                error,
                f"{method} {url}",
                url,
                request_identifier=None,
                attempts=1,
                base_url_setting="the base URL",
            ) from error
        try:
            decoded: Any = response.json()
        except ValueError:
            decoded = None
        document: Mapping[str, Any] = decoded if isinstance(decoded, Mapping) else {}
        if response.is_success and document:
            return document
        code = document.get("responseCode")
        message = document.get("responseMessage")
        cls = error_class_for(response.status_code, code if isinstance(code, str) else None)
        raise cls(
            f"{method} {url}: HTTP {response.status_code} {code or ''}".rstrip(),
            http_status=response.status_code,
            response_code=code if isinstance(code, str) else None,
            response_message=message if isinstance(message, str) else None,
            request_identifier=None,
            body=response.content,
            headers=response.headers,
        )

    def _malformed(
        self, path: str, text: str, document: Mapping[str, Any]
    ) -> MalformedResponseError:
        return MalformedResponseError(
            f"{self.base_url}{path}: {text}",
            http_status=200,
            response_code=None,
            response_message=None,
            request_identifier=None,
            body=json.dumps(document).encode(),
        )
