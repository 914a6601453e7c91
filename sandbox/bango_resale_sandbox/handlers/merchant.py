"""Sandbox controls for the merchant's side: confirm a waiting operation, end an entitlement
on the merchant's initiative, lose track of it."""

from __future__ import annotations

from .. import wire
from ..asgi import Response
from ..envelopes import Envelopes
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
