"""The sandbox executes the spec's status machine: change a row on a copy of the spec and the
sandbox's answers, statuses and notifications change with it."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
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


def _scenario(tmp_path: Path, machine: StatusMachine | None) -> dict[str, Any]:
    """Suspend an ACTIVE entitlement, cancel it, revoke a PENDING one; what came back."""
    app = create_app(str(tmp_path / f"{id(machine)}.sqlite3"), machine=machine)

    async def run() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sandbox", auth=AUTH
        ) as client:

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
                "notifications": [
                    n["body"]["notificationType"] for n in sent.json()["notifications"]
                ],
            }

    return asyncio.run(run())


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
