"""The operations' handlers, grouped by area. Each turns a checked `Request` into a command
for the service and the service's answer into a `Response`; `all_handlers` maps every
operationId of both specs (but the activation page's) to its handler."""

from __future__ import annotations

from ..config import SandboxConfig
from ..envelopes import Envelopes
from ..pipeline import Handler
from ..services import Refine, Services, as_is
from ..storage import EntitlementStore
from . import admin, entitlements, merchant, notifications


def all_handlers(
    config: SandboxConfig,
    store: EntitlementStore,
    services: Services,
    envelopes: Envelopes,
    refine: Refine = as_is,
) -> dict[str, Handler]:
    """`refine`: as in `Services.build` (the deliberate faults subclass the partner API's
    handlers)."""
    partner = refine(entitlements.EntitlementHandlers)
    return {
        **partner(store, services.partner, envelopes).routes(),
        **merchant.MerchantHandlers(services.events, envelopes).routes(),
        **notifications.NotificationHandlers(config, services.outbox).routes(),
        **admin.AdminHandlers(services.clock).routes(),
    }
