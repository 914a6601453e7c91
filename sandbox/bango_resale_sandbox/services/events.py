"""What happens to entitlements without a reseller's request: the merchant confirms a waiting
operation, ends an entitlement on its own initiative or loses track of it (the sandbox's
merchant controls), and time runs out (the paid period ends, dateExpiry is reached, a
confirmation falls due).

Each is an event row of the status machine, fired through `StatusChanges`. `raise_event`
makes any of them happen now, by its event name (the console's buttons, `bango-resale
trigger`), and `offered` says which the machine allows from an entitlement's status.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import domain, wire
from ..commands import MerchantEnd, RaiseEvent
from ..domain import DomainError, Entitlement
from ..storage import PendingOperation
from .changes import ACTIVATE, DEFERRED_ROW, ServiceArea, ending_behaviour

# The events a merchant's confirmation raises: of the activation, or of any other operation
# answered 202 OK.
_CONFIRMATIONS = frozenset({domain.ACTIVATION_COMPLETED, domain.MERCHANT_CONFIRMED})
# The events that may come with a reason (the merchant's).
_WITH_REASON = frozenset({domain.MERCHANT_CANCELLED, domain.MERCHANT_REVOKED})


@dataclass(frozen=True, slots=True)
class EventOffer:
    """An event the status machine allows from an entitlement's status, and whether the
    sandbox can raise it now (a confirmation needs an operation waiting for it)."""

    event: str
    #: The ids of the machine's rows for this event from that status, in table order.
    rows: tuple[str, ...]
    available: bool
    #: Why it is not available, or what it would confirm.
    note: str | None = None


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

    async def offered(self, reseller: str, entitlement: Entitlement) -> list[EventOffer]:
        """The events the machine allows from the entitlement's status, in table order."""
        pending = await self.store.get_pending(reseller, entitlement.entitlement_id)
        rows: dict[str, list[str]] = {}
        for row in self.changes.lifecycle.machine:
            if row.event is not None and row.accepts and entitlement.status in row.from_statuses:
                rows.setdefault(row.event, []).append(row.id)
        return [_offer(event, tuple(ids), pending) for event, ids in rows.items()]

    async def raise_event(
        self, reseller: str, command: RaiseEvent
    ) -> tuple[Entitlement, list[str]]:
        """Make `command.event` happen to the entitlement now, firing the row the machine has
        for it from the entitlement's status, with its notifications. Returns the record
        afterwards and the ids of the rows fired, in order."""
        await self.clock.refresh(reseller)
        entitlement = await self.changes.entitlement(reseller, command.entitlement_id)
        status = entitlement.status.value
        offers = {offer.event: offer for offer in await self.offered(reseller, entitlement)}
        offer = offers.get(command.event)
        if offer is None:
            allowed = ", ".join(offers) or "none (the status is final)"
            raise domain.not_available(
                f"{command.event} cannot happen to an entitlement that is {status}; from"
                f" {status} the status machine allows: {allowed}"
            )
        if not offer.available:
            raise domain.not_available(f"{command.event} cannot happen now: {offer.note}")
        if command.reason is not None and command.event not in _WITH_REASON:
            raise domain.bad_request(
                f"a reason goes only with {' or '.join(sorted(_WITH_REASON))}, not with"
                f" {command.event}"
            )
        before = await self.store.transitions(reseller, command.entitlement_id)
        pending = await self.store.get_pending(reseller, command.entitlement_id)
        merchant_activates = pending is not None and pending.operation == ACTIVATE
        if command.event == domain.ACTIVATION_COMPLETED and not merchant_activates:
            after = await self._activate(reseller, entitlement)
        elif command.event in _CONFIRMATIONS:
            after = await self.complete_pending(reseller, command.entitlement_id)
        elif command.event in _WITH_REASON:
            revoke = command.event == domain.MERCHANT_REVOKED
            end = MerchantEnd(command.entitlement_id, revoke, command.reason)
            after = await self.merchant_end(reseller, end)
        elif command.event == domain.MERCHANT_STATE_LOST:
            after = await self.fail(reseller, command.entitlement_id)
        elif command.event == domain.PAID_PERIOD_ENDED:
            after = await self._end_period(reseller, entitlement)
        else:  # only the events of _RAISED are ever available
            assert command.event == domain.EXPIRY_REACHED, command.event
            after = await self._expire(reseller, entitlement)
        fired = await self.store.transitions(reseller, command.entitlement_id)
        return after, [t.row_id for t in fired[len(before) :]]

    async def run_due(self, reseller: str) -> int:
        """Apply every time-driven change that is due for a reseller; returns how many."""
        await self.store.lock(reseller, "sweep")  # one sweep of a reseller at a time
        await self.clock.refresh(reseller)
        epoch = self.clock.epoch(reseller)
        lifecycle = self.changes.lifecycle
        changed = 0
        for entitlement in await self.store.due_expiries(reseller, epoch, lifecycle.live):
            await self._expire(reseller, entitlement)
            changed += 1
        for entitlement in await self.store.due_period_ends(reseller, epoch):
            await self._end_period(reseller, entitlement)
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

    async def _activate(self, reseller: str, entitlement: Entitlement) -> Entitlement:
        """The customer completes the merchant's sign-up (what the sign-up page does); an
        operation answered 202 stays waiting for the merchant."""
        row = await self.changes.select(entitlement, event=domain.ACTIVATION_COMPLETED)
        step = self.changes.lifecycle.fire(row, entitlement, self.clock.now(reseller))
        return await self.changes.commit(reseller, entitlement, step)

    async def _expire(self, reseller: str, entitlement: Entitlement) -> Entitlement:
        """dateExpiry is reached: the platform ends the entitlement with its own reason."""
        row = await self.changes.select(entitlement, event=domain.EXPIRY_REACHED)
        expiring = domain.with_reason(entitlement, wire.CANCEL_REASON.keys, domain.EXPIRY_REASON)
        step = self.changes.lifecycle.fire(row, expiring, self.clock.now(reseller))
        ended = await self.changes.commit(reseller, entitlement, step)
        await self.store.delete_pending(reseller, entitlement.entitlement_id)
        return ended

    async def _end_period(self, reseller: str, entitlement: Entitlement) -> Entitlement:
        """The paid period of an entitlement that is ending runs out."""
        row = await self.changes.select(entitlement, event=domain.PAID_PERIOD_ENDED)
        step = self.changes.lifecycle.fire(row, entitlement, self.clock.now(reseller))
        return await self.changes.commit(reseller, entitlement, step)

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


def _offer(event: str, rows: tuple[str, ...], pending: PendingOperation | None) -> EventOffer:
    if event == domain.ACTIVATION_COMPLETED:
        if pending is not None and pending.operation == ACTIVATE:
            return EventOffer(event, rows, True, "the merchant completes the activation")
        return EventOffer(event, rows, True, _SIGNED_UP)
    if event == domain.MERCHANT_CONFIRMED:
        if pending is not None and pending.operation != ACTIVATE:
            return EventOffer(event, rows, True, f"confirms the waiting {pending.operation}")
        return EventOffer(event, rows, False, "no operation is waiting for the merchant")
    if event in _RAISED:
        return EventOffer(event, rows, True)
    return EventOffer(event, rows, False, "this sandbox cannot raise that event")


# What ACTIVATION_COMPLETED means where the merchant does not activate by itself.
_SIGNED_UP = "the customer completes the merchant's sign-up"
# Every event `raise_event` knows how to raise.
_RAISED = frozenset(
    {
        *_CONFIRMATIONS,
        *_WITH_REASON,
        domain.MERCHANT_STATE_LOST,
        domain.PAID_PERIOD_ENDED,
        domain.EXPIRY_REACHED,
    }
)
