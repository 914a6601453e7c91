"""JSON as the sandbox reads and writes it: orjson's speed and strictness, with integers of
any size kept exactly.

orjson holds integers in [-2**63, 2**64 - 1]; it reads a longer one as a double (10**30 comes
back as 1e+30) and refuses to write one. Custom properties are stored and answered as they were
sent, so a text with such an integer is read again by the standard library and the integer is
written back as its digits. Both cases cost nothing on the usual path: a regex scan on reading,
and a retry only after orjson refuses to write.
"""

from __future__ import annotations

import enum
import json
import re
from typing import Any

import orjson

# An integer outside orjson's range has at least 19 digits in a row.
_LONG_DIGITS = re.compile(rb"\d{19}")
_SMALLEST = -(2**63)
_LARGEST = 2**64 - 1

JSONDecodeError = orjson.JSONDecodeError


class WideInteger(int):
    """An integer outside orjson's range: an int to every reader, written as its digits."""

    __slots__ = ()


def _integer(text: str) -> int:
    value = int(text)
    return value if _SMALLEST <= value <= _LARGEST else WideInteger(value)


def loads(text: bytes) -> Any:
    """Parse JSON by orjson's strict rules (JSONDecodeError when it is not JSON), keeping
    integers of any size exact."""
    value = orjson.loads(text)
    if _LONG_DIGITS.search(text) is None:
        return value
    # orjson has vouched for the text, so the standard library reads the same document.
    return json.loads(text, parse_int=_integer)


def _as_json(value: Any) -> Any:
    # Called for what orjson does not write itself: with subclasses passed through, that is
    # every subclass of str, int, dict and list, not only WideInteger.
    if isinstance(value, WideInteger):
        return orjson.Fragment(str(int(value)).encode())
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(value: Any) -> bytes:
    """Compact JSON bytes, writing integers of any size exactly."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        # Only a WideInteger makes orjson refuse what the sandbox writes (the records, bodies and
        # payloads it builds hold nothing else it cannot write).
        return orjson.dumps(value, default=_as_json, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
