"""The sandbox spec documents what the sandbox serves, and the packaged configuration loads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator
from openapi_spec_validator.readers import read_from_filename

from bango_resale_sandbox.config import ActivationMode, ConfigError, load_config, parse_config
from bango_resale_sandbox.testing import DEMO_RESELLER, SandboxThread
from bango_resale_spec import load_sandbox_spec as sandbox_spec
from bango_resale_spec import magic_number, magic_numbers

from support.api import Api

SPEC = Path(__file__).resolve().parents[2] / "spec" / "sandbox.openapi.yaml"


def test_sandbox_spec_is_valid_openapi_3_1() -> None:
    document, base_uri = read_from_filename(str(SPEC))
    assert list(OpenAPIV31SpecValidator(document, base_uri=base_uri).iter_errors()) == []


def test_packaged_copy_is_the_spec_in_the_repository() -> None:
    assert sandbox_spec()["paths"].keys() == read_from_filename(str(SPEC))[0]["paths"].keys()


def test_the_spec_names_the_packaged_demo_resellers_and_lists_real_effects() -> None:
    """The spec's prose and examples say what the packaged configuration and the magic-number
    table hold."""
    document = sandbox_spec()
    described = document["info"]["description"]
    for reseller in load_config().resellers.values():
        assert f"`{reseller.name}` / `{reseller.password}`" in described
    answers = document["paths"]["/sandbox/magic-numbers"]["get"]["responses"]["200"]
    example = answers["content"]["application/json"]["examples"]["known"]["value"]
    for listed in example["magicNumbers"]:
        assert listed["effect"] == magic_number(listed["magicNumber"]).effect


@pytest.mark.integration
def test_every_documented_control_answers_with_a_documented_status(
    sandbox: SandboxThread, api: Api, customer: str
) -> None:
    entitlement_id = api.create_id(customer)
    calls = {
        "completePendingOperation": ("POST", f"/sandbox/entitlements/{entitlement_id}/complete"),
        "getClock": ("GET", "/sandbox/clock"),
        "listNotifications": ("GET", "/sandbox/notifications"),
        "followNotifications": ("GET", "/sandbox/notifications/feed?after=0&limit=5"),
        "redeliverNotification": ("POST", "/sandbox/notifications/unknown/redeliver"),
        "listMagicNumbers": ("GET", "/sandbox/magic-numbers"),
        "getHealth": ("GET", "/sandbox/health"),
        "showActivationPage": ("GET", "/sandbox/activate/unknown-token"),
        "completeActivation": ("POST", "/sandbox/activate/unknown-token"),
        "failEntitlement": ("POST", f"/sandbox/entitlements/{entitlement_id}/fail"),
        "merchantCancelEntitlement": (
            "POST",
            f"/sandbox/entitlements/{entitlement_id}/merchant-cancel",
        ),
        "merchantRevokeEntitlement": ("POST", "/sandbox/entitlements/unknown/merchant-revoke"),
        "advanceClock": ("POST", "/sandbox/clock/advance"),
        "resetSandbox": ("POST", "/sandbox/reset"),
        "raiseEvent": ("POST", f"/sandbox/entitlements/{entitlement_id}/events/EXPIRY_REACHED"),
        "listEntitlements": ("GET", "/sandbox/entitlements?status=CANCELLED&limit=2"),
        "getEntitlementTimeline": ("GET", f"/sandbox/entitlements/{entitlement_id}/timeline"),
        "listRequests": ("GET", "/sandbox/requests?status=4xx"),
        "showConsole": ("GET", "/sandbox/console/"),
        "showConsoleEntitlement": ("GET", f"/sandbox/console/entitlements/{entitlement_id}"),
        "showConsoleRequests": ("GET", "/sandbox/console/requests"),
        "getConsoleAsset": ("GET", "/sandbox/console/assets/console.css"),
        "getStatusMachineDrawing": ("GET", "/sandbox/console/status-machine.svg?mark=ACTIVE"),
        "getMovesDrawing": ("GET", "/sandbox/console/moves.svg?from=PENDING"),
    }
    documented = {
        op["operationId"]: (method.upper(), path, op)
        for path, item in sandbox_spec()["paths"].items()
        for method, op in item.items()
    }
    assert set(calls) == set(documented)
    for operation_id, (method, path) in calls.items():
        if operation_id == "resetSandbox":
            continue  # would wipe the shared sandbox's data; covered elsewhere
        response = api.http.request(method, path)
        op = documented[operation_id][2]
        assert str(response.status_code) in op["responses"], (operation_id, response.text)
    unauthenticated = httpx.get(f"{sandbox.base_url}/sandbox/clock")
    assert unauthenticated.status_code == 401


def test_packaged_configuration_has_bangos_test_merchants() -> None:
    config = load_config()
    assert config.product("BANGO", "BangoMusic") is not None
    assert config.product("BANGO_US", "MUSIC") is not None
    premium = config.product("BANGO_US", "MUSIC_PREMIUM")
    assert premium is not None and premium.activation is ActivationMode.PENDING
    assert {name: r.password for name, r in config.resellers.items()} == {
        "demo": "demo-secret",
        "demo2": "demo2-secret",
    }


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ({"resellers": {"x": {}}}, "password"),
        ({"merchants": {"M": {"products": {"P": {"activation": "magic"}}}}}, "magic"),
        ({"merchants": {"M": {"products": {"P": {"async_operations": ["fly"]}}}}}, "fly"),
        ({"rate_limit": {"requests_per_second": -1}}, "requests_per_second"),
        ({"server": {"sqlite_synchronous": "SOMETIMES"}}, "SOMETIMES"),
    ],
)
def test_bad_configuration_is_reported(data: dict[str, object], complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        parse_config(data)


@pytest.mark.integration
@pytest.mark.parametrize(
    "magic",
    [m.value for m in magic_numbers() if m.applies_to_any_operation],
)
def test_controls_document_the_transient_answers_magic_numbers_force(api: Api, magic: str) -> None:
    for path, item in sandbox_spec()["paths"].items():
        for method, operation in item.items():
            names = [p.get("$ref", "") for p in operation.get("parameters", [])]
            if not any(name.endswith("/MagicNumber") for name in names):
                continue
            concrete = path.replace("{entitlementId}", "any-id")
            response = api.http.request(method, concrete, headers={"X-Magic-Number": magic})
            assert str(response.status_code) in operation["responses"], (path, magic)


def test_clock_moves_stop_far_before_dates_overflow(
    in_process_sandbox: Callable[..., SandboxThread],
) -> None:
    server = in_process_sandbox()
    demo = Api(server.base_url, DEMO_RESELLER)
    entitlement_id = demo.create_id("cust-far-future")
    for _ in range(120):  # 1,200 years of the largest allowed step
        assert demo.advance(315360000).status_code == 200
    assert demo.http.get("/sandbox/clock").json()["now"] < "3100"
    assert demo.get(entitlement_id).status_code == 200
    assert demo.create(customer="cust-far-future-2").status_code == 200
