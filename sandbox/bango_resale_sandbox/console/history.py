"""The controls that show what happened, as data (the `history` tag of the sandbox spec): the
reseller's entitlements newest first, one entitlement's timeline with the events it may take
next, and the request log. The console's pages are built from them, and so is
`bango-resale logs`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from bango_resale_spec import StatusMachine

from .. import _json
from ..asgi import Response
from ..envelopes import Envelopes, envelope
from ..pipeline import Handler, Request
from ..services import EventOffer, PlatformEvents
from ..storage import DeliveryAttempt, EntitlementStore, OutboxRow, TransitionRow
from ..wire import entitlement_from_json, format_epoch
from . import requestlog
from .journal import RequestJournal
from .requestlog import LoggedRequest, RequestFilter

#: The requests a timeline shows at most (the newest the log holds).
TIMELINE_REQUESTS = 200
#: The notifications a timeline shows at most (the oldest).
TIMELINE_NOTIFICATIONS = 1000
# Entries of one instant in the order they happen: the request, the row it fired, the
# notification the row queued.
_KIND_ORDER = {"request": 0, "transition": 1, "notification": 2}


class HistoryHandlers:
    def __init__(
        self,
        store: EntitlementStore,
        events: PlatformEvents,
        machine: StatusMachine,
        envelopes: Envelopes,
        journal: RequestJournal | None,
    ) -> None:
        self.store = store
        self.events = events
        self.machine = machine
        self.envelopes = envelopes
        self.journal = journal

    def routes(self) -> dict[str, Handler]:
        return {
            "listEntitlements": self.entitlements,
            "getEntitlementTimeline": self.timeline,
            "listRequests": self.requests,
        }

    async def entitlements(self, request: Request) -> Response:
        query = request.query
        limit = int(query.get("limit", 100))
        before = query.get("before")
        # One row more than the page shows whether another page follows.
        rows = await self.store.list_entitlements(
            request.reseller,
            status=query.get("status"),
            customer_identifier=query.get("customerIdentifier"),
            before=None if before is None else int(before),
            limit=limit + 1,
        )
        page = rows[:limit]
        return envelope(
            200,
            "OK",
            f"{len(page)} entitlement(s)" + ("; more follow" if len(rows) > limit else ""),
            entitlements=[_json.loads(record) for _number, record in page],
            nextCursor=page[-1][0] if len(rows) > limit else None,
        )

    async def timeline(self, request: Request) -> Response:
        reseller = request.reseller
        entitlement_id = request.path_params["entitlementId"]
        record = await self.store.get_record_json(reseller, entitlement_id)
        if record is None:
            return self.envelopes.error("NOT_FOUND", f"no entitlement {entitlement_id!r}")
        await self._written()
        entitlement = entitlement_from_json(record)
        pending = await self.store.get_pending(reseller, entitlement_id)
        offers = await self.events.offered(reseller, entitlement)
        transitions = await self.store.transitions(reseller, entitlement_id)
        notifications = await self.store.list_notifications(
            reseller, entitlement_id=entitlement_id, limit=TIMELINE_NOTIFICATIONS
        )
        attempts = await self.store.delivery_attempts(reseller, entitlement_id)
        requests = await requestlog.read(
            self.store,
            reseller,
            RequestFilter(entitlement_id=entitlement_id, limit=TIMELINE_REQUESTS),
        )
        entries = [
            *({"kind": "request", **_request_view(r)} for r in requests),
            *self._transition_views(transitions),
            *(_notification_view(n, attempts) for n in notifications),
        ]
        entries.sort(key=lambda e: (e["_at"], _KIND_ORDER[e["kind"]]))
        for entry in entries:
            del entry["_at"]
        return envelope(
            200,
            "OK",
            f"Entitlement {entitlement_id} and its history",
            entitlement=_json.loads(record),
            waitingFor=None if pending is None else pending.operation,
            events=[_offer_view(offer) for offer in offers],
            timeline=entries,
        )

    async def requests(self, request: Request) -> Response:
        which = _request_filter(request.query)
        await self._written()
        rows = await requestlog.read(
            self.store, request.reseller, replace(which, limit=which.limit + 1)
        )
        page = rows[: which.limit]
        if which.after is not None:
            next_cursor: int | None = page[-1].cursor if page else which.after
        else:
            next_cursor = page[-1].cursor if len(rows) > which.limit else None
        return envelope(
            200,
            "OK",
            f"{len(page)} request(s)",
            requests=[_request_view(row, at=False) for row in page],
            nextCursor=next_cursor,
            latestCursor=await requestlog.latest_cursor(self.store, request.reseller),
        )

    async def _written(self) -> None:
        """Write this instance's waiting log entries first: what a reader reads includes the
        requests this sandbox has answered so far."""
        if self.journal is not None:
            await self.journal.flush()

    def _transition_views(self, rows: Sequence[TransitionRow]) -> list[dict[str, Any]]:
        views = []
        before: str | None = None
        for row in rows:
            try:
                fired = self.machine.row(row.row_id)
                trigger, description = fired.trigger, fired.description
            except KeyError:  # a row of another version of the spec
                trigger, description = row.row_id, ""
            views.append(
                {
                    "_at": row.at,
                    "kind": "transition",
                    "at": format_epoch(row.at),
                    "sandboxTime": format_epoch(row.sandbox_at),
                    "row": row.row_id,
                    "trigger": trigger,
                    "description": description,
                    "from": before,
                    "to": row.status,
                }
            )
            before = row.status
        return views


def _request_filter(query: Mapping[str, str]) -> RequestFilter:
    status = query.get("status")
    low = high = None
    if status is not None:
        if status.endswith("xx"):
            low = int(status[0]) * 100
            high = low + 99
        else:
            low = high = int(status)
    return RequestFilter(
        entitlement_id=query.get("entitlementId"),
        operation_id=query.get("operationId"),
        status_from=low,
        status_to=high,
        before=None if "before" not in query else int(query["before"]),
        after=None if "after" not in query else int(query["after"]),
        limit=int(query.get("limit", 100)),
    )


def _request_view(row: LoggedRequest, *, at: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "cursor": row.cursor,
        "at": format_epoch(row.at),
        "operationId": row.operation_id,
        "method": row.method,
        "path": row.path,
        "entitlementId": row.entitlement_id,
        "httpStatus": row.http_status,
        "responseCode": row.response_code,
        "responseMessage": row.response_message,
        "requestIdentifier": row.request_id,
        "milliseconds": row.milliseconds,
    }
    if at:  # the time to sort a timeline by
        view["_at"] = row.at
    return view


def _notification_view(row: OutboxRow, attempts: Sequence[DeliveryAttempt]) -> dict[str, Any]:
    return {
        "_at": row.created_at,
        "kind": "notification",
        "at": format_epoch(row.created_at),
        "notificationId": row.notification_id,
        "notificationType": row.notification_type,
        "url": row.url,
        "state": row.state,
        "lastError": row.last_error,
        "deliveredAt": None if row.delivered_at is None else format_epoch(row.delivered_at),
        "deliveries": [
            {
                "at": format_epoch(attempt.at),
                "url": attempt.url,
                "httpStatus": attempt.http_status,
                "error": attempt.error,
                "milliseconds": attempt.milliseconds,
            }
            for attempt in attempts
            if attempt.notification_id == row.notification_id
        ],
    }


def _offer_view(offer: EventOffer) -> dict[str, Any]:
    return {
        "event": offer.event,
        "rows": list(offer.rows),
        "available": offer.available,
        "note": offer.note,
    }
