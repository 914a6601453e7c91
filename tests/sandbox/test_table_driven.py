"""The sandbox executes the spec's status machine: change a row on a copy of the spec and the
sandbox's answers, statuses and notifications change with it."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

import bango_resale_spec as spec
from bango_resale_sandbox import create_app
from bango_resale_spec import StatusMachine

AUTH = ("demo", "demo-secret")
IMMEDIATE = {"X-Magic-Number": "CREATE_REQUEST_RETURNS_ACTIVATED"}
SIGN_UP = {"X-Magic-Number": "CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED"}
REASON = {"cancelReasonCategory": "REVOKED", "cancelReasonCode": "OTHER"}


def _changed(**changes: Callable[[dict[str, Any]], None]) -> StatusMachine:
    """The shipped table with the named rows changed (on a copy of the spec)."""
    document = copy.deepcopy(dict(spec.load_partner_spec()))
    for row in document["x-status-machine"]:
        if row["id"] in changes:
            changes[row["id"]](row)
    return spec.machine_from(document)


def _run(
    path: Path,
    machine: StatusMachine | None,
    scenario: Callable[[httpx.AsyncClient], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """What `scenario` saw, as the demo reseller of a fresh sandbox executing `machine`."""
    app = create_app(str(path), machine=machine)

    async def run() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sandbox", auth=AUTH
        ) as client:
            return await scenario(client)

    return asyncio.run(run())


def _scenario(tmp_path: Path, machine: StatusMachine | None) -> dict[str, Any]:
    """Suspend an ACTIVE entitlement, cancel it, revoke a PENDING one; what came back."""

    async def scenario(client: httpx.AsyncClient) -> dict[str, Any]:
        async def create(headers: dict[str, str]) -> str:
            body = {"customerIdentifier": "c-1", "merchantAccountKey": "BANGO"}
            body["productKey"] = "BangoMusic"
            answer = await client.post("/v1/entitlement", json=body, headers=headers)
            assert answer.status_code in {200, 202}, answer.text
            return str(answer.json()["entitlementId"])

        active = await create(IMMEDIATE)
        suspend = {
            "entitlementId": active,
            "entitlementBenefits": "SUSPENDED",
            "reasonCategory": "ACTIVATION_ROLLBACK",
            "reasonCode": "CUSTOMER_PAYMENT_DEFAULT",
        }
        suspended = await client.patch("/v1/entitlement", json=suspend)
        cancelled = await client.post(f"/v1/entitlement/cancel/{active}", json=REASON)
        pending = await create(SIGN_UP)
        revoked = await client.post(f"/v1/entitlement/revoke/{pending}", json=REASON)
        sent = await client.get("/sandbox/notifications", params={"entitlementId": active})
        return {
            "suspend": (suspended.status_code, suspended.json()["status"]),
            "cancel": (cancelled.status_code, cancelled.json()["status"]),
            "revoke pending": (revoked.status_code, revoked.json()["responseCode"]),
            "notifications": [n["body"]["notificationType"] for n in sent.json()["notifications"]],
        }

    return _run(tmp_path / f"{id(machine)}.sqlite3", machine, scenario)


def test_a_changed_row_changes_what_the_sandbox_does(tmp_path: Path) -> None:
    shipped = _scenario(tmp_path, None)
    assert shipped == {
        "suspend": (200, "SUSPENDED"),
        "cancel": (200, "CANCELLED"),
        "revoke pending": (200, "OK"),
        "notifications": ["ACTIVATION_SUCCESS", "SUSPENSION_SUCCESS", "TERMINATION_SUCCESS"],
    }

    def no_pending(row: dict[str, Any]) -> None:
        row["from"] = [s for s in row["from"] if s != "PENDING"]

    machine = _changed(
        # The suspend notifies differently, the cancel ends in REVOKED, and revoke no longer
        # starts from PENDING: three rows, three behaviours changed.
        suspend=lambda row: row.update(notifications=["METADATA_UPDATE", "SUSPENSION_SUCCESS"]),
        **{"cancel-now": lambda row: row.update(to="REVOKED")},
        revoke=no_pending,
        **{"revoke-deferred": no_pending},
    )
    assert _scenario(tmp_path, machine) == {
        "suspend": (200, "SUSPENDED"),
        "cancel": (200, "REVOKED"),
        "revoke pending": (409, "NOT_AVAILABLE"),
        "notifications": [
            "ACTIVATION_SUCCESS",
            "METADATA_UPDATE",
            "SUSPENSION_SUCCESS",
            "TERMINATION_SUCCESS",
        ],
    }


def _changed_statuses(document: dict[str, Any]) -> None:
    """FAILED becomes an end status; reaching dateExpiry no longer ends a SUSPENDED one."""
    schema = document["components"]["schemas"]["EntitlementStatus"]
    schema["x-terminal"] = [*schema["x-terminal"], "FAILED"]
    for row in document["x-status-machine"]:
        if row["id"] == "expiry-reached":
            row["from"] = [s for s in row["from"] if s != "SUSPENDED"]


def _ends(tmp_path: Path, machine: StatusMachine | None) -> dict[str, Any]:
    """Fail an ACTIVE entitlement; let a SUSPENDED one pass its dateExpiry."""

    async def scenario(client: httpx.AsyncClient) -> dict[str, Any]:
        body = {"customerIdentifier": "c-2", "merchantAccountKey": "BANGO"}
        body |= {"productKey": "BangoMusic", "dateExpiry": "2000-01-01T00:00:00Z"}

        async def create() -> str:
            answer = await client.post("/v1/entitlement", json=body, headers=IMMEDIATE)
            assert answer.status_code == 200, answer.text
            return str(answer.json()["entitlementId"])

        failing = await create()
        failed = await client.post(f"/sandbox/entitlements/{failing}/fail")
        expiring = await create()
        suspend = {
            "entitlementId": expiring,
            "entitlementBenefits": "SUSPENDED",
            "reasonCategory": "ACTIVATION_ROLLBACK",
            "reasonCode": "CUSTOMER_PAYMENT_DEFAULT",
        }
        assert (await client.patch("/v1/entitlement", json=suspend)).status_code == 200
        advanced = await client.post("/sandbox/clock/advance", json={"seconds": 1})
        expired = await client.get(f"/v1/entitlement/{expiring}")
        return {
            "failed": (failed.json()["status"], failed.json()["dateEnded"] is not None),
            "advance": advanced.status_code,
            "suspended past dateExpiry": expired.json()["status"],
        }

    return _run(tmp_path / f"ends-{id(machine)}.sqlite3", machine, scenario)


def test_live_and_end_statuses_come_from_the_machine_the_sandbox_runs(tmp_path: Path) -> None:
    assert _ends(tmp_path, None) == {
        "failed": ("FAILED", False),
        "advance": 200,
        "suspended past dateExpiry": "CANCELLED",
    }
    document = copy.deepcopy(dict(spec.load_partner_spec()))
    _changed_statuses(document)
    assert _ends(tmp_path, spec.machine_from(document)) == {
        "failed": ("FAILED", True),
        "advance": 200,
        "suspended past dateExpiry": "SUSPENDED",
    }


def _failed_counts_as_live(tmp_path: Path, machine: StatusMachine | None) -> dict[str, Any]:
    """A FAILED entitlement past its dateExpiry, and a second create of a one-per-customer
    product (MUSIC_PREMIUM) after the first FAILED."""

    async def scenario(client: httpx.AsyncClient) -> dict[str, Any]:
        expiring = {"customerIdentifier": "c-3", "merchantAccountKey": "BANGO"}
        expiring |= {"productKey": "BangoMusic", "dateExpiry": "2000-01-01T00:00:00Z"}
        created = await client.post("/v1/entitlement", json=expiring, headers=IMMEDIATE)
        failed_id = str(created.json()["entitlementId"])
        assert (await client.post(f"/sandbox/entitlements/{failed_id}/fail")).status_code == 200
        assert (await client.post("/sandbox/clock/advance", json={"seconds": 1})).status_code == 200
        after_expiry = (await client.get(f"/v1/entitlement/{failed_id}")).json()["status"]

        limited = {"customerIdentifier": "c-4", "merchantAccountKey": "BANGO_US"}
        limited["productKey"] = "MUSIC_PREMIUM"
        first = await client.post("/v1/entitlement", json=limited)
        first_id = str(first.json()["entitlementId"])
        assert (await client.post(f"/sandbox/entitlements/{first_id}/fail")).status_code == 200
        second = await client.post("/v1/entitlement", json=limited)
        return {
            "failed past dateExpiry": after_expiry,
            "second create": (second.status_code, second.json()["responseCode"]),
        }

    return _run(tmp_path / f"live-{id(machine)}.sqlite3", machine, scenario)


def test_statuses_the_machine_makes_live_expire_and_count_toward_the_limit(
    tmp_path: Path,
) -> None:
    """Storage narrows by the live statuses of the machine the sandbox runs, not the shipped
    one's: a machine in which FAILED is live expires FAILED entitlements and counts them
    toward a product's per-customer limit."""
    assert _failed_counts_as_live(tmp_path, None) == {
        "failed past dateExpiry": "FAILED",
        "second create": (201, "OK"),
    }
    document = copy.deepcopy(dict(spec.load_partner_spec()))
    for row in document["x-status-machine"]:
        if row["id"] == "expiry-reached":
            row["from"] = [*row["from"], "FAILED"]
    assert _failed_counts_as_live(tmp_path, spec.machine_from(document)) == {
        "failed past dateExpiry": "CANCELLED",
        "second create": (409, "ALREADY_EXISTS"),
    }
