"""Token buckets and the failed-login throttle, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from bango_resale_sandbox import ratelimit
from bango_resale_sandbox.config import RateLimit
from bango_resale_sandbox.ratelimit import LoginThrottle, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_wait_does_not_spend_and_unknown_keys_are_not_stored() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(requests_per_second=1.0, burst=2.0), clock)
    assert asyncio.run(limiter.wait("a")) == 0
    assert not limiter.tracking()
    assert [asyncio.run(limiter.acquire("a")) for _ in range(3)] == [0, 0, 1]
    assert asyncio.run(limiter.wait("a")) == 1
    clock.now = 1.0
    assert asyncio.run(limiter.wait("a")) == 0
    assert asyncio.run(limiter.acquire("a")) == 0


def test_the_bucket_table_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_BUCKETS", 100)
    limiter = RateLimiter(RateLimit(requests_per_second=0.001, burst=1.0), FakeClock())
    for i in range(1000):
        asyncio.run(limiter.acquire(f"user-{i}"))
    assert len(limiter._buckets) == 100
    # The most recent keys are kept (still empty), the oldest were dropped (full again).
    assert asyncio.run(limiter.wait("user-999")) > 0
    assert asyncio.run(limiter.wait("user-0")) == 0


def test_login_throttle_blocks_a_source_or_a_user_once_either_is_spent() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(
        RateLimit(requests_per_second=1.0, burst=3.0),
        RateLimit(requests_per_second=0.1, burst=2.0),
        clock,
    )
    assert not throttle.watching()
    asyncio.run(throttle.failed("10.0.0.1", "alice"))
    asyncio.run(throttle.failed("10.0.0.2", "alice"))
    assert throttle.watching()
    # alice's bucket is spent from two sources; another user from a third source is fine.
    assert asyncio.run(throttle.wait("10.0.0.3", "alice")) == 10
    assert asyncio.run(throttle.wait("10.0.0.3", "bob")) == 0
    for user in ("u1", "u2", "u3"):
        asyncio.run(throttle.failed("10.0.0.9", user))
    assert asyncio.run(throttle.wait("10.0.0.9", "carol")) == 1  # the source has spent its three
    clock.now = 10.0
    assert asyncio.run(throttle.wait("10.0.0.3", "alice")) == 0


class SlowSharedBucket:
    """A shared bucket (no refill) whose database round trip lets other requests run."""

    def __init__(self, tokens: float) -> None:
        self.tokens = tokens

    async def take_tokens(
        self, key: str, rate: float, burst: float, now: float, want: float
    ) -> tuple[float, float]:
        await asyncio.sleep(0)
        taken = min(want, self.tokens)
        self.tokens -= taken
        return taken, self.tokens

    async def peek_tokens(self, key: str, rate: float, burst: float, now: float) -> float:
        return self.tokens


def test_concurrent_requests_keep_every_token_they_take_from_the_shared_bucket() -> None:
    """Requests arriving together each fetch a batch; every fetched token must be spent here,
    not dropped, or a busy instance drains the shared limit far below its configured rate."""
    bucket = SlowSharedBucket(tokens=5_000)
    limiter = RateLimiter(RateLimit(requests_per_second=1_000, burst=5_000), shared=bucket)
    batch = int(1_000 * ratelimit.SHARED_BATCH_SECONDS)

    async def run() -> list[int]:
        waits: list[int] = []
        for _ in range(50):  # 50 rounds of 32 requests at once: 1,600 requests
            waits += await asyncio.gather(*(limiter.acquire("demo") for _ in range(32)))
        return waits

    waits = asyncio.run(run())
    assert waits.count(0) == len(waits), f"{len(waits) - waits.count(0)} requests refused"
    # At most one batch per concurrent request beyond what was spent is held back here.
    assert 5_000 - bucket.tokens <= len(waits) + 32 * batch
