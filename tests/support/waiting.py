"""Waiting on what a test needs without betting on the machine's speed."""

from __future__ import annotations

import time
from collections.abc import Callable

#: Seconds without any progress after which a wait gives up: a hang, never a slow machine.
STALLED_AFTER_SECONDS = 60.0


def until_reached(
    count: Callable[[], int], target: int, *, stalled_after: float = STALLED_AFTER_SECONDS
) -> int:
    """Wait until `count()` reaches `target`, however long that takes while it keeps growing;
    fail only when it has not grown for `stalled_after` seconds. Returns the last count."""
    last, since = count(), time.monotonic()
    while last < target:
        time.sleep(0.01)
        now = count()
        if now > last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > stalled_after:
            raise AssertionError(
                f"stalled at {last} of {target}: no progress for {stalled_after:.0f} s"
            )
    return last
