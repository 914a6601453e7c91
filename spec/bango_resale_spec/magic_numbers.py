"""The sandbox spec's `X-Magic-Number` values: the header that forces the mocked merchant's
answer.

Read from the `MagicNumber` schema of `sandbox.openapi.yaml`: its `enum` lists the values and
`x-enumDescriptions` says what each does. A value's name says what it applies to and what it
forces, `<OPERATION>_REQUEST_RETURNS_<OUTCOME>` (`ACTIVATION_INFO_RETURNS_<OUTCOME>`), with
`ANY` for the values that apply to every operation; `MagicNumber` reads both parts.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .tables import load_sandbox_spec

#: The `subject` of the values that apply to every operation (`ANY_REQUEST_RETURNS_*`).
ANY_OPERATION = "ANY"

_NAME = re.compile(r"(?P<subject>[A-Z_]+?)(?:_REQUEST)?_RETURNS_(?P<outcome>[A-Z_]+)")


@dataclass(frozen=True, slots=True)
class MagicNumber:
    """One value of the `X-Magic-Number` header and what it forces."""

    value: str
    #: What it applies to, as its name says: `CREATE`, `ACTIVATION_INFO`, `CANCEL`, `REVOKE`,
    #: `SUSPEND`, `RESUME`, `UPDATE`, `REACTIVATE`, or `ANY` (every operation).
    subject: str
    #: The answer it forces, as its name says: `ACTIVATED`, `ACCEPTED`, `NOT_AVAILABLE`, ...;
    #: for `ANY`, the responseCode every request gets (`INTERNAL_ERROR`, ...).
    outcome: str
    #: What it does, in words (for people and the `listMagicNumbers` answer).
    effect: str

    @property
    def applies_to_any_operation(self) -> bool:
        return self.subject == ANY_OPERATION


@functools.cache
def magic_numbers() -> tuple[MagicNumber, ...]:
    """Every value, in the spec's order. ValueError when the enum and its descriptions differ
    or a name does not follow the pattern."""
    schema = load_sandbox_spec()["components"]["schemas"]["MagicNumber"]
    values = [str(value) for value in schema["enum"]]
    effects = {str(value): str(effect) for value, effect in schema["x-enumDescriptions"].items()}
    if set(values) != set(effects):
        raise ValueError(
            "MagicNumber: enum and x-enumDescriptions list different values:"
            f" {sorted(set(values) ^ set(effects))}"
        )
    numbers = []
    for value in values:
        parts = _NAME.fullmatch(value)
        if parts is None:
            raise ValueError(f"MagicNumber {value!r} is not <SUBJECT>_REQUEST_RETURNS_<OUTCOME>")
        numbers.append(MagicNumber(value, parts["subject"], parts["outcome"], effects[value]))
    return tuple(numbers)


def magic_number(value: str) -> MagicNumber:
    """The value's entry; KeyError naming the known values when the spec has no such value."""
    for number in magic_numbers():
        if number.value == value:
            return number
    known = ", ".join(n.value for n in magic_numbers())
    raise KeyError(f"the sandbox spec has no X-Magic-Number {value!r}; known: {known}")
