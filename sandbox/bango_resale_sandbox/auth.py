"""HTTP Basic authentication of resellers, compared in constant time."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping

from .config import ResellerConfig

# Compared against when the user name is unknown, so that a miss costs as long as a hit.
_DUMMY_SECRET = b"\x00" * 32
# Accepted headers remembered (the credentials are fixed for the process): a client sends the
# same header with every request, and decoding and comparing it cost the GET path ~10%.
_ACCEPTED_MAX = 1024


class Authenticator:
    """Maps an `Authorization` header to the reseller it identifies, or None."""

    def __init__(self, resellers: Mapping[str, ResellerConfig]) -> None:
        self._secrets = {name: r.password.encode() for name, r in resellers.items()}
        # Keyed by the whole header: bytes hash with a per-process random key, so a guess
        # cannot aim at a remembered entry.
        self._accepted: dict[bytes, str] = {}

    @staticmethod
    def claimed_user(authorization: bytes | None) -> str | None:
        """The user name of Basic user:password credentials, valid or not (for throttling):
        UTF-8 as `reseller_for` reads it, else Latin-1, so every byte string has one name."""
        pair = _basic_pair(authorization)
        if pair is None:
            return None
        try:
            return pair[0].decode()
        except UnicodeDecodeError:
            return pair[0].decode("latin-1")

    def reseller_for(self, authorization: bytes | None) -> str | None:
        """The reseller named by valid Basic credentials; None for anything else."""
        if authorization is not None:
            known = self._accepted.get(authorization)
            if known is not None:
                return known
        pair = _basic_pair(authorization)
        if pair is None:
            return None
        user, password = pair
        try:
            name = user.decode()
        except UnicodeDecodeError:
            return None
        expected = self._secrets.get(name)
        matched = hmac.compare_digest(password, expected if expected is not None else _DUMMY_SECRET)
        if not matched or expected is None:
            return None
        if authorization is not None and len(self._accepted) < _ACCEPTED_MAX:
            self._accepted[authorization] = name
        return name


def _basic_pair(authorization: bytes | None) -> tuple[bytes, bytes] | None:
    """(user, password) of a well-formed Basic `Authorization` header, else None."""
    if not authorization or authorization[:6].lower() != b"basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    return (user, password) if sep else None
