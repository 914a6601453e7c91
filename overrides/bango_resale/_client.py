"""`ResaleClient` and `AsyncResaleClient`: one method per operation, retries, client actions.

Both clients build requests and decode answers with the same functions (`_operations`); they
differ only in how they send a request and how they wait between attempts.
"""

from __future__ import annotations

import base64
import datetime
import inspect
import logging
import os
import time
import warnings
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from httpx._client import USE_CLIENT_DEFAULT, UseClientDefault

from . import _constants, _logging, _retry
from ._actions import ActionT, ClientAction, NavigateToUrl
from ._errors import (
    RESPONSE_CODE_ERRORS,
    ApiError,
    BangoResaleError,
    ClientActionError,
    ConfigurationError,
    ConnectError,
    InvalidArgumentError,
    RequestTimeoutError,
    TransportError,
    UnknownClientActionError,
)
from ._operations import (
    OMITTED,
    Answer,
    PreparedCall,
    _Omitted,
    decode_answer,
    prepare_activation_info,
    prepare_create,
    prepare_echo,
    prepare_get,
    prepare_query,
    prepare_reactivate,
    prepare_resume,
    prepare_suspend,
    prepare_terminate,
    prepare_update,
)
from ._reasons import ReasonLike, resolve_reason
from ._results import EchoResult, Entitlement, EntitlementResult
from ._retry import DEFAULT_RETRY_POLICY, RetryPolicy, parse_retry_after

T = TypeVar("T")
TimeoutLike = float | httpx.Timeout | None

log = _logging.logger


