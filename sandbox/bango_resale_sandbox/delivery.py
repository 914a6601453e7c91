"""Delivers the notification outbox: POSTs each pending row to its URL until a 2xx.

Rows are written by the service in the same transaction as the status change; this loop only
reads and marks them, so a restart simply resumes with whatever is still pending. Each row keeps
its notificationId across attempts, so receivers can drop duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import httpx

from .config import DeliveryConfig, NotificationAuth
from .store import EntitlementStore, OutboxRow

log = logging.getLogger("bango_resale_sandbox.delivery")

BATCH_SIZE = 64
CONCURRENCY = 16
IDLE_POLL_SECONDS = 1.0


def is_deliverable(url: str, allowed_hosts: frozenset[str]) -> bool:
    """Only http(s) URLs whose host is on the allow-list may receive notifications."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and host is not None and host.lower() in allowed_hosts


def retry_delay(attempts: int, config: DeliveryConfig) -> float:
    """Exponential backoff: the first delay doubled per failed attempt, capped."""
    return float(
        min(config.first_retry_seconds * 2 ** max(attempts - 1, 0), config.max_retry_seconds)
    )


class Deliverer:
    """A background task that drains the outbox; `wake()` after committing new rows."""

    def __init__(
        self,
        store: EntitlementStore,
        config: DeliveryConfig,
        auth_for: Mapping[str, NotificationAuth],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._config = config
        self._auth_for = auth_for
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._client = httpx.AsyncClient(
            timeout=self._config.timeout_seconds, follow_redirects=False, trust_env=False
        )
        self._task = asyncio.create_task(self._run(), name="notification-deliverer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                delivered_any = await self.deliver_due()
            except Exception:  # keep delivering whatever one bad batch did
                log.exception("notification delivery round failed")
                delivered_any = False
            if delivered_any:
                continue
            next_due = self._store.next_notification_due()
            wait = IDLE_POLL_SECONDS if next_due is None else next_due - self._clock()
            if wait > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=min(wait, IDLE_POLL_SECONDS))

    async def deliver_due(self) -> bool:
        """One round: attempt every due row (up to a batch); True if there were any."""
        rows = self._store.due_notifications(self._clock(), BATCH_SIZE)
        if not rows:
            return False
        limiter = asyncio.Semaphore(CONCURRENCY)

        async def attempt(row: OutboxRow) -> None:
            async with limiter:
                await self._attempt(row)

        await asyncio.gather(*(attempt(row) for row in rows))
        return True

    async def _attempt(self, row: OutboxRow) -> None:
        assert self._client is not None
        url = row.url or ""
        if not is_deliverable(url, self._config.allowed_hosts):
            with self._store.transaction():
                self._store.mark_blocked(row.seq, "URL is not http(s) on an allowed host")
            return
        headers = {
            "Content-Type": "application/json",
            **self._auth_for.get(row.reseller, NotificationAuth()).headers(),
        }
        attempts = row.attempts + 1
        try:
            response = await self._client.post(url, content=row.body, headers=headers)
            error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._store.transaction():
            if error is None:
                self._store.mark_delivered(row.seq, attempts, self._clock())
            else:
                next_at = self._clock() + retry_delay(attempts, self._config)
                self._store.mark_retry(row.seq, attempts, next_at, error)
