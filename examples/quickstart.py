"""Quickstart: create, cancel with a reason, see a client action, catch a typed error, parse a
notification. Runs against a local sandbox (docs/getting-started.md walks through it):

    bango-resale-sandbox --port 8000  # in another shell (`make sandbox` in a checkout)
    python examples/quickstart.py     # BANGO_RESALE_BASE_URL points it elsewhere
"""

from __future__ import annotations

import os

from bango_resale import (
    ConflictError,
    NavigateToUrl,
    NotAvailableError,
    NotificationReceiver,
    ResaleClient,
    build_notification_request,
)

BASE_URL = os.environ.get("BANGO_RESALE_BASE_URL", "http://127.0.0.1:8000")


def main() -> None:
    with ResaleClient(BASE_URL, "demo", "demo-secret") as client:
        # 1. Create an entitlement the merchant activates at once.
        created = client.create(
            customer_identifier="customer-0001",
            merchant_account_key="BANGO",
            product_key="BangoMusic",
            extra_headers={"X-Magic-Number": "CREATE_REQUEST_RETURNS_ACTIVATED"},
        )
        entitlement = created.entitlement
        print("created", entitlement.entitlement_id, entitlement.status, created.outcome)

        # 2. Cancel it with a standard reason: a (category, code) pair or a Bango index.
        cancelled = client.cancel(entitlement.entitlement_id, ("CUSTOMER_CANCELLED", "NOT_RENEWED"))
        print("cancelled", cancelled.entitlement.status, cancelled.entitlement.extension_data)

        # 3. A merchant that needs the customer to sign up answers with a client action.
        pending = client.create(
            customer_identifier="customer-0002",
            merchant_account_key="BANGO",
            product_key="BangoMusic",
            extra_headers={"X-Magic-Number": "CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED"},
        )
        if pending.requires_action and isinstance(pending.client_action, NavigateToUrl):
            print("send the customer to", pending.client_action.url)
        client.register_action_handler(NavigateToUrl, lambda action: print("opening", action.url))
        client.handle_client_action(pending)  # refreshes the URL first if it has expired

        # 4. Errors are typed: catch the precise code or the HTTP status class.
        pending_id = pending.entitlement.entitlement_id
        client.revoke(pending_id, ("REVOKED", "OTHER"))  # PENDING -> REVOKED
        try:
            client.revoke(pending_id, ("REVOKED", "OTHER"))  # it has already ended
        except NotAvailableError as error:
            print("not available:", error.response_message, "request", error.request_identifier)
        except ConflictError as error:  # any other 409
            print("conflict:", error.response_code)

    # 5. Receive a notification (here one built locally, as the platform would send it).
    receiver = NotificationReceiver(api_key="my-hook-key")
    request = build_notification_request(
        "https://reseller.example/hooks/bango",
        cancelled.entitlement,
        "TERMINATION_SUCCESS",
        api_key="my-hook-key",
    )
    event = receiver.receive(request.headers, request.content)
    print("notification", event.notification_type, event.entitlement.status, event.dedupe_key)


if __name__ == "__main__":
    main()
