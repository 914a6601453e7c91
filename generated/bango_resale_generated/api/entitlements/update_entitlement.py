from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.entitlement_changes import EntitlementChanges
from ...models.entitlement_response import EntitlementResponse
from ...models.envelope import Envelope
from ...models.resume_entitlement_request import ResumeEntitlementRequest
from ...models.suspend_entitlement_request import SuspendEntitlementRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: EntitlementChanges | ResumeEntitlementRequest | SuspendEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_request_identifier, Unset):
        headers["X-RequestIdentifier"] = x_request_identifier

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/v1/entitlement",
    }

    if isinstance(body, EntitlementChanges):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, SuspendEntitlementRequest):
        _kwargs["json"] = body.to_dict()
    else:
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
    *,
    client: AuthenticatedClient | Client,
    body: EntitlementChanges | ResumeEntitlementRequest | SuspendEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> Response[EntitlementResponse | Envelope]:
    """Update, suspend or resume an entitlement

     One operation with three uses, chosen by the body:

    - **Update**: change any of `productKey`, `offerKey`, `notificationUrl`, `dateExpiry`,
      `customerIdentifier` and `extensionData`. Metadata may change in any live status; a
      product change needs an `ACTIVE` entitlement and may need the customer to sign up again
      (202 `CLIENT_ACTION_REQUIRED`, status `PENDING`). Notifications: `PRODUCT_UPDATE` for a
      product change, `METADATA_UPDATE` otherwise. Send `null` to clear `offerKey`,
      `notificationUrl` or `dateExpiry`.
    - **Suspend**: `entitlementBenefits` `SUSPENDED` with a reason (`reasonCategory`,
      `reasonCode`, optional `reasonDescription`) moves an `ACTIVE` entitlement to
      `SUSPENDED`. The reason is stored in `extensionData` as `suspendReasonCategory`,
      `suspendReasonCode` and `suspendReasonDescription`.
    - **Resume**: `entitlementBenefits` `NORMAL` moves a `SUSPENDED` entitlement back to
      `ACTIVE` and sets `dateResumed`.

    A suspend or resume changes nothing else, so it cannot be combined with field changes.
    When the merchant finishes later, the answer is 202 `OK` with the record unchanged, and a
    `SUSPENSION_SUCCESS` or `RESUMPTION_SUCCESS` notification follows.

    Modelled: the method and path (the entitlement id travels in the body, as documented),
    the `entitlementBenefits` values and the reason field names for suspend.

    Args:
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.
        body (EntitlementChanges | ResumeEntitlementRequest | SuspendEntitlementRequest): One of
            three bodies: field changes, a suspend (with a reason) or a resume. A suspend or resume
            changes nothing else.

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
    body: EntitlementChanges | ResumeEntitlementRequest | SuspendEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> EntitlementResponse | Envelope | None:
    """Update, suspend or resume an entitlement

     One operation with three uses, chosen by the body:

    - **Update**: change any of `productKey`, `offerKey`, `notificationUrl`, `dateExpiry`,
      `customerIdentifier` and `extensionData`. Metadata may change in any live status; a
      product change needs an `ACTIVE` entitlement and may need the customer to sign up again
      (202 `CLIENT_ACTION_REQUIRED`, status `PENDING`). Notifications: `PRODUCT_UPDATE` for a
      product change, `METADATA_UPDATE` otherwise. Send `null` to clear `offerKey`,
      `notificationUrl` or `dateExpiry`.
    - **Suspend**: `entitlementBenefits` `SUSPENDED` with a reason (`reasonCategory`,
      `reasonCode`, optional `reasonDescription`) moves an `ACTIVE` entitlement to
      `SUSPENDED`. The reason is stored in `extensionData` as `suspendReasonCategory`,
      `suspendReasonCode` and `suspendReasonDescription`.
    - **Resume**: `entitlementBenefits` `NORMAL` moves a `SUSPENDED` entitlement back to
      `ACTIVE` and sets `dateResumed`.

    A suspend or resume changes nothing else, so it cannot be combined with field changes.
    When the merchant finishes later, the answer is 202 `OK` with the record unchanged, and a
    `SUSPENSION_SUCCESS` or `RESUMPTION_SUCCESS` notification follows.

    Modelled: the method and path (the entitlement id travels in the body, as documented),
    the `entitlementBenefits` values and the reason field names for suspend.

    Args:
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.
        body (EntitlementChanges | ResumeEntitlementRequest | SuspendEntitlementRequest): One of
            three bodies: field changes, a suspend (with a reason) or a resume. A suspend or resume
            changes nothing else.

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
    body: EntitlementChanges | ResumeEntitlementRequest | SuspendEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> Response[EntitlementResponse | Envelope]:
    """Update, suspend or resume an entitlement

     One operation with three uses, chosen by the body:

    - **Update**: change any of `productKey`, `offerKey`, `notificationUrl`, `dateExpiry`,
      `customerIdentifier` and `extensionData`. Metadata may change in any live status; a
      product change needs an `ACTIVE` entitlement and may need the customer to sign up again
      (202 `CLIENT_ACTION_REQUIRED`, status `PENDING`). Notifications: `PRODUCT_UPDATE` for a
      product change, `METADATA_UPDATE` otherwise. Send `null` to clear `offerKey`,
      `notificationUrl` or `dateExpiry`.
    - **Suspend**: `entitlementBenefits` `SUSPENDED` with a reason (`reasonCategory`,
      `reasonCode`, optional `reasonDescription`) moves an `ACTIVE` entitlement to
      `SUSPENDED`. The reason is stored in `extensionData` as `suspendReasonCategory`,
      `suspendReasonCode` and `suspendReasonDescription`.
    - **Resume**: `entitlementBenefits` `NORMAL` moves a `SUSPENDED` entitlement back to
      `ACTIVE` and sets `dateResumed`.

    A suspend or resume changes nothing else, so it cannot be combined with field changes.
    When the merchant finishes later, the answer is 202 `OK` with the record unchanged, and a
    `SUSPENSION_SUCCESS` or `RESUMPTION_SUCCESS` notification follows.

    Modelled: the method and path (the entitlement id travels in the body, as documented),
    the `entitlementBenefits` values and the reason field names for suspend.

    Args:
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.
        body (EntitlementChanges | ResumeEntitlementRequest | SuspendEntitlementRequest): One of
            three bodies: field changes, a suspend (with a reason) or a resume. A suspend or resume
            changes nothing else.

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
    body: EntitlementChanges | ResumeEntitlementRequest | SuspendEntitlementRequest,
    x_request_identifier: str | Unset = UNSET,
) -> EntitlementResponse | Envelope | None:
    """Update, suspend or resume an entitlement

     One operation with three uses, chosen by the body:

    - **Update**: change any of `productKey`, `offerKey`, `notificationUrl`, `dateExpiry`,
      `customerIdentifier` and `extensionData`. Metadata may change in any live status; a
      product change needs an `ACTIVE` entitlement and may need the customer to sign up again
      (202 `CLIENT_ACTION_REQUIRED`, status `PENDING`). Notifications: `PRODUCT_UPDATE` for a
      product change, `METADATA_UPDATE` otherwise. Send `null` to clear `offerKey`,
      `notificationUrl` or `dateExpiry`.
    - **Suspend**: `entitlementBenefits` `SUSPENDED` with a reason (`reasonCategory`,
      `reasonCode`, optional `reasonDescription`) moves an `ACTIVE` entitlement to
      `SUSPENDED`. The reason is stored in `extensionData` as `suspendReasonCategory`,
      `suspendReasonCode` and `suspendReasonDescription`.
    - **Resume**: `entitlementBenefits` `NORMAL` moves a `SUSPENDED` entitlement back to
      `ACTIVE` and sets `dateResumed`.

    A suspend or resume changes nothing else, so it cannot be combined with field changes.
    When the merchant finishes later, the answer is 202 `OK` with the record unchanged, and a
    `SUSPENSION_SUCCESS` or `RESUMPTION_SUCCESS` notification follows.

    Modelled: the method and path (the entitlement id travels in the body, as documented),
    the `entitlementBenefits` values and the reason field names for suspend.

    Args:
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.
        body (EntitlementChanges | ResumeEntitlementRequest | SuspendEntitlementRequest): One of
            three bodies: field changes, a suspend (with a reason) or a resume. A suspend or resume
            changes nothing else.

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
    body: EntitlementChanges | ResumeEntitlementRequest | SuspendEntitlementRequest,
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
