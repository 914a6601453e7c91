"""The partner API's operations: create, read, query, update (suspend and resume included),
cancel and revoke, activation info, reactivate.

Each takes a typed command (`commands.py`), never a body, and the request's `Behaviour` (its
`X-Magic-Number`). What the operation does to the record is the status machine's row; what is
decided here is which row: the product's and the request's merchant behaviour, what waits for
the merchant, the order in which the contract checks things. A refusal is a `DomainError`
that rolls back the step's writes.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

import bango_resale_spec as spec

from .. import domain, wire
from ..behaviour import Behaviour
from ..commands import CreateEntitlement, EndEntitlement, QueryEntitlements, UpdateEntitlement
from ..config import ActivationMode
from ..domain import DomainError, Entitlement, GivenReason, Status
from .changes import (
    ACTIVATE,
    ACTIVATES_AT_ONCE,
    ACTIVATES_LATER,
    ACTIVATION_BEHAVIOUR,
    ACTIVATION_INFO,
    ANSWERS_AT_ONCE,
    CANCEL,
    CONFIRMS_LATER,
    CREATE,
    METADATA_BODY,
    NEEDS_SIGN_UP,
    REACTIVATE,
    RESUME_BODY,
    REVOKE,
    SUSPEND_BODY,
    UPDATE,
    Result,
    ServiceArea,
    ending_behaviour,
)

ACCEPTED = "Accepted; the merchant confirms later"


class PartnerOperations(ServiceArea):
    """The partner API's operations for one reseller at a time."""

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
        live = self.changes.lifecycle.live
        if (
            limit
            and await self.store.count_live(reseller, customer, merchant, product_key, live)
            >= limit
        ):
            raise DomainError(
                "ALREADY_EXISTS",
                f"customer already holds {limit} live entitlement(s) for {merchant}/{product_key}",
            )
        row = await self.changes.select(
            None, operation=CREATE, behaviour=ACTIVATION_BEHAVIOUR[mode], reseller=reseller
        )
        now = self.clock.now(reseller)
        record = domain.new_entitlement(
            entitlement_id=requested_id or domain.new_entitlement_id(),
            customer_identifier=customer,
            merchant_account_key=merchant,
            product_key=product_key,
            display_name=product.display_name,
            now=now,
            offer_key=offer,
            notification_url=command.notification_url,
            date_expiry=command.date_expiry,
            extension_data=command.extension_data,
        )
        step = self.changes.lifecycle.fire(row, record, now)
        entitlement = step.entitlement
        await self.store.insert(reseller, entitlement)
        await self.changes.send(reseller, step)
        if mode is ActivationMode.PENDING:
            await self.changes.schedule(
                reseller,
                entitlement.entitlement_id,
                ACTIVATE,
                {},
                product.activation_delay_seconds,
            )
        return await self.changes.answer(reseller, row, entitlement, base_url)

    async def get(self, reseller: str, entitlement_id: str) -> Entitlement:
        return await self.changes.entitlement(reseller, entitlement_id)

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
        product = self.changes.product(entitlement)
        asynchronous = behaviour.defers(operation) or operation in product.async_operations
        request = {"suspend": SUSPEND_BODY, "resume": RESUME_BODY}.get(operation) or (
            spec.PRODUCT_CHANGE if new_product is not None else METADATA_BODY
        )
        timing = CONFIRMS_LATER if asynchronous else ANSWERS_AT_ONCE
        if metadata and request != METADATA_BODY:
            # Metadata sent with a product change follows its own row, first.
            await self.changes.select(
                entitlement, operation=UPDATE, request=METADATA_BODY, behaviour=ANSWERS_AT_ONCE
            )
        # Whether the product change needs a sign-up is known only once the target is; both
        # rows start from the same statuses, so either checks the precondition.
        main = await self.changes.select(
            entitlement,
            operation=UPDATE,
            request=request,
            behaviour=timing,
            reseller=reseller,
        )
        reason = None if command.reason is None else command.reason.checked()
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
            # Merged now, also for a 202, so that an oversized merge is refused to the caller
            # rather than when the merchant confirms.
            self.changes.with_metadata(entitlement, metadata, self.clock.now(reseller))
        payload = {
            "metadata": dict(metadata),
            "productKey": new_product,
            "benefits": None if benefits is None else benefits.value,
            "userStep": behaviour.needs_sign_up("update"),
        }
        if asynchronous:
            await self.store.save(reseller, entitlement)
            await self.changes.defer(reseller, entitlement, operation, main, payload, product)
            return Result.of(main, entitlement, ACCEPTED)
        updated, answered = await self.changes.apply_update(
            reseller, entitlement, payload, confirmed=False
        )
        return await self.changes.answer(reseller, answered or main, updated, base_url)

    async def terminate(
        self, reseller: str, command: EndEntitlement, behaviour: Behaviour
    ) -> Result:
        """Cancel (soft end) or revoke (hard end) at the reseller's request."""
        await self.clock.refresh(reseller)
        entitlement = await self.get(reseller, command.entitlement_id)
        operation, revoke = command.operation, command.revoke
        if behaviour.refuses(operation):
            raise domain.not_available(f"the merchant refused the {operation} (X-Magic-Number)")
        reason = command.reason.checked()
        product = self.changes.product(entitlement)
        asynchronous = behaviour.defers(operation) or operation in product.async_operations
        timing = CONFIRMS_LATER if asynchronous else ending_behaviour(revoke, product)
        row = await self.changes.select(
            entitlement, operation=REVOKE if revoke else CANCEL, behaviour=timing, reseller=reseller
        )
        entitlement = self.with_end_reason(entitlement, command, reason)
        wire.check_extension_data(entitlement.extension_data)
        if asynchronous:
            await self.store.save(reseller, entitlement)
            await self.changes.defer(reseller, entitlement, operation, row, {}, product)
            return Result.of(row, entitlement, ACCEPTED)
        now = self.clock.now(reseller)
        step = self.changes.lifecycle.fire(row, entitlement, now, period_days=product.period_days)
        ended = await self.changes.commit(reseller, entitlement, step)
        if revoke:
            message = "Entitlement revoked"
        elif ended.status is Status.CANCELLED:
            message = "Entitlement cancelled"
        else:
            message = "Entitlement ends when the paid period is over"
        return Result.of(row, ended, message)

    def with_end_reason(
        self, entitlement: Entitlement, command: EndEntitlement, reason: GivenReason
    ) -> Entitlement:
        """The record keeping a cancel's or revoke's reason and custom properties in
        extensionData, as the seeds describe."""
        return domain.with_reason(entitlement, wire.CANCEL_REASON.keys, reason, command.custom)

    async def activation_info(
        self, reseller: str, entitlement_id: str, behaviour: Behaviour, base_url: str
    ) -> Result:
        await self.clock.refresh(reseller)
        entitlement = await self.get(reseller, entitlement_id)
        row = await self.changes.select(entitlement, operation=ACTIVATION_INFO, reseller=reseller)
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
            await self.changes.new_link(reseller, entitlement_id, base_url),
        )

    async def reactivate(
        self, reseller: str, entitlement_id: str, behaviour: Behaviour, base_url: str
    ) -> Result:
        await self.clock.refresh(reseller)
        entitlement = await self.get(reseller, entitlement_id)
        if behaviour.refuses("reactivate"):
            raise domain.not_available("the merchant refused the reactivation (X-Magic-Number)")
        product = self.changes.product(entitlement)
        user_step = behaviour.needs_sign_up("reactivate") or (
            product.activation is ActivationMode.CLIENT_ACTION
        )
        asynchronous = behaviour.defers("reactivate") or "reactivate" in product.async_operations
        timing = (
            CONFIRMS_LATER if asynchronous else NEEDS_SIGN_UP if user_step else ACTIVATES_AT_ONCE
        )
        row = await self.changes.select(
            entitlement, operation=REACTIVATE, behaviour=timing, reseller=reseller
        )
        if not product.supports_reactivate:
            raise domain.not_available(
                f"{entitlement.merchant_account_key}/{entitlement.product_key} cannot be"
                " reactivated"
            )
        if asynchronous:
            await self.changes.defer(reseller, entitlement, "reactivate", row, {}, product)
            return Result.of(row, entitlement, ACCEPTED)
        now = self.clock.now(reseller)
        step = self.changes.lifecycle.fire(row, entitlement, now)
        updated = await self.changes.commit(reseller, entitlement, step)
        return await self.changes.answer(reseller, row, updated, base_url)

    async def _repeat_pending(
        self, reseller: str, entitlement: Entitlement, mode: ActivationMode, base_url: str
    ) -> Result:
        """A create repeated while its entitlement waits: the same entitlement, a fresh link."""
        # The waiting entitlement's merchant activates it by itself unless a sign-up is due.
        behaviour = NEEDS_SIGN_UP if mode is ActivationMode.CLIENT_ACTION else ACTIVATES_LATER
        row = await self.changes.select(
            entitlement, operation=CREATE, behaviour=behaviour, reseller=reseller
        )
        return await self.changes.answer(reseller, row, entitlement, base_url)


def _is_twin(entitlement: Entitlement, command: CreateEntitlement) -> bool:
    return (
        entitlement.status is Status.PENDING
        and entitlement.customer_identifier == command.customer_identifier
        and entitlement.merchant_account_key == command.merchant_account_key
        and entitlement.product_key == command.product_key
        and entitlement.offer_key == command.offer_key
    )
