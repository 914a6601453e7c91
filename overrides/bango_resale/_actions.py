"""Client actions: what the caller must do when the platform answers `CLIENT_ACTION_REQUIRED`.

The one documented action is `NAVIGATE_TO_URL` (send the customer's device to a merchant page
before it expires). Any other action comes back as `UnknownClientAction`, which the client
refuses to ignore: it raises `UnknownClientActionError` (the raw parameters stay available).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

NAVIGATE_TO_URL = "NAVIGATE_TO_URL"


@dataclass(frozen=True, slots=True)
class ClientAction:
    """Base of every client action; `parameters` is the raw `parameters` object as sent."""

    action: str
    parameters: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class NavigateToUrl(ClientAction):
    """Send the customer's device to `url` (merchant-owned, per customer) before `expiry`."""

    url: str = ""
    expiry: datetime.datetime | None = None

    def is_expired(self, now: datetime.datetime | None = None) -> bool:
        """True once `expiry` has passed; an action without an expiry never expires."""
        if self.expiry is None:
            return False
        moment = now or datetime.datetime.now(datetime.UTC)
        expiry = self.expiry
        if expiry.tzinfo is None:
            # The spec promises UTC; a naive stamp is read as UTC rather than local time.
            expiry = expiry.replace(tzinfo=datetime.UTC)
        return moment >= expiry


@dataclass(frozen=True, slots=True)
class UnknownClientAction(ClientAction):
    """An action this version of the client does not know how to perform."""


ActionT = TypeVar("ActionT", bound=ClientAction)


def parse_client_action(parameters: Mapping[str, Any]) -> ClientAction:
    """Build the typed action from a `parameters` object (already JSON-decoded)."""
    action = str(parameters.get("action", ""))
    if action == NAVIGATE_TO_URL:
        url = parameters.get("url")
        if not isinstance(url, str) or not url:
            raise ValueError("NAVIGATE_TO_URL without a url")
        expiry_text = parameters.get("urlExpiry")
        expiry = None
        if isinstance(expiry_text, str):
            expiry = datetime.datetime.fromisoformat(expiry_text)
        elif isinstance(expiry_text, datetime.datetime):
            expiry = expiry_text
        return NavigateToUrl(action=action, parameters=dict(parameters), url=url, expiry=expiry)
    return UnknownClientAction(action=action, parameters=dict(parameters))
