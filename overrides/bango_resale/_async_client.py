"""`AsyncResaleClient`: one method per operation, retries, client actions, for asyncio.

This is the one hand-written client. `_sync_client.py` (`ResaleClient`) is generated from it by
`scripts/unasync.py` (drop `async`/`await`, swap the asyncio names for their blocking twins) and
`make drift` fails when the two disagree, so both clients have the same methods and docstrings.
Write anything that differs between them in the `async_`-named helpers of `_retry` and
`_base_client`, whose blocking twins carry the same name without the prefix.
"""

from __future__ import annotations

import datetime
import time
import warnings
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from . import _retry
from ._actions import ClientAction, NavigateToUrl
from ._base_client import ClientBase, TimeoutLike, async_settle
from ._errors import ApiError
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
from ._retry import Attempts, RetryPolicy

T = TypeVar("T")


class AsyncResaleClient(ClientBase):
    """A client for the Bango Resale API (the blocking and the asyncio client are twins).

    Credentials come from the arguments or from `BANGO_RESALE_BASE_URL`,
    `BANGO_RESALE_USERNAME` and `BANGO_RESALE_PASSWORD`. Use it as a context manager (or call
    `aclose()`) so the connection pool is released. Every method also takes `request_id`,
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
        attempts = Attempts(retry or self.retry, call, self.base_url, self._base_url_setting)
        headers = self._headers_for(call, extra_headers)
        content = call.encoded_body()
        request_timeout = self._timeout_for(timeout)
        while True:
            attempts.begin()
            began = time.perf_counter()
            try:
                response = await self._http.request(
                    call.method,
                    call.url,
                    params=call.params,
                    content=content,
                    headers=headers,
                    **request_timeout,
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
        """Pause access (reversible with `resume`); `reason` is checked against the table."""
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
        """Pass the result's action to its registered handler and return the action handled.

        An expired `NavigateToUrl` is first replaced by a fresh one from activation info. In
        the async client the handler may also be a coroutine function.
        """
        action = self._action_of(result)
        if isinstance(action, NavigateToUrl) and action.is_expired():
            action = await self.refresh_client_action(result.entitlement.entitlement_id)
        await async_settle(self._handler_for(action)(action))
        return action


__all__ = ["AsyncResaleClient"]
