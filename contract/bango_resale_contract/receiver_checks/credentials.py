"""The credentials the platform sends a receiver (one of the webhook's three schemes), their
wrong and malformed variants, and the same for a curl reproducer with the secret left to a
shell variable."""

from __future__ import annotations

import base64
import shlex
from dataclasses import dataclass

import bango_resale_spec as spec
from bango_resale_contract.receiver_checks.notifications import WEBHOOK, webhook

# Placeholders the reproducers use instead of the credentials.
USER_VARIABLE, PASSWORD_VARIABLE = "$RECEIVER_USER", "$RECEIVER_PASSWORD"
API_KEY_VARIABLE, TOKEN_VARIABLE = "$RECEIVER_API_KEY", "$RECEIVER_TOKEN"


class ArgumentError(ValueError):
    """A bad argument to `check_receiver` (or the command line): `argument` names it."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument
        self.message = message


def api_key_header() -> str:
    """The header the webhook's apiKey security scheme names (`X-Api-Key`)."""
    schemes = spec.load_partner_spec()["components"]["securitySchemes"]
    for requirement in webhook()["security"]:
        for name in requirement:
            if schemes[name]["type"] == "apiKey" and schemes[name]["in"] == "header":
                return str(schemes[name]["name"])
    raise LookupError(f"webhook {WEBHOOK} names no apiKey header scheme")


@dataclass(frozen=True, slots=True)
class Credentials:
    """How the platform authenticates to the receiver: one of the webhook's three schemes."""

    kind: str  # "basic", "api_key" or "bearer"
    user: str  # basic only
    secret: str  # the password, the key or the token

    @classmethod
    def of(
        cls, basic: tuple[str, str] | None, api_key: str | None, bearer_token: str | None
    ) -> Credentials:
        if sum(value is not None for value in (basic, api_key, bearer_token)) != 1:
            raise ArgumentError(
                "credentials",
                "give exactly one of basic=(user, password), api_key= or bearer_token=: the"
                " credentials the platform is configured to send your receiver",
            )
        if basic is not None:
            user, password = basic
            if not user or not password or ":" in user:
                raise ArgumentError("basic", "expected USER:PASSWORD, both non-empty")
            return cls("basic", user, password)
        if api_key is not None:
            if not api_key:
                raise ArgumentError("api_key", "the key is empty")
            return cls("api_key", "", api_key)
        if not bearer_token:
            raise ArgumentError("bearer_token", "the token is empty")
        return cls("bearer", "", bearer_token)

    @property
    def label(self) -> str:
        if self.kind == "api_key":
            return f"{api_key_header()} header"
        return "Basic password" if self.kind == "basic" else "bearer token"

    def _wrong(self) -> str:
        """A secret of the same kind that is not this one."""
        wrong = {"basic": "not-the-password", "api_key": "not-the-key"}.get(self.kind, "not-it")
        return wrong + "-x" if wrong == self.secret else wrong

    def headers(self, which: str) -> tuple[tuple[bytes, bytes], ...]:
        """Headers for `which`: "valid", "none", "wrong" or "malformed" credentials."""
        if which == "none":
            return ()
        secret = self.secret if which == "valid" else self._wrong()
        if self.kind == "api_key":
            # Malformed: a key that is not even ASCII (a receiver must not crash decoding it).
            value = b"\xe9t\xe9-" + secret.encode() if which == "malformed" else secret.encode()
            return ((api_key_header().encode(), value),)
        if which == "malformed":
            value = b"Basic !not base64!" if self.kind == "basic" else b"Bearer"
        elif self.kind == "basic":
            value = b"Basic " + base64.b64encode(f"{self.user}:{secret}".encode())
        else:
            value = f"Bearer {secret}".encode()
        return ((b"Authorization", value),)

    def curl_arguments(self, which: str) -> tuple[str, ...]:
        """The same credentials for curl, a real secret left to a shell variable."""
        if which in ("none", "malformed"):
            return tuple(
                part
                for name, value in self.headers(which)
                for part in ("-H", shell_bytes(name + b": " + value))
            )
        if self.kind == "basic":
            secret = PASSWORD_VARIABLE if which == "valid" else self._wrong()
            return ("-u", f'"{USER_VARIABLE}:{secret}"')
        variable = API_KEY_VARIABLE if self.kind == "api_key" else TOKEN_VARIABLE
        secret = variable if which == "valid" else self._wrong()
        header = f"{api_key_header()}: " if self.kind == "api_key" else "Authorization: Bearer "
        return ("-H", f'"{header}{secret}"')


def credential_variables(authentication: str) -> str:
    if authentication == "basic":
        return f"{USER_VARIABLE} and {PASSWORD_VARIABLE}"
    return API_KEY_VARIABLE if authentication == "api_key" else TOKEN_VARIABLE


def shell_bytes(data: bytes) -> str:
    """`data` as one shell word: quoted text, or bash's $'...' where it is not printable."""
    text = data.decode("utf-8", "replace")
    if text.encode() == data and text.isprintable():
        return shlex.quote(text)
    escaped = "".join(
        chr(byte) if 32 <= byte < 127 and byte not in b"\\'" else f"\\x{byte:02x}" for byte in data
    )
    return f"$'{escaped}'"
