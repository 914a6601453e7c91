"""The sandbox clock: real time plus an offset per reseller that tests can move forward."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from .store import EntitlementStore

# About 1,000 years: enough for any test, far from datetime's year-9999 limit.
MAX_OFFSET_SECONDS = 1000 * 365.25 * 86400


class SandboxClock:
    """Each reseller sees its own time, so one reseller's clock jumps never disturb another."""

    def __init__(self, store: EntitlementStore) -> None:
        self._store = store
        self._offsets = store.clock_offsets()

    def epoch(self, reseller: str) -> float:
        """Seconds since the epoch, as this reseller's sandbox sees it."""
        return time.time() + self._offset(reseller)

    def _offset(self, reseller: str) -> float:
        if self._store.shared:  # another instance may have moved it: ask the database
            return self._store.clock_offsets().get(reseller, 0.0)
        return self._offsets.get(reseller, 0.0)

    def now(self, reseller: str) -> datetime:
        return datetime.fromtimestamp(self.epoch(reseller), UTC)

    def advance(self, reseller: str, seconds: float) -> datetime:
        """Move this reseller's clock forward (stored, so it survives restarts)."""
        # Clamp so that sandbox dates stay far inside what datetime can represent.
        offset = min(self._offset(reseller) + seconds, MAX_OFFSET_SECONDS)
        self._store.set_clock_offset(reseller, offset)
        self._offsets[reseller] = offset
        return self.now(reseller)

    def forget(self, reseller: str) -> None:
        """Back to real time (after a reset)."""
        self._offsets.pop(reseller, None)
