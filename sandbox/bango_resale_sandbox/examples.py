"""The partner spec's example entitlements, held by a fresh sandbox.

Every entitlement an example of the partner spec names (an `entitlementId` in a path or a body)
is listed in the spec's `x-example-entitlements`, as it stands before any example request.
At start-up the sandbox inserts them for its first configured reseller (`demo` in the packaged
configuration) when that reseller holds none of them yet: on the first start of an empty
database, and on the next start after the reseller was reset. An entitlement an example has
changed is left as it is. So the spec's own examples are live against a fresh sandbox: a tool
that sends an example request (Specmatic, Prism's validation proxy, schemathesis's examples
phase) gets the answer the paired response example shows.
"""

from __future__ import annotations

import bango_resale_spec as spec

from . import wire
from .storage import EntitlementStore


async def seed(store: EntitlementStore, reseller: str) -> int:
    """Insert the example entitlements for `reseller` unless it holds any of them already;
    returns how many were inserted (all or none)."""
    entitlements = [wire.entitlement_of(record) for record in spec.example_entitlements()]
    async with store.transaction():
        # Instances starting together on one PostgreSQL schema: one seeds, the others see it.
        await store.lock(reseller, "example-entitlements")
        for entitlement in entitlements:
            if await store.get(reseller, entitlement.entitlement_id) is not None:
                return 0
        for entitlement in entitlements:
            await store.insert(reseller, entitlement)
    return len(entitlements)
