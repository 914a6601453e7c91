"""Standard reasons for suspend, cancel and revoke, read from the spec's `x-reasons` table.

Bango accepts a reason as a (category, code) pair from its table (a code alone is ambiguous),
or as any category of the table with `OTHER` when none of its codes fits, as Bango's table
says. `Reason` values are the table's rows and those fallback pairs, so the client can refuse a
bad pair before any request leaves, and warn when a row is a poor fit for the operation.
"""

from __future__ import annotations

import difflib
import functools
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Literal

import bango_resale_spec as spec

from ._errors import InvalidArgumentError, InvalidReasonError

ReasonUse = Literal["cancel", "revoke", "suspend"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class ReasonWarning(UserWarning):
    """A valid reason that suits the operation badly (suspend-preferred, platform-only)."""


@dataclass(frozen=True, slots=True)
class Reason:
    """One row of Bango's reason table, or a category with the fallback code `OTHER`.

    Use `Reason.of(category, code)` to validate a pair, `Reason.by_index(n)` to pick a row by its
    Bango index, and `Reason.all()` to list the rows. A fallback pair such as
    `CUSTOMER_CANCELLED/OTHER` has no row of its own: its `row` and `index` are `None`.
    The row's other columns (`description`, `notes`, ...) read through to the spec reader's
    `ReasonRow`, so the table has one shape.
    """

    category: str
    code: str
    row: spec.ReasonRow | None

    @property
    def index(self) -> int | None:
        """Bango's index of the row; `None` for a fallback pair."""
        return None if self.row is None else self.row.index

    @property
    def description(self) -> str:
        return spec.reason_fallback_description() if self.row is None else self.row.description

    @property
    def notes(self) -> str | None:
        return None if self.row is None else self.row.notes

    @property
    def suspend_preferred(self) -> bool:
        return self.row is not None and self.row.suspend_preferred

    @property
    def applied_by_platform(self) -> bool:
        return self.row is not None and self.row.applied_by_platform

    @property
    def pair(self) -> tuple[str, str]:
        return (self.category, self.code)

    def __str__(self) -> str:
        return f"{self.category}/{self.code}"

    @classmethod
    def all(cls) -> tuple[Reason, ...]:
        """Every row, in Bango index order."""
        return _all_reasons()

    @classmethod
    def by_index(cls, index: int) -> Reason:
        """The row with this Bango index (rows 17 and 18 share a pair, so the index is the key)."""
        for reason in _all_reasons():
            if reason.index == index:
                return reason
        last = _all_reasons()[-1].index
        raise InvalidArgumentError(
            "reason", f"there is no Bango reason index {index}; use 1 to {last}"
        )

    @classmethod
    def of(cls, category: str, code: str) -> Reason:
        """The first row with this (category, code) pair, or the category's fallback reason
        when `code` is `OTHER`; `InvalidReasonError` for any other pair."""
        for reason in _all_reasons():
            if reason.pair == (category, code):
                return reason
        if (category, code) in spec.accepted_reason_pairs():
            return _fallback_reason(category)
        suggestions = closest_pairs(category, code)
        shown = ", ".join(f"{c}/{k}" for c, k in suggestions)
        raise InvalidReasonError(
            "reason",
            f"{category}/{code} is not a pair in Bango's reason table (a code is only valid "
            f"with its category). Closest valid pairs: {shown}. "
            "Run `bango-resale reasons` for the full table.",
            suggestions,
        )

    @classmethod
    def parse(cls, text: str) -> Reason:
        """Read `CATEGORY/CODE`, `CATEGORY:CODE` (any case) or a Bango index such as `17`: the
        one reading of reason text, for the client's `reason=` and the CLI's `--reason`."""
        text = text.strip()
        if text.isdigit():
            return cls.by_index(int(text))
        for separator in ("/", ":"):
            if separator in text:
                category, _, code = text.partition(separator)
                return cls.of(category.strip().upper(), code.strip().upper())
        raise InvalidArgumentError(
            "reason", f"{text!r} is neither CATEGORY/CODE nor a Bango index such as 17"
        )


#: What the client's `reason=` takes: a `Reason`, a (category, code) pair, a Bango index, or
#: the text `Reason.parse` reads (`"REVOKED/OTHER"`, `"17"`).
ReasonLike = Reason | tuple[str, str] | int | str


@functools.cache
def _all_reasons() -> tuple[Reason, ...]:
    return tuple(Reason(row.category, row.code, row) for row in spec.reason_rows())


def _fallback_reason(category: str) -> Reason:
    return Reason(category, spec.reason_fallback_code(), None)


def closest_pairs(category: str, code: str, limit: int = 3) -> tuple[tuple[str, str], ...]:
    """The valid pairs nearest to a wrong one: same code or category first, then by spelling."""
    pairs = list(dict.fromkeys(r.pair for r in _all_reasons()))
    wanted = f"{category}/{code}"
    scored = sorted(
        pairs,
        key=lambda p: (
            -(p[1] == code) * 2 - (p[0] == category),
            -difflib.SequenceMatcher(None, wanted, f"{p[0]}/{p[1]}").ratio(),
        ),
    )
    return tuple(scored[:limit])


def _stacklevel_outside_package() -> int:
    """The `stacklevel` that points a warning at the caller's own line.

    `resolve_reason` sits one to three calls deep (suspend; cancel -> terminate; CLI), so a
    fixed number would blame the wrong line; walk out of this package instead.
    """
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def resolve_reason(reason: ReasonLike, use: ReasonUse) -> Reason:
    """Turn what the caller passed into a table row, and warn when it fits `use` badly."""
    if isinstance(reason, Reason):
        resolved = Reason.of(reason.category, reason.code)
    elif isinstance(reason, str):
        resolved = Reason.parse(reason)
    elif isinstance(reason, int):
        resolved = Reason.by_index(reason)
    elif isinstance(reason, tuple) and len(reason) == 2:
        resolved = Reason.of(str(reason[0]), str(reason[1]))
    else:
        raise InvalidArgumentError(
            "reason",
            f"got {reason!r}; pass a Reason, a (category, code) tuple, a Bango index or"
            " 'CATEGORY/CODE' text",
        )
    if resolved.applied_by_platform:
        warnings.warn(
            f"{resolved} is set by the platform itself when dateExpiry passes; resellers "
            "normally send a different reason",
            ReasonWarning,
            stacklevel=_stacklevel_outside_package(),
        )
    if resolved.suspend_preferred and use != "suspend":
        warnings.warn(
            f"Bango prefers suspend/resume over {use} for {resolved}: suspending instead keeps "
            "the entitlement resumable",
            ReasonWarning,
            stacklevel=_stacklevel_outside_package(),
        )
    return resolved
