"""Each deliberate fault as a subclass of the part of the sandbox whose step it breaks.

A fault's class overrides one step and calls `super()` for the rest, so the reference classes
read without faults and several faults on one part compose: `refine_for` builds one subclass
of a part with every switched-on fault's class for it (`WRAPPERS`), which the app builds in
place of the part. The parts: the service's `StatusChanges` and `PartnerOperations`, the
partner API's `EntitlementHandlers`, `Envelopes` (what answers look like) and `Pipeline` (who
is asking).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar, cast

import orjson

import bango_resale_spec as spec

from ..asgi import Receive, Response, Scope
from ..behaviour import Behaviour
from ..commands import CreateEntitlement, EndEntitlement, QueryEntitlements
from ..domain import MERCHANT_CONFIRMED, DomainError, Entitlement, GivenReason, Status, Step
from ..envelopes import Envelopes, envelope
from ..handlers.entitlements import EntitlementHandlers
from ..pipeline import Pipeline, Request
from ..services import PartnerOperations, Refine, Result, StatusChanges
from ..services.changes import CANCEL, UPDATE
from . import EXTRA_FIELD_NAME, KNOWN_FAULTS

# -- who is asking, and what the answers look like ---------------------------------------------


class IgnoreAuth(Pipeline):
    """ignore_auth: getEntitlement without valid credentials answers as the first configured
    reseller."""

    async def handle(
        self, scope: Scope, headers: Mapping[bytes, bytes], receive: Receive
    ) -> Response:
        first = next(iter(self.config.resellers.values()), None)
        if first is not None and self.auth.reseller_for(headers.get(b"authorization")) is None:
            operation, _params, _allowed = self.partner.match(scope["method"], scope["path"])
            if operation is not None and operation.operation_id == "getEntitlement":
                pair = base64.b64encode(f"{first.name}:{first.password}".encode())
                headers = {**headers, b"authorization": b"Basic " + pair}
        return await super().handle(scope, headers, receive)


class ServerError(EntitlementHandlers):
    """server_error: every create whose body has an offerKey gets a plain-text 500."""

    async def create(self, request: Request) -> Response:
        if "offerKey" in request.body:
            return Response(500, b"Internal Server Error", b"text/plain; charset=utf-8")
        return await super().create(request)


_EXTRA_FIELD = orjson.dumps({EXTRA_FIELD_NAME: 1})[1:-1]


def _with_extra_field(body: bytes) -> bytes:
    return body[:-1] + b"," + _EXTRA_FIELD + b"}"


class ExtraFieldInAnswers(Envelopes):
    """extra_field: single-entitlement answers gain a property the closed response schema
    does not allow."""

    def entitlement(
        self,
        status: int,
        code: str,
        message: str,
        record: bytes,
        parameters: Mapping[str, Any] | None = None,
    ) -> Response:
        response = super().entitlement(status, code, message, record, parameters)
        response.body = _with_extra_field(response.body)
        return response


class ExtraFieldOnRead(EntitlementHandlers):
    """extra_field, on getEntitlement (which writes its answer without `Envelopes`)."""

    async def get(self, request: Request) -> Response:
        response = await super().get(request)
        if response.status == 200:
            response.body = _with_extra_field(response.body)
        return response


class NotFoundSaysOk(Envelopes):
    """wrong_response_code: NOT_FOUND answers say responseCode OK while keeping HTTP 404."""

    def error(self, response_code: str, message: str) -> Response:
        if response_code != "NOT_FOUND":
            return super().error(response_code, message)
        return envelope(self.status_for(response_code), "OK", message)


class RequestIdNotEchoed(Envelopes):
    """request_id_not_echoed: answers do not echo X-RequestIdentifier."""

    def echo(self, request_id: bytes | None) -> tuple[tuple[bytes, bytes], ...]:
        return ()


class EchoMangled(EntitlementHandlers):
    """echo_mangled: echo answers the id in upper case."""

    async def echo(self, request: Request) -> Response:
        echoed = request.path_params["echoRequestId"].upper()
        mangled = replace(request, path_params={**request.path_params, "echoRequestId": echoed})
        return await super().echo(mangled)


class RetryAfterMissing(Envelopes):
    """retry_after_missing: a 429 TOO_MANY_REQUESTS carries no Retry-After."""

    def retry_later(self, response_code: str, message: str, seconds: int) -> Response:
        response = super().retry_later(response_code, message, seconds)
        if response.status == 429:
            response.headers = [h for h in response.headers if h[0] != b"retry-after"]
        return response


# -- the partner API's operations ----------------------------------------------------------------


class CreateDropsOffer(PartnerOperations):
    """create_drops_offer: a create does not keep the offerKey it was sent."""

    async def create(
        self, reseller: str, command: CreateEntitlement, behaviour: Behaviour, base_url: str
    ) -> Result:
        return await super().create(reseller, replace(command, offer_key=None), behaviour, base_url)


class QueryIgnoresStatus(PartnerOperations):
    """query_ignores_status: queryEntitlements ignores its status filter."""

    async def query(self, reseller: str, command: QueryEntitlements) -> list[dict[str, Any]]:
        return await super().query(reseller, replace(command, status=None))


class IllegalTransition(PartnerOperations):
    """illegal_transition: cancel of a CANCELLED or REVOKED entitlement answers 200 OK instead
    of 409 NOT_AVAILABLE."""

    async def terminate(
        self, reseller: str, command: EndEntitlement, behaviour: Behaviour
    ) -> Result:
        try:
            return await super().terminate(reseller, command, behaviour)
        except DomainError as refusal:
            if (
                command.revoke
                or refusal.response_code != "NOT_AVAILABLE"
                or behaviour.refuses(command.operation)
            ):
                raise
            entitlement = await self.get(reseller, command.entitlement_id)
            if entitlement.status not in self.changes.lifecycle.terminal:
                raise
            return Result(200, "OK", entitlement, "Entitlement cancelled")


class DropCancelReason(PartnerOperations):
    """drop_cancel_reason: a cancel keeps its custom properties in extensionData but loses the
    reason pair and description."""

    def with_end_reason(
        self, entitlement: Entitlement, command: EndEntitlement, reason: GivenReason
    ) -> Entitlement:
        if command.revoke:
            return super().with_end_reason(entitlement, command, reason)
        return replace(entitlement, extension_data={**entitlement.extension_data, **command.custom})


class CancelDropsCustom(PartnerOperations):
    """cancel_drops_custom: a cancel keeps its reason in extensionData but drops the custom
    properties it was sent."""

    def with_end_reason(
        self, entitlement: Entitlement, command: EndEntitlement, reason: GivenReason
    ) -> Entitlement:
        if not command.revoke:
            command = replace(command, custom={})
        return super().with_end_reason(entitlement, command, reason)


class QueryDropsLast(PartnerOperations):
    """query_drops_last: queryEntitlements leaves out the last entitlement that matches."""

    async def query(self, reseller: str, command: QueryEntitlements) -> list[dict[str, Any]]:
        return (await super().query(reseller, command))[:-1]


# -- status changes and their notifications ------------------------------------------------------


class ProductChangeIgnored(StatusChanges):
    """product_change_ignored: a product change answered 200 OK leaves the old productKey in
    the record (its answer, its notification and what is stored)."""

    async def commit(self, reseller: str, before: Entitlement, step: Step) -> Entitlement:
        row = step.row
        if row is not None and row.operation == UPDATE and row.request == spec.PRODUCT_CHANGE:
            kept = replace(
                step.entitlement,
                product_key=before.product_key,
                entitlement_display_name=before.entitlement_display_name,
            )
            step = replace(step, entitlement=kept)
        return await super().commit(reseller, before, step)


class ExtensionDataReplaced(StatusChanges):
    """extension_data_replaced: an update's extensionData replaces the record's instead of
    being merged into it."""

    def with_metadata(
        self, entitlement: Entitlement, metadata: Mapping[str, Any], now: datetime
    ) -> Entitlement | None:
        if metadata.get("extensionData"):
            entitlement = replace(entitlement, extension_data={})
        return super().with_metadata(entitlement, metadata, now)


class UnchangedAfter200(StatusChanges):
    """unchanged_after_200: a cancel the merchant answers at once says 200 OK but changes
    nothing (a 202'd cancel is confirmed by an event row, which this leaves alone)."""

    async def commit(self, reseller: str, before: Entitlement, step: Step) -> Entitlement:
        if step.row is not None and step.row.operation == CANCEL:
            return before
        return await super().commit(reseller, before, step)


class ActiveEndingWithoutEnd(StatusChanges):
    """active_ending_without_end: a cancel to the end of the period leaves dateEnded empty."""

    async def commit(self, reseller: str, before: Entitlement, step: Step) -> Entitlement:
        ending = step.entitlement
        if (
            step.row is not None
            and step.row.operation == CANCEL
            and ending.status is Status.ACTIVE_ENDING
        ):
            step = replace(step, entitlement=replace(ending, date_ended=None))
        return await super().commit(reseller, before, step)


class Waiting202Ignored(StatusChanges):
    """waiting_202_ignored: a 202 waiting for the merchant no longer blocks other status
    changes."""

    async def ensure_no_pending(
        self, reseller: str, entitlement: Entitlement, *, activation_blocks: bool = False
    ) -> None:
        return None


class WrongNotificationType(StatusChanges):
    """wrong_notification_type: METADATA_UPDATE notifications are sent as PRODUCT_UPDATE."""

    async def send(self, reseller: str, step: Step) -> None:
        sent = tuple("PRODUCT_UPDATE" if n == "METADATA_UPDATE" else n for n in step.notifications)
        await super().send(reseller, replace(step, notifications=sent))


class SkippedNotification(StatusChanges):
    """skipped_notification: TERMINATION_SUCCESS notifications are never sent."""

    async def send(self, reseller: str, step: Step) -> None:
        sent = tuple(n for n in step.notifications if n != "TERMINATION_SUCCESS")
        await super().send(reseller, replace(step, notifications=sent))


class NotificationsOutOfOrder(StatusChanges):
    """notifications_out_of_order: an ACTIVATION_SUCCESS is held back and sent after the
    entitlement's next notification."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held_back: dict[str, Step] = {}

    async def send(self, reseller: str, step: Step) -> None:
        entitlement_id = step.entitlement.entitlement_id
        held = self._held_back.pop(entitlement_id, None)
        if "ACTIVATION_SUCCESS" in step.notifications:
            self._held_back[entitlement_id] = step
            sent = tuple(n for n in step.notifications if n != "ACTIVATION_SUCCESS")
            step = replace(step, notifications=sent)
        await super().send(reseller, step)
        if held is not None:
            await self.notify(reseller, held, "ACTIVATION_SUCCESS")


class NotificationStatusStale(StatusChanges):
    """notification_status_stale: a status change's notifications carry the status from
    before the change."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._before: dict[str, Status] = {}

    async def commit(self, reseller: str, before: Entitlement, step: Step) -> Entitlement:
        self._before[before.entitlement_id] = before.status
        return await super().commit(reseller, before, step)

    async def send(self, reseller: str, step: Step) -> None:
        status = self._before.pop(step.entitlement.entitlement_id, None)
        if status is not None:
            step = replace(step, entitlement=replace(step.entitlement, status=status))
        await super().send(reseller, step)


class ConfirmationNotNotified(StatusChanges):
    """confirmation_not_notified: a merchant's confirmation of a 202 sends none of its
    notifications."""

    async def send(self, reseller: str, step: Step) -> None:
        if step.row is not None and step.row.event == MERCHANT_CONFIRMED:
            return
        await super().send(reseller, step)


# Each fault's classes, by the fault's name (`faults.FAULTS` lists the names).
WRAPPERS: Mapping[str, tuple[type, ...]] = {
    "server_error": (ServerError,),
    "extra_field": (ExtraFieldInAnswers, ExtraFieldOnRead),
    "wrong_response_code": (NotFoundSaysOk,),
    "ignore_auth": (IgnoreAuth,),
    "illegal_transition": (IllegalTransition,),
    "drop_cancel_reason": (DropCancelReason,),
    "wrong_notification_type": (WrongNotificationType,),
    "skipped_notification": (SkippedNotification,),
    "notifications_out_of_order": (NotificationsOutOfOrder,),
    "unchanged_after_200": (UnchangedAfter200,),
    "waiting_202_ignored": (Waiting202Ignored,),
    "query_ignores_status": (QueryIgnoresStatus,),
    "request_id_not_echoed": (RequestIdNotEchoed,),
    "echo_mangled": (EchoMangled,),
    "create_drops_offer": (CreateDropsOffer,),
    "active_ending_without_end": (ActiveEndingWithoutEnd,),
    "cancel_drops_custom": (CancelDropsCustom,),
    "retry_after_missing": (RetryAfterMissing,),
    "product_change_ignored": (ProductChangeIgnored,),
    "extension_data_replaced": (ExtensionDataReplaced,),
    "query_drops_last": (QueryDropsLast,),
    "notification_status_stale": (NotificationStatusStale,),
    "confirmation_not_notified": (ConfirmationNotNotified,),
}

if set(WRAPPERS) != KNOWN_FAULTS:
    raise RuntimeError(f"faults.FAULTS and WRAPPERS differ: {sorted(set(WRAPPERS) ^ KNOWN_FAULTS)}")

_Class = TypeVar("_Class", bound=type)


def refine_for(names: Iterable[str]) -> Refine:
    """Builds each part with the named faults' classes for it: a subclass of all of them, or
    the part itself when none of them breaks it."""
    chosen = [wrapper for name in sorted(set(names)) for wrapper in WRAPPERS[name]]

    def refine(part: _Class) -> _Class:
        wrappers = tuple(wrapper for wrapper in chosen if issubclass(wrapper, part))
        if not wrappers:
            return part
        return cast(_Class, type(f"Faulty{part.__name__}", (*wrappers, part), {}))

    return refine
