"""Request limiting with token buckets: per reseller, and the failed-login throttle. On a
shared store the buckets live in the database, so the limits hold across every instance of the
sandbox."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

from .config import RateLimit

# Buckets kept at most; the least recently used go first, so that a caller sending ever new
# user names or addresses cannot grow the table without bound. A dropped bucket starts full.
MAX_BUCKETS = 10_000
# Per configured user: buckets of the addresses that failed to log in as it, and addresses it
# logged in from. Only failures for that user (or its own logins) can push one out.
MAX_SOURCES_PER_USER = 1_000
MAX_KNOWN_SOURCES_PER_USER = 64
# An address a user logged in from stays known for one to two of these (seconds).
KNOWN_SOURCE_WINDOW_SECONDS = 86_400
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
        max_buckets: int | None = None,
    ) -> None:
        """`max_buckets`: buckets kept in memory (MAX_BUCKETS by default), least recently used
        dropped first."""
        self._rate = limit.requests_per_second
        self._burst = max(limit.burst, 1.0)
        self._clock = clock
        self._shared = shared
        self._max_buckets = MAX_BUCKETS if max_buckets is None else max_buckets
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
            if reserved >= 2.0:
                self._reserved[key] = reserved - 1.0
            else:  # none left: the reserve keeps no entry for every key ever seen
                del self._reserved[key]
            return 0
        self._reserved.pop(key, None)
        return max(1, math.ceil((1.0 - left) / self._rate))

    def _keep(self, key: str, bucket: tuple[float, float]) -> None:
        self._buckets[key] = bucket
        if len(self._buckets) > self._max_buckets:
            self._buckets.popitem(last=False)


class KnownSources:
    """The addresses each configured user has logged in from, learned only from correct
    passwords: up to MAX_KNOWN_SOURCES_PER_USER per user, the most recent kept. An address
    stays known until the end of the window (KNOWN_SOURCE_WINDOW_SECONDS) after the one of its
    last login. With `shared`, each is also marked in the database (an untouched bucket per
    user, address and window), so every instance knows what any one has learned."""

    def __init__(
        self,
        users: Iterable[str],
        clock: Callable[[], float] = time.time,
        shared: SharedBuckets | None = None,
        prefix: str = "login",
    ) -> None:
        self._known: dict[str, OrderedDict[str, int]] = {user: OrderedDict() for user in users}
        self._clock = clock
        self._shared = shared
        self._prefix = prefix

    def _window(self) -> int:
        return int(self._clock() // KNOWN_SOURCE_WINDOW_SECONDS)

    def _marker(self, user: str, source: str, window: int) -> str:
        return f"{self._prefix}-known:{user}:{source}:{window}"

    def noted(self, source: str, user: str) -> bool:
        """True when a login of `user` from `source` is already noted for this window (the
        cheap check made on every accepted request)."""
        known = self._known.get(user)
        return known is not None and known.get(source) == self._window()

    async def note(self, source: str, user: str) -> None:
        """`user` logged in from `source` with the right password."""
        known = self._known.get(user)
        if known is None:
            return
        window = self._window()
        if self._shared is not None:
            # A bucket that never refills, emptied once: it says "seen" for good.
            await self._shared.take_tokens(self._marker(user, source, window), 0.0, 1.0, 0.0, 1.0)
        _remember(known, source, window)

    async def knows(self, source: str, user: str) -> bool:
        known = self._known.get(user)
        if known is None:
            return False
        window = self._window()
        if known.get(source, -2) >= window - 1:
            return True
        if self._shared is None:
            return False
        for seen in (window, window - 1):
            if await self._shared.peek_tokens(self._marker(user, source, seen), 0.0, 1.0, 0.0) < 1:
                _remember(known, source, seen)  # learned from another instance
                return True
        return False


def _remember(known: OrderedDict[str, int], source: str, window: int) -> None:
    known[source] = window
    known.move_to_end(source)
    if len(known) > MAX_KNOWN_SOURCES_PER_USER:
        known.popitem(last=False)


class LoginThrottle:
    """Slows password guessing, without letting a guesser lock anyone else out.

    A failed login spends a token from the bucket of its (address, user name) pair, of its
    address, and, for a configured user, of that user. A login is answered 429 without its
    password being checked while:

    - its pair's bucket is empty: a guesser locks out only its own address, for that name;
    - its address's bucket is empty (one address trying many names), unless the address is
      one the user has logged in from (`KnownSources`);
    - its user's bucket is empty (many addresses guessing one name), unless the address is one
      the user has logged in from: the user's known addresses keep working, new ones wait.

    Memory is bounded, and no flood of failures for other names can give a configured user's
    guessers fresh tokens: a configured user's own bucket is never dropped, and the buckets of
    addresses that failed as that user are kept per user (MAX_SOURCES_PER_USER), so only more
    failures for that same user, each spent from its bucket, can push one out. Buckets of
    addresses, and of pairs with names no reseller has, are the MAX_BUCKETS most recently
    used: dropping one gives a guesser nothing a fresh address would not.
    """

    def __init__(
        self,
        per_source: RateLimit,
        per_source_user: RateLimit,
        per_user: RateLimit,
        users: Iterable[str],
        clock: Callable[[], float] = time.monotonic,
        shared: SharedBuckets | None = None,
        prefix: str = "login",
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """`users`: the configured user names. `shared`: count failures in the database,
        across every instance (the key of a bucket there is `prefix`, the kind, the address
        and the user name)."""
        self._prefix = prefix
        self._sources = RateLimiter(per_source, clock, shared)
        self._stranger_pairs = RateLimiter(per_source_user, clock, shared)
        names = frozenset(users)
        self._pairs = {
            user: RateLimiter(per_source_user, clock, shared, MAX_SOURCES_PER_USER)
            for user in names
        }
        self._users = RateLimiter(per_user, clock, shared, max(len(names), 1))
        self.known = KnownSources(names, wall_clock, shared, prefix)
        self._failed = False

    def watching(self) -> bool:
        """False until a login has failed here: nothing can be throttled yet."""
        return self._failed

    async def wait(self, source: str, user: str | None) -> int:
        """Seconds until a login from `source` for `user` may be tried; 0 for now."""
        wait_source = await self._sources.wait(f"{self._prefix}-source:{source}")
        if user is None:
            return wait_source
        pairs = self._pairs.get(user, self._stranger_pairs)
        wait = await pairs.wait(f"{self._prefix}-pair:{source}:{user}")
        if wait:
            return wait
        wait_user = 0 if user not in self._pairs else await self._users.wait(self._user_key(user))
        if (wait_source or wait_user) and await self.known.knows(source, user):
            return 0
        return max(wait_source, wait_user)

    async def failed(self, source: str, user: str) -> None:
        self._failed = True
        await self._sources.acquire(f"{self._prefix}-source:{source}")
        await self._pairs.get(user, self._stranger_pairs).acquire(
            f"{self._prefix}-pair:{source}:{user}"
        )
        if user in self._pairs:
            await self._users.acquire(self._user_key(user))

    def _user_key(self, user: str) -> str:
        return f"{self._prefix}-user:{user}"
