"""The operations' handlers, grouped by area. Each turns a checked `Request` into a command
for the service and the service's answer into a `Response`; `all_handlers` maps every
operationId of both specs (but the activation page's) to its handler."""

from __future__ import annotations

from ..config import SandboxConfig
from ..envelopes import Envelopes
from ..pipeline import Handler
from ..storage import EntitlementStore
from ..usecases import EntitlementService
from . import admin, entitlements, merchant, notifications


def all_handlers(
    config: SandboxConfig,
    store: EntitlementStore,
    service: EntitlementService,
    envelopes: Envelopes,
) -> dict[str, Handler]:
    return {
        **entitlements.EntitlementHandlers(store, service, envelopes).routes(),
        **merchant.MerchantHandlers(service, envelopes).routes(),
        **notifications.NotificationHandlers(config, service).routes(),
        **admin.AdminHandlers(service).routes(),
    }
