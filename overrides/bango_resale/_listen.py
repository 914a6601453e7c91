"""Follow a sandbox's notification outbox and forward each notification to a local receiver.

A shared sandbox cannot reach a developer's machine, so `bango-resale listen` polls the
sandbox's notification feed (`GET /sandbox/notifications/feed`, a cursor over every send) and,
with `--forward-to`, POSTs each body byte for byte, with the headers the sandbox sends (the
reseller's notification credentials), to a receiver on the developer's side.
`bango-resale redeliver ID` asks the sandbox to send one again; it shows up in the feed again.
These are sandbox controls (`spec/sandbox.openapi.yaml`), not partner API operations.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from . import _constants
from ._errors import (
    ApiError,
    MalformedResponseError,
    TransportError,
    error_class_for,
    transport_error,
)

FEED_PATH = "/sandbox/notifications/feed"
FEED_PAGE_SIZE = 100
#: Seconds between two looks at the feed when nothing new came.
DEFAULT_POLL_SECONDS = 0.5
#: How long a local receiver may take to answer a forwarded notification.
FORWARD_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
#: Failures a listener rides out (and reports) rather than stopping for.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


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
class Forwarded:
    """What the local receiver answered (or why it could not be reached)."""

    url: str
    status: int | None
    body: str
    error: str | None
    milliseconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "body": self.body,
            "error": self.error,
            "milliseconds": round(self.milliseconds, 1),
        }


class SandboxControls:
    """The two sandbox controls the listener uses, over the reseller's credentials."""

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
            raise self._malformed(f"the feed answer lacks {error}", document) from error

    def redeliver(self, notification_id: str) -> Mapping[str, Any]:
        path = f"/sandbox/notifications/{quote(notification_id, safe='')}/redeliver"
        document = self._call("POST", path)
        notification = document.get("notification")
        if not isinstance(notification, Mapping):
            raise self._malformed("the answer carries no notification", document)
        return notification

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

    def _malformed(self, text: str, document: Mapping[str, Any]) -> MalformedResponseError:
        return MalformedResponseError(
            f"{self.base_url}{FEED_PATH}: {text}",
            http_status=200,
            response_code=None,
            response_message=None,
            request_identifier=None,
            body=json.dumps(document).encode(),
        )


def forward(entry: FeedEntry, headers: Mapping[str, str], url: str) -> Forwarded:
    """POST the notification's exact body, with the sandbox's headers, to `url`."""
    started = time.perf_counter()
    try:
        response = httpx.post(
            url,
            content=entry.raw_body,
            headers=dict(headers),
            timeout=FORWARD_TIMEOUT,
            follow_redirects=False,
        )
    except httpx.HTTPError as error:
        return Forwarded(url, None, "", f"{type(error).__name__}: {error}", _since(started))
    return Forwarded(url, response.status_code, response.text[:500], None, _since(started))


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def is_transient(error: Exception) -> bool:
    """A failure worth waiting out while listening: no answer (a sandbox restarting refuses
    connections for a moment), or a busy or failing sandbox."""
    if isinstance(error, TransportError):
        return True
    return isinstance(error, ApiError) and error.http_status in TRANSIENT_STATUSES


def follow(
    controls: SandboxControls,
    *,
    entitlement_id: str | None,
    from_start: bool,
    count: int | None,
    poll_seconds: float,
    on_entry: Callable[[FeedEntry, FeedPage], None],
    on_ready: Callable[[int], None],
    on_transient: Callable[[Exception], None],
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Call `on_entry` for each notification sent from now on (or from the start); returns how
    many were seen when `count` is reached. Runs until interrupted when `count` is None."""
    after = 0 if from_start else controls.feed(0, entitlement_id).latest_cursor
    on_ready(after)
    seen = 0
    while count is None or seen < count:
        try:
            page = controls.feed(after, entitlement_id)
        except (ApiError, TransportError) as error:
            if not is_transient(error):
                raise
            on_transient(error)
            sleep(max(poll_seconds, 1.0))
            continue
        for entry in page.entries:
            on_entry(entry, page)
            seen += 1
            after = entry.cursor
            if count is not None and seen >= count:
                return seen
        after = max(after, page.next_cursor)
        if not page.entries:
            sleep(poll_seconds)
    return seen
