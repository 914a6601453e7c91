"""The sandbox controls of a reseller's time: read the clock, move it forward (firing what fell
due), and reset the reseller to an empty sandbox at real time."""

from __future__ import annotations

from datetime import datetime

from .changes import ServiceArea, StatusChanges
from .events import PlatformEvents


class ClockControls(ServiceArea):
    """Each reseller's sandbox clock, as the controls move it."""

    def __init__(self, changes: StatusChanges, events: PlatformEvents) -> None:
        super().__init__(changes)
        self.events = events

    async def load(self) -> None:
        """Every reseller's clock as stored (at start-up: clocks survive restarts)."""
        await self.clock.load()

    async def now(self, reseller: str) -> float:
        """The reseller's sandbox time, seconds since the epoch."""
        await self.clock.refresh(reseller)
        return self.clock.epoch(reseller)

    async def advance(self, reseller: str, seconds: float) -> tuple[datetime, int]:
        """Move the reseller's clock forward and fire everything that became due; the new
        time and how many changes fired."""
        now = await self.clock.advance(reseller, seconds)
        return now, await self.events.run_due(reseller)

    async def reset(self, reseller: str) -> None:
        """Remove every record of the reseller and give it real time back."""
        await self.store.reset(reseller)
        self.clock.forget(reseller)
