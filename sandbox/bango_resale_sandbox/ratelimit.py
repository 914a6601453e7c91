"""Request limiting with token buckets: per reseller, and for failed logins per source and
per user name. On a shared store the buckets live in the database, so the limits hold across
every instance of the sandbox."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .config import RateLimit

# Buckets kept at most; the least recently used go first, so that a caller sending ever new
# user names or addresses cannot grow the table without bound. A dropped bucket starts full.
MAX_BUCKETS = 10_000
# A shared limiter takes this many seconds' worth of the rate from the database at a time.
SHARED_BATCH_SECONDS = 0.05


@runtime_checkable
class SharedBuckets(Protocol):
    """Token buckets kept in a database that several sandbox processes share."""

    async def take_tokens(
        self, key: str, rate: float, burst: float, now: float, want: float
    ) -> tuple[float, float]: ...

    async def peek_tokens(self, key: str, rate: float, burst: float, now: float) -> float: ...


class RateLimiter:
    """One token bucket per key; `acquire` spends a token or says how long to wait.

    With `shared`, the buckets live in the database (wall-clock stamps), so a reseller's limit
    holds across every instance of a shared sandbox. An instance takes tokens from it in
    batches of SHARED_BATCH_SECONDS worth of the rate (at least one) and spends them locally,
    so a generous limit costs one database statement per batch, not per request; the limit
    across instances is exact to within one batch per instance.
    """

    def __init__(
        self,
        limit: RateLimit,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedBuckets | None = None,
    ) -> None:
        self._rate = limit.requests_per_second
        self._burst = max(limit.burst, 1.0)
        self._clock = clock
        self._shared = shared
        self._reserved: dict[str, float] = {}  # tokens taken from the shared bucket, unspent
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # (tokens, stamp)

    async def acquire(self, key: str) -> int:
        """0 when the request may go ahead, otherwise whole seconds to wait (Retry-After)."""
        if self._rate > 0 and self._shared is not None:
            return await self._take_shared(key, self._shared)
        return self._take(key, spend=True)

    async def wait(self, key: str) -> int:
        """Like `acquire`, without spending: 0 when a token is there, else seconds to wait.

        A shared limiter asks the database only about keys this instance has spent from
        (the failed-login case): an unknown key costs nothing, and the first failure seen
        here makes every later check of the key exact across instances."""
        if self._rate > 0 and self._shared is not None:
            if key not in self._buckets:
                return 0
            tokens = await self._shared.peek_tokens(key, self._rate, self._burst, time.time())
            if tokens >= self._burst:
                del self._buckets[key]  # full again: forget it until it is spent from
            return 0 if tokens >= 1.0 else max(1, math.ceil((1.0 - tokens) / self._rate))
        return self._take(key, spend=False)

    def tracking(self) -> bool:
        """True once any key has a bucket."""
        return bool(self._buckets)

    def _take(self, key: str, *, spend: bool) -> int:
        if self._rate <= 0 or (not spend and key not in self._buckets):
            return 0  # an unknown key has a full bucket (the common case, kept cheap)
        now = self._clock()
        tokens, stamp = self._buckets.pop(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - stamp) * self._rate)
        if tokens >= 1.0:
            self._keep(key, (tokens - 1.0 if spend else tokens, now))
            return 0
        self._keep(key, (tokens, now))
        return max(1, math.ceil((1.0 - tokens) / self._rate))

    async def _take_shared(self, key: str, shared: SharedBuckets) -> int:
        left = 0.0
        if self._reserved.get(key, 0.0) < 1.0:
            want = max(1.0, math.floor(self._rate * SHARED_BATCH_SECONDS))
            taken, left = await shared.take_tokens(key, self._rate, self._burst, time.time(), want)
            # Read the reserve again after the round trip: requests that ran meanwhile have
            # added their own batches or spent from it, and none of those tokens may be lost.
            self._reserved[key] = self._reserved.get(key, 0.0) + taken
        self._keep(key, (left, 0.0))  # spent from here: `wait` asks the database about it
        reserved = self._reserved.get(key, 0.0)
        if reserved >= 1.0:
            self._reserved[key] = reserved - 1.0
            return 0
        return max(1, math.ceil((1.0 - left) / self._rate))

    def _keep(self, key: str, bucket: tuple[float, float]) -> None:
        self._buckets[key] = bucket
        if len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)


class LoginThrottle:
    """Failed logins spend tokens per source address and per user name; while either bucket
    is empty, every login from that source or for that user is refused without checking the
    password, so guessing is slowed to the refill rate whatever the answer would be."""

    def __init__(
        self,
        per_source: RateLimit,
        per_user: RateLimit,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedBuckets | None = None,
        prefix: str = "login",
    ) -> None:
        """`shared`: count failures in the database, across every instance (the key of a
        bucket there is `prefix`, the kind and the source or user)."""
        self._prefix = prefix
        self._sources = RateLimiter(per_source, clock, shared)
        self._users = RateLimiter(per_user, clock, shared)

    def watching(self) -> bool:
        """False until a login has failed: nothing can be throttled yet."""
        return self._sources.tracking() or self._users.tracking()

    async def wait(self, source: str, user: str | None) -> int:
        """Seconds until a login from `source` for `user` may be tried; 0 for now."""
        waits = [await self._sources.wait(f"{self._prefix}-source:{source}")]
        if user is not None:
            waits.append(await self._users.wait(f"{self._prefix}-user:{user}"))
        return max(waits)

    async def failed(self, source: str, user: str) -> None:
        await self._sources.acquire(f"{self._prefix}-source:{source}")
        await self._users.acquire(f"{self._prefix}-user:{user}")
