"""Test aids of Bango's sandbox (and this project's): what the public docs name, not the
partner spec.

The partner spec describes the API; which merchants exist and which `X-Magic-Number` values a
sandbox understands are facts about a test service. They live here, in one place, for the
hooks and the scenario suite; the magic numbers are read from the sandbox spec.
"""

from __future__ import annotations

import bango_resale_spec as spec

# The request header that picks the mocked merchant's answer.
MAGIC_HEADER = "X-Magic-Number"
# (merchantAccountKey, productKey) pairs the sandbox sells out of the box.
KNOWN_PRODUCTS: tuple[tuple[str, str], ...] = (
    ("BANGO", "BangoMusic"),
    ("BANGO_US", "MUSIC"),
    ("BANGO_US", "MUSIC_PREMIUM"),
)
# Set by `--product` for a run against another service: the products creates should name there.
PRODUCTS_ENVIRONMENT_VARIABLE = "BANGO_CONTRACT_PRODUCTS"


def parse_products(text: str) -> tuple[tuple[str, str], ...]:
    """`MERCHANT/PRODUCT[,MERCHANT/PRODUCT...]` -> ((merchant, product), ...)."""
    products = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        merchant, slash, product = item.partition("/")
        if not (merchant and slash and product):
            raise ValueError(f"{item!r} is not MERCHANT/PRODUCT")
        products.append((merchant, product))
    return tuple(products)


DEMO_USER = "demo"
DEMO_PASSWORD = "demo-secret"
OTHER_DEMO_USER = "demo2"
OTHER_DEMO_PASSWORD = "demo2-secret"


def _magic_numbers(
    subject: str, *, except_outcome: str | None = None
) -> tuple[spec.MagicNumber, ...]:
    """The sandbox spec's values for one subject (`CREATE`, ...), in the spec's order."""
    return tuple(
        number
        for number in spec.magic_numbers()
        if number.subject == subject and number.outcome != except_outcome
    )


# Create outcomes the fuzzing may ask for (a refusal left out); "" leaves the merchant's
# default behaviour.
CREATE_OUTCOMES: tuple[str, ...] = (
    "",
    *(number.value for number in _magic_numbers("CREATE", except_outcome="NOT_AVAILABLE")),
)
ACTIVATION_INFO_OUTCOMES: tuple[str, ...] = tuple(
    number.value for number in _magic_numbers("ACTIVATION_INFO")
)
# A value no sandbox knows: the request is a BAD_REQUEST whatever the operation.
UNKNOWN_MAGIC_NUMBER = "NO_SUCH_MAGIC_NUMBER"
# The values that fail any request, by the HTTP status of the responseCode they force.
TRANSIENT_OUTCOMES: dict[int, str] = dict(
    sorted(
        (spec.general_http_statuses()[number.outcome], number.value)
        for number in _magic_numbers(spec.ANY_OPERATION)
    )
)
