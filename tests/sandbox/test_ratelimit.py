"""Token buckets and the failed-login throttle, on a fake clock."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from bango_resale_sandbox import ratelimit
from bango_resale_sandbox.config import RateLimit
from bango_resale_sandbox.ratelimit import LoginThrottle, RateLimiter

from support.postgres import PostgresServer


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


def throttle_for(
    clock: FakeClock,
    users: tuple[str, ...] = ("alice", "bob"),
    shared: ratelimit.SharedBuckets | None = None,
) -> LoginThrottle:
    """Per address 3 failures (1/s), per address and name 2 (0.1/s), per user 4 (0.1/s)."""
    return LoginThrottle(
        RateLimit(requests_per_second=1.0, burst=3.0),
        RateLimit(requests_per_second=0.1, burst=2.0),
        RateLimit(requests_per_second=0.1, burst=4.0),
        users,
        clock,
        shared,
        wall_clock=clock,
    )


def fail(throttle: LoginThrottle, source: str, user: str, times: int = 1) -> None:
    for _ in range(times):
        asyncio.run(throttle.failed(source, user))


def waits(throttle: LoginThrottle, source: str, user: str | None) -> int:
    return asyncio.run(throttle.wait(source, user))


def test_a_guesser_locks_out_only_its_own_address_for_that_name() -> None:
    clock = FakeClock()
    throttle = throttle_for(clock)
    assert not throttle.watching()
    fail(throttle, "10.0.0.2", "alice", times=2)
    assert throttle.watching()
    assert waits(throttle, "10.0.0.2", "alice") == 10  # refused unchecked, a token in 10 s
    assert waits(throttle, "10.0.0.1", "alice") == 0  # the real alice elsewhere: checked
    assert waits(throttle, "10.0.0.2", "bob") == 0
    clock.now = 10.0
    assert waits(throttle, "10.0.0.2", "alice") == 0


def test_an_address_trying_many_names_is_stopped_except_for_users_known_there() -> None:
    clock = FakeClock()
    throttle = throttle_for(clock)
    asyncio.run(throttle.known.note("10.0.0.9", "bob"))
    for name in ("u1", "u2", "u3"):
        fail(throttle, "10.0.0.9", name)
    assert waits(throttle, "10.0.0.9", "carol") == 1  # the address has spent its three
    assert waits(throttle, "10.0.0.9", None) == 1
    assert waits(throttle, "10.0.0.9", "bob") == 0  # bob logged in from there before


def test_many_addresses_guessing_one_user_wait_but_its_known_addresses_do_not() -> None:
    clock = FakeClock()
    throttle = throttle_for(clock)
    asyncio.run(throttle.known.note("10.0.0.1", "alice"))
    assert throttle.known.noted("10.0.0.1", "alice")
    for i in range(4):  # alice's own bucket (4) spent, one guess from each of four addresses
        fail(throttle, f"10.0.1.{i}", "alice")
    assert waits(throttle, "10.0.2.1", "alice") == 10  # a new address waits for the refill
    assert waits(throttle, "10.0.0.1", "alice") == 0  # alice's own address is checked
    assert waits(throttle, "10.0.2.1", "bob") == 0


def test_known_addresses_are_learned_only_for_configured_users_and_age_out() -> None:
    clock = FakeClock()
    throttle = throttle_for(clock)
    asyncio.run(throttle.known.note("10.0.0.1", "mallory"))
    assert not asyncio.run(throttle.known.knows("10.0.0.1", "mallory"))
    asyncio.run(throttle.known.note("10.0.0.1", "alice"))
    clock.now = ratelimit.KNOWN_SOURCE_WINDOW_SECONDS * 1.5  # the next window: still known
    assert asyncio.run(throttle.known.knows("10.0.0.1", "alice"))
    assert not throttle.known.noted("10.0.0.1", "alice")  # noted again at the next login
    clock.now = ratelimit.KNOWN_SOURCE_WINDOW_SECONDS * 2.5
    assert not asyncio.run(throttle.known.knows("10.0.0.1", "alice"))


def test_a_flood_of_other_names_never_refills_a_targeted_users_buckets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ratelimit, "MAX_BUCKETS", 100)
    clock = FakeClock()
    throttle = throttle_for(clock)
    fail(throttle, "10.0.0.2", "alice", times=2)
    fail(throttle, "10.0.0.3", "alice", times=2)  # alice's own bucket (4) is spent too
    for i in range(1_000):  # every address and every other name far past the table's size
        fail(throttle, f"10.1.{i // 250}.{i % 250}", f"name-{i}")
    assert waits(throttle, "10.0.0.2", "alice") == 10
    assert waits(throttle, "10.0.0.4", "alice") == 10
    # What the flood pushed out holds nothing to guess: the names are no reseller's.
    assert waits(throttle, "10.1.0.0", "name-0") == 0


def test_failures_for_one_user_keep_a_bounded_table_of_their_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ratelimit, "MAX_SOURCES_PER_USER", 10)
    throttle = throttle_for(FakeClock())
    for i in range(50):
        fail(throttle, f"10.0.1.{i}", "alice", times=2)
    assert len(throttle._pairs["alice"]._buckets) == 10
    # Pushed out by failures for alice herself, each spent from her bucket: still waiting.
    assert waits(throttle, "10.0.1.0", "alice") == 10


class SharedStore:
    """Token buckets in a dict, with the PostgreSQL store's semantics (wall-clock stamps)."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[float, float]] = {}

    async def take_tokens(
        self, key: str, rate: float, burst: float, now: float, want: float
    ) -> tuple[float, float]:
        tokens, stamp = self.rows.get(key, (burst, now))
        tokens = min(burst, tokens + max(now - stamp, 0.0) * rate)
        taken = min(want, float(int(tokens)))
        self.rows[key] = (tokens - taken, now)
        return taken, tokens - taken

    async def peek_tokens(self, key: str, rate: float, burst: float, now: float) -> float:
        if key not in self.rows:
            return burst
        tokens, stamp = self.rows[key]
        return min(burst, tokens + max(now - stamp, 0.0) * rate)


