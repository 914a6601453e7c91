"""The sandbox's use cases: each API and control operation as one step against the store.

Every change of status is a row of the partner spec's status machine: the service picks the
row from the operation (or event), the entitlement's status and the merchant's behaviour, and
`domain.fire` applies it. What the service decides itself is the mechanics: which behaviour a
product or the request's `Behaviour` (its `X-Magic-Number`, the faults) stands for, what waits
for the merchant, links, reasons. It takes typed commands (`commands.py`), never a body.

Callers run every method inside `store.transaction()`, so a status change, the notification it
causes and the idempotency record of the request commit together. A refusal (`DomainError`)
rolls back the step's writes: the whole transaction when it holds only this step, a savepoint
when an idempotency record must still be written.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import bango_resale_spec as spec
from bango_resale_spec import StatusMachine, Transition

from . import domain, wire
from .behaviour import Behaviour
from .clock import SandboxClock
from .commands import (
    CreateEntitlement,
    EndEntitlement,
    MerchantEnd,
    QueryEntitlements,
    UpdateEntitlement,
)
from .config import ActivationMode, CancelMode, ProductBehaviour, SandboxConfig
from .delivery import is_deliverable
from .domain import DomainError, Entitlement, GivenReason, Status
from .faults import Faults
from .storage import (
    ActivationLink,
    DeliveryState,
    EntitlementStore,
    FeedEntry,
    OutboxRow,
    PendingOperation,
)

ACTIVATION_PATH = "/sandbox/activate/"
# The pending operation that a PENDING entitlement waits on; unlike a 202'd caller operation
# it blocks only new asynchronous updates (see `_ensure_no_pending`).
ACTIVATE = "activate"
# Where a waiting 202 keeps the id of the row it answered with.
DEFERRED_ROW = "row"

# Operations as the table names them.
CREATE = "createEntitlement"
UPDATE = "updateEntitlement"
CANCEL = "cancelEntitlement"
REVOKE = "revokeEntitlement"
ACTIVATION_INFO = "getActivationInfo"
REACTIVATE = "reactivateEntitlement"
# Update bodies as the table names them.
METADATA_BODY = "EntitlementChanges"
SUSPEND_BODY = "SuspendEntitlementRequest"
RESUME_BODY = "ResumeEntitlementRequest"
CLIENT_ACTION_REQUIRED = "CLIENT_ACTION_REQUIRED"

# The table's merchant behaviours, as this sandbox's configuration expresses them.
ACTIVATES_AT_ONCE = "activates-at-once"
ACTIVATES_LATER = "activates-later"
NEEDS_SIGN_UP = "needs-sign-up"
ANSWERS_AT_ONCE = "answers-at-once"
CONFIRMS_LATER = "confirms-later"
ENDS_AT_PERIOD_END = "ends-at-period-end"
ENDS_AT_ONCE = "ends-at-once"
_ACTIVATION_BEHAVIOUR: Mapping[ActivationMode, str] = {
    ActivationMode.IMMEDIATE: ACTIVATES_AT_ONCE,
    ActivationMode.PENDING: ACTIVATES_LATER,
    ActivationMode.CLIENT_ACTION: NEEDS_SIGN_UP,
}


@dataclass(frozen=True, slots=True)
class Result:
    """An operation's answer, the record it returns and the table row it followed."""

    http_status: int
    response_code: str
    entitlement: Entitlement
    message: str
    parameters: dict[str, Any] | None = None
    row: Transition | None = None

    @classmethod
    def of(
        cls,
        row: Transition,
        entitlement: Entitlement,
        message: str,
        parameters: dict[str, Any] | None = None,
    ) -> Result:
        """The answer a row prescribes."""
        status, code = row.http_status, row.response_code
        assert status is not None and code is not None, f"{row.id} is no operation row"
        return cls(status, code, entitlement, message, parameters, row)


def not_found(entitlement_id: str) -> DomainError:
    return DomainError("NOT_FOUND", f"no entitlement {entitlement_id!r}")


