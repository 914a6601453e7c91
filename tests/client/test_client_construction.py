"""Building a client: arguments versus environment, caller-owned HTTP clients, closing."""

from __future__ import annotations

import asyncio
import base64
import inspect

import httpx
import pytest
from client_helpers import Script, envelope, record

import bango_resale as br
from bango_resale import AsyncResaleClient, ResaleClient

OK = envelope("OK", **record())


def timeout_seen(script: Script) -> dict[str, float | None]:
    seen: dict[str, float | None] = script.requests[-1].extensions["timeout"]
    return seen


def test_settings_come_from_the_environment(
    script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BANGO_RESALE_BASE_URL", " http://env.bango.test/ \n")
    monkeypatch.setenv("BANGO_RESALE_USERNAME", "env-user")
    monkeypatch.setenv("BANGO_RESALE_PASSWORD", "env-secret")
    script.then(200, OK)
    with ResaleClient(transport=httpx.MockTransport(script)) as client:
        client.get("ent-1")
        assert client.base_url == "http://env.bango.test"
    request = script.requests[0]
    assert str(request.url) == "http://env.bango.test/v1/entitlement/ent-1"
    expected = base64.b64encode(b"env-user:env-secret").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_arguments_win_over_the_environment(
    script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BANGO_RESALE_BASE_URL", "http://env.bango.test")
    monkeypatch.setenv("BANGO_RESALE_USERNAME", "env-user")
    monkeypatch.setenv("BANGO_RESALE_PASSWORD", "env-secret")
    script.then(200, OK)
    transport = httpx.MockTransport(script)
    with ResaleClient("http://arg.bango.test", "u", "p", transport=transport) as client:
        client.get("ent-1")
    assert script.requests[0].url.host == "arg.bango.test"
    assert (
        script.requests[0].headers["Authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    )


def test_with_block_closes_the_clients_own_connection_pool(script: Script) -> None:
    script.then(200, OK)
    with ResaleClient("http://bango.test", "u", "p", transport=httpx.MockTransport(script)) as c:
        c.get("ent-1")
    assert c._http.is_closed

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=OK)

    async def run() -> AsyncResaleClient:
        async with AsyncResaleClient(
            "http://bango.test", "u", "p", transport=httpx.MockTransport(answer)
        ) as client:
            await client.get("ent-1")
        return client

    assert asyncio.run(run())._http.is_closed


def test_explicit_timeout_applies_to_a_caller_supplied_http_client(script: Script) -> None:
    script.then(200, OK)
    http = httpx.Client(
        base_url="http://bango.test", transport=httpx.MockTransport(script), timeout=99.0
    )
    with ResaleClient("http://bango.test", "u", "p", http_client=http, timeout=3.0) as client:
        client.get("ent-1")
        assert timeout_seen(script)["read"] == 3.0
        client.get("ent-1", timeout=1.0)
        assert timeout_seen(script)["read"] == 1.0
    with ResaleClient("http://bango.test", "u", "p", http_client=http) as client:
        client.get("ent-1")
        assert timeout_seen(script)["read"] == 99.0  # not told otherwise: the caller's own
    http.close()


def test_transport_and_http_client_together_are_refused(script: Script) -> None:
    with (
        httpx.Client(transport=httpx.MockTransport(script)) as http,
        pytest.raises(br.ConfigurationError, match="not both"),
    ):
        ResaleClient(
            "http://bango.test",
            "u",
            "p",
            http_client=http,
            transport=httpx.MockTransport(script),
        )


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


def test_async_client_has_the_same_methods_and_parameters() -> None:
    sync, asynchronous = public_methods(ResaleClient), public_methods(AsyncResaleClient)
    assert set(sync) - {"close"} == set(asynchronous) - {"aclose"}
    for name in set(sync) - {"close"}:
        assert inspect.iscoroutinefunction(getattr(AsyncResaleClient, name)), name
        sync_params = list(sync[name].parameters.values())
        async_params = list(asynchronous[name].parameters.values())
        assert [(p.name, p.kind, p.default) for p in sync_params] == [
            (p.name, p.kind, p.default) for p in async_params
        ], name
    sync_init = inspect.signature(ResaleClient.__init__).parameters
    async_init = inspect.signature(AsyncResaleClient.__init__).parameters
    assert list(sync_init) == list(async_init)
