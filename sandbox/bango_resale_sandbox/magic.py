"""`X-Magic-Number`: a request header that forces the mocked merchant's answer.

The values and what each does are the sandbox spec's (its `MagicNumber` schema), read through
`bango_resale_spec`. Bango's sandbox defines the create and activation-info values; the rest
follow the same naming pattern and are this sandbox's own. A value meant for another
operation is ignored, an unknown value is a BAD_REQUEST that lists the known ones.
"""

from __future__ import annotations

import bango_resale_spec as spec
from bango_resale_spec import MagicNumber

#: Every value the header accepts, in the spec's order.
MAGIC_NUMBERS = spec.magic_numbers()

_BY_VALUE = {m.value: m for m in MAGIC_NUMBERS}


class UnknownMagicNumber(ValueError):
    """The header carried a value this sandbox does not know."""


def parse(value: str | None) -> MagicNumber | None:
    """The header's value as a MagicNumber; None when absent. An empty value is unknown: the
    sandbox spec's MagicNumber schema is an enum without ""."""
    if value is None:
        return None
    found = _BY_VALUE.get(value.strip())
    if found is None:
        raise UnknownMagicNumber(
            f"X-Magic-Number {value!r} is unknown; known values: " + ", ".join(_BY_VALUE)
        )
    return found


def forced_failure(number: MagicNumber) -> str | None:
    """The responseCode an `ANY_REQUEST_RETURNS_<CODE>` value answers every request with
    (None for the values of one operation)."""
    return number.outcome if number.applies_to_any_operation else None
