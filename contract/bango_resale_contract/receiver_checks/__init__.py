"""`bango-resale-contract receiver URL`: test a reseller's notification receiver.

The platform POSTs a notification to the reseller's receiver on every status change (the
partner spec's `webhooks.entitlementNotification`). Delivery is at least once, notifications
are not signed (the platform authenticates with Basic credentials, an `X-Api-Key` header or a
bearer token, whichever the reseller configured), and any answer but a 2xx, or none within
the platform's delivery timeout, means "send it again later". This package sends a receiver
what the platform would and judges each answer:

- one notification for every (notificationType, status) pair the rows of `x-status-machine`
  produce, each about a fresh entitlement, shaped by the webhook's schema and example: 2xx;
- the same notification twice (same `notificationId`), a `notificationType` and a `status` it
  cannot know, fields it has never seen: 2xx (Bango may add all of these);
- a notification without credentials, or with wrong ones: 401 or 403; credentials in a form
  the platform never sends: a 4xx;
- bodies that are not notifications (empty, not JSON, not UTF-8, not an object, no
  `notificationId`, no record): a 4xx, never a 5xx;
- every notification answered within the platform's delivery timeout, read from the reference
  sandbox's packaged configuration (`[delivery] timeout_seconds`), the one place it is stated.

Each check is a line (PASS or FAIL, what was sent, what came back, the rule); a failure comes
with a curl that sends the same request, the credentials read from `$RECEIVER_USER` and
`$RECEIVER_PASSWORD` (or `$RECEIVER_API_KEY`, `$RECEIVER_TOKEN`). The entitlements are
made up: a receiver must acknowledge a notification about an entitlement it has not stored
yet (it carries the whole record), since one may arrive before the create's answer is stored.

From pytest, against a receiver in the test's own process (or pass no transport for real
HTTP to `url`):

    import httpx
    from bango_resale_contract.receiver_checks import check_receiver, check_receiver_async

    def test_flask_receiver() -> None:
        verdict = check_receiver(
            "http://receiver.test/bango/notifications",
            basic=("bango", "notify-secret"),
            transport=httpx.WSGITransport(app=flask_app),
        )
        assert verdict.passed, verdict.text()

    async def test_asgi_receiver() -> None:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        verdict = await check_receiver_async(
            "http://receiver.test/hooks", api_key="key", transport=transport
        )
        assert verdict.passed, verdict.text()

(With `raise_app_exceptions=False` a crash is the 500 a server would answer; otherwise the
exception itself is reported as the answer.)

The modules, each importing only those above it: `notifications` (what the platform sends),
`credentials` (how it authenticates, and the same for a curl), `plan` (the checks and the
deliveries each makes), `verdict` (judging the answers, the reports), `runner` (sending the
plan, synchronously or not), `cli` (the subcommand).
"""

from __future__ import annotations

from bango_resale_contract.receiver_checks.cli import DESCRIPTION, SUMMARY, add_arguments, run
from bango_resale_contract.receiver_checks.credentials import ArgumentError
from bango_resale_contract.receiver_checks.notifications import (
    PlatformNotification,
    platform_delivery_timeout,
    platform_notifications,
)
from bango_resale_contract.receiver_checks.runner import check_receiver, check_receiver_async
from bango_resale_contract.receiver_checks.verdict import (
    COMMAND,
    JSON_NAME,
    JUNIT_NAME,
    Answer,
    CheckResult,
    ReceiverVerdict,
)

__all__ = [
    "COMMAND",
    "DESCRIPTION",
    "JSON_NAME",
    "JUNIT_NAME",
    "SUMMARY",
    "Answer",
    "ArgumentError",
    "CheckResult",
    "PlatformNotification",
    "ReceiverVerdict",
    "add_arguments",
    "check_receiver",
    "check_receiver_async",
    "platform_delivery_timeout",
    "platform_notifications",
    "run",
]
