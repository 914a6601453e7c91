"""Logging through the standard `logging` module, with secrets kept out of the output.

The package logs to the `bango_resale` logger and adds no handler unless asked: set
`BANGO_RESALE_LOG=debug` (or `info`) to get stderr output without touching logging config.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping

from . import _constants

logger = logging.getLogger("bango_resale")
# A library must not print through logging's last-resort handler when the app configured none.
logger.addHandler(logging.NullHandler())

REDACTED = "[REDACTED]"
SENSITIVE_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization", "cookie"})

_env_handler_installed = False


def configure_from_environment() -> None:
    """Attach one stderr handler if `BANGO_RESALE_LOG` asks for it (idempotent)."""
    global _env_handler_installed
    level_name = os.environ.get(_constants.ENV_LOG_LEVEL, "").strip().upper()
    if not level_name or _env_handler_installed:
        return
    level = logging.getLevelName(level_name)
    if not isinstance(level, int):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    _env_handler_installed = True


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """A copy of the headers that is safe to log: credentials replaced by a marker."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {
        name: (REDACTED if name.lower() in SENSITIVE_HEADERS else value) for name, value in items
    }
