from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.entitlement_response import EntitlementResponse
from ...models.envelope import Envelope
from ...models.terminate_entitlement_request import TerminateEntitlementRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    entitlement_id: str,
    *,
    body: TerminateEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_request_identifier, Unset):
        headers["X-RequestIdentifier"] = x_request_identifier

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/entitlement/cancel/{entitlement_id}".format(
            entitlement_id=quote(str(entitlement_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> EntitlementResponse | Envelope | None:
    if response.status_code == 200:
        response_200 = EntitlementResponse.from_dict(response.json())

        return response_200

    if response.status_code == 202:
        response_202 = EntitlementResponse.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = Envelope.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Envelope.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Envelope.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Envelope.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Envelope.from_dict(response.json())

        return response_409

    if response.status_code == 415:
        response_415 = Envelope.from_dict(response.json())

        return response_415

    if response.status_code == 429:
        response_429 = Envelope.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = Envelope.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = Envelope.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[EntitlementResponse | Envelope]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    entitlement_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: TerminateEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> Response[EntitlementResponse | Envelope]:
    """Cancel an entitlement (end it at the end of the paid period)

     A soft end: the customer keeps access until the period already paid for is over. Allowed
    from `PENDING`, `ACTIVE` and `SUSPENDED`.

    - **200 `OK`**: the merchant answered; the entitlement is `ACTIVE-ENDING` (with
      `dateEnded` in the future) or already `CANCELLED`.
    - **202 `OK`**: the merchant confirms later; the record keeps its status until then.

    Send all three reason fields: `cancelReasonCategory` and `cancelReasonCode` as a pair from
    the standard reason table (`x-reasons`, or a category with `OTHER` when no listed code
    fits), and `cancelReasonDescription` in words. Bango expects the description; a request
    without it is still taken. The reason and any further body properties are stored in the
    record's `extensionData` under the names they were sent with. Notifications:
    `TERMINATION_PENDING`, then `TERMINATION_SUCCESS` when it is `CANCELLED`. To end access at
    once, revoke instead.

    Modelled: the path (following the reactivate path's pattern), HTTP 404/409, `OK` on 202,
    and `ACTIVE-ENDING` on 200.

    Args:
        entitlement_id (str): Id of an entitlement, unique within the reseller's entitlements. The
            platform generates it (UUID-like); a reseller may supply its own on create.
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.
        body (TerminateEntitlementRequest): Why the entitlement ends: a (category, code) pair from
            `x-reasons` and a description. Any further properties are custom data, stored with the
            reason in `extensionData`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EntitlementResponse | Envelope]
    """

    kwargs = _get_kwargs(
        entitlement_id=entitlement_id,
        body=body,
        x_request_identifier=x_request_identifier,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    entitlement_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: TerminateEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> EntitlementResponse | Envelope | None:
    """Cancel an entitlement (end it at the end of the paid period)

     A soft end: the customer keeps access until the period already paid for is over. Allowed
    from `PENDING`, `ACTIVE` and `SUSPENDED`.

    - **200 `OK`**: the merchant answered; the entitlement is `ACTIVE-ENDING` (with
      `dateEnded` in the future) or already `CANCELLED`.
    - **202 `OK`**: the merchant confirms later; the record keeps its status until then.

    Send all three reason fields: `cancelReasonCategory` and `cancelReasonCode` as a pair from
    the standard reason table (`x-reasons`, or a category with `OTHER` when no listed code
    fits), and `cancelReasonDescription` in words. Bango expects the description; a request
    without it is still taken. The reason and any further body properties are stored in the
    record's `extensionData` under the names they were sent with. Notifications:
    `TERMINATION_PENDING`, then `TERMINATION_SUCCESS` when it is `CANCELLED`. To end access at
    once, revoke instead.

    Modelled: the path (following the reactivate path's pattern), HTTP 404/409, `OK` on 202,
    and `ACTIVE-ENDING` on 200.

    Args:
        entitlement_id (str): Id of an entitlement, unique within the reseller's entitlements. The
            platform generates it (UUID-like); a reseller may supply its own on create.
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.
        body (TerminateEntitlementRequest): Why the entitlement ends: a (category, code) pair from
            `x-reasons` and a description. Any further properties are custom data, stored with the
            reason in `extensionData`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EntitlementResponse | Envelope
    """

    return sync_detailed(
        entitlement_id=entitlement_id,
        client=client,
        body=body,
        x_request_identifier=x_request_identifier,
    ).parsed


async def asyncio_detailed(
    entitlement_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: TerminateEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> Response[EntitlementResponse | Envelope]:
    """Cancel an entitlement (end it at the end of the paid period)

     A soft end: the customer keeps access until the period already paid for is over. Allowed
    from `PENDING`, `ACTIVE` and `SUSPENDED`.

    - **200 `OK`**: the merchant answered; the entitlement is `ACTIVE-ENDING` (with
      `dateEnded` in the future) or already `CANCELLED`.
    - **202 `OK`**: the merchant confirms later; the record keeps its status until then.

    Send all three reason fields: `cancelReasonCategory` and `cancelReasonCode` as a pair from
    the standard reason table (`x-reasons`, or a category with `OTHER` when no listed code
    fits), and `cancelReasonDescription` in words. Bango expects the description; a request
    without it is still taken. The reason and any further body properties are stored in the
    record's `extensionData` under the names they were sent with. Notifications:
    `TERMINATION_PENDING`, then `TERMINATION_SUCCESS` when it is `CANCELLED`. To end access at
    once, revoke instead.

    Modelled: the path (following the reactivate path's pattern), HTTP 404/409, `OK` on 202,
    and `ACTIVE-ENDING` on 200.

    Args:
        entitlement_id (str): Id of an entitlement, unique within the reseller's entitlements. The
            platform generates it (UUID-like); a reseller may supply its own on create.
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.
        body (TerminateEntitlementRequest): Why the entitlement ends: a (category, code) pair from
            `x-reasons` and a description. Any further properties are custom data, stored with the
            reason in `extensionData`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EntitlementResponse | Envelope]
    """

    kwargs = _get_kwargs(
        entitlement_id=entitlement_id,
        body=body,
        x_request_identifier=x_request_identifier,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    entitlement_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: TerminateEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> EntitlementResponse | Envelope | None:
    """Cancel an entitlement (end it at the end of the paid period)

     A soft end: the customer keeps access until the period already paid for is over. Allowed
    from `PENDING`, `ACTIVE` and `SUSPENDED`.

    - **200 `OK`**: the merchant answered; the entitlement is `ACTIVE-ENDING` (with
      `dateEnded` in the future) or already `CANCELLED`.
    - **202 `OK`**: the merchant confirms later; the record keeps its status until then.

    Send all three reason fields: `cancelReasonCategory` and `cancelReasonCode` as a pair from
    the standard reason table (`x-reasons`, or a category with `OTHER` when no listed code
    fits), and `cancelReasonDescription` in words. Bango expects the description; a request
    without it is still taken. The reason and any further body properties are stored in the
    record's `extensionData` under the names they were sent with. Notifications:
    `TERMINATION_PENDING`, then `TERMINATION_SUCCESS` when it is `CANCELLED`. To end access at
    once, revoke instead.

    Modelled: the path (following the reactivate path's pattern), HTTP 404/409, `OK` on 202,
    and `ACTIVE-ENDING` on 200.

    Args:
        entitlement_id (str): Id of an entitlement, unique within the reseller's entitlements. The
            platform generates it (UUID-like); a reseller may supply its own on create.
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.
        body (TerminateEntitlementRequest): Why the entitlement ends: a (category, code) pair from
            `x-reasons` and a description. Any further properties are custom data, stored with the
            reason in `extensionData`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EntitlementResponse | Envelope
    """

    return (
        await asyncio_detailed(
            entitlement_id=entitlement_id,
            client=client,
            body=body,
            x_request_identifier=x_request_identifier,
        )
    ).parsed


def build_request(
    entitlement_id: str,
    *,
    body: TerminateEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> dict[str, Any]:
    """The keyword arguments of `httpx.Client.request` for this operation.

    Method, URL, query parameters, headers and body exactly as the spec defines them, for a
    caller that sends requests over its own transport.
    """
    return _get_kwargs(
        entitlement_id=entitlement_id,
        body=body,
        x_request_identifier=x_request_identifier,
    )
