"""What the sync and async clients share: settings, per-call options, client-action handlers.

Nothing here sends a request or waits; `_async_client` (hand-written) and `_sync_client`
(generated from it by scripts/unasync.py) do that.
"""

from __future__ import annotations

import base64
import inspect
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import httpx

from . import _constants, _logging
from ._actions import ActionT, ClientAction, NavigateToUrl
from ._errors import (
    ClientActionError,
    ConfigurationError,
    InvalidArgumentError,
    InvalidBaseUrlError,
    is_local_host,
)
from ._operations import PreparedCall
from ._results import EntitlementResult
from ._retry import DEFAULT_RETRY_POLICY, RetryPolicy

TimeoutLike = float | httpx.Timeout | None


class TimeoutOption(TypedDict, total=False):
    """The `timeout` keyword of an httpx request, left out to mean the httpx client's own."""

    timeout: httpx.Timeout


log = _logging.logger


@dataclass(frozen=True, slots=True)
class Settings:
    """Where to send requests and as whom, resolved from the arguments and the environment."""

    base_url: str
    authorization: str
    #: Where the base URL came from, as the caller gave it: `base_url` (the argument, also
    #: for the default) or the environment variable's name. Messages say what to correct.
    base_url_setting: str


def resolve_settings(base_url: str | None, username: str | None, password: str | None) -> Settings:
    # Stripped: a value pasted into an env file often brings a newline or space along.
    given = (base_url or "").strip()
    from_environment = (os.environ.get(_constants.ENV_BASE_URL) or "").strip()
    setting = "base_url" if given or not from_environment else _constants.ENV_BASE_URL
    url = checked_base_url(given or from_environment or _constants.DEFAULT_BASE_URL, setting)
    user = username if username is not None else os.environ.get(_constants.ENV_USERNAME)
    secret = password if password is not None else os.environ.get(_constants.ENV_PASSWORD)
    missing = [
        (name, variable)
        for name, variable, value in (
            ("username", _constants.ENV_USERNAME, user),
            ("password", _constants.ENV_PASSWORD, secret),
        )
        if not value
    ]
    if len(missing) == 2:
        raise ConfigurationError(
            "reseller credentials are missing: pass username= and password=, or set "
            f"{_constants.ENV_USERNAME} and {_constants.ENV_PASSWORD}"
        )
    if missing:
        ((name, variable),) = missing
        raise ConfigurationError(f"the reseller {name} is missing: pass {name}= or set {variable}")
    token = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
    return Settings(url.rstrip("/"), f"Basic {token}", setting)


def checked_base_url(url: str, setting: str) -> str:
    """`url` if it is an absolute http(s) URL; else `InvalidBaseUrlError` with the likely fix."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise InvalidBaseUrlError(setting, f"{url!r} is not a URL ({error})") from None
    if parsed.scheme in ("http", "https") and parsed.host:
        return url
    likely = _with_scheme(url)
    guess = f"; did you mean {likely!r}?" if likely else ""
    raise InvalidBaseUrlError(setting, f"{url!r} is not an http:// or https:// URL{guess}")


def _with_scheme(url: str) -> str | None:
    """What `host[:port][/path]` typed without a scheme most likely meant, if it is that."""
    if "://" in url or url.startswith(("/", "http:", "https:")):
        return None
    try:
        host = httpx.URL(f"http://{url}").host
    except httpx.InvalidURL:
        return None
    if not re.fullmatch(r"[\w.:-]+", host):
        return None
    # A local address is most likely the sandbox, which speaks plain HTTP.
    return f"{'http' if is_local_host(host) else 'https'}://{url}"


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
        settings = resolve_settings(base_url, username, password)
        self.base_url = settings.base_url
        self._authorization = settings.authorization
        self._base_url_setting = settings.base_url_setting
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
