"""Sandbox controls for the sandbox itself: its clock, a reseller's reset, the magic numbers
it knows, health."""

from __future__ import annotations

import time

from ..asgi import Response
from ..envelopes import envelope
from ..magic import MAGIC_NUMBERS
from ..pipeline import Handler, Request
from ..services import ClockControls
from ..wire import format_epoch


class AdminHandlers:
    def __init__(self, clock: ClockControls) -> None:
        self.clock = clock

    def routes(self) -> dict[str, Handler]:
        return {
            "advanceClock": self.advance_clock,
            "getClock": self.get_clock,
            "resetSandbox": self.reset,
            "listMagicNumbers": self.magic_numbers,
            "getHealth": self.health,
        }

    async def advance_clock(self, request: Request) -> Response:
        now, changed = await self.clock.advance(request.reseller, float(request.body["seconds"]))
        return envelope(
            200,
            "OK",
            f"Clock advanced; {changed} change(s) fired",
            now=format_epoch(now.timestamp()),
            changed=changed,
        )

    async def get_clock(self, request: Request) -> Response:
        epoch = await self.clock.now(request.reseller)
        return envelope(
            200,
            "OK",
            "Sandbox time",
            now=format_epoch(epoch),
            offsetSeconds=round(epoch - time.time(), 3),
        )

    async def reset(self, request: Request) -> Response:
        await self.clock.reset(request.reseller)
        return envelope(200, "OK", f"Every record of reseller {request.reseller} was removed")

    async def magic_numbers(self, request: Request) -> Response:
        del request
        known = [{"magicNumber": m.value, "effect": m.effect} for m in MAGIC_NUMBERS]
        return envelope(200, "OK", f"{len(known)} magic number(s)", magicNumbers=known)

    async def health(self, request: Request) -> Response:
        del request
        return envelope(200, "OK", "The sandbox is running", status="ok")
