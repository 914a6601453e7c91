"""Test data for code that uses `bango_resale`: records to feed your own tests and examples.

Kept out of the package's top level so that `import bango_resale` lists only the client.
"""

from __future__ import annotations

import datetime
import uuid

from ._results import Entitlement


def sample_entitlement(status: str = "ACTIVE", entitlement_id: str | None = None) -> Entitlement:
    """A plausible record for tests and examples (test merchant `BANGO` / `BangoMusic`)."""
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    return Entitlement(
        entitlement_id=entitlement_id or str(uuid.uuid4()),
        status=status,
        customer_identifier="customer-0001",
        merchant_account_key="BANGO",
        product_key="BangoMusic",
        date_created=now,
        date_last_updated=now,
        date_activated=now if status != "PENDING" else None,
    )


__all__ = ["sample_entitlement"]
