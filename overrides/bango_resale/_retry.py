"""When to try a request again, and how long to wait first.

The policy is data (`RetryPolicy`); `is_retryable` says which failures deserve another try and
`Attempts` keeps one call's count, time budget and next wait. The loops that apply them live in
the clients. Sleeping goes through this module's `sleep` / `async_sleep` so tests can patch
them and count.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

import bango_resale_spec as spec

from . import _constants, _logging
from ._errors import (
    RESPONSE_CODE_ERRORS,
    ApiError,
    BangoResaleError,
    NothingListeningError,
    TransportError,
    UnknownClientActionError,
    transport_error,
)
from ._retry_after import parse_retry_after

if TYPE_CHECKING:
    from ._operations import PreparedCall

log = _logging.logger

sleep = time.sleep
async_sleep = asyncio.sleep


@functools.cache
def transient_response_codes() -> frozenset[str]:
    """The `responseCode` values the spec marks `transient`."""
    return frozenset(row.response_code for row in spec.response_code_rows() if row.transient)


@functools.cache
def transient_http_statuses() -> frozenset[int]:
    """HTTP statuses worth retrying even when the body is not a Bango envelope."""
    from_spec = {row.http_status for row in spec.response_code_rows() if row.transient}
    return frozenset(from_spec | _constants.GATEWAY_STATUSES)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a call retries transient failures.

    Only connection errors, timeouts and the spec's transient response codes are retried;
    everything else (`ALREADY_EXISTS`, `NOT_AVAILABLE`, any other 4xx) fails at once. Retrying a
    mutating call is safe because every attempt carries the same `X-RequestIdentifier`.
    """

    max_attempts: int = _constants.DEFAULT_MAX_ATTEMPTS
    initial_backoff: float = _constants.DEFAULT_INITIAL_BACKOFF_SECONDS
    max_backoff: float = _constants.DEFAULT_MAX_BACKOFF_SECONDS
    jitter: float = _constants.DEFAULT_JITTER_FRACTION
    max_total_seconds: float = _constants.DEFAULT_MAX_TOTAL_SECONDS
    max_retry_after: float = _constants.MAX_RETRY_AFTER_SECONDS

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ValueError("max_attempts must be a whole number, at least 1 (1: never retry)")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter is a fraction between 0 and 1")
        for name in ("initial_backoff", "max_backoff", "max_total_seconds", "max_retry_after"):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"{name} is a number of seconds, at least 0")

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that sends each request once."""
        return cls(max_attempts=1)

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry `retry_number` (1-based) when the server gave no hint."""
        # The exponent is capped: 2.0**1024 overflows, and 2**62 times any backoff is past any cap.
        doubling = 2.0 ** min(retry_number - 1, 62)
        ceiling = min(self.max_backoff, self.initial_backoff * doubling)
        # Taking a random slice off spreads out clients that failed at the same moment.
        return ceiling * (1.0 - self.jitter * random.random())

    def delay_before_retry(self, retry_number: int, retry_after: float | None) -> float | None:
        """Seconds to wait, or `None` when the server asks for longer than we will wait."""
        if retry_after is None:
            return self.backoff(retry_number)
        if retry_after > self.max_retry_after:
            return None
        return retry_after


DEFAULT_RETRY_POLICY = RetryPolicy()


def is_retryable(failure: BangoResaleError) -> bool:
    """Connection errors, timeouts and the spec's transient answers; nothing else.

    A refused connection to this machine is not retried: nothing listens there, and waiting
    a few seconds will not start it (`NothingListeningError` says what will).
    """
    if isinstance(failure, TransportError):
        return not isinstance(failure, NothingListeningError)
    if not isinstance(failure, ApiError) or isinstance(failure, UnknownClientActionError):
        return False
    if failure.response_code in transient_response_codes():
        return True
    # Without a known code (e.g. a proxy's HTML 503) only the status can tell.
    code_known = failure.response_code in RESPONSE_CODE_ERRORS
    return not code_known and failure.http_status in transient_http_statuses()


class Attempts:
    """Bookkeeping for one call's attempts: counts, the time budget and the next wait."""

    def __init__(
        self, policy: RetryPolicy, call: PreparedCall[Any], base_url: str, base_url_setting: str
    ) -> None:
        self.policy = policy
        self.call = call
        self.url = f"{base_url}{call.url}"
        self.base_url_setting = base_url_setting
        self.number = 0
        self.started = time.monotonic()
        self.waited = 0.0

    def begin(self) -> None:
        self.number += 1

    def delay_after(self, failure: BangoResaleError) -> float | None:
        """Seconds to wait before trying again, or `None` to give up and raise `failure`."""
        if not is_retryable(failure) or self.number >= self.policy.max_attempts:
            return None
        retry_after = None
        if isinstance(failure, ApiError):
            retry_after = parse_retry_after(failure.headers.get("retry-after"))
        delay = self.policy.delay_before_retry(self.number, retry_after)
        if delay is None:
            return None
        # Counting the planned waits as well keeps the budget exact even where sleep is patched.
        elapsed = max(time.monotonic() - self.started, self.waited)
        if elapsed + delay > self.policy.max_total_seconds:
            return None
        self.waited += delay
        log.warning(
            "%s %s: attempt %d failed (%s); retrying in %.2fs%s",
            self.call.operation,
            self.url,
            self.number,
            type(failure).__name__,
            delay,
            f" with request id {rid}" if (rid := self.call.request_identifier) else "",
        )
        return delay

    def transport_failure(self, exc: httpx.HTTPError) -> BangoResaleError:
        # The URL is the first thing to check when nothing answers, so every message names it.
        return transport_error(
            exc,
            f"{self.call.operation}: {self.call.method} {self.url}",
            self.url,
            request_identifier=self.call.request_identifier,
            attempts=self.number,
            base_url_setting=self.base_url_setting,
        )

    def stamp(self, failure: BangoResaleError) -> BangoResaleError:
        if isinstance(failure, ApiError | TransportError):
            failure.attempts = self.number
        return failure
