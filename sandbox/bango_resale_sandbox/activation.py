"""The mock merchant's sign-up page that NAVIGATE_TO_URL points at.

A person (or a test) opens the link, sees a small form and submits it; the form POSTs back to
the same URL and the entitlement becomes ACTIVE. The link itself is the credential, as a
merchant's sign-up link would be, so the page asks for no reseller authentication.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .domain import DomainError
from .services import MerchantSignUp
from .storage import EntitlementStore

SHOW_PAGE = "showActivationPage"
SUBMIT_PAGE = "completeActivation"
PAGE_OPERATIONS = frozenset({SHOW_PAGE, SUBMIT_PAGE})
HTML = b"text/html; charset=utf-8"


async def serve_page(
    signup: MerchantSignUp,
    store: EntitlementStore,
    status_for: Callable[[str], int],
    operation_id: str,
    token: str,
    receive: Callable[[], Awaitable[Mapping[str, Any]]],
) -> tuple[int, bytes]:
    """The page for one activation link: (HTTP status, HTML). The HTTP layer sends it."""
    try:
        if operation_id == SUBMIT_PAGE:
            await _drain(receive)
            async with store.transaction():
                entitlement = await signup.complete_activation(token)
            return (
                200,
                _page(
                    "Sign-up complete",
                    f"<p>Entitlement <code>{html.escape(entitlement.entitlement_id)}</code> is now"
                    f" <strong>{entitlement.status.value}</strong>. You can close this page.</p>",
                ),
            )
        _link, entitlement = await signup.activation_link(token)
    except DomainError as exc:
        return (
            status_for(exc.response_code),
            _page("Activation not possible", f"<p>{html.escape(exc.message)}</p>"),
        )
    name = html.escape(entitlement.entitlement_display_name or entitlement.product_key)
    form = (
        f"<p>Finish signing up for <strong>{name}</strong> from"
        f" <code>{html.escape(entitlement.merchant_account_key)}</code>.</p>"
        f"<p>Entitlement <code>{html.escape(entitlement.entitlement_id)}</code> for customer"
        f" <code>{html.escape(entitlement.customer_identifier)}</code>.</p>"
        '<form method="post"><button type="submit" name="confirm" value="yes">'
        "Complete sign-up</button></form>"
    )
    return 200, _page("Complete your sign-up", form)


async def _drain(receive: Callable[[], Awaitable[Mapping[str, Any]]]) -> None:
    """Read and discard the form body: its content does not matter."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def _page(title: str, content: str) -> bytes:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        # Customers open this link on their phones: lay it out for the device's width.
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1>{content}"
        "<p><small>Bango Resale sandbox: mock merchant sign-up page.</small></p>"
        "</body></html>"
    ).encode()