class EntitlementService:
    """Runs the contract's operations for a reseller against the store."""

    def __init__(
        self,
        config: SandboxConfig,
        store: EntitlementStore,
        on_notification: Callable[[], None] = lambda: None,
        machine: StatusMachine | None = None,
    ) -> None:
        self.config = config
        # The faults of steps no request drives (the sweeper, the merchant's controls, queued
        # notifications); a request's own come with its `Behaviour`.
        self.faults = Faults.of(config.faults)
        self.machine = machine or spec.status_machine()
        self._rows: dict[tuple[Any, ...], Transition | None] = {}
        self.store = store
        self.clock = SandboxClock(store)
        platform_row = next(row for row in spec.reason_rows() if row.applied_by_platform)
        # The reason recorded when dateExpiry ends an entitlement.
        self._expiry_reason = GivenReason.of_row(platform_row)
        # NOTIFICATIONS_OUT_OF_ORDER's held-back notifications, by entitlement.
        self._held_back: dict[str, domain.Step] = {}
        self._on_notification = on_notification

    # -- partner API ----------------------------------------------------------------------

    async def create(
        self, reseller: str, command: CreateEntitlement, behaviour: Behaviour, base_url: str
    ) -> Result:
        await self.clock.refresh(reseller)
        if behaviour.refuses("create"):
            raise domain.not_available("the merchant refused the entitlement (X-Magic-Number)")
        merchant, product_key = command.merchant_account_key, command.product_key
        product = self.config.product(merchant, product_key)
        if product is None:
            raise domain.not_available(
                f"merchant {merchant!r} offers no product {product_key!r} in this sandbox"
            )
        mode = behaviour.activation or product.activation
        customer, offer = command.customer_identifier, command.offer_key
        requested_id = command.entitlement_id
        # Creates run one at a time per customer (and per requested id) across instances: the
        # twin, the live-entitlement limit and the id are checked before the insert.
        if requested_id is not None:
            await self.store.lock(reseller, f"entitlement:{requested_id}")
        await self.store.lock(reseller, f"customer:{customer}")
        if requested_id is not None:
            # Ids are scoped per reseller: another reseller's ids are neither visible nor taken.
            existing = await self.store.get(reseller, requested_id)
            if existing is not None:
                if not _is_twin(existing, command):
                    raise DomainError(
                        "ALREADY_EXISTS", f"entitlementId {requested_id!r} is already in use"
                    )
                return await self._repeat_pending(reseller, existing, mode, base_url)
        else:
            twin = await self.store.find_pending_twin(
                reseller, customer, merchant, product_key, offer
            )
            if twin is not None:
                return await self._repeat_pending(reseller, twin, mode, base_url)
        limit = product.max_entitlements_per_customer
        if (
            limit
            and await self.store.count_live(reseller, customer, merchant, product_key) >= limit
        ):
            raise DomainError(
                "ALREADY_EXISTS",
                f"customer already holds {limit} live entitlement(s) for {merchant}/{product_key}",
            )
        row = await self._select(
            None, operation=CREATE, behaviour=_ACTIVATION_BEHAVIOUR[mode], reseller=reseller
        )
        now = self.clock.now(reseller)
        record = domain.new_entitlement(
            entitlement_id=requested_id or domain.new_entitlement_id(),
            customer_identifier=customer,
            merchant_account_key=merchant,
            product_key=product_key,
            display_name=product.display_name,
            now=now,
            offer_key=None if behaviour.faults.create_drops_offer else offer,
            notification_url=command.notification_url,
            date_expiry=command.date_expiry,
            extension_data=command.extension_data,
        )
        step = domain.fire(row, record, now)
        entitlement = step.entitlement
        await self.store.insert(reseller, entitlement)
        await self._send(reseller, step)
        if mode is ActivationMode.PENDING:
            await self._schedule(
                reseller,
                entitlement.entitlement_id,
                ACTIVATE,
                {},
                product.activation_delay_seconds,
            )
        return await self._answer(reseller, row, entitlement, base_url)

    async def get(self, reseller: str, entitlement_id: str) -> Entitlement:
        entitlement = await self.store.get(reseller, entitlement_id)
        if entitlement is None:
            raise not_found(entitlement_id)
        return entitlement

    async def query(self, reseller: str, command: QueryEntitlements) -> list[dict[str, Any]]:
        return await self.store.query(
            reseller,
            command.customer_identifier,
            merchant_account_key=command.merchant_account_key,
            product_key=command.product_key,
            status=command.status,
        )

    async def update(
        self, reseller: str, command: UpdateEntitlement, behaviour: Behaviour, base_url: str
    ) -> Result:
        await self.clock.refresh(reseller)
        entitlement = await self.get(reseller, command.entitlement_id)
        operation = command.operation
        benefits = command.benefits
        if behaviour.refuses(operation) or behaviour.refuses("update"):
            raise domain.not_available(f"the merchant refused the {operation} (X-Magic-Number)")
        metadata = command.metadata
        new_product = command.product_key
        if new_product == entitlement.product_key:
            new_product = None
        if benefits is not None and new_product is not None:
            raise domain.not_available("change the product and the benefits in separate requests")
        product = self._product(entitlement)
        asynchronous = behaviour.defers(operation) or operation in product.async_operations
        request = {"suspend": SUSPEND_BODY, "resume": RESUME_BODY}.get(operation) or (
            spec.PRODUCT_CHANGE if new_product is not None else METADATA_BODY
        )
        timing = CONFIRMS_LATER if asynchronous else ANSWERS_AT_ONCE
        if metadata and request != METADATA_BODY:
            # Metadata sent with a product change follows its own row, first.
            await self._select(
                entitlement, operation=UPDATE, request=METADATA_BODY, behaviour=ANSWERS_AT_ONCE
            )
        # Whether the product change needs a sign-up is known only once the target is; both
        # rows start from the same statuses, so either checks the precondition.
        main = await self._select(
            entitlement,
            operation=UPDATE,
            request=request,
            behaviour=timing,
            reseller=reseller,
        )
        reason = None if command.reason is None else wire.checked_reason(command.reason)
        if operation != "update" and not product.supports_suspend:
            raise domain.not_available(
                f"{entitlement.merchant_account_key}/{entitlement.product_key} does not support"
                " suspend and resume"
            )
        if new_product is not None:
            target = self.config.product(entitlement.merchant_account_key, new_product)
            if target is None:
                raise domain.not_available(
                    f"merchant {entitlement.merchant_account_key!r} offers no product"
                    f" {new_product!r} in this sandbox"
                )
        if reason is not None:
            entitlement = domain.with_reason(entitlement, wire.SUSPEND_REASON.keys, reason)
            wire.check_extension_data(entitlement.extension_data)
        if metadata.get("extensionData"):
            # Merge now, also for a 202, so that an oversized merge is refused to the caller
            # rather than when the merchant confirms.
            merged = wire.apply_metadata(entitlement, metadata, self.clock.now(reseller))
            if merged is not None:
                wire.check_extension_data(merged.extension_data)
        payload = {
            "metadata": dict(metadata),
            "productKey": new_product,
            "benefits": None if benefits is None else benefits.value,
            "userStep": behaviour.needs_sign_up("update"),
        }
        if asynchronous:
            await self.store.save(reseller, entitlement)
            await self._defer(reseller, entitlement, operation, main, payload, product)
            return Result.of(main, entitlement, "Accepted; the merchant confirms later")
        updated, answered = await self._apply_update(
            reseller, entitlement, payload, confirmed=False
        )
        return await self._answer(reseller, answered or main, updated, base_url)

    async def terminate(
        self, reseller: str, command: EndEntitlement, behaviour: Behaviour
    ) -> Result:
        """Cancel (soft end) or revoke (hard end) at the reseller's request."""
        await self.clock.refresh(reseller)
        entitlement = await self.get(reseller, command.entitlement_id)
        operation, revoke = command.operation, command.revoke
        if behaviour.refuses(operation):
            raise domain.not_available(f"the merchant refused the {operation} (X-Magic-Number)")
        reason, custom = wire.checked_reason(command.reason), command.custom
        if (
            not revoke
            and behaviour.faults.illegal_transition
            and entitlement.status in domain.TERMINAL_STATUSES
        ):
            return Result(200, "OK", entitlement, "Entitlement cancelled")
        product = self._product(entitlement)
        asynchronous = behaviour.defers(operation) or operation in product.async_operations
        name = REVOKE if revoke else CANCEL
        timing = CONFIRMS_LATER if asynchronous else _ending_behaviour(revoke, product)
        row = await self._select(entitlement, operation=name, behaviour=timing, reseller=reseller)
        if not revoke and behaviour.faults.drop_cancel_reason:
            entitlement = replace(
                entitlement, extension_data={**entitlement.extension_data, **custom}
            )
        else:
            entitlement = domain.with_reason(entitlement, wire.CANCEL_REASON.keys, reason, custom)
        wire.check_extension_data(entitlement.extension_data)
        if asynchronous:
            await self.store.save(reseller, entitlement)
            await self._defer(reseller, entitlement, command.operation, row, {}, product)
            return Result.of(row, entitlement, "Accepted; the merchant confirms later")
        if not revoke and behaviour.faults.unchanged_after_200:
            return Result(200, "OK", entitlement, "Entitlement cancelled")
        now = self.clock.now(reseller)
        step = domain.fire(row, entitlement, now, period_days=product.period_days)
        if (
            behaviour.faults.active_ending_without_end
            and step.entitlement.status is Status.ACTIVE_ENDING
        ):
            step = replace(step, entitlement=replace(step.entitlement, date_ended=None))
        ended = await self._commit(reseller, entitlement, step)
        return Result.of(
            row,
            ended,
            "Entitlement revoked"
            if revoke
            else (
                "Entitlement cancelled"
                if ended.status is Status.CANCELLED
                else "Entitlement ends when the paid period is over"
            ),
        )

    async def activation_info(
        self, reseller: str, entitlement_id: str, behaviour: Behaviour, base_url: str
    ) -> Result:
        await self.clock.refresh(reseller)
        entitlement = await self.get(reseller, entitlement_id)
        row = await self._select(entitlement, operation=ACTIVATION_INFO, reseller=reseller)
        if behaviour.wants_activation_code:
            if entitlement.activation_code is None:
                code = "-".join(secrets.token_hex(2).upper() for _ in range(3))
                entitlement = replace(entitlement, activation_code=code)
                await self.store.save(reseller, entitlement)
            return Result.of(row, entitlement, "Activation code issued")
        return Result.of(
            row,
            entitlement,
            "Activation link issued",
            await self._new_link(reseller, entitlement_id, base_url),
        )

    async def reactivate(
        self, reseller: str, entitlement_id: str, behaviour: Behaviour, base_url: str
    ) -> Result:
        await self.clock.refresh(reseller)
        entitlement = await self.get(reseller, entitlement_id)
        if behaviour.refuses("reactivate"):
            raise domain.not_available("the merchant refused the reactivation (X-Magic-Number)")
        product = self._product(entitlement)
        user_step = behaviour.needs_sign_up("reactivate") or (
            product.activation is ActivationMode.CLIENT_ACTION
        )
        asynchronous = behaviour.defers("reactivate") or "reactivate" in product.async_operations
        timing = (
            CONFIRMS_LATER if asynchronous else NEEDS_SIGN_UP if user_step else ACTIVATES_AT_ONCE
        )
        row = await self._select(
            entitlement, operation=REACTIVATE, behaviour=timing, reseller=reseller
        )
        if not product.supports_reactivate:
            raise domain.not_available(
                f"{entitlement.merchant_account_key}/{entitlement.product_key} cannot be"
                " reactivated"
            )
        if asynchronous:
            await self._defer(reseller, entitlement, "reactivate", row, {}, product)
            return Result.of(row, entitlement, "Accepted; the merchant confirms later")
        now = self.clock.now(reseller)
        updated = await self._commit(reseller, entitlement, domain.fire(row, entitlement, now))
        return await self._answer(reseller, row, updated, base_url)

    # -- the merchant's side and the sandbox controls -------------------------------------

    async def complete_pending(self, reseller: str, entitlement_id: str) -> Entitlement:
        """Let the merchant confirm the operation this entitlement waits on."""
        await self.clock.refresh(reseller)
        entitlement = await self.get(reseller, entitlement_id)
        pending = await self.store.get_pending(reseller, entitlement_id)
        if pending is None:
            raise domain.not_available("no operation is waiting for the merchant")
        await self.store.delete_pending(reseller, entitlement_id)
        return await self._finish(reseller, entitlement, pending)

    async def merchant_end(self, reseller: str, command: MerchantEnd) -> Entitlement:
        """The merchant ends the entitlement on its own initiative."""
        await self.clock.refresh(reseller)
        entitlement = await self.get(reseller, command.entitlement_id)
        reason = None if command.reason is None else wire.checked_reason(command.reason)
        row = await self._select(
            entitlement,
            event=domain.MERCHANT_REVOKED if command.revoke else domain.MERCHANT_CANCELLED,
        )
        if reason is not None:
            entitlement = domain.with_reason(entitlement, wire.CANCEL_REASON.keys, reason)
        step = domain.fire(row, entitlement, self.clock.now(reseller))
        await self.store.delete_pending(reseller, command.entitlement_id)
        return await self._commit(reseller, entitlement, step)

    async def fail(self, reseller: str, entitlement_id: str) -> Entitlement:
        await self.clock.refresh(reseller)
        entitlement = await self.get(reseller, entitlement_id)
        row = await self._select(entitlement, event=domain.MERCHANT_STATE_LOST)
        step = domain.fire(row, entitlement, self.clock.now(reseller))
        await self.store.delete_pending(reseller, entitlement_id)
        return await self._commit(reseller, entitlement, step)

    async def advance_clock(self, reseller: str, seconds: float) -> tuple[datetime, int]:
        """Move the reseller's clock forward and fire everything that became due."""
        now = await self.clock.advance(reseller, seconds)
        return now, await self.run_due(reseller)

    async def run_due(self, reseller: str) -> int:
        """Apply every time-driven change that is due for a reseller; returns how many."""
        await self.store.lock(reseller, "sweep")  # one sweep of a reseller at a time
        await self.clock.refresh(reseller)
        now = self.clock.now(reseller)
        epoch = now.timestamp()
        changed = 0
        for entitlement in await self.store.due_expiries(reseller, epoch):
            row = await self._select(entitlement, event=domain.EXPIRY_REACHED)
            expiring = domain.with_reason(entitlement, wire.CANCEL_REASON.keys, self._expiry_reason)
            await self._commit(reseller, entitlement, domain.fire(row, expiring, now))
            await self.store.delete_pending(reseller, entitlement.entitlement_id)
            changed += 1
        for entitlement in await self.store.due_period_ends(reseller, epoch):
            row = await self._select(entitlement, event=domain.PAID_PERIOD_ENDED)
            await self._commit(reseller, entitlement, domain.fire(row, entitlement, now))
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

    async def notifications(
        self,
        reseller: str,
        *,
        entitlement_id: str | None,
        state: str | None,
        after_seq: int,
        limit: int,
    ) -> list[OutboxRow]:
        return await self.store.list_notifications(
            reseller, entitlement_id=entitlement_id, state=state, after_seq=after_seq, limit=limit
        )

    async def notification_feed(
        self, reseller: str, *, after: int, entitlement_id: str | None, limit: int
    ) -> tuple[list[FeedEntry], int]:
        """Notifications queued after cursor `after`, oldest first, and the newest cursor."""
        events = await self.store.notification_feed(
            reseller, after=after, entitlement_id=entitlement_id, limit=limit
        )
        return events, await self.store.latest_feed_cursor(reseller)

    async def redeliver(self, reseller: str, notification_id: str) -> OutboxRow:
        """Queue a notification again (same id and body), whatever happened to it before."""
        async with self.store.transaction():
            row = await self.store.get_notification(reseller, notification_id)
            if row is None:
                raise DomainError("NOT_FOUND", f"No notification {notification_id}")
            state = self._delivery_state(row.url)
            await self.store.requeue_notification(row.seq, state, _real_time())
            requeued = await self.store.get_notification(reseller, notification_id)
        if state == DeliveryState.PENDING:
            self._on_notification()
        assert requeued is not None
        return requeued

    def _delivery_state(self, url: str | None) -> str:
        if url is None:
            return DeliveryState.NO_URL
        if is_deliverable(url, self.config.delivery.allowed_hosts):
            return DeliveryState.PENDING
        return DeliveryState.BLOCKED

    async def reset(self, reseller: str) -> None:
        await self.store.reset(reseller)
        self.clock.forget(reseller)

    # -- activation page ------------------------------------------------------------------

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
        row = await self._select(entitlement, event=domain.ACTIVATION_COMPLETED)
        return await self._commit(link.reseller, entitlement, domain.fire(row, entitlement, now))

    # -- internals ------------------------------------------------------------------------

    def _product(self, entitlement: Entitlement) -> ProductBehaviour:
        found = self.config.product(entitlement.merchant_account_key, entitlement.product_key)
        # A product dropped from the configuration keeps working with default behaviour.
        return found or ProductBehaviour(
            entitlement.merchant_account_key, entitlement.product_key, entitlement.product_key
        )

    async def _ensure_no_pending(
        self, reseller: str, entitlement: Entitlement, *, activation_blocks: bool = False
    ) -> None:
        """Refuse while a 202'd operation (or, if asked, the activation) waits for the merchant.

        Cancel and revoke may replace a waiting activation: they end the entitlement anyway.
        """
        pending = await self.store.get_pending(reseller, entitlement.entitlement_id)
        if pending is None or (pending.operation == ACTIVATE and not activation_blocks):
            return
        if self.faults.waiting_202_ignored:
            return
        raise domain.not_available(
            f"a {pending.operation} of this entitlement is waiting for the merchant"
        )

    async def _schedule(
        self,
        reseller: str,
        entitlement_id: str,
        operation: str,
        payload: dict[str, Any],
        delay: float | None,
    ) -> None:
        due = None if delay is None else self.clock.epoch(reseller) + delay
        await self.store.put_pending(
            reseller, PendingOperation(entitlement_id, operation, payload, due)
        )

    async def _select(
        self,
        entitlement: Entitlement | None,
        *,
        operation: str | None = None,
        request: str | None = None,
        event: str | None = None,
        behaviour: str | None = None,
        among: tuple[str, ...] | None = None,
        reseller: str | None = None,
    ) -> Transition:
        """The table's row for this trigger, or the refusal it prescribes.

        For a request (`reseller` given), a row not marked `whileDeferred` is also refused
        while an earlier 202 waits for the merchant.
        """
        row = domain.select(
            self.machine,
            None if entitlement is None else entitlement.status,
            behaviour=behaviour,
            operation=operation,
            request=request,
            event=event,
            among=among,
            memo=self._rows,
        )
        if reseller is not None and entitlement is not None and not row.while_deferred:
            await self._ensure_no_pending(reseller, entitlement, activation_blocks=row.defers)
        return row

    async def _defer(
        self,
        reseller: str,
        entitlement: Entitlement,
        operation: str,
        row: Transition,
        payload: dict[str, Any],
        behaviour: ProductBehaviour,
    ) -> None:
        """Keep a 202 `OK` waiting for the merchant, with the row whose completion it awaits."""
        await self._schedule(
            reseller,
            entitlement.entitlement_id,
            operation,
            {**payload, DEFERRED_ROW: row.id},
            behaviour.async_delay_seconds,
        )

    async def _answer(
        self, reseller: str, row: Transition, entitlement: Entitlement, base_url: str
    ) -> Result:
        """The answer a row prescribes; a CLIENT_ACTION_REQUIRED one carries a fresh link."""
        parameters = None
        if row.response_code == CLIENT_ACTION_REQUIRED:
            parameters = await self._new_link(reseller, entitlement.entitlement_id, base_url)
        return Result.of(row, entitlement, row.description, parameters)

    async def _finish(
        self, reseller: str, entitlement: Entitlement, pending: PendingOperation
    ) -> Entitlement:
        now = self.clock.now(reseller)
        if pending.operation == ACTIVATE:
            row = await self._select(entitlement, event=domain.ACTIVATION_COMPLETED)
            return await self._commit(reseller, entitlement, domain.fire(row, entitlement, now))
        deferred = self.machine.row(str(pending.payload[DEFERRED_ROW]))
        if pending.operation == "update":
            updated, _row = await self._apply_update(
                reseller, entitlement, pending.payload, confirmed=True
            )
            return updated
        product = self._product(entitlement)
        ending = pending.operation in {"cancel", "revoke"}
        row = await self._select(
            entitlement,
            event=domain.MERCHANT_CONFIRMED,
            behaviour=_ending_behaviour(pending.operation == "revoke", product) if ending else None,
            among=deferred.completed_by,
        )
        step = domain.fire(row, entitlement, now, period_days=product.period_days)
        return await self._commit(reseller, entitlement, step)

    async def _apply_update(
        self,
        reseller: str,
        entitlement: Entitlement,
        payload: Mapping[str, Any],
        *,
        confirmed: bool,
    ) -> tuple[Entitlement, Transition | None]:
        """Apply an update's parts in the table's order (metadata, benefits, product) and
        return the record and the last row followed. `confirmed`: the merchant confirms a
        202 (event rows) rather than answering the request (operation rows)."""
        now = self.clock.now(reseller)
        operation, event = (None, domain.MERCHANT_CONFIRMED) if confirmed else (UPDATE, None)
        timing = None if confirmed else ANSWERS_AT_ONCE
        current, last = entitlement, None
        if payload.get("metadata"):
            last = await self._select(
                current, request=METADATA_BODY, behaviour=timing, operation=operation, event=event
            )
            changed = wire.apply_metadata(current, payload["metadata"], now)
            if changed is not None:
                # Checked again for a 202'd update: other merges may have grown it meanwhile.
                wire.check_extension_data(changed.extension_data)
                current = await self._commit(reseller, current, domain.fire(last, changed, now))
        benefits = payload.get("benefits")
        if benefits is not None:
            request = SUSPEND_BODY if benefits == "SUSPENDED" else RESUME_BODY
            last = await self._select(
                current, request=request, behaviour=timing, operation=operation, event=event
            )
            current = await self._commit(reseller, current, domain.fire(last, current, now))
        product_key = payload.get("productKey")
        if product_key:
            target = self.config.product(current.merchant_account_key, product_key)
            if target is None:
                raise domain.not_available(f"product {product_key!r} is no longer offered")
            user_step = bool(payload.get("userStep")) or (
                target.activation is ActivationMode.CLIENT_ACTION
            )
            last = await self._select(
                current,
                request=spec.PRODUCT_CHANGE,
                behaviour=NEEDS_SIGN_UP if user_step else ANSWERS_AT_ONCE,
                operation=operation,
                event=event,
            )
            moved = replace(
                domain.change_product(current, product_key, target.display_name),
                date_last_updated=now,
            )
            current = await self._commit(reseller, current, domain.fire(last, moved, now))
        if current == entitlement:
            # Only a suspend reason may have changed; store it without a notification.
            await self.store.save(reseller, current)
        return current, last

    async def _commit(self, reseller: str, before: Entitlement, step: domain.Step) -> Entitlement:
        after = step.entitlement
        await self.store.save(reseller, after)
        if before.status is Status.PENDING and after.status is not Status.PENDING:
            # Links stay, so that a spent one can say why it no longer works.
            pending = await self.store.get_pending(reseller, after.entitlement_id)
            if pending is not None and pending.operation == ACTIVATE:
                await self.store.delete_pending(reseller, after.entitlement_id)
        await self._send(reseller, step)
        return after

    async def _send(self, reseller: str, step: domain.Step) -> None:
        """Queue the step's notifications, in the row's order."""
        held = self._held_back.pop(step.entitlement.entitlement_id, None)
        for notification_type in step.notifications:
            if self.faults.skipped_notification and (notification_type == "TERMINATION_SUCCESS"):
                continue
            if self.faults.notifications_out_of_order and (
                notification_type == "ACTIVATION_SUCCESS"
            ):
                self._held_back[step.entitlement.entitlement_id] = step
                continue
            if self.faults.wrong_notification_type and (notification_type == "METADATA_UPDATE"):
                notification_type = "PRODUCT_UPDATE"
            await self._notify(reseller, step, notification_type)
        if held is not None:
            await self._notify(reseller, held, "ACTIVATION_SUCCESS")

    async def _notify(self, reseller: str, step: domain.Step, notification_type: str) -> None:
        entitlement = step.entitlement
        notification_id = str(uuid.uuid4())
        body = wire.record_envelope(
            "OK",
            step.row.description if step.row else notification_type,
            wire.record_json(entitlement),
            {"notificationType": notification_type, "notificationId": notification_id},
        )
        url = entitlement.notification_url
        state = self._delivery_state(url)
        await self.store.add_notification(
            notification_id=notification_id,
            reseller=reseller,
            entitlement_id=entitlement.entitlement_id,
            notification_type=notification_type,
            url=url,
            body=body,
            state=state,
            now=_real_time(),
        )
        if state == DeliveryState.PENDING:
            self._on_notification()

    async def _new_link(self, reseller: str, entitlement_id: str, base_url: str) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        now = self.clock.now(reseller)
        expiry = now + timedelta(seconds=self.config.activation_url_ttl_seconds)
        await self.store.put_link(
            ActivationLink(token, reseller, entitlement_id, expiry.timestamp())
        )
        return {
            "action": "NAVIGATE_TO_URL",
            "url": f"{base_url}{ACTIVATION_PATH}{token}",
            "urlExpiry": wire.format_time(expiry),
        }

    async def _repeat_pending(
        self, reseller: str, entitlement: Entitlement, mode: ActivationMode, base_url: str
    ) -> Result:
        # The waiting entitlement's merchant activates it by itself unless a sign-up is due.
        behaviour = NEEDS_SIGN_UP if mode is ActivationMode.CLIENT_ACTION else ACTIVATES_LATER
        row = await self._select(
            entitlement, operation=CREATE, behaviour=behaviour, reseller=reseller
        )
        return await self._answer(reseller, row, entitlement, base_url)


def _ending_behaviour(revoke: bool, behaviour: ProductBehaviour) -> str:
    """How the merchant ends an entitlement when it answers at once."""
    if revoke:
        return ANSWERS_AT_ONCE
    return ENDS_AT_PERIOD_END if behaviour.cancel is CancelMode.PERIOD_END else ENDS_AT_ONCE


def _is_twin(entitlement: Entitlement, command: CreateEntitlement) -> bool:
    return (
        entitlement.status is Status.PENDING
        and entitlement.customer_identifier == command.customer_identifier
        and entitlement.merchant_account_key == command.merchant_account_key
        and entitlement.product_key == command.product_key
        and entitlement.offer_key == command.offer_key
    )


def _real_time() -> float:
    return time.time()
