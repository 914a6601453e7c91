"""The part of a body the proxy keeps to judge: decoded as it passes, never past a bound.

A body goes on to its recipient as it came, piece by piece; the judge needs it decoded
(`Content-Encoding` gzip or deflate) and whole. `KeptBody` is fed each raw piece as it passes
and decodes it incrementally, asking zlib for no more output than the bound leaves: a small
compressed body that expands to gigabytes costs at most the bound in memory and CPU, and
other traffic never waits for it. Past the bound, or in an encoding it does not decode
(br, zstd, stacked codings) or that is broken, it stops keeping anything and says why: the
exchange is then reported as not judged, never passed.
"""

from __future__ import annotations

import zlib
from typing import Protocol

# Content codings the judge decodes: zlib's window bits for each ("deflate" is the zlib
# format by RFC 9110; some servers send a raw deflate stream, tried when that fails).
_GZIP = 16 + zlib.MAX_WBITS
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS
_WINDOW_BITS = {"gzip": _GZIP, "x-gzip": _GZIP, "deflate": _ZLIB}


class _Decoder(Protocol):
    """What the judge uses of a `zlib.decompressobj`."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


def codings(header: bytes | None) -> list[str]:
    """The content codings a Content-Encoding value lists, in the order they were applied."""
    if not header:
        return []
    named = (part.strip().lower() for part in header.decode("latin-1").split(","))
    return [name for name in named if name and name != "identity"]


class KeptBody:
    """One body as the judge will see it: `feed` every raw piece, then read `decoded()`.
    `why_not` is None while the body is kept, else the reason it will not be judged."""

    __slots__ = ("_bits", "_decoder", "_kept", "_size", "limit", "raw_size", "side", "why_not")

    def __init__(self, side: str, limit: int, content_encoding: bytes | None = None) -> None:
        self.side = side  # "request" or "answer", for the reason given
        self.limit = limit
        self.raw_size = 0
        self._size = 0  # decoded bytes kept
        self._kept: list[bytes] = []
        self._decoder: _Decoder | None = None
        self._bits = 0
        self.why_not: str | None = None
        listed = codings(content_encoding)
        if len(listed) == 1 and listed[0] in _WINDOW_BITS:
            self._bits = _WINDOW_BITS[listed[0]]
            self._decoder = zlib.decompressobj(self._bits)
        elif listed:
            self.why_not = (
                f"the {side} body is encoded as {', '.join(listed)}, which the proxy does not"
                " decode (it decodes gzip and deflate)"
            )

    def feed(self, piece: bytes) -> None:
        """The next raw piece of the body, as it passed."""
        self.raw_size += len(piece)
        if self.why_not is not None or not piece:
            return
        if self._decoder is None:
            self._keep(piece)
            return
        try:
            self._decode(piece)
        except zlib.error:
            self._give_up(f"the {self.side} body does not decode as its Content-Encoding says")

    def _decode(self, piece: bytes) -> None:
        decoder = self._decoder
        while piece and decoder is not None and self.why_not is None:
            try:
                # At most one byte past the bound: enough to know the bound was passed.
                out = decoder.decompress(piece, self.limit + 1 - self._size)
            except zlib.error:
                if self._bits != _ZLIB or self.raw_size != len(piece) or self._size:
                    raise
                # "deflate" that is not the zlib format: a raw deflate stream.
                self._bits = _RAW_DEFLATE
                decoder = self._decoder = zlib.decompressobj(_RAW_DEFLATE)
                continue
            self._keep(out)
            if decoder.eof and decoder.unused_data:
                if self._bits != _GZIP:
                    self._give_up(f"the {self.side} body has bytes past its deflate stream")
                    return
                # gzip allows several members one after another.
                piece = decoder.unused_data
                decoder = self._decoder = zlib.decompressobj(_GZIP)
            else:
                piece = b""

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self.limit:
            what = "decodes to" if self._decoder is not None else "is"
            self._give_up(
                f"the {self.side} body {what} more than the {self.limit} bytes the proxy keeps"
                " to judge"
            )
        elif data:
            self._kept.append(data)

    def _give_up(self, why: str) -> None:
        self.why_not = why
        self._kept = []
        self._decoder = None

    def decoded(self) -> bytes | None:
        """The whole body decoded, once every piece was fed; None if it is not judged."""
        decoder = self._decoder
        if self.why_not is None and decoder is not None and not decoder.eof and self.raw_size:
            self._give_up(f"the {self.side} body ends before its compressed stream does")
        if self.why_not is not None:
            return None
        kept = self._kept
        return kept[0] if len(kept) == 1 else b"".join(kept)
