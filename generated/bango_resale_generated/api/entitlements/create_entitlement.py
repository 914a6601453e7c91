from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_entitlement_request import CreateEntitlementRequest
from ...models.entitlement_response import EntitlementResponse
from ...models.envelope import Envelope
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: CreateEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_request_identifier, Unset):
        headers["X-RequestIdentifier"] = x_request_identifier

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/entitlement",
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

    if response.status_code == 201:
        response_201 = EntitlementResponse.from_dict(response.json())

        return response_201

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
    *,
    client: AuthenticatedClient | Client,
    body: CreateEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> Response[EntitlementResponse | Envelope]:
    """Create an entitlement

     Gives a customer access to one merchant product. The outcome depends on the merchant:

    - **200 `OK`**: the merchant activated it at once; status `ACTIVE`.
    - **201 `OK`**: accepted; status `PENDING` and no action is needed from the caller. The
      move to `ACTIVE` arrives as an `ACTIVATION_SUCCESS` notification.
    - **202 `CLIENT_ACTION_REQUIRED`**: status `PENDING`; the customer must complete the
      merchant's sign-up at `parameters.url` before `parameters.urlExpiry`.

    Repeating a create with identical fields while the first is still `PENDING` returns the
    same entitlement with a fresh activation URL. Supplying your own `entitlementId` is
    allowed but discouraged; an id the same reseller already uses gives `ALREADY_EXISTS`.
    Ids are scoped per reseller: another reseller's ids are neither visible nor taken, so
    they cannot be probed. A merchant or product that is not available to the reseller gives
    `NOT_AVAILABLE`.

    Modelled: the `responseCode` of the 201 response, and HTTP 409 for `ALREADY_EXISTS` and
    `NOT_AVAILABLE`.

    Args:
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.
        body (CreateEntitlementRequest): What to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EntitlementResponse | Envelope]
    """

    kwargs = _get_kwargs(
        body=body,
        x_request_identifier=x_request_identifier,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: CreateEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> EntitlementResponse | Envelope | None:
    """Create an entitlement

     Gives a customer access to one merchant product. The outcome depends on the merchant:

    - **200 `OK`**: the merchant activated it at once; status `ACTIVE`.
    - **201 `OK`**: accepted; status `PENDING` and no action is needed from the caller. The
      move to `ACTIVE` arrives as an `ACTIVATION_SUCCESS` notification.
    - **202 `CLIENT_ACTION_REQUIRED`**: status `PENDING`; the customer must complete the
      merchant's sign-up at `parameters.url` before `parameters.urlExpiry`.

    Repeating a create with identical fields while the first is still `PENDING` returns the
    same entitlement with a fresh activation URL. Supplying your own `entitlementId` is
    allowed but discouraged; an id the same reseller already uses gives `ALREADY_EXISTS`.
    Ids are scoped per reseller: another reseller's ids are neither visible nor taken, so
    they cannot be probed. A merchant or product that is not available to the reseller gives
    `NOT_AVAILABLE`.

    Modelled: the `responseCode` of the 201 response, and HTTP 409 for `ALREADY_EXISTS` and
    `NOT_AVAILABLE`.

    Args:
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.
        body (CreateEntitlementRequest): What to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EntitlementResponse | Envelope
    """

    return sync_detailed(
        client=client,
        body=body,
        x_request_identifier=x_request_identifier,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> Response[EntitlementResponse | Envelope]:
    """Create an entitlement

     Gives a customer access to one merchant product. The outcome depends on the merchant:

    - **200 `OK`**: the merchant activated it at once; status `ACTIVE`.
    - **201 `OK`**: accepted; status `PENDING` and no action is needed from the caller. The
      move to `ACTIVE` arrives as an `ACTIVATION_SUCCESS` notification.
    - **202 `CLIENT_ACTION_REQUIRED`**: status `PENDING`; the customer must complete the
      merchant's sign-up at `parameters.url` before `parameters.urlExpiry`.

    Repeating a create with identical fields while the first is still `PENDING` returns the
    same entitlement with a fresh activation URL. Supplying your own `entitlementId` is
    allowed but discouraged; an id the same reseller already uses gives `ALREADY_EXISTS`.
    Ids are scoped per reseller: another reseller's ids are neither visible nor taken, so
    they cannot be probed. A merchant or product that is not available to the reseller gives
    `NOT_AVAILABLE`.

    Modelled: the `responseCode` of the 201 response, and HTTP 409 for `ALREADY_EXISTS` and
    `NOT_AVAILABLE`.

    Args:
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.
        body (CreateEntitlementRequest): What to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EntitlementResponse | Envelope]
    """

    kwargs = _get_kwargs(
        body=body,
        x_request_identifier=x_request_identifier,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: CreateEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> EntitlementResponse | Envelope | None:
    """Create an entitlement

     Gives a customer access to one merchant product. The outcome depends on the merchant:

    - **200 `OK`**: the merchant activated it at once; status `ACTIVE`.
    - **201 `OK`**: accepted; status `PENDING` and no action is needed from the caller. The
      move to `ACTIVE` arrives as an `ACTIVATION_SUCCESS` notification.
    - **202 `CLIENT_ACTION_REQUIRED`**: status `PENDING`; the customer must complete the
      merchant's sign-up at `parameters.url` before `parameters.urlExpiry`.

    Repeating a create with identical fields while the first is still `PENDING` returns the
    same entitlement with a fresh activation URL. Supplying your own `entitlementId` is
    allowed but discouraged; an id the same reseller already uses gives `ALREADY_EXISTS`.
    Ids are scoped per reseller: another reseller's ids are neither visible nor taken, so
    they cannot be probed. A merchant or product that is not available to the reseller gives
    `NOT_AVAILABLE`.

    Modelled: the `responseCode` of the 201 response, and HTTP 409 for `ALREADY_EXISTS` and
    `NOT_AVAILABLE`.

    Args:
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.
        body (CreateEntitlementRequest): What to create.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EntitlementResponse | Envelope
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_request_identifier=x_request_identifier,
        )
    ).parsed


def build_request(
    *,
    body: CreateEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> dict[str, Any]:
    """The keyword arguments of `httpx.Client.request` for this operation.

    Method, URL, query parameters, headers and body exactly as the spec defines them, for a
    caller that sends requests over its own transport.
    """
    return _get_kwargs(
        body=body,
        x_request_identifier=x_request_identifier,
    )
