"""What the sync and async clients share: settings, per-call options, client-action handlers.

Nothing here sends a request or waits; `_async_client` (hand-written) and `_sync_client`
(generated from it by scripts/unasync.py) do that.
"""

from __future__ import annotations

import base64
import inspect
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

import httpx

from . import _constants, _logging
from ._actions import ActionT, ClientAction, NavigateToUrl
from ._errors import ClientActionError, ConfigurationError, InvalidArgumentError
from ._operations import PreparedCall
from ._results import EntitlementResult
from ._retry import DEFAULT_RETRY_POLICY, RetryPolicy

TimeoutLike = float | httpx.Timeout | None


class TimeoutOption(TypedDict, total=False):
    """The `timeout` keyword of an httpx request, left out to mean the httpx client's own."""

    timeout: httpx.Timeout


log = _logging.logger


def resolve_settings(
    base_url: str | None, username: str | None, password: str | None
) -> tuple[str, str]:
    # Stripped: a value pasted into an env file often brings a newline or space along.
    url = (base_url or os.environ.get(_constants.ENV_BASE_URL) or "").strip()
    url = url or _constants.DEFAULT_BASE_URL
    user = username if username is not None else os.environ.get(_constants.ENV_USERNAME)
    secret = password if password is not None else os.environ.get(_constants.ENV_PASSWORD)
    if not user or not secret:
        raise ConfigurationError(
            "reseller credentials are missing: pass username= and password=, or set "
            f"{_constants.ENV_USERNAME} and {_constants.ENV_PASSWORD}"
        )
    token = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
    return url.rstrip("/"), f"Basic {token}"


def as_timeout(value: TimeoutLike) -> httpx.Timeout:
    if value is None:
        return _constants.DEFAULT_TIMEOUT
    return value if isinstance(value, httpx.Timeout) else httpx.Timeout(value)


class ClientBase:
    """What both clients share: settings, per-call options and client-action handlers."""

    def __init__(
        self,
        base_url: str | None,
        username: str | None,
        password: str | None,
        timeout: TimeoutLike,
        retry: RetryPolicy | None,
        headers: Mapping[str, str] | None,
        *,
        owns_http: bool,
        transport_given: bool,
    ) -> None:
        if not owns_http and transport_given:
            raise ConfigurationError(
                "pass transport= or http_client=, not both: a caller's http_client keeps its own "
                "transport, so the transport would be ignored"
            )
        _logging.configure_from_environment()
        self.base_url, self._authorization = resolve_settings(base_url, username, password)
        self.timeout = as_timeout(timeout)
        # A caller's http_client has its own timeout; an explicit timeout= still wins, per request.
        self._call_timeout: TimeoutOption = (
            {} if owns_http or timeout is None else {"timeout": self.timeout}
        )
        self.retry = retry or DEFAULT_RETRY_POLICY
        self._default_headers = {
            "User-Agent": _constants.USER_AGENT,
            "Accept": "application/json",
            "Authorization": self._authorization,
            **(headers or {}),
        }
        self._owns_http = owns_http
        self._handlers: dict[type[ClientAction], Callable[[Any], object]] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def register_action_handler(
        self, action_type: type[ActionT], handler: Callable[[ActionT], object]
    ) -> None:
        """Call `handler` for actions of `action_type` in `handle_client_action`."""
        self._handlers[action_type] = handler

    def _headers_for(
        self, call: PreparedCall[Any], extra_headers: Mapping[str, str] | None
    ) -> dict[str, str] | None:
        headers = call.headers(extra_headers)
        if not self._owns_http:
            # A caller-supplied httpx client lacks our defaults; send them with each request.
            headers = {**self._default_headers, **headers}
        # None lets httpx skip merging per-request headers: measurably cheaper on plain reads.
        return headers or None

    def _timeout_for(self, timeout: TimeoutLike) -> TimeoutOption:
        """The `timeout` keyword for `request`: this call's, the client's, or none at all."""
        return self._call_timeout if timeout is None else {"timeout": as_timeout(timeout)}

    def _handler_for(self, action: ClientAction) -> Callable[[Any], object]:
        for action_type in type(action).__mro__:
            if action_type in self._handlers:
                return self._handlers[action_type]
        raise ClientActionError(
            f"no handler registered for {type(action).__name__}; call "
            f"client.register_action_handler({type(action).__name__}, handler) first"
        )

    @staticmethod
    def _action_of(result: EntitlementResult) -> ClientAction:
        if result.client_action is None:
            raise InvalidArgumentError(
                "result", "carries no client action (check result.requires_action first)"
            )
        return result.client_action

    @staticmethod
    def _fresh_navigation(refreshed: EntitlementResult) -> NavigateToUrl:
        action = refreshed.client_action
        if not isinstance(action, NavigateToUrl):
            raise ClientActionError(
                "activation info returned no new URL for "
                f"{refreshed.entitlement.entitlement_id} (status {refreshed.entitlement.status})"
            )
        return action

    def _log_answer(self, call: PreparedCall[Any], response: httpx.Response, began: float) -> None:
        if log.isEnabledFor(logging.DEBUG):  # checked first: this runs on every call
            log.debug(
                "%s %s %s -> %d in %.1f ms (request id %s) headers %s",
                call.operation,
                call.method,
                call.url,
                response.status_code,
                (time.perf_counter() - began) * 1000,
                call.request_identifier,
                _logging.redact_headers(response.request.headers),
            )


def settle(outcome: object) -> None:
    """A sync handler's return value needs nothing more (`async_settle`'s sync twin)."""


async def async_settle(outcome: object) -> None:
    """Await what an async client's action handler returned, if it is awaitable."""
    if inspect.isawaitable(outcome):
        await outcome
