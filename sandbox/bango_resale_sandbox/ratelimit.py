"""Per-reseller request limiting with a token bucket."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from .config import RateLimit


class RateLimiter:
    """One token bucket per reseller; `acquire` spends a token or says how long to wait."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = limit.requests_per_second
        self._burst = max(limit.burst, 1.0)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # reseller -> (tokens, stamp)

    def acquire(self, reseller: str) -> int:
        """0 when the request may go ahead, otherwise whole seconds to wait (Retry-After)."""
        if self._rate <= 0:
            return 0
        now = self._clock()
        tokens, stamp = self._buckets.get(reseller, (self._burst, now))
        tokens = min(self._burst, tokens + (now - stamp) * self._rate)
        if tokens >= 1.0:
            self._buckets[reseller] = (tokens - 1.0, now)
            return 0
        self._buckets[reseller] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self._rate))
