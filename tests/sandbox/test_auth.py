"""Basic authentication of resellers, including the remembered accepted headers."""

from __future__ import annotations

import base64

from bango_resale_sandbox.auth import Authenticator
from bango_resale_sandbox.config import ResellerConfig


def basic(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


def test_only_the_right_password_is_accepted_also_after_a_remembered_success() -> None:
    auth = Authenticator({"acme": ResellerConfig("acme", "s3cret")})
    right, wrong = basic("acme", "s3cret"), basic("acme", "s3cret!")
    assert auth.reseller_for(wrong) is None
    assert auth.reseller_for(right) == "acme"
    assert auth.reseller_for(right) == "acme"  # remembered
    assert auth.reseller_for(wrong) is None
    assert auth.reseller_for(basic("nobody", "s3cret")) is None
    assert auth.reseller_for(b"Bearer " + right[6:]) is None
    assert auth.reseller_for(None) is None


def test_remembering_is_bounded() -> None:
    auth = Authenticator({"acme": ResellerConfig("acme", "s3cret")})
    # Padding variants of one credential decode alike: each is a distinct header.
    for spaces in range(1100):
        header = basic("acme", "s3cret") + b" " * spaces
        assert auth.reseller_for(header) == "acme"
    assert len(auth._accepted) == 1024
