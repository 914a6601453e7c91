"""What every area of the service shares: status changes and the work that waits on them.

Every change of status is a row of the status machine. An area picks the row from the
operation (or event), the entitlement's status and the merchant's behaviour; `StatusChanges`
checks it against work waiting for the merchant, fires it (`domain.Lifecycle`), stores the
result and queues the row's notifications in order. It also keeps what waits: operations the
merchant confirms later (202s and activations) and sign-up links; and it applies an update's
parts, for a request answered at once or a 202 the merchant confirms.

Callers run every method inside `store.transaction()`, so a status change, the notifications
it causes and the idempotency record of the request commit together.
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
from bango_resale_spec import Transition

from .. import domain, wire
from ..clock import SandboxClock
from ..config import ActivationMode, CancelMode, ProductBehaviour, SandboxConfig
from ..delivery import is_deliverable
from ..domain import DomainError, Entitlement, Lifecycle, Status
from ..storage import ActivationLink, DeliveryState, EntitlementStore, PendingOperation

ACTIVATION_PATH = "/sandbox/activate/"
# The pending operation that a PENDING entitlement waits on; unlike a 202'd caller operation
# it blocks only new asynchronous updates (see `ensure_no_pending`).
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
ACTIVATION_BEHAVIOUR: Mapping[ActivationMode, str] = {
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


def ending_behaviour(revoke: bool, product: ProductBehaviour) -> str:
    """How the merchant ends an entitlement when it answers at once."""
    if revoke:
        return ANSWERS_AT_ONCE
    return ENDS_AT_PERIOD_END if product.cancel is CancelMode.PERIOD_END else ENDS_AT_ONCE


def real_time() -> float:
    """Wall-clock seconds, for bookkeeping that the sandbox clock must not move (outbox)."""
    return time.time()


class StatusChanges:
    """Fires the status machine's rows on stored entitlements, and keeps what waits on them."""

    def __init__(
        self,
        config: SandboxConfig,
        store: EntitlementStore,
        lifecycle: Lifecycle,
        clock: SandboxClock,
        on_notification: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.store = store
        self.lifecycle = lifecycle
        self.clock = clock
        self._on_notification = on_notification

    async def entitlement(self, reseller: str, entitlement_id: str) -> Entitlement:
        """The reseller's entitlement, or NOT_FOUND."""
        entitlement = await self.store.get(reseller, entitlement_id)
        if entitlement is None:
            raise DomainError("NOT_FOUND", f"no entitlement {entitlement_id!r}")
        return entitlement

    def product(self, entitlement: Entitlement) -> ProductBehaviour:
        """How the entitlement's product behaves (the configuration's, or the default)."""
        found = self.config.product(entitlement.merchant_account_key, entitlement.product_key)
        # A product dropped from the configuration keeps working with default behaviour.
        return found or ProductBehaviour(
            entitlement.merchant_account_key, entitlement.product_key, entitlement.product_key
        )

    # -- rows -----------------------------------------------------------------------------

    async def select(
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
        row = self.lifecycle.select(
            None if entitlement is None else entitlement.status,
            behaviour=behaviour,
            operation=operation,
            request=request,
            event=event,
            among=among,
        )
        if reseller is not None and entitlement is not None and not row.while_deferred:
            await self.ensure_no_pending(reseller, entitlement, activation_blocks=row.defers)
        return row

    async def ensure_no_pending(
        self, reseller: str, entitlement: Entitlement, *, activation_blocks: bool = False
    ) -> None:
        """Refuse while a 202'd operation (or, if asked, the activation) waits for the merchant.

        Cancel and revoke may replace a waiting activation: they end the entitlement anyway.
        """
        pending = await self.store.get_pending(reseller, entitlement.entitlement_id)
        if pending is None or (pending.operation == ACTIVATE and not activation_blocks):
            return
        raise domain.not_available(
            f"this entitlement's {pending.operation} is waiting for the merchant"
        )

    async def commit(self, reseller: str, before: Entitlement, step: domain.Step) -> Entitlement:
        """Store a fired row's record and queue its notifications; the record stored."""
        after = step.entitlement
        await self.store.save(reseller, after)
        if before.status is Status.PENDING and after.status is not Status.PENDING:
            # Links stay, so that a spent one can say why it no longer works.
            pending = await self.store.get_pending(reseller, after.entitlement_id)
            if pending is not None and pending.operation == ACTIVATE:
                await self.store.delete_pending(reseller, after.entitlement_id)
        await self.send(reseller, step)
        return after

    # -- notifications --------------------------------------------------------------------

    async def send(self, reseller: str, step: domain.Step) -> None:
        """Record the row the step fired (the entitlement's history) and queue its
        notifications, in the row's order."""
        if step.row is not None:
            await self.store.add_transition(
                reseller,
                step.entitlement.entitlement_id,
                step.row.id,
                step.entitlement.status.value,
                real_time(),
                self.clock.epoch(reseller),
            )
        for notification_type in step.notifications:
            await self.notify(reseller, step, notification_type)

    async def notify(self, reseller: str, step: domain.Step, notification_type: str) -> None:
        """Queue one notification of the step's record."""
        entitlement = step.entitlement
        notification_id = str(uuid.uuid4())
        body = wire.record_envelope(
            "OK",
            step.row.description if step.row else notification_type,
            wire.record_json(entitlement),
            {"notificationType": notification_type, "notificationId": notification_id},
        )
        url = entitlement.notification_url
        state = self.delivery_state(url)
        await self.store.add_notification(
            notification_id=notification_id,
            reseller=reseller,
            entitlement_id=entitlement.entitlement_id,
            notification_type=notification_type,
            url=url,
            body=body,
            state=state,
            now=real_time(),
        )
        if state == DeliveryState.PENDING:
            self._on_notification()

    def delivery_state(self, url: str | None) -> str:
        """Where a notification to `url` starts: waiting for delivery, or kept undeliverable."""
        if url is None:
            return DeliveryState.NO_URL
        if is_deliverable(url, self.config.delivery.allowed_hosts):
            return DeliveryState.PENDING
        return DeliveryState.BLOCKED

    def delivery_queued(self) -> None:
        """Wake the deliverer: a notification waits to go out."""
        self._on_notification()

    # -- what waits for the merchant ------------------------------------------------------

    async def schedule(
        self,
        reseller: str,
        entitlement_id: str,
        operation: str,
        payload: dict[str, Any],
        delay: float | None,
    ) -> None:
        """Keep an operation waiting for the merchant; due after `delay` (None: only when a
        control confirms it)."""
        due = None if delay is None else self.clock.epoch(reseller) + delay
        await self.store.put_pending(
            reseller, PendingOperation(entitlement_id, operation, payload, due)
        )

    async def defer(
        self,
        reseller: str,
        entitlement: Entitlement,
        operation: str,
        row: Transition,
        payload: dict[str, Any],
        product: ProductBehaviour,
    ) -> None:
        """Keep a 202 `OK` waiting for the merchant, with the row whose completion it awaits."""
        await self.schedule(
            reseller,
            entitlement.entitlement_id,
            operation,
            {**payload, DEFERRED_ROW: row.id},
            product.async_delay_seconds,
        )

    async def answer(
        self, reseller: str, row: Transition, entitlement: Entitlement, base_url: str
    ) -> Result:
        """The answer a row prescribes; a CLIENT_ACTION_REQUIRED one carries a fresh link."""
        parameters = None
        if row.response_code == CLIENT_ACTION_REQUIRED:
            parameters = await self.new_link(reseller, entitlement.entitlement_id, base_url)
        return Result.of(row, entitlement, row.description, parameters)

    async def new_link(self, reseller: str, entitlement_id: str, base_url: str) -> dict[str, Any]:
        """A fresh sign-up link, as NAVIGATE_TO_URL `parameters`."""
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

    # -- updates --------------------------------------------------------------------------

    def with_metadata(
        self, entitlement: Entitlement, metadata: Mapping[str, Any], now: datetime
    ) -> Entitlement | None:
        """The record with an update's metadata fields applied (extensionData merged key by
        key), refused when it grows too large; None when no value changes."""
        changed = wire.apply_metadata(entitlement, metadata, now)
        if changed is not None:
            wire.check_extension_data(changed.extension_data)
        return changed

    async def apply_update(
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
        fire = self.lifecycle.fire
        if payload.get("metadata"):
            last = await self.select(
                current, request=METADATA_BODY, behaviour=timing, operation=operation, event=event
            )
            # Checked again for a 202'd update: other merges may have grown it meanwhile.
            changed = self.with_metadata(current, payload["metadata"], now)
            if changed is not None:
                current = await self.commit(reseller, current, fire(last, changed, now))
        benefits = payload.get("benefits")
        if benefits is not None:
            request = SUSPEND_BODY if benefits == "SUSPENDED" else RESUME_BODY
            last = await self.select(
                current, request=request, behaviour=timing, operation=operation, event=event
            )
            current = await self.commit(reseller, current, fire(last, current, now))
        product_key = payload.get("productKey")
        if product_key:
            target = self.config.product(current.merchant_account_key, product_key)
            if target is None:
                raise domain.not_available(f"product {product_key!r} is no longer offered")
            user_step = bool(payload.get("userStep")) or (
                target.activation is ActivationMode.CLIENT_ACTION
            )
            last = await self.select(
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
            current = await self.commit(reseller, current, fire(last, moved, now))
        if current == entitlement:
            # Only a suspend reason may have changed; store it without a notification.
            await self.store.save(reseller, current)
        return current, last


class ServiceArea:
    """One area of the service (partner operations, platform events, ...), working through
    the shared `StatusChanges`."""

    def __init__(self, changes: StatusChanges) -> None:
        self.changes = changes
        self.config = changes.config
        self.store = changes.store
        self.clock = changes.clock
