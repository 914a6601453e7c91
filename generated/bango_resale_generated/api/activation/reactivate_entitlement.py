from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.entitlement_response import EntitlementResponse
from ...models.envelope import Envelope
from ...types import UNSET, Response, Unset


def _get_kwargs(
    entitlement_id: str,
    *,
    x_request_identifier: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_request_identifier, Unset):
        headers["X-RequestIdentifier"] = x_request_identifier

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/entitlement/reactivate/{entitlement_id}".format(
            entitlement_id=quote(str(entitlement_id), safe=""),
        ),
    }

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
    x_request_identifier: str | Unset = UNSET,
) -> Response[EntitlementResponse | Envelope]:
    """Reactivate a cancelled entitlement (deprecated)

     Restores access to a `CANCELLED` entitlement where the merchant supports it. Bango ended
    this operation's life on 1 June 2019; it stays here because existing integrations still
    call it. Use create for new access instead.

    - **200 `OK`**: `ACTIVE` again.
    - **202 `CLIENT_ACTION_REQUIRED`**: `PENDING` until the customer completes the merchant's
      process at `parameters.url`; `ACTIVATION_SUCCESS` follows.
    - **202 `OK`**: the merchant answers later; the record stays `CANCELLED` until then.

    The request has no body, so set the entitlement's `notificationUrl` (with update) before
    reactivating: the later move to `ACTIVE` is only reported there.

    An entitlement that is already live (`PENDING`, `ACTIVE`, `ACTIVE-ENDING` or
    `SUSPENDED`) gives `ALREADY_EXISTS`; a merchant that cannot reactivate, or a `REVOKED`
    entitlement, gives `NOT_AVAILABLE`.

    Modelled: HTTP 404/409, and 202 `OK` for an asynchronous reactivation.

    Args:
        entitlement_id (str): Id of an entitlement, unique within the reseller's entitlements. The
            platform generates it (UUID-like); a reseller may supply its own on create.
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EntitlementResponse | Envelope]
    """

    kwargs = _get_kwargs(
        entitlement_id=entitlement_id,
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
    x_request_identifier: str | Unset = UNSET,
) -> EntitlementResponse | Envelope | None:
    """Reactivate a cancelled entitlement (deprecated)

     Restores access to a `CANCELLED` entitlement where the merchant supports it. Bango ended
    this operation's life on 1 June 2019; it stays here because existing integrations still
    call it. Use create for new access instead.

    - **200 `OK`**: `ACTIVE` again.
    - **202 `CLIENT_ACTION_REQUIRED`**: `PENDING` until the customer completes the merchant's
      process at `parameters.url`; `ACTIVATION_SUCCESS` follows.
    - **202 `OK`**: the merchant answers later; the record stays `CANCELLED` until then.

    The request has no body, so set the entitlement's `notificationUrl` (with update) before
    reactivating: the later move to `ACTIVE` is only reported there.

    An entitlement that is already live (`PENDING`, `ACTIVE`, `ACTIVE-ENDING` or
    `SUSPENDED`) gives `ALREADY_EXISTS`; a merchant that cannot reactivate, or a `REVOKED`
    entitlement, gives `NOT_AVAILABLE`.

    Modelled: HTTP 404/409, and 202 `OK` for an asynchronous reactivation.

    Args:
        entitlement_id (str): Id of an entitlement, unique within the reseller's entitlements. The
            platform generates it (UUID-like); a reseller may supply its own on create.
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EntitlementResponse | Envelope
    """

    return sync_detailed(
        entitlement_id=entitlement_id,
        client=client,
        x_request_identifier=x_request_identifier,
    ).parsed


async def asyncio_detailed(
    entitlement_id: str,
    *,
    client: AuthenticatedClient | Client,
    x_request_identifier: str | Unset = UNSET,
) -> Response[EntitlementResponse | Envelope]:
    """Reactivate a cancelled entitlement (deprecated)

     Restores access to a `CANCELLED` entitlement where the merchant supports it. Bango ended
    this operation's life on 1 June 2019; it stays here because existing integrations still
    call it. Use create for new access instead.

    - **200 `OK`**: `ACTIVE` again.
    - **202 `CLIENT_ACTION_REQUIRED`**: `PENDING` until the customer completes the merchant's
      process at `parameters.url`; `ACTIVATION_SUCCESS` follows.
    - **202 `OK`**: the merchant answers later; the record stays `CANCELLED` until then.

    The request has no body, so set the entitlement's `notificationUrl` (with update) before
    reactivating: the later move to `ACTIVE` is only reported there.

    An entitlement that is already live (`PENDING`, `ACTIVE`, `ACTIVE-ENDING` or
    `SUSPENDED`) gives `ALREADY_EXISTS`; a merchant that cannot reactivate, or a `REVOKED`
    entitlement, gives `NOT_AVAILABLE`.

    Modelled: HTTP 404/409, and 202 `OK` for an asynchronous reactivation.

    Args:
        entitlement_id (str): Id of an entitlement, unique within the reseller's entitlements. The
            platform generates it (UUID-like); a reseller may supply its own on create.
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EntitlementResponse | Envelope]
    """

    kwargs = _get_kwargs(
        entitlement_id=entitlement_id,
        x_request_identifier=x_request_identifier,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    entitlement_id: str,
    *,
    client: AuthenticatedClient | Client,
    x_request_identifier: str | Unset = UNSET,
) -> EntitlementResponse | Envelope | None:
    """Reactivate a cancelled entitlement (deprecated)

     Restores access to a `CANCELLED` entitlement where the merchant supports it. Bango ended
    this operation's life on 1 June 2019; it stays here because existing integrations still
    call it. Use create for new access instead.

    - **200 `OK`**: `ACTIVE` again.
    - **202 `CLIENT_ACTION_REQUIRED`**: `PENDING` until the customer completes the merchant's
      process at `parameters.url`; `ACTIVATION_SUCCESS` follows.
    - **202 `OK`**: the merchant answers later; the record stays `CANCELLED` until then.

    The request has no body, so set the entitlement's `notificationUrl` (with update) before
    reactivating: the later move to `ACTIVE` is only reported there.

    An entitlement that is already live (`PENDING`, `ACTIVE`, `ACTIVE-ENDING` or
    `SUSPENDED`) gives `ALREADY_EXISTS`; a merchant that cannot reactivate, or a `REVOKED`
    entitlement, gives `NOT_AVAILABLE`.

    Modelled: HTTP 404/409, and 202 `OK` for an asynchronous reactivation.

    Args:
        entitlement_id (str): Id of an entitlement, unique within the reseller's entitlements. The
            platform generates it (UUID-like); a reseller may supply its own on create.
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.

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
            x_request_identifier=x_request_identifier,
        )
    ).parsed


def build_request(
    entitlement_id: str,
    *,
    x_request_identifier: str | Unset = UNSET,
) -> dict[str, Any]:
    """The keyword arguments of `httpx.Client.request` for this operation.

    Method, URL, query parameters, headers and body exactly as the spec defines them, for a
    caller that sends requests over its own transport.
    """
    return _get_kwargs(
        entitlement_id=entitlement_id,
        x_request_identifier=x_request_identifier,
    )
