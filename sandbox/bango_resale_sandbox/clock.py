"""The sandbox clock: real time plus an offset per reseller that tests can move forward."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from .storage import EntitlementStore

# About 1,000 years: enough for any test, far from datetime's year-9999 limit.
MAX_OFFSET_SECONDS = 1000 * 365.25 * 86400


class SandboxClock:
    """Each reseller sees its own time, so one reseller's clock jumps never disturb another.

    The offsets are read from the store by `load()` (at start-up) and `refresh()`; reading the
    time itself never waits. On a shared store another instance may move a clock, so every
    operation that reads the time calls `refresh(reseller)` first.
    """

    def __init__(self, store: EntitlementStore) -> None:
        self._store = store
        self._offsets: dict[str, float] = {}

    async def load(self) -> None:
        """Every reseller's offset as stored (they survive restarts)."""
        self._offsets = await self._store.clock_offsets()

    async def refresh(self, reseller: str) -> None:
        """On a shared store, this reseller's offset as another instance may have set it."""
        if self._store.shared:
            self._offsets[reseller] = await self._store.clock_offset(reseller)

    def epoch(self, reseller: str) -> float:
        """Seconds since the epoch, as this reseller's sandbox sees it."""
        return time.time() + self._offsets.get(reseller, 0.0)

    def now(self, reseller: str) -> datetime:
        return datetime.fromtimestamp(self.epoch(reseller), UTC)

    async def advance(self, reseller: str, seconds: float) -> datetime:
        """Move this reseller's clock forward (stored, so it survives restarts)."""
        await self.refresh(reseller)
        # Clamp so that sandbox dates stay far inside what datetime can represent.
        offset = min(self._offsets.get(reseller, 0.0) + seconds, MAX_OFFSET_SECONDS)
        await self._store.set_clock_offset(reseller, offset)
        self._offsets[reseller] = offset
        return self.now(reseller)

    def forget(self, reseller: str) -> None:
        """Back to real time (after a reset)."""
        self._offsets.pop(reseller, None)
