"""The notification outbox as the sandbox controls show it: list the notifications, follow
them as a feed (`bango-resale listen`), queue one again."""

from __future__ import annotations

from ..domain import DomainError
from ..storage import DeliveryState, FeedEntry, OutboxRow
from .changes import ServiceArea, real_time


class NotificationOutbox(ServiceArea):
    """A reseller's queued notifications and what happened to each delivery."""

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

    async def feed(
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
            state = self.changes.delivery_state(row.url)
            await self.store.requeue_notification(row.seq, state, real_time())
            requeued = await self.store.get_notification(reseller, notification_id)
        if state == DeliveryState.PENDING:
            self.changes.delivery_queued()
        assert requeued is not None
        return requeued
