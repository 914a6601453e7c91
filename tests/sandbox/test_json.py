"""The sandbox's JSON reader and writer: orjson's rules, integers of any size kept exactly."""

from __future__ import annotations

import enum

import pytest

from bango_resale_sandbox import _json


@pytest.mark.parametrize("number", [10**30, -(2**63) - 1, 2**64, -(10**40)])
def test_integers_outside_64_bits_come_back_as_sent(number: int) -> None:
    text = b'{"a": [%d, {"b": %d}], "c": 1.5, "d": "12345678901234567890"}' % (number, number)
    value = _json.loads(text)
    assert value == {"a": [number, {"b": number}], "c": 1.5, "d": "12345678901234567890"}
    assert isinstance(value["a"][0], int)
    assert _json.loads(_json.dumps(value)) == value
    assert _json.dumps(value) == text.replace(b": ", b":").replace(b", ", b",")


def test_integers_inside_64_bits_and_digits_in_strings_stay_on_orjson() -> None:
    value = _json.loads(b'{"n": 18446744073709551615, "s": "1234567890123456789012"}')
    assert value == {"n": 2**64 - 1, "s": "1234567890123456789012"}
    assert not isinstance(value["n"], _json.WideInteger)


@pytest.mark.parametrize(
    "text", [b"NaN", b'{"a": Infinity}', b'["\\ud800"]', b'{"a": 1e400}', b'{"a": 1,}']
)
def test_what_is_not_json_is_refused_even_with_long_digits(text: bytes) -> None:
    with pytest.raises(_json.JSONDecodeError):
        _json.loads(text)
    with pytest.raises(_json.JSONDecodeError):
        _json.loads(b"[12345678901234567890123, %s]" % text)


def test_a_wide_integer_is_written_beside_what_orjson_writes_itself() -> None:
    class Colour(enum.StrEnum):
        RED = "red"

    class Tag(str):
        pass

    value = {"colour": Colour.RED, "tag": Tag("t"), "wide": _json.WideInteger(10**20), "n": 1}
    assert _json.dumps(value) == b'{"colour":"red","tag":"t","wide":100000000000000000000,"n":1}'
