"""The probes: every check sent to a receiver, with the deliveries (headers, body) it makes and
the answer it accepts."""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass
from typing import Any

import bango_resale_spec as spec
from bango_resale_contract.receiver_checks.credentials import Credentials
from bango_resale_contract.receiver_checks.notifications import (
    fresh,
    notification_template,
    platform_notifications,
    unknown,
)


class Expect(enum.Enum):
    """The answers a check accepts."""

    ACKNOWLEDGED = "a 2xx"
    REFUSED = "401 or 403"
    REJECTED = "a 4xx"

    def met_by(self, status: int) -> bool:
        if self is Expect.ACKNOWLEDGED:
            return 200 <= status < 300
        if self is Expect.REFUSED:
            return status in (401, 403)
        return 400 <= status < 500


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST: its headers (credentials included), its body, and its credentials as curl
    arguments with the secret left out."""

    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    curl_credentials: tuple[str, ...]
    label: str = ""


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    sends: str
    expect: Expect
    rule: str
    deliveries: tuple[Delivery, ...]
    # A notification as the platform sends it: its answer time counts for answers-in-time.
    timed: bool = False


_REDELIVERY = (
    "the platform reads any other answer as a failed delivery and sends it again later,"
    " holding back this entitlement's later notifications until it gives up"
)
_FORGERY = (
    "notifications are not signed: a receiver that takes one without the configured"
    " credentials takes forged ones from anyone"
)
_NOT_A_NOTIFICATION = (
    "a body that is not a notification is refused with a 4xx; a 5xx means the receiver broke"
    " on it (and, from the platform, asks for the same body again)"
)


def plan(url: str, credentials: Credentials) -> tuple[Check, ...]:
    notifications = platform_notifications(url)
    first = notifications[0].body
    unchanged = next((n.body for n in notifications if not n.changes_status), first)

    def send(body: Any, which: str = "valid", *, label: str = "") -> Delivery:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = ((b"Content-Type", b"application/json"), *credentials.headers(which))
        return Delivery(headers, content, credentials.curl_arguments(which), label)

    checks = [
        Check(
            f"notification[{n.notification_type}/{n.status}]",
            f"the {n.notification_type} notification of an entitlement now {n.status}"
            f" (status machine row {n.row})",
            Expect.ACKNOWLEDGED,
            _REDELIVERY,
            (send(n.body),),
            timed=True,
        )
        for n in notifications
    ]
    repeated = fresh(first)
    new_type = unknown(spec.notification_types(), "ENTITLEMENT_RENEWED")
    new_status = unknown(spec.entitlement_statuses(), "ARCHIVED")
    record_fields = notification_template().keys()
    extra = {unknown(record_fields, "dateRenewal"): first["dateLastUpdated"]}
    extra[unknown(record_fields, "renewalTerms")] = {"periodDays": 30, "autoRenew": True}
    checks += [
        Check(
            "repeat",
            "one notification twice, with the same notificationId",
            Expect.ACKNOWLEDGED,
            "delivery is at least once: a repeat of a notification already handled is"
            " acknowledged again, without doing it twice",
            (send(repeated, label="the first delivery"), send(repeated, label="the repeat")),
            timed=True,
        ),
        Check(
            "unknown-notification-type",
            f"a notification of a type Bango may add ({new_type})",
            Expect.ACKNOWLEDGED,
            "new notification types may appear: acknowledge one you do not know (and read the"
            f" record if you need it); {_REDELIVERY}",
            (send(fresh(first, notificationType=new_type)),),
            timed=True,
        ),
        Check(
            "unknown-status",
            f"a {unchanged['notificationType']} notification with a status Bango may add"
            f" ({new_status})",
            Expect.ACKNOWLEDGED,
            f"new statuses may appear: acknowledge the notification; {_REDELIVERY}",
            (send(fresh(unchanged, status=new_status)),),
            timed=True,
        ),
        Check(
            "extra-fields",
            f"a notification with fields Bango may add ({', '.join(extra)})",
            Expect.ACKNOWLEDGED,
            f"new fields may appear in the record and the notification; {_REDELIVERY}",
            (send(fresh(first, **extra)),),
            timed=True,
        ),
        Check(
            "no-credentials",
            "a notification without credentials",
            Expect.REFUSED,
            _FORGERY,
            (send(fresh(first), "none"),),
        ),
        Check(
            "wrong-credentials",
            f"a notification whose {credentials.label} is not the configured one",
            Expect.REFUSED,
            _FORGERY,
            (send(fresh(first), "wrong"),),
        ),
        Check(
            "malformed-credentials",
            "a notification whose credentials are malformed"
            f" ({credentials.headers('malformed')[0][1].decode('latin-1')!r})",
            Expect.REJECTED,
            "credentials that cannot even be read are refused (401), never a crash",
            (send(fresh(first), "malformed"),),
        ),
    ]
    text = json.dumps(fresh(first)).encode()
    bodies = {
        "body-empty": ("an empty body", b""),
        "body-not-json": ("a notification cut off half way (not JSON)", text[: len(text) // 2]),
        "body-not-utf8": ("a body that is not UTF-8", b'{"notificationId": "\xff\xfe"}'),
        "body-not-an-object": ("a JSON array holding a notification", b"[" + text + b"]"),
        "body-without-notification-id": (
            "a notification without its notificationId",
            {k: v for k, v in fresh(first).items() if k != "notificationId"},
        ),
        "body-without-record": (
            "a notification envelope without the entitlement record",
            {k: first[k] for k in ("responseCode", "responseMessage", "notificationType")}
            | {"notificationId": str(uuid.uuid4())},
        ),
    }
    checks += [
        Check(name, sends, Expect.REJECTED, _NOT_A_NOTIFICATION, (send(body),))
        for name, (sends, body) in bodies.items()
    ]
    return tuple(checks)
