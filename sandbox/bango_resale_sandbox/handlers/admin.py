"""Sandbox controls for the sandbox itself: its clock, a reseller's reset, the magic numbers
it knows, health."""

from __future__ import annotations

import time

from .. import magic
from ..asgi import Response
from ..envelopes import envelope
from ..magic import MagicNumber
from ..pipeline import Handler, Request
from ..usecases import EntitlementService
from ..wire import format_epoch


class AdminHandlers:
    def __init__(self, service: EntitlementService) -> None:
        self.service = service

    def routes(self) -> dict[str, Handler]:
        return {
            "advanceClock": self.advance_clock,
            "getClock": self.get_clock,
            "resetSandbox": self.reset,
            "listMagicNumbers": self.magic_numbers,
            "getHealth": self.health,
        }

    async def advance_clock(self, request: Request) -> Response:
        now, changed = await self.service.advance_clock(
            request.reseller, float(request.body["seconds"])
        )
        return envelope(
            200,
            "OK",
            f"Clock advanced; {changed} change(s) fired",
            now=format_epoch(now.timestamp()),
            changed=changed,
        )

    async def get_clock(self, request: Request) -> Response:
        await self.service.clock.refresh(request.reseller)
        epoch = self.service.clock.epoch(request.reseller)
        return envelope(
            200,
            "OK",
            "Sandbox time",
            now=format_epoch(epoch),
            offsetSeconds=round(epoch - time.time(), 3),
        )

    async def reset(self, request: Request) -> Response:
        await self.service.reset(request.reseller)
        return envelope(200, "OK", f"Every record of reseller {request.reseller} was removed")

    async def magic_numbers(self, request: Request) -> Response:
        del request
        known = [{"magicNumber": m.value, "effect": magic.EFFECTS[m]} for m in MagicNumber]
        return envelope(200, "OK", f"{len(known)} magic number(s)", magicNumbers=known)

    async def health(self, request: Request) -> Response:
        del request
        return envelope(200, "OK", "The sandbox is running", status="ok")
