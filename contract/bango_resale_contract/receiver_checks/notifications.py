"""What the platform sends a receiver: one notification per (notificationType, status) pair the
status machine's rows produce, shaped by the partner spec's webhook, and how long the platform
waits for an answer."""

from __future__ import annotations

import functools
import tomllib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import bango_resale_spec as spec

WEBHOOK = "entitlementNotification"
# The reference sandbox states how long the platform waits for a receiver's answer; read as
# data, as the proxy reads its body limit: this package imports nothing of the sandbox.
SANDBOX_PACKAGE = "bango_resale_sandbox"
SANDBOX_CONFIG = "default_config.toml"
# Statuses whose record dates a notification sets (values of the spec's EntitlementStatus).
PENDING, ACTIVE, ACTIVE_ENDING, SUSPENDED = "PENDING", "ACTIVE", "ACTIVE-ENDING", "SUSPENDED"
# The length of a paid period, for the made-up dates of an entitlement that ends with it.
PAID_PERIOD = timedelta(days=30)


@functools.cache
def platform_delivery_timeout() -> float:
    """Seconds the platform waits for a receiver's answer before it counts the delivery as
    failed: `[delivery] timeout_seconds` of the reference sandbox's packaged configuration."""
    text = resources.files(SANDBOX_PACKAGE).joinpath(SANDBOX_CONFIG).read_text("utf-8")
    return float(tomllib.loads(text)["delivery"]["timeout_seconds"])


@dataclass(frozen=True, slots=True)
class PlatformNotification:
    """A notification the platform sends: its type, the record's status after the change, the
    status-machine row that sends it, and the JSON body."""

    notification_type: str
    status: str
    row: str
    changes_status: bool
    body: Mapping[str, Any]


def webhook() -> Mapping[str, Any]:
    return spec.load_partner_spec()["webhooks"][WEBHOOK]["post"]  # type: ignore[no-any-return]


def notification_template() -> dict[str, Any]:
    """The webhook's first example: every field a notification carries, with spec values."""
    content = webhook()["requestBody"]["content"]["application/json"]
    example = next(iter(content["examples"].values()))
    return dict(spec.resolve(example)["value"])


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _record_dates(before: str | None, after: str, now: datetime) -> dict[str, str | None]:
    """Dates that agree with a change from `before` (None: a create) to `after`."""
    created = now - 2 * PAID_PERIOD
    never_active = after == PENDING and before in (None, PENDING)
    ended = None
    if after in spec.terminal_statuses():
        ended = _stamp(now)
    elif after == ACTIVE_ENDING:
        ended = _stamp(now + PAID_PERIOD)
    return {
        "dateCreated": _stamp(created),
        "dateActivated": None if never_active else _stamp(created + timedelta(seconds=1)),
        "dateEnded": ended,
        "dateSuspended": _stamp(now if after == SUSPENDED else now - timedelta(days=1))
        if SUSPENDED in (before, after)
        else None,
        "dateResumed": _stamp(now) if before == SUSPENDED and after == ACTIVE else None,
        "dateLastUpdated": _stamp(now),
    }


def platform_notifications(
    notification_url: str | None = None, now: datetime | None = None
) -> tuple[PlatformNotification, ...]:
    """One notification for each (notificationType, status after the change) pair that the
    status machine's rows send, in table order, each about a fresh entitlement (whose
    `notificationUrl` is `notification_url`, when given)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    template = notification_template()
    if notification_url is not None:
        template["notificationUrl"] = notification_url
    seen: set[tuple[str, str]] = set()
    found = []
    for row in spec.status_machine():
        for before in row.from_statuses or (None,):
            after = row.result(before)
            for notification_type in row.notifications:
                if after is None or (notification_type, after) in seen:
                    continue
                seen.add((notification_type, after))
                body = {
                    **template,
                    **_record_dates(before, after, now),
                    "responseCode": "OK",
                    "responseMessage": row.description.split("\n")[0][:200] or notification_type,
                    "entitlementId": f"receiver-check-{uuid.uuid4()}",
                    "status": after,
                    "notificationType": notification_type,
                    "notificationId": str(uuid.uuid4()),
                }
                changes = before != after
                found.append(PlatformNotification(notification_type, after, row.id, changes, body))
    return tuple(found)


def fresh(body: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy about another entitlement, with another notificationId."""
    return {
        **body,
        "entitlementId": f"receiver-check-{uuid.uuid4()}",
        "notificationId": str(uuid.uuid4()),
        **changes,
    }


def unknown(known: Iterable[str], wanted: str) -> str:
    """`wanted`, made longer until it is none of `known` (the spec may adopt it one day)."""
    taken = set(known)
    while wanted in taken:
        wanted += "_NEW"
    return wanted