def _resolve_settings(
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


def _as_timeout(value: TimeoutLike) -> httpx.Timeout:
    if value is None:
        return _constants.DEFAULT_TIMEOUT
    return value if isinstance(value, httpx.Timeout) else httpx.Timeout(value)


def is_retryable(failure: BangoResaleError) -> bool:
    """Connection errors, timeouts and the spec's transient answers; nothing else."""
    if isinstance(failure, TransportError):
        return True
    if not isinstance(failure, ApiError) or isinstance(failure, UnknownClientActionError):
        return False
    if failure.response_code in _retry.transient_response_codes():
        return True
    # Without a known code (e.g. a proxy's HTML 503) only the status can tell.
    code_known = failure.response_code in RESPONSE_CODE_ERRORS
    return not code_known and failure.http_status in _retry.transient_http_statuses()


class _Attempts:
    """Bookkeeping for one call's attempts: counts, the time budget and the next wait."""

    def __init__(self, policy: RetryPolicy, call: PreparedCall[Any], base_url: str) -> None:
        self.policy = policy
        self.call = call
        self.url = f"{base_url}{call.url}"
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
        rid = self.call.request_identifier
        # The URL is the first thing to check when nothing answers, so every message names it.
        text = f"{self.call.operation}: {self.call.method} {self.url}: {type(exc).__name__}: {exc}"
        if isinstance(exc, httpx.TimeoutException):
            return RequestTimeoutError(
                text, request_identifier=rid, attempts=self.number, url=self.url
            )
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return ConfigurationError(f"{text} (check the base URL)")
        return ConnectError(text, request_identifier=rid, attempts=self.number, url=self.url)

    def stamp(self, failure: BangoResaleError) -> BangoResaleError:
        if isinstance(failure, ApiError | TransportError):
            failure.attempts = self.number
        return failure


class _ClientBase:
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
        self.base_url, self._authorization = _resolve_settings(base_url, username, password)
        self.timeout = _as_timeout(timeout)
        # A caller's http_client has its own timeout; an explicit timeout= still wins, per request.
        self._call_timeout: httpx.Timeout | UseClientDefault = (
            USE_CLIENT_DEFAULT if owns_http or timeout is None else self.timeout
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

    def _timeout_for(self, timeout: TimeoutLike) -> httpx.Timeout | UseClientDefault:
        return self._call_timeout if timeout is None else _as_timeout(timeout)

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


class ResaleClient(_ClientBase):
    """A synchronous client for the Bango Resale API.

    Credentials come from the arguments or from `BANGO_RESALE_BASE_URL`,
    `BANGO_RESALE_USERNAME` and `BANGO_RESALE_PASSWORD`. Use it as a context manager (or call
    `close()`) so the connection pool is released. Every method also takes `request_id`,
    `extra_headers`, `timeout` and `retry` to override the client's defaults for one call.
    """

    def __init__(
        self,
        base_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        *,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            base_url,
            username,
            password,
            timeout,
            retry,
            headers,
            owns_http=http_client is None,
            transport_given=transport is not None,
        )
        self._http = http_client or httpx.Client(
            base_url=self.base_url,
            timeout=self.timeout,
            headers=self._default_headers,
            transport=transport,
        )

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _send(
        self,
        call: PreparedCall[T],
        *,
        extra_headers: Mapping[str, str] | None,
        timeout: TimeoutLike,
        retry: RetryPolicy | None,
    ) -> T:
        attempts = _Attempts(retry or self.retry, call, self.base_url)
        headers = self._headers_for(call, extra_headers)
        content = call.encoded_body()
        request_timeout = self._timeout_for(timeout)
        while True:
            attempts.begin()
            began = time.perf_counter()
            try:
                response = self._http.request(
                    call.method, call.url, content=content, headers=headers, timeout=request_timeout
                )
            except httpx.HTTPError as exc:
                failure = attempts.transport_failure(exc)
            else:
                self._log_answer(call, response, began)
                answer = Answer.from_httpx(response, call.request_identifier)
                try:
                    return decode_answer(call, answer, attempts.number)
                except ApiError as exc:
                    failure = exc
            delay = attempts.delay_after(failure)
            if delay is None:
                raise attempts.stamp(failure)
            _retry.sleep(delay)

    # --- operations ------------------------------------------------------------------------

    def create(
        self,
        *,
        customer_identifier: str,
        merchant_account_key: str,
        product_key: str,
        offer_key: str | None = None,
        entitlement_id: str | None = None,
        notification_url: str | None = None,
        date_expiry: datetime.datetime | None = None,
        extension_data: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """Create an entitlement; the result says whether the customer must act first."""
        call = prepare_create(
            customer_identifier=customer_identifier,
            merchant_account_key=merchant_account_key,
            product_key=product_key,
            offer_key=offer_key,
            entitlement_id=entitlement_id,
            notification_url=notification_url,
            date_expiry=date_expiry,
            extension_data=extension_data,
            request_id=request_id,
        )
        return self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    def get(
        self,
        entitlement_id: str,
        *,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """Read one entitlement."""
        call = prepare_get(entitlement_id, request_id)
        return self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    def query(
        self,
        customer_identifier: str,
        *,
        merchant_account_key: str | None = None,
        product_key: str | None = None,
        status: str | None = None,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> list[Entitlement]:
        """A customer's entitlements, optionally filtered by merchant, product and status."""
        call = prepare_query(
            customer_identifier=customer_identifier,
            merchant_account_key=merchant_account_key,
            product_key=product_key,
            status=status,
            request_id=request_id,
        )
        return self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    def update(
        self,
        entitlement_id: str,
        *,
        product_key: str | _Omitted = OMITTED,
        offer_key: str | _Omitted | None = OMITTED,
        notification_url: str | _Omitted | None = OMITTED,
        date_expiry: datetime.datetime | _Omitted | None = OMITTED,
        customer_identifier: str | _Omitted = OMITTED,
        extension_data: Mapping[str, Any] | _Omitted = OMITTED,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """Change product, offer, expiry, notification URL, customer id or extension data.

        Arguments left out stay as they are; `None` clears a nullable field.
        """
        call = prepare_update(
            entitlement_id,
            product_key=product_key,
            offer_key=offer_key,
            notification_url=notification_url,
            date_expiry=date_expiry,
            customer_identifier=customer_identifier,
            extension_data=extension_data,
            request_id=request_id,
        )
        return self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    def suspend(
        self,
        entitlement_id: str,
        reason: ReasonLike,
        *,
        description: str | None = None,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """Pause access (reversible with `resume`); `reason` is checked against the table."""
        call = prepare_suspend(
            entitlement_id, resolve_reason(reason, "suspend"), description, request_id
        )
        return self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    def resume(
        self,
        entitlement_id: str,
        *,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """Restore access to a suspended entitlement."""
        call = prepare_resume(entitlement_id, request_id)
        return self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    def cancel(
        self,
        entitlement_id: str,
        reason: ReasonLike,
        *,
        description: str | None = None,
        custom_data: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """End access when the paid period ends (soft end)."""
        return self.terminate(
            entitlement_id,
            reason,
            immediate=False,
            description=description,
            custom_data=custom_data,
            request_id=request_id,
            extra_headers=extra_headers,
            timeout=timeout,
            retry=retry,
        )

    def revoke(
        self,
        entitlement_id: str,
        reason: ReasonLike,
        *,
        description: str | None = None,
        custom_data: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """End access now (hard end)."""
        return self.terminate(
            entitlement_id,
            reason,
            immediate=True,
            description=description,
            custom_data=custom_data,
            request_id=request_id,
            extra_headers=extra_headers,
            timeout=timeout,
            retry=retry,
        )

    def terminate(
        self,
        entitlement_id: str,
        reason: ReasonLike,
        *,
        immediate: bool,
        description: str | None = None,
        custom_data: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """End an entitlement: revoke when `immediate`, otherwise cancel."""
        resolved = resolve_reason(reason, "revoke" if immediate else "cancel")
        call = prepare_terminate(
            entitlement_id,
            resolved,
            immediate=immediate,
            description=description,
            custom_data=custom_data,
            request_id=request_id,
        )
        return self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    def activation_info(
        self,
        entitlement_id: str,
        *,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """A fresh activation URL (or the activation code) for a `PENDING` entitlement."""
        call = prepare_activation_info(entitlement_id, request_id)
        return self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    def reactivate(
        self,
        entitlement_id: str,
        *,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """Deprecated by Bango (end of life 1 June 2019): restore a cancelled entitlement."""
        warnings.warn(
            "reactivate is deprecated by Bango; create a new entitlement instead",
            DeprecationWarning,
            stacklevel=2,
        )
        call = prepare_reactivate(entitlement_id, request_id)
        return self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    def echo(
        self,
        echo_request_id: str = "ping",
        *,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EchoResult:
        """Check connectivity and credentials; the platform returns the id unchanged."""
        call = prepare_echo(echo_request_id, request_id)
        return self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    # --- client actions ----------------------------------------------------------------------

    def refresh_client_action(self, entitlement_id: str) -> NavigateToUrl:
        """A new activation URL for a pending entitlement whose URL has expired."""
        return self._fresh_navigation(self.activation_info(entitlement_id))

    def handle_client_action(self, result: EntitlementResult) -> ClientAction:
        """Pass the result's action to its registered handler and return the action handled.

        An expired `NavigateToUrl` is first replaced by a fresh one from activation info.
        """
        action = self._action_of(result)
        if isinstance(action, NavigateToUrl) and action.is_expired():
            action = self.refresh_client_action(result.entitlement.entitlement_id)
        self._handler_for(action)(action)
        return action


class AsyncResaleClient(_ClientBase):
    """The asyncio twin of `ResaleClient`: same methods, awaited."""

    def __init__(
        self,
        base_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        *,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            base_url,
            username,
            password,
            timeout,
            retry,
            headers,
            owns_http=http_client is None,
            transport_given=transport is not None,
        )
        self._http = http_client or httpx.AsyncClient(
            base_url=self.base_url,
            timeout=self.timeout,
            headers=self._default_headers,
            transport=transport,
        )

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _send(
        self,
        call: PreparedCall[T],
        *,
        extra_headers: Mapping[str, str] | None,
        timeout: TimeoutLike,
        retry: RetryPolicy | None,
    ) -> T:
        attempts = _Attempts(retry or self.retry, call, self.base_url)
        headers = self._headers_for(call, extra_headers)
        content = call.encoded_body()
        request_timeout = self._timeout_for(timeout)
        while True:
            attempts.begin()
            began = time.perf_counter()
            try:
                response = await self._http.request(
                    call.method, call.url, content=content, headers=headers, timeout=request_timeout
                )
            except httpx.HTTPError as exc:
                failure = attempts.transport_failure(exc)
            else:
                self._log_answer(call, response, began)
                answer = Answer.from_httpx(response, call.request_identifier)
                try:
                    return decode_answer(call, answer, attempts.number)
                except ApiError as exc:
                    failure = exc
            delay = attempts.delay_after(failure)
            if delay is None:
                raise attempts.stamp(failure)
            await _retry.async_sleep(delay)

    async def create(
        self,
        *,
        customer_identifier: str,
        merchant_account_key: str,
        product_key: str,
        offer_key: str | None = None,
        entitlement_id: str | None = None,
        notification_url: str | None = None,
        date_expiry: datetime.datetime | None = None,
        extension_data: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """Create an entitlement; the result says whether the customer must act first."""
        call = prepare_create(
            customer_identifier=customer_identifier,
            merchant_account_key=merchant_account_key,
            product_key=product_key,
            offer_key=offer_key,
            entitlement_id=entitlement_id,
            notification_url=notification_url,
            date_expiry=date_expiry,
            extension_data=extension_data,
            request_id=request_id,
        )
        return await self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    async def get(
        self,
        entitlement_id: str,
        *,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """Read one entitlement."""
        call = prepare_get(entitlement_id, request_id)
        return await self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    async def query(
        self,
        customer_identifier: str,
        *,
        merchant_account_key: str | None = None,
        product_key: str | None = None,
        status: str | None = None,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> list[Entitlement]:
        """A customer's entitlements, optionally filtered by merchant, product and status."""
        call = prepare_query(
            customer_identifier=customer_identifier,
            merchant_account_key=merchant_account_key,
            product_key=product_key,
            status=status,
            request_id=request_id,
        )
        return await self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    async def update(
        self,
        entitlement_id: str,
        *,
        product_key: str | _Omitted = OMITTED,
        offer_key: str | _Omitted | None = OMITTED,
        notification_url: str | _Omitted | None = OMITTED,
        date_expiry: datetime.datetime | _Omitted | None = OMITTED,
        customer_identifier: str | _Omitted = OMITTED,
        extension_data: Mapping[str, Any] | _Omitted = OMITTED,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """Change fields of an entitlement; left-out arguments stay, `None` clears."""
        call = prepare_update(
            entitlement_id,
            product_key=product_key,
            offer_key=offer_key,
            notification_url=notification_url,
            date_expiry=date_expiry,
            customer_identifier=customer_identifier,
            extension_data=extension_data,
            request_id=request_id,
        )
        return await self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    async def suspend(
        self,
        entitlement_id: str,
        reason: ReasonLike,
        *,
        description: str | None = None,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """Pause access (reversible with `resume`)."""
        call = prepare_suspend(
            entitlement_id, resolve_reason(reason, "suspend"), description, request_id
        )
        return await self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    async def resume(
        self,
        entitlement_id: str,
        *,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """Restore access to a suspended entitlement."""
        call = prepare_resume(entitlement_id, request_id)
        return await self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    async def cancel(
        self,
        entitlement_id: str,
        reason: ReasonLike,
        *,
        description: str | None = None,
        custom_data: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """End access when the paid period ends (soft end)."""
        return await self.terminate(
            entitlement_id,
            reason,
            immediate=False,
            description=description,
            custom_data=custom_data,
            request_id=request_id,
            extra_headers=extra_headers,
            timeout=timeout,
            retry=retry,
        )

    async def revoke(
        self,
        entitlement_id: str,
        reason: ReasonLike,
        *,
        description: str | None = None,
        custom_data: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """End access now (hard end)."""
        return await self.terminate(
            entitlement_id,
            reason,
            immediate=True,
            description=description,
            custom_data=custom_data,
            request_id=request_id,
            extra_headers=extra_headers,
            timeout=timeout,
            retry=retry,
        )

    async def terminate(
        self,
        entitlement_id: str,
        reason: ReasonLike,
        *,
        immediate: bool,
        description: str | None = None,
        custom_data: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """End an entitlement: revoke when `immediate`, otherwise cancel."""
        resolved = resolve_reason(reason, "revoke" if immediate else "cancel")
        call = prepare_terminate(
            entitlement_id,
            resolved,
            immediate=immediate,
            description=description,
            custom_data=custom_data,
            request_id=request_id,
        )
        return await self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    async def activation_info(
        self,
        entitlement_id: str,
        *,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """A fresh activation URL (or the activation code) for a `PENDING` entitlement."""
        call = prepare_activation_info(entitlement_id, request_id)
        return await self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    async def reactivate(
        self,
        entitlement_id: str,
        *,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EntitlementResult:
        """Deprecated by Bango (end of life 1 June 2019): restore a cancelled entitlement."""
        warnings.warn(
            "reactivate is deprecated by Bango; create a new entitlement instead",
            DeprecationWarning,
            stacklevel=2,
        )
        call = prepare_reactivate(entitlement_id, request_id)
        return await self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    async def echo(
        self,
        echo_request_id: str = "ping",
        *,
        request_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: TimeoutLike = None,
        retry: RetryPolicy | None = None,
    ) -> EchoResult:
        """Check connectivity and credentials; the platform returns the id unchanged."""
        call = prepare_echo(echo_request_id, request_id)
        return await self._send(call, extra_headers=extra_headers, timeout=timeout, retry=retry)

    async def refresh_client_action(self, entitlement_id: str) -> NavigateToUrl:
        """A new activation URL for a pending entitlement whose URL has expired."""
        return self._fresh_navigation(await self.activation_info(entitlement_id))

    async def handle_client_action(self, result: EntitlementResult) -> ClientAction:
        """Like `ResaleClient.handle_client_action`; the handler may be a coroutine function."""
        action = self._action_of(result)
        if isinstance(action, NavigateToUrl) and action.is_expired():
            action = await self.refresh_client_action(result.entitlement.entitlement_id)
        outcome = self._handler_for(action)(action)
        if inspect.isawaitable(outcome):
            await outcome
        return action


__all__ = ["AsyncResaleClient", "ResaleClient"]
