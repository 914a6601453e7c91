"""The message model between the proxy's two halves: a request as its server half received
it, an answer as its client half received it, and which of their headers go on.

The halves never share a connection's state: the server half (an ASGI application) turns what
the client sent into a `Request`, the client half sends it upstream and hands back an
`Answer`. Interim answers (1xx) end nothing: the server half answers `Expect: 100-continue`
itself (as mitmproxy does), and the client library reads past any 1xx to the final answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Header = tuple[bytes, bytes]

# Hop-by-hop headers (RFC 9110 section 7.6.1) belong to one connection and never go on, nor
# does any header the Connection header names. The proxy's own credentials are not forwarded.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Set for the next hop by the client half (Host), or dealt with by the server half (the
# expectation: the body is sent on without waiting, the next hop owes no 100 Continue).
NOT_FORWARDED_REQUEST = HOP_BY_HOP | {b"host", b"expect"}
CONTENT_ENCODING = b"content-encoding"
CONTENT_LENGTH = b"content-length"


class NotForwardable(ValueError):
    """A request the client half cannot send on unchanged; the message names the header."""


@dataclass(frozen=True, slots=True)
class Request:
    """A request as the proxy's server half received it."""

    method: str
    # The raw path and query, byte for byte as they came.
    target: bytes
    headers: list[Header]

    def header(self, name: bytes) -> bytes | None:
        return first(self.headers, name)


@dataclass(frozen=True, slots=True)
class Answer:
    """The final answer's status and headers, as the upstream sent them."""

    status: int
    headers: list[Header]

    def header(self, name: bytes) -> bytes | None:
        return first(self.headers, name)


def first(headers: Iterable[Header], name: bytes) -> bytes | None:
    """The value of the first header called `name` (lower case), or None."""
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _dropped(headers: list[Header], always: frozenset[bytes]) -> frozenset[bytes]:
    """`always`, and the headers a Connection header names."""
    named = [
        token.strip().lower()
        for key, value in headers
        if key.lower() == b"connection"
        for token in value.split(b",")
    ]
    return always.union(named) if named else always


def forwarded_request_headers(headers: list[Header]) -> list[tuple[str, str]]:
    """The request headers that go on, as the client library takes them (text that it
    encodes as UTF-8: a value that is not UTF-8 could not go on unchanged). The server half
    gives header names in lower case."""
    dropped = _dropped(headers, NOT_FORWARDED_REQUEST)
    kept = []
    for key, value in headers:
        name = key.lower()
        if name in dropped:
            continue
        try:
            kept.append((name.decode("ascii"), value.decode("utf-8")))
        except UnicodeDecodeError as error:
            raise NotForwardable(
                f"the value of header {name.decode('latin-1')!r} is not UTF-8, so the proxy"
                " cannot send it on unchanged"
            ) from error
    return kept


def forwarded_answer_headers(headers: list[Header]) -> list[Header]:
    """The answer headers that go back to the client."""
    dropped = _dropped(headers, HOP_BY_HOP)
    return [(key, value) for key, value in headers if key.lower() not in dropped]


def may_have_body(method: str, status: int) -> bool:
    """Whether an answer to `method` with `status` carries a body (RFC 9110 section 6.4.1)."""
    return method != "HEAD" and status >= 200 and status not in (204, 304)
