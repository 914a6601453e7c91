"""What the proxy keeps of a body to judge: decoded as it passes, never past the bound."""

from __future__ import annotations

import gzip
import zlib

from bango_resale_contract._bodies import KeptBody

LIMIT = 1000


def _fed(body: KeptBody, data: bytes, piece: int = 7) -> KeptBody:
    for start in range(0, len(data), piece):
        body.feed(data[start : start + piece])
    return body


def test_identity_within_and_past_the_bound() -> None:
    assert _fed(KeptBody("answer", LIMIT), b"x" * LIMIT).decoded() == b"x" * LIMIT
    past = _fed(KeptBody("answer", LIMIT), b"x" * (LIMIT + 1))
    assert past.decoded() is None and "is more than the 1000 bytes" in str(past.why_not)
    assert past.raw_size == LIMIT + 1  # still counted as it passed


def test_gzip_in_small_pieces_and_in_several_members() -> None:
    text = b'{"a": "' + b"b" * 300 + b'"}'
    assert _fed(KeptBody("answer", LIMIT, b"gzip"), gzip.compress(text)).decoded() == text
    two = gzip.compress(text[:100]) + gzip.compress(text[100:])
    assert _fed(KeptBody("answer", LIMIT, b"x-gzip"), two).decoded() == text


def test_deflate_in_either_form() -> None:
    text = b"c" * 500
    assert _fed(KeptBody("request", LIMIT, b"deflate"), zlib.compress(text)).decoded() == text
    squeeze = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = squeeze.compress(text) + squeeze.flush()
    assert KeptBody("request", LIMIT, b"Deflate").decoded() == b""  # nothing fed, nothing kept
    kept = KeptBody("request", LIMIT, b"deflate")
    kept.feed(raw)
    assert kept.decoded() == text


def test_a_bomb_is_decoded_no_further_than_the_bound() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)
    kept = KeptBody("answer", LIMIT, b"gzip")
    kept.feed(bomb)
    assert kept.decoded() is None and "decodes to more than" in str(kept.why_not)


def test_broken_truncated_and_unknown_encodings_are_not_judged() -> None:
    broken = KeptBody("answer", LIMIT, b"gzip")
    broken.feed(b"this is not gzip")
    assert broken.decoded() is None and "does not decode" in str(broken.why_not)
    truncated = KeptBody("answer", LIMIT, b"gzip")
    truncated.feed(gzip.compress(b"d" * 500)[:-8])
    assert truncated.decoded() is None and "ends before" in str(truncated.why_not)
    for header in (b"br", b"zstd", b"gzip, gzip"):
        unknown = KeptBody("answer", LIMIT, header)
        unknown.feed(b"anything")
        assert unknown.decoded() is None and "does not decode" in str(unknown.why_not)
    assert KeptBody("answer", LIMIT, b"identity").why_not is None
