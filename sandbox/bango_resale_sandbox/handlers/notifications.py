"""Sandbox controls for the notification outbox: list, follow (`bango-resale listen`),
redeliver."""

from __future__ import annotations

from typing import Any

from .. import _json
from ..asgi import Response
from ..config import SandboxConfig
from ..envelopes import envelope
from ..pipeline import Handler, Request
from ..services import NotificationOutbox
from ..storage import OutboxRow
from ..wire import format_epoch

# The largest page of GET /sandbox/notifications (the default `limit`).
NOTIFICATION_PAGE_MAX = 1000


class NotificationHandlers:
    def __init__(self, config: SandboxConfig, outbox: NotificationOutbox) -> None:
        self.config = config
        self.outbox = outbox

    def routes(self) -> dict[str, Handler]:
        return {
            "listNotifications": self.list,
            "followNotifications": self.follow,
            "redeliverNotification": self.redeliver,
        }

    async def list(self, request: Request) -> Response:
        limit = int(request.query.get("limit", NOTIFICATION_PAGE_MAX))
        # One row more than the page shows whether another page follows.
        rows = await self.outbox.notifications(
            request.reseller,
            entitlement_id=request.query.get("entitlementId"),
            state=request.query.get("state"),
            after_seq=int(request.query.get("cursor", "0")),
            limit=limit + 1,
        )
        page = rows[:limit]
        more = len(rows) > limit
        return envelope(
            200,
            "OK",
            f"{len(page)} notification(s)" + ("; more follow" if more else ""),
            notifications=[_notification_view(row) for row in page],
            nextCursor=str(page[-1].seq) if more else None,
        )

    async def follow(self, request: Request) -> Response:
        after = int(request.query.get("after", 0))
        entries, latest = await self.outbox.feed(
            request.reseller,
            after=after,
            entitlement_id=request.query.get("entitlementId"),
            limit=int(request.query.get("limit", 100)),
        )
        auth = self.config.resellers[request.reseller].notification_auth
        return envelope(
            200,
            "OK",
            f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}",
            entries=[
                {
                    "cursor": entry.cursor,
                    "queuedAt": format_epoch(entry.queued_at),
                    "rawBody": entry.row.body.decode(),
                    "notification": _notification_view(entry.row),
                }
                for entry in entries
            ],
            nextCursor=entries[-1].cursor if entries else after,
            latestCursor=latest,
            headers={"Content-Type": "application/json", **auth.headers()},
        )

    async def redeliver(self, request: Request) -> Response:
        row = await self.outbox.redeliver(request.reseller, request.path_params["notificationId"])
        return envelope(
            200,
            "OK",
            f"Notification {row.notification_id} queued again ({row.state})",
            notification=_notification_view(row),
        )


def _notification_view(row: OutboxRow) -> dict[str, Any]:
    return {
        "notificationId": row.notification_id,
        "entitlementId": row.entitlement_id,
        "notificationType": row.notification_type,
        "url": row.url,
        "state": row.state,
        "attempts": row.attempts,
        "lastError": row.last_error,
        "createdAt": format_epoch(row.created_at),
        "deliveredAt": None if row.delivered_at is None else format_epoch(row.delivered_at),
        "body": _json.loads(row.body),
    }