def test_on_a_shared_store_every_instance_knows_the_addresses_any_one_learned() -> None:
    store = SharedStore()
    clock = FakeClock()
    clock.now = 1_000_000.0
    first, second = throttle_for(clock, shared=store), throttle_for(clock, shared=store)
    asyncio.run(first.known.note("10.0.0.1", "alice"))
    for i in range(4):
        fail(first, f"10.0.1.{i}", "alice")
    fail(second, "10.0.1.9", "alice")  # the second instance sees alice's spent bucket
    assert waits(second, "10.0.2.1", "alice") > 0
    assert waits(second, "10.0.0.1", "alice") == 0
    assert waits(second, "10.0.1.9", "bob") == 0


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


def test_full_buckets_leave_the_shared_table(postgres: PostgresServer) -> None:
    # Failed logins under ever-new user names each make a bucket row; a row whose bucket has
    # refilled is the same as none, and is deleted, so the table cannot grow without bound.
    from bango_resale_sandbox.config import load_config
    from bango_resale_sandbox.storage import open_store

    async def test() -> None:
        store = open_store(postgres.url(f"t_{uuid.uuid4().hex[:16]}"), load_config(None))
        await store.open()
        try:
            for n in range(50):  # 5 tokens a second, 10 at most: full again 0.2 s after
                await store.take_tokens(f"guess-{n}", 5.0, 10.0, now=1000.0, want=1.0)
            await store.take_tokens("slow", 0.01, 10.0, now=1000.0, want=5.0)  # full at 1500
            assert await bucket_keys(store) == {*(f"guess-{n}" for n in range(50)), "slow"}
            # A minute on, the next take prunes what has refilled, and the buckets still count.
            taken, left = await store.take_tokens("slow", 0.01, 10.0, now=1060.0, want=1.0)
            assert (taken, round(left, 2)) == (1.0, 4.6)
            assert await bucket_keys(store) == {"slow"}
            assert await store.peek_tokens("guess-1", 5.0, 10.0, now=1060.0) == 10.0
        finally:
            await store.close()

    async def bucket_keys(store: Any) -> set[str]:
        return {row[0] for row in await store.fetch_all("SELECT key FROM rate_buckets")}

    asyncio.run(test())
