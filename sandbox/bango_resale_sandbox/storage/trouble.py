"""Storage trouble told once per episode: one log line as it starts, one as it ends.

A locked, full or unreachable database fails every request until it recovers; a line (and a
traceback) per request would bury the one fact worth knowing. An episode starts with the first
failure and ends with the first write committed after it, once SETTLE_SECONDS have passed
without another failure: a read or an empty commit can succeed while writes still fail (a full
disk, a read-only transaction), so neither counts, and failures that straddle a success (the
pooled connections of a restarted server failing one by one) stay one episode.
"""

from __future__ import annotations

import asyncio
import logging
import time

from .protocol import StoreUnavailable

log = logging.getLogger("bango_resale_sandbox.storage")

# How long after a committed write no failure may come for the episode to be over.
SETTLE_SECONDS = 1.0


class TroubleReport:
    """Turns storage errors into StoreUnavailable and logs each episode once."""

    def __init__(self, database: str) -> None:
        self.database = database  # as it may be shown in the log
        self.active = False  # an episode is under way
        self._since = 0.0  # when it started
        self._failures = 0
        self._wrote_at = 0.0  # the write that may have ended it
        self._settling: asyncio.TimerHandle | None = None

    def failed(self, reason: str) -> StoreUnavailable:
        """The error to raise for a failed storage operation (logged if it starts an episode)."""
        if self._settling is not None:  # not over after all
            self._settling.cancel()
            self._settling = None
        if not self.active:
            self.active = True
            self._since = time.monotonic()
            self._failures = 0
            log.warning(
                "storage trouble with %s: %s; requests that need the database are answered"
                " 503 SERVICE_UNAVAILABLE with Retry-After until a write succeeds again",
                self.database,
                reason,
            )
        self._failures += 1
        return StoreUnavailable(reason)

    def wrote(self) -> None:
        """A write was committed: the episode, if any, is over unless another failure comes
        within SETTLE_SECONDS. Call it in the running event loop."""
        if self.active and self._settling is None:
            self._wrote_at = time.monotonic()
            self._settling = asyncio.get_running_loop().call_later(SETTLE_SECONDS, self._over)

    def close(self) -> None:
        """At shutdown: an episode that was settling is over."""
        if self._settling is not None:
            self._settling.cancel()
            self._over()

    def _over(self) -> None:
        self._settling = None
        self.active = False
        log.warning(
            "storage works again: %s committed a write %.1f s after the trouble began"
            " (%d storage operation(s) failed)",
            self.database,
            self._wrote_at - self._since,
            self._failures,
        )
