"""The sandbox's service layer: each API operation and sandbox control as one step against the
store, grouped by area.

- `partner`: the partner API's operations (create, read, query, update, cancel and revoke,
  activation info, reactivate);
- `events`: the merchant's and the platform's own moves (confirm a waiting operation, end an
  entitlement, lose track of it, time-driven changes), and any of them raised by its name;
- `outbox`: the notification outbox (list, feed, redeliver);
- `clock`: a reseller's sandbox time (read, advance, reset);
- `signup`: the mock merchant's sign-up links;
- `changes`: what they share, `StatusChanges`: firing the status machine's rows, storing the
  result, queueing notifications, keeping what waits for the merchant.

`Services.build` wires them. Handlers call the areas with typed commands (`commands.py`) and
run them inside `store.transaction()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import bango_resale_spec as spec
from bango_resale_spec import StatusMachine

from ..clock import SandboxClock
from ..config import SandboxConfig
from ..domain import Lifecycle
from ..storage import EntitlementStore
from .changes import Result, StatusChanges
from .clock import ClockControls
from .events import EventOffer, PlatformEvents
from .outbox import NotificationOutbox
from .partner import PartnerOperations
from .signup import MerchantSignUp

__all__ = [
    "ClockControls",
    "EventOffer",
    "MerchantSignUp",
    "NotificationOutbox",
    "PartnerOperations",
    "PlatformEvents",
    "Refine",
    "Result",
    "Services",
    "StatusChanges",
    "as_is",
]

_Class = TypeVar("_Class", bound=type)


class Refine(Protocol):
    """Turns a class into the one to build: itself, or a subclass of it (the app's deliberate
    faults are subclasses of `StatusChanges` and `PartnerOperations`)."""

    def __call__(self, cls: _Class, /) -> _Class: ...


def as_is(cls: _Class) -> _Class:
    """The `Refine` that builds every class as it is (no deliberate faults)."""
    return cls


@dataclass(frozen=True, slots=True)
class Services:
    """Every area of the service, over one store and one status machine."""

    partner: PartnerOperations
    events: PlatformEvents
    outbox: NotificationOutbox
    clock: ClockControls
    signup: MerchantSignUp

    @classmethod
    def build(
        cls,
        config: SandboxConfig,
        store: EntitlementStore,
        *,
        machine: StatusMachine | None = None,
        on_notification: Callable[[], None] = lambda: None,
        refine: Refine = as_is,
    ) -> Services:
        """The areas over `store`, executing `machine` (the shipped partner spec's by
        default); `on_notification` is called when a notification waits to go out."""
        lifecycle = Lifecycle(machine or spec.status_machine())
        changes = refine(StatusChanges)(
            config, store, lifecycle, SandboxClock(store), on_notification
        )
        events = refine(PlatformEvents)(changes)
        return cls(
            partner=refine(PartnerOperations)(changes),
            events=events,
            outbox=refine(NotificationOutbox)(changes),
            clock=refine(ClockControls)(changes, events),
            signup=refine(MerchantSignUp)(changes),
        )
