"""The mock merchant's sign-up behind NAVIGATE_TO_URL links: which entitlement a link is for,
and the sign-up completed (the page itself is `activation.py`)."""

from __future__ import annotations

from .. import domain
from ..domain import DomainError, Entitlement, Status
from ..storage import ActivationLink
from .changes import ServiceArea


class MerchantSignUp(ServiceArea):
    """Sign-up links: the link is the credential, so nothing here takes a reseller."""

    async def activation_link(self, token: str) -> tuple[ActivationLink, Entitlement]:
        """The link and its entitlement; DomainError when unknown, expired or already used."""
        link = await self.store.get_link(token)
        entitlement = (
            None if link is None else await self.store.get(link.reseller, link.entitlement_id)
        )
        if link is None or entitlement is None:
            raise DomainError("NOT_FOUND", "this activation link is unknown")
        await self.clock.refresh(link.reseller)
        if self.clock.epoch(link.reseller) > link.expires_at:
            raise DomainError("EXPIRED", "this activation link has expired; ask for a fresh one")
        if entitlement.status is not Status.PENDING:
            raise domain.not_available(
                f"nothing to activate: the entitlement is {entitlement.status.value}"
            )
        return link, entitlement

    async def complete_activation(self, token: str) -> Entitlement:
        """The user finished the merchant's sign-up: the entitlement becomes ACTIVE."""
        link, entitlement = await self.activation_link(token)
        now = self.clock.now(link.reseller)
        # A 202'd cancel or revoke stays pending: the merchant still confirms it later.
        row = await self.changes.select(entitlement, event=domain.ACTIVATION_COMPLETED)
        step = self.changes.lifecycle.fire(row, entitlement, now)
        return await self.changes.commit(link.reseller, entitlement, step)
