"""Reading a `Retry-After` header: how long the server asks the client to wait.

Its own module because both the errors (`RateLimitError.retry_after`) and the retry loop read
it, and the retry loop depends on the errors.
"""

from __future__ import annotations

import datetime
import email.utils
import time


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or HTTP date); `None` if unusable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        # An HTTP-date is always GMT (RFC 9110); a "-0000" or zone-less stamp parses naive, and
        # `timestamp()` would read it in the machine's local time.
        moment = moment.replace(tzinfo=datetime.UTC)
    return max(0.0, moment.timestamp() - time.time())
