"""Named defaults for the client: timeouts, retries, backoff and environment variable names.

Every number the client uses without being told lives here, so a reader can see (and a caller
can override) the policy in one place.
"""

from __future__ import annotations

import importlib.metadata

import httpx

#: Where requests go when neither an argument nor `BANGO_RESALE_BASE_URL` says otherwise.
DEFAULT_BASE_URL = "https://resale.api.bango.net"

ENV_BASE_URL = "BANGO_RESALE_BASE_URL"
ENV_USERNAME = "BANGO_RESALE_USERNAME"
ENV_PASSWORD = "BANGO_RESALE_PASSWORD"
#: `debug` or `info` turns on log output to stderr (see `bango_resale._logging`).
ENV_LOG_LEVEL = "BANGO_RESALE_LOG"

#: A request never waits forever: 10 s overall, 5 s to connect.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)

#: First try plus three retries.
DEFAULT_MAX_ATTEMPTS = 4
#: Backoff before retry n is INITIAL * 2**(n-1), capped at MAX, minus up to JITTER of itself.
DEFAULT_INITIAL_BACKOFF_SECONDS = 0.5
DEFAULT_MAX_BACKOFF_SECONDS = 8.0
DEFAULT_JITTER_FRACTION = 0.25
#: A call never waits, nor starts another attempt, past this many seconds from its start; an
#: attempt already under way still runs to its own timeout.
DEFAULT_MAX_TOTAL_SECONDS = 60.0
#: A `Retry-After` longer than this is not worth waiting for inside one call.
MAX_RETRY_AFTER_SECONDS = 60.0

#: Statuses a proxy or load balancer in front of the platform may answer with; they carry no
#: Bango envelope but are as transient as the platform's own 503.
GATEWAY_STATUSES = frozenset({502, 504})

REQUEST_ID_HEADER = "X-RequestIdentifier"
MAGIC_NUMBER_HEADER = "X-Magic-Number"
API_KEY_HEADER = "X-Api-Key"

# The distribution's own version, so the header never disagrees with what is installed.
VERSION = importlib.metadata.version("bango-resale")
USER_AGENT = f"bango-resale-python/{VERSION}"
