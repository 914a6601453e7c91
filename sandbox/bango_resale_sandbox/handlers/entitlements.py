"""The partner API: create, read, query, update, cancel, revoke, activation info,
reactivate, echo."""

from __future__ import annotations

from .. import wire
from ..asgi import Response
from ..envelopes import Envelopes, envelope
from ..pipeline import Handler, Request
from ..services import PartnerOperations
from ..storage import EntitlementStore

_GET_PREFIX = b'{"responseCode":"OK","responseMessage":"Success",'


class EntitlementHandlers:
    def __init__(
        self, store: EntitlementStore, partner: PartnerOperations, envelopes: Envelopes
    ) -> None:
        self.store = store
        self.partner = partner
        self.envelopes = envelopes

    def routes(self) -> dict[str, Handler]:
        return {
            "createEntitlement": self.create,
            "getEntitlement": self.get,
            "queryEntitlements": self.query,
            "updateEntitlement": self.update,
            "cancelEntitlement": self.cancel,
            "revokeEntitlement": self.revoke,
            "getActivationInfo": self.activation_info,
            "reactivateEntitlement": self.reactivate,
            "echo": self.echo,
        }

    async def create(self, request: Request) -> Response:
        command = wire.create_command(request.body)
        result = await self.partner.create(
            request.reseller, command, request.behaviour, request.base_url
        )
        return self.envelopes.result(result)

    async def get(self, request: Request) -> Response:
        entitlement_id = request.path_params["entitlementId"]
        stored = await self.store.get_record_json(request.reseller, entitlement_id)
        if stored is None:
            return self.envelopes.error("NOT_FOUND", f"No entitlement {entitlement_id}")
        # The hot path: splice the stored JSON record into the envelope without parsing it.
        return Response(200, _GET_PREFIX + stored[1:])

    async def query(self, request: Request) -> Response:
        command = wire.query_command(request.body)
        records = await self.partner.query(request.reseller, command)
        return envelope(200, "OK", f"{len(records)} entitlement(s) found", entitlements=records)

    async def update(self, request: Request) -> Response:
        command = wire.update_command(request.body)
        result = await self.partner.update(
            request.reseller, command, request.behaviour, request.base_url
        )
        return self.envelopes.result(result)

    async def cancel(self, request: Request) -> Response:
        return await self._end(request, revoke=False)

    async def revoke(self, request: Request) -> Response:
        return await self._end(request, revoke=True)

    async def _end(self, request: Request, *, revoke: bool) -> Response:
        entitlement_id = request.path_params["entitlementId"]
        command = wire.end_command(entitlement_id, request.body, revoke=revoke)
        result = await self.partner.terminate(request.reseller, command, request.behaviour)
        return self.envelopes.result(result)

    async def activation_info(self, request: Request) -> Response:
        result = await self.partner.activation_info(
            request.reseller,
            request.path_params["entitlementId"],
            request.behaviour,
            request.base_url,
        )
        return self.envelopes.result(result)

    async def reactivate(self, request: Request) -> Response:
        result = await self.partner.reactivate(
            request.reseller,
            request.path_params["entitlementId"],
            request.behaviour,
            request.base_url,
        )
        return self.envelopes.result(result)

    async def echo(self, request: Request) -> Response:
        return envelope(200, "OK", "Success", echo=request.path_params["echoRequestId"])
