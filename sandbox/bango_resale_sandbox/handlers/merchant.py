"""Sandbox controls for the merchant's side: confirm a waiting operation, end an entitlement
on the merchant's initiative, lose track of it; or any platform event by its name."""

from __future__ import annotations

from .. import wire
from ..asgi import Response
from ..envelopes import Envelopes, envelope
from ..pipeline import Handler, Request
from ..services import PlatformEvents


class MerchantHandlers:
    def __init__(self, events: PlatformEvents, envelopes: Envelopes) -> None:
        self.events = events
        self.envelopes = envelopes

    def routes(self) -> dict[str, Handler]:
        return {
            "completePendingOperation": self.complete,
            "merchantCancelEntitlement": self.cancel,
            "merchantRevokeEntitlement": self.revoke,
            "failEntitlement": self.fail,
            "raiseEvent": self.raise_event,
        }

    async def complete(self, request: Request) -> Response:
        entitlement = await self.events.complete_pending(
            request.reseller, request.path_params["entitlementId"]
        )
        return self.envelopes.done(entitlement, "The merchant confirmed the pending operation")

    async def cancel(self, request: Request) -> Response:
        command = wire.merchant_end_command(
            request.path_params["entitlementId"], request.body, revoke=False
        )
        entitlement = await self.events.merchant_end(request.reseller, command)
        return self.envelopes.done(entitlement, "The merchant cancelled the entitlement")

    async def revoke(self, request: Request) -> Response:
        command = wire.merchant_end_command(
            request.path_params["entitlementId"], request.body, revoke=True
        )
        entitlement = await self.events.merchant_end(request.reseller, command)
        return self.envelopes.done(entitlement, "The merchant revoked the entitlement")

    async def fail(self, request: Request) -> Response:
        entitlement = await self.events.fail(request.reseller, request.path_params["entitlementId"])
        return self.envelopes.done(entitlement, "The platform lost track of the entitlement")

    async def raise_event(self, request: Request) -> Response:
        command = wire.event_command(
            request.path_params["entitlementId"], request.path_params["event"], request.body
        )
        entitlement, rows = await self.events.raise_event(request.reseller, command)
        fired = f"row{'s' if len(rows) != 1 else ''} {', '.join(rows) or 'none'}"
        return envelope(
            200,
            "OK",
            f"{command.event} happened ({fired})",
            event=command.event,
            rows=rows,
            entitlement=wire.record_of(entitlement),
        )
