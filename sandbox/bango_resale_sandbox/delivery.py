"""Delivers the notification outbox: POSTs each pending row to its URL until a 2xx.

Rows are written by the service in the same transaction as the status change; this loop only
reads and marks them (and records each attempt), so a restart simply resumes with whatever is
still pending. Each row keeps
its notificationId across attempts, so receivers can drop duplicates. Each entitlement's rows go
out one at a time, oldest first; a row that gets no 2xx within the configured give-up time is
marked given up, which lets the entitlement's next row go.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import httpx

from .config import DeliveryConfig, NotificationAuth, NotificationTargets
from .storage import EntitlementStore, OutboxRow, StoreUnavailable

log = logging.getLogger("bango_resale_sandbox.delivery")

BATCH_SIZE = 64
CONCURRENCY = 16
IDLE_POLL_SECONDS = 1.0


# What lastError says when the receiver gave no HTTP answer: refused, reset, timed out or
# spoke something else all read the same, so the sandbox cannot be used to map local ports.
NO_HTTP_ANSWER = "no HTTP answer from the receiver (not listening, not HTTP, or too slow)"
BLOCKED = "URL is not http(s) on a host and port of the notification allow-list"


def is_deliverable(url: str, allowed_hosts: NotificationTargets) -> bool:
    """Only http(s) URLs without user info whose host and port are on the allow-list may
    receive notifications (user info would replace the configured notification credentials)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return False
    if parts.scheme not in {"http", "https"} or parts.username is not None or host is None:
        return False
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return allowed_hosts.admits(host, port)


def retry_delay(attempts: int, config: DeliveryConfig) -> float:
    """Exponential backoff: the first delay doubled per failed attempt, capped."""
    return float(
        min(config.first_retry_seconds * 2 ** max(attempts - 1, 0), config.max_retry_seconds)
    )


class Deliverer:
    """A background task that drains the outbox; `wake()` after committing new rows.

    Per entitlement, one notification at a time and in the order they were written: the next
    is sent only once the previous was acknowledged (2xx) or given up. Different entitlements
    are delivered in parallel, up to CONCURRENCY at once, so a slow receiver holds back only
    its own entitlements' notifications.
    """

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
        # (reseller, entitlementId) -> the attempt under way for that entitlement.
        self._in_flight: dict[tuple[str, str], asyncio.Task[None]] = {}
        # (reseller, entitlementId) -> a row a shared store handed over (claimed for this
        # instance) while that entitlement had an attempt under way: sent when it ends.
        self._claimed_behind: dict[tuple[str, str], OutboxRow] = {}

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._client = httpx.AsyncClient(
            timeout=self._config.timeout_seconds, follow_redirects=False, trust_env=False
        )
        self._task = asyncio.create_task(self._run(), name="notification-deliverer")

    async def stop(self) -> None:
        tasks = [*self._in_flight.values(), *([self._task] if self._task is not None else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        store_away = False
        while True:
            self._wake.clear()
            next_due = None
            try:
                await self.launch_due()
                next_due = await self._store.next_notification_due()
                if store_away:
                    store_away = False
                    log.info("notification delivery resumed: the database answers again")
            except StoreUnavailable as exc:  # the database is away: try again next round
                # One line per episode, as the store logs its own trouble.
                if not store_away:
                    store_away = True
                    log.warning("notification delivery paused until the database answers: %s", exc)
            except Exception:  # keep delivering whatever one bad round did
                log.exception("notification delivery round failed")
            wait = IDLE_POLL_SECONDS if next_due is None else next_due - self._clock()
            # A due row whose entitlement is in flight waits for that attempt, which wakes
            # this loop when it ends.
            wait = min(max(wait, 0.0), IDLE_POLL_SECONDS) or IDLE_POLL_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def launch_due(self) -> int:
        """Start an attempt for each due row whose entitlement has none under way; how many."""
        free = CONCURRENCY - len(self._in_flight)
        if free <= 0:
            return 0
        # A shared store claims every row it returns: ask for no more than can start now.
        limit = free if self._store.shared else BATCH_SIZE + len(self._in_flight)
        rows = await self._store.due_notifications(self._clock(), limit)
        launched = 0
        for row in rows:
            key = (row.reseller, row.entitlement_id)
            if key in self._in_flight:
                if self._store.shared:
                    # Claimed for this instance (a redelivery of the row being sent): no
                    # other instance will send it before the claim runs out, so this one must.
                    self._claimed_behind[key] = row
                continue
            self._launch(key, row)
            launched += 1
            if launched == free:
                break
        return launched

    def _launch(self, key: tuple[str, str], row: OutboxRow) -> None:
        task = asyncio.create_task(self._attempt_for(key, row), name=f"notify-{row.seq}")
        self._in_flight[key] = task
        task.add_done_callback(functools.partial(self._finished, key))

    def _finished(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._in_flight.get(key) is task:
            del self._in_flight[key]
        error = None if task.cancelled() else task.exception()
        if isinstance(error, StoreUnavailable):  # its claim runs out and it is sent again
            log.warning("notification attempt not recorded: %s", error)
        elif error is not None:
            log.error("notification attempt failed", exc_info=error)
        self._wake.set()

    async def _attempt_for(self, key: tuple[str, str], row: OutboxRow) -> None:
        """The attempt, and the entitlement free again in the same step as the attempt's
        commit: a round starting before the done-callback runs must not see it in flight
        (a shared store has already claimed the entitlement's next row for that round)."""
        try:
            await self._attempt(row)
        finally:
            if self._in_flight.get(key) is asyncio.current_task():
                del self._in_flight[key]
                behind = self._claimed_behind.pop(key, None)
                if behind is not None:
                    self._launch(key, behind)

    async def _attempt(self, row: OutboxRow) -> None:
        assert self._client is not None
        url = row.url or ""
        if not is_deliverable(url, self._config.allowed_hosts):
            async with self._store.transaction():
                await self._store.mark_blocked(row.seq, BLOCKED, due_at=row.next_attempt_at)
            return
        headers = {
            "Content-Type": "application/json",
            **self._auth_for.get(row.reseller, NotificationAuth()).headers(),
        }
        attempts = row.attempts + 1
        started, began = self._clock(), time.perf_counter()
        status: int | None = None
        milliseconds: float | None = None
        try:
            response = await self._client.post(url, content=row.body, headers=headers)
            status = response.status_code
            milliseconds = round((time.perf_counter() - began) * 1000, 1)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except Exception:  # any failure to send (also an unusable URL) is a miss
            # No time either: how long a miss took would tell a closed port from a silent one.
            error = NO_HTTP_ANSWER
        now = self._clock()
        async with self._store.transaction():
            await self._store.add_delivery_attempt(row, started, status, error, milliseconds)
            if error is None:
                await self._store.mark_delivered(row.seq, attempts, now, due_at=row.next_attempt_at)
            elif now - row.created_at >= self._config.give_up_after_seconds:
                await self._store.mark_given_up(
                    row.seq, attempts, error, due_at=row.next_attempt_at
                )
            else:
                next_at = now + retry_delay(attempts, self._config)
                await self._store.mark_retry(
                    row.seq, attempts, next_at, error, due_at=row.next_attempt_at
                )
