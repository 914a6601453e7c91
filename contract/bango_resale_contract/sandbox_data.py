"""Test aids of Bango's sandbox (and this project's): what the public docs name, not the spec.

The partner spec describes the API; which merchants exist and which `X-Magic-Number` values a
sandbox understands are facts about a test service. They live here, in one place, for the
hooks and the scenario suite.
"""

from __future__ import annotations

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

# Create outcomes the fuzzing may ask for; "" leaves the merchant's default behaviour.
CREATE_OUTCOMES: tuple[str, ...] = (
    "",
    "CREATE_REQUEST_RETURNS_ACTIVATED",
    "CREATE_REQUEST_RETURNS_CREATED",
    "CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED",
)
ACTIVATION_INFO_OUTCOMES: tuple[str, ...] = (
    "ACTIVATION_INFO_RETURNS_ACTIVATION_URL",
    "ACTIVATION_INFO_RETURNS_ACTIVATION_CODE",
)
# A value no sandbox knows: the request is a BAD_REQUEST whatever the operation.
UNKNOWN_MAGIC_NUMBER = "NO_SUCH_MAGIC_NUMBER"
TRANSIENT_OUTCOMES: dict[int, str] = {
    429: "ANY_REQUEST_RETURNS_TOO_MANY_REQUESTS",
    500: "ANY_REQUEST_RETURNS_INTERNAL_ERROR",
    503: "ANY_REQUEST_RETURNS_SERVICE_UNAVAILABLE",
}
