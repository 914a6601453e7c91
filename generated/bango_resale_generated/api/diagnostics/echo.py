from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.echo_response import EchoResponse
from ...models.envelope import Envelope
from ...types import UNSET, Response, Unset


def _get_kwargs(
    echo_request_id: str,
    *,
    x_request_identifier: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_request_identifier, Unset):
        headers["X-RequestIdentifier"] = x_request_identifier

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/echo/{echo_request_id}".format(
            echo_request_id=quote(str(echo_request_id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> EchoResponse | Envelope | None:
    if response.status_code == 200:
        response_200 = EchoResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Envelope.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Envelope.from_dict(response.json())

        return response_401

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
) -> Response[EchoResponse | Envelope]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    echo_request_id: str,
    *,
    client: AuthenticatedClient | Client,
    x_request_identifier: str | Unset = UNSET,
) -> Response[EchoResponse | Envelope]:
    """Check connectivity and credentials

     Returns the id from the path in `echo`. A cheap way to prove that the network path and the
    credentials work before sending real traffic.

    Modelled: the method.

    Args:
        echo_request_id (str):
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EchoResponse | Envelope]
    """

    kwargs = _get_kwargs(
        echo_request_id=echo_request_id,
        x_request_identifier=x_request_identifier,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    echo_request_id: str,
    *,
    client: AuthenticatedClient | Client,
    x_request_identifier: str | Unset = UNSET,
) -> EchoResponse | Envelope | None:
    """Check connectivity and credentials

     Returns the id from the path in `echo`. A cheap way to prove that the network path and the
    credentials work before sending real traffic.

    Modelled: the method.

    Args:
        echo_request_id (str):
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EchoResponse | Envelope
    """

    return sync_detailed(
        echo_request_id=echo_request_id,
        client=client,
        x_request_identifier=x_request_identifier,
    ).parsed


async def asyncio_detailed(
    echo_request_id: str,
    *,
    client: AuthenticatedClient | Client,
    x_request_identifier: str | Unset = UNSET,
) -> Response[EchoResponse | Envelope]:
    """Check connectivity and credentials

     Returns the id from the path in `echo`. A cheap way to prove that the network path and the
    credentials work before sending real traffic.

    Modelled: the method.

    Args:
        echo_request_id (str):
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EchoResponse | Envelope]
    """

    kwargs = _get_kwargs(
        echo_request_id=echo_request_id,
        x_request_identifier=x_request_identifier,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    echo_request_id: str,
    *,
    client: AuthenticatedClient | Client,
    x_request_identifier: str | Unset = UNSET,
) -> EchoResponse | Envelope | None:
    """Check connectivity and credentials

     Returns the id from the path in `echo`. A cheap way to prove that the network path and the
    credentials work before sending real traffic.

    Modelled: the method.

    Args:
        echo_request_id (str):
        x_request_identifier (str | Unset): A caller-chosen id for idempotent requests.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EchoResponse | Envelope
    """

    return (
        await asyncio_detailed(
            echo_request_id=echo_request_id,
            client=client,
            x_request_identifier=x_request_identifier,
        )
    ).parsed


def build_request(
    echo_request_id: str,
    *,
    x_request_identifier: str | Unset = UNSET,
) -> dict[str, Any]:
    """The keyword arguments of `httpx.Client.request` for this operation.

    Method, URL, query parameters, headers and body exactly as the spec defines them, for a
    caller that sends requests over its own transport.
    """
    return _get_kwargs(
        echo_request_id=echo_request_id,
        x_request_identifier=x_request_identifier,
    )
