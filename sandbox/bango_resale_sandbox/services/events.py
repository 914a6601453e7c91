"""What happens to entitlements without a reseller's request: the merchant confirms a waiting
operation, ends an entitlement on its own initiative or loses track of it (the sandbox's
merchant controls), and time runs out (the paid period ends, dateExpiry is reached, a
confirmation falls due).

Each is an event row of the status machine, fired through `StatusChanges`.
"""

from __future__ import annotations

from .. import domain, wire
from ..commands import MerchantEnd
from ..domain import DomainError, Entitlement
from ..storage import PendingOperation
from .changes import ACTIVATE, DEFERRED_ROW, ServiceArea, ending_behaviour


class PlatformEvents(ServiceArea):
    """The merchant's and the platform's own moves."""

    async def complete_pending(self, reseller: str, entitlement_id: str) -> Entitlement:
        """Let the merchant confirm the operation this entitlement waits on."""
        await self.clock.refresh(reseller)
        entitlement = await self.changes.entitlement(reseller, entitlement_id)
        pending = await self.store.get_pending(reseller, entitlement_id)
        if pending is None:
            raise domain.not_available("no operation is waiting for the merchant")
        await self.store.delete_pending(reseller, entitlement_id)
        return await self._confirm(reseller, entitlement, pending)

    async def merchant_end(self, reseller: str, command: MerchantEnd) -> Entitlement:
        """The merchant ends the entitlement on its own initiative."""
        await self.clock.refresh(reseller)
        entitlement = await self.changes.entitlement(reseller, command.entitlement_id)
        reason = None if command.reason is None else command.reason.checked()
        row = await self.changes.select(
            entitlement,
            event=domain.MERCHANT_REVOKED if command.revoke else domain.MERCHANT_CANCELLED,
        )
        if reason is not None:
            entitlement = domain.with_reason(entitlement, wire.CANCEL_REASON.keys, reason)
        step = self.changes.lifecycle.fire(row, entitlement, self.clock.now(reseller))
        await self.store.delete_pending(reseller, command.entitlement_id)
        return await self.changes.commit(reseller, entitlement, step)

    async def fail(self, reseller: str, entitlement_id: str) -> Entitlement:
        """The platform loses track of the merchant's state of the entitlement."""
        await self.clock.refresh(reseller)
        entitlement = await self.changes.entitlement(reseller, entitlement_id)
        row = await self.changes.select(entitlement, event=domain.MERCHANT_STATE_LOST)
        step = self.changes.lifecycle.fire(row, entitlement, self.clock.now(reseller))
        await self.store.delete_pending(reseller, entitlement_id)
        return await self.changes.commit(reseller, entitlement, step)

    async def run_due(self, reseller: str) -> int:
        """Apply every time-driven change that is due for a reseller; returns how many."""
        await self.store.lock(reseller, "sweep")  # one sweep of a reseller at a time
        await self.clock.refresh(reseller)
        now = self.clock.now(reseller)
        epoch = now.timestamp()
        lifecycle = self.changes.lifecycle
        changed = 0
        for entitlement in await self.store.due_expiries(reseller, epoch, lifecycle.live):
            row = await self.changes.select(entitlement, event=domain.EXPIRY_REACHED)
            expiring = domain.with_reason(
                entitlement, wire.CANCEL_REASON.keys, domain.EXPIRY_REASON
            )
            await self.changes.commit(reseller, entitlement, lifecycle.fire(row, expiring, now))
            await self.store.delete_pending(reseller, entitlement.entitlement_id)
            changed += 1
        for entitlement in await self.store.due_period_ends(reseller, epoch):
            row = await self.changes.select(entitlement, event=domain.PAID_PERIOD_ENDED)
            await self.changes.commit(reseller, entitlement, lifecycle.fire(row, entitlement, now))
            changed += 1
        for entitlement_id in await self.store.due_pending(reseller, epoch):
            try:
                async with self.store.savepoint():
                    await self.complete_pending(reseller, entitlement_id)
                changed += 1
            except DomainError:
                # The entitlement moved on meanwhile; the merchant's confirmation is moot.
                await self.store.delete_pending(reseller, entitlement_id)
        return changed

    async def _confirm(
        self, reseller: str, entitlement: Entitlement, pending: PendingOperation
    ) -> Entitlement:
        """The merchant confirms `pending`: the row its 202 awaited (or the activation)."""
        now = self.clock.now(reseller)
        lifecycle = self.changes.lifecycle
        if pending.operation == ACTIVATE:
            row = await self.changes.select(entitlement, event=domain.ACTIVATION_COMPLETED)
            return await self.changes.commit(
                reseller, entitlement, lifecycle.fire(row, entitlement, now)
            )
        deferred = lifecycle.machine.row(str(pending.payload[DEFERRED_ROW]))
        if pending.operation == "update":
            updated, _row = await self.changes.apply_update(
                reseller, entitlement, pending.payload, confirmed=True
            )
            return updated
        product = self.changes.product(entitlement)
        ending = pending.operation in {"cancel", "revoke"}
        row = await self.changes.select(
            entitlement,
            event=domain.MERCHANT_CONFIRMED,
            behaviour=ending_behaviour(pending.operation == "revoke", product) if ending else None,
            among=deferred.completed_by,
        )
        step = lifecycle.fire(row, entitlement, now, period_days=product.period_days)
        return await self.changes.commit(reseller, entitlement, step)
