"""Follow a sandbox: its notification outbox, forwarding each notification to a local
receiver (`bango-resale listen`), and its request log (`bango-resale logs --follow`).

A shared sandbox cannot reach a developer's machine, so `bango-resale listen` polls the
sandbox's notification feed (`GET /sandbox/notifications/feed`, a cursor over every send) and,
with `--forward-to`, POSTs each body byte for byte, with the headers the sandbox sends (the
reseller's notification credentials), to a receiver on the developer's side.
`bango-resale redeliver ID` asks the sandbox to send one again; it shows up in the feed again.
`logs --follow` polls the request log the same way (`GET /sandbox/requests?after=...`).
These are sandbox controls (`spec/sandbox.openapi.yaml`), not partner API operations; the
calls themselves are `_sandbox.SandboxControls`'.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import httpx

from ._errors import ApiError, TransportError
from ._sandbox import FeedEntry, FeedPage, SandboxControls

_Page = TypeVar("_Page")

#: Seconds between two looks at the feed when nothing new came.
DEFAULT_POLL_SECONDS = 0.5
#: How long a local receiver may take to answer a forwarded notification.
FORWARD_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
#: Entries of the request log asked for at a time while following it.
REQUEST_PAGE_SIZE = 500
#: Failures a listener rides out (and reports) rather than stopping for.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


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


def _look(
    fetch: Callable[[], _Page],
    on_transient: Callable[[Exception], None],
    poll_seconds: float,
    sleep: Callable[[float], None],
) -> _Page | None:
    """One look at the sandbox; None after a failure worth waiting out, reported and waited
    for (at least a second, so that a sandbox in trouble is not hammered)."""
    try:
        return fetch()
    except (ApiError, TransportError) as error:
        if not is_transient(error):
            raise
        on_transient(error)
        sleep(max(poll_seconds, 1.0))
        return None


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
        page = _look(
            partial(controls.feed, after, entitlement_id), on_transient, poll_seconds, sleep
        )
        if page is None:
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


def tail_requests(
    controls: SandboxControls,
    *,
    filters: Mapping[str, str | None],
    count: int | None,
    poll_seconds: float,
    on_entry: Callable[[Mapping[str, Any]], None],
    on_ready: Callable[[int], None],
    on_transient: Callable[[Exception], None],
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Call `on_entry` for each request the log gets from now on that `filters` admit, oldest
    first; returns how many were seen when `count` is reached. Runs until interrupted when
    `count` is None."""
    after = controls.requests(limit=1).latest_cursor
    on_ready(after)
    seen = 0
    while count is None or seen < count:
        page = _look(
            partial(controls.requests, **filters, after=after, limit=REQUEST_PAGE_SIZE),
            on_transient,
            poll_seconds,
            sleep,
        )
        if page is None:
            continue
        for entry in page.requests:
            on_entry(entry)
            seen += 1
            if count is not None and seen >= count:
                return seen
        after = page.next_cursor if page.next_cursor is not None else after
        if not page.requests:
            sleep(poll_seconds)
    return seen
