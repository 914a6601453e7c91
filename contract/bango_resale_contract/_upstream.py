"""The proxy's client half: requests sent on to one service over aiohttp's client.

aiohttp keeps a pool of keep-alive connections, frames request bodies (the caller's
Content-Length, else chunked), reads past interim 1xx answers to the final one, and reads
answers delimited by their length, by chunks or by the connection closing. It is set up to
send what the caller sent and nothing else: no default headers, no cookies kept between
callers (a cookie jar would hand one client's cookies to the next), no redirects followed,
no decoding of bodies (they go back to the client as they came), the raw path and query as
given. Chosen over httpx/httpcore on CPU per request: httpcore's pool hands each request a
connection by walking every connection, which costs over a millisecond per request at 32
concurrent ones on the development machine, where aiohttp takes about 0.1 ms.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from urllib.parse import urlsplit

import aiohttp
import yarl

from bango_resale_contract._messages import Answer

# Seconds to open a connection, and to wait for each read of an answer.
CONNECT_SECONDS = 10.0
READ_SECONDS = 60.0
# Seconds an idle connection is kept for the next request: below the idle timeouts servers
# commonly use (uvicorn's default is 5), so that the pool does not send a request on a
# connection the service is closing at that moment. aiohttp sends again by itself only
# idempotent requests; a create that met such a race would get a 502.
IDLE_SECONDS = 4.0

Body = bytes | AsyncIterable[bytes]


class UpstreamError(Exception):
    """No (whole) answer: the service could not be reached, closed the connection, timed out,
    or sent something that is not HTTP/1.1."""


class UpstreamAnswer:
    """The final answer to one request: its head, and its body read as it arrives. `release`
    it once done: its connection goes back to the pool if the body was read to its end, and
    is closed otherwise."""

    __slots__ = ("_response", "answer")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.answer = Answer(response.status, list(response.raw_headers))

    @property
    def length(self) -> int | None:
        """The body's length, when the answer says it (Content-Length)."""
        return self._response.content_length

    async def whole(self) -> bytes:
        """The whole body (for one whose length is known to be small)."""
        try:
            return await self._response.read()
        except (TimeoutError, aiohttp.ClientError) as error:
            raise UpstreamError(_describe(error)) from error

    def release(self) -> None:
        self._response.release()

    async def pieces(self) -> AsyncIterator[bytes]:
        """The body, piece by piece as it arrives."""
        try:
            async for piece in self._response.content.iter_any():
                yield piece
        except (TimeoutError, aiohttp.ClientError) as error:
            raise UpstreamError(_describe(error)) from error


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class Upstream:
    """Keep-alive connections to the service at `base_url`; `start` and `close` them within
    the event loop that serves."""

    def __init__(self, base_url: str, *, connections: int) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http(s) URL with a host")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        # A service mounted under a path: every target goes beneath it.
        self.prefix = parts.path.rstrip("/")
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self.connections, limit_per_host=0, keepalive_timeout=IDLE_SECONDS
            ),
            timeout=aiohttp.ClientTimeout(
                total=None, connect=CONNECT_SECONDS, sock_read=READ_SECONDS
            ),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            trust_env=False,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def url(self, target: bytes) -> yarl.URL:
        """The URL for a raw target, byte for byte (bytes past ASCII, which no valid target
        holds, percent-encoded)."""
        if not target.isascii():
            target = b"".join(
                b"%%%02X" % byte if byte > 0x7F else bytes((byte,)) for byte in target
            )
        return yarl.URL(self.origin + self.prefix + target.decode("ascii"), encoded=True)

    async def send(
        self, method: str, target: bytes, headers: list[tuple[str, str]], body: Body
    ) -> UpstreamAnswer:
        """Send a request (its body whole, or piece by piece as an async iterable) and return
        its final answer, to be released once read."""
        if self._session is None:
            raise RuntimeError("the upstream client was not started")
        try:
            response = await self._session.request(
                method,
                self.url(target),
                headers=headers,
                data=body if body or not isinstance(body, bytes) else None,
                allow_redirects=False,
            )
        except (TimeoutError, aiohttp.ClientError) as error:
            raise UpstreamError(_describe(error)) from error
        return UpstreamAnswer(response)
