"""`bango-resale trigger` and `bango-resale logs` end to end: the real command against a real
sandbox over loopback, as text for people and exact JSON for scripts."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import httpx
import pytest

from bango_resale import ResaleClient
from bango_resale.cli import main
from bango_resale_sandbox.testing import DEMO_RESELLER, SandboxThread

pytestmark = pytest.mark.integration


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def activated(client: ResaleClient, customer: str) -> str:
    return client.create(
        customer_identifier=customer, merchant_account_key="BANGO", product_key="BangoMusic"
    ).entitlement.entitlement_id


def test_trigger_fires_the_event_the_status_allows(
    live: ResaleClient, environment: dict[str, str], customer: str
) -> None:
    entitlement_id = activated(live, customer)
    code, out, err = run(
        "trigger", entitlement_id, "merchant_cancelled", "--reason", "CUSTOMER_CANCELLED/OTHER"
    )
    assert (code, err) == (0, "")
    assert out == (
        f"MERCHANT_CANCELLED happened to {entitlement_id}: now CANCELLED"
        " (rows fired: merchant-cancelled)\n"
    )
    record = live.get(entitlement_id).entitlement
    assert record.status == "CANCELLED"
    assert record.extension_data["cancelReasonCode"] == "OTHER"

    # The machine allows nothing but a confirmation from CANCELLED: the sandbox says so.
    code, out, err = run("--json", "trigger", entitlement_id, "MERCHANT_REVOKED")
    assert code == 1 and err == ""
    refusal = json.loads(out)
    assert (refusal["httpStatus"], refusal["responseCode"]) == (409, "NOT_AVAILABLE")
    assert refusal["responseMessage"].endswith("the status machine allows: MERCHANT_CONFIRMED")


def test_trigger_prints_the_sandboxs_answer_as_json(
    live: ResaleClient, environment: dict[str, str], customer: str
) -> None:
    entitlement_id = activated(live, customer)
    code, out, err = run("trigger", entitlement_id, "MERCHANT_STATE_LOST", "--json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert (document["event"], document["rows"]) == ("MERCHANT_STATE_LOST", ["merchant-state-lost"])
    assert document["entitlement"]["status"] == "FAILED"
    assert document["responseCode"] == "OK"
    code, out, _ = run("trigger", entitlement_id, "EXPIRY_REACHED", "--quiet")
    assert code == 1  # FAILED is final


def test_trigger_refuses_what_the_machine_does_not_know_in_shell_terms(
    environment: dict[str, str],
) -> None:
    code, out, err = run("trigger", "any-id", "PAYMENT_FAILED")
    assert (code, out) == (2, "")
    assert err == (
        "error: trigger: EVENT: 'PAYMENT_FAILED' is not an event of the status machine; the"
        " events are ACTIVATION_COMPLETED, MERCHANT_CONFIRMED, PAID_PERIOD_ENDED,"
        " EXPIRY_REACHED, MERCHANT_CANCELLED, MERCHANT_REVOKED, MERCHANT_STATE_LOST\n"
    )
    code, _, err = run("trigger", "any-id", "MERCHANT_STATE_LOST", "--reason", "REVOKED/OTHER")
    assert code == 2 and "--reason: only MERCHANT_CANCELLED and MERCHANT_REVOKED" in err
    code, _, err = run("trigger", "any-id", "MERCHANT_REVOKED", "--reason", "NO/SUCH")
    assert code == 2 and err.startswith("error: --reason:"), err


def test_logs_prints_each_request_with_its_answer_oldest_first(
    sandbox: SandboxThread, live: ResaleClient, environment: dict[str, str], customer: str
) -> None:
    entitlement_id = activated(live, customer)
    live.get(entitlement_id, request_id="look-1")
    run("trigger", entitlement_id, "MERCHANT_REVOKED")
    run("trigger", entitlement_id, "MERCHANT_REVOKED")  # refused: already REVOKED
    code, out, err = run("logs", "--entitlement", entitlement_id)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 4
    # The client sends an X-RequestIdentifier with every write.
    assert "POST /v1/entitlement  createEntitlement  200 OK  (request id " in lines[0]
    assert f", entitlement {entitlement_id}, " in lines[0]
    assert "getEntitlement  200 OK  (request id look-1" in lines[1]
    assert "raiseEvent  200 OK" in lines[2]
    assert "raiseEvent  409 NOT_AVAILABLE: MERCHANT_REVOKED cannot happen" in lines[3]

    code, out, _ = run("logs", "--entitlement", entitlement_id, "--status", "4xx", "--json")
    (entry,) = [json.loads(line) for line in out.splitlines()]
    listed = httpx.get(
        f"{sandbox.base_url}/sandbox/requests",
        params={"entitlementId": entitlement_id, "status": "409"},
        auth=DEMO_RESELLER,
    ).json()["requests"]
    assert [entry] == listed  # exactly as the sandbox gives it

    # --quiet prints the entitlement ids, for a script; a request that named none prints nothing.
    live.echo("ping")
    code, out, _ = run("logs", "--quiet", "--limit", "2")
    assert (code, out) == (0, f"{entitlement_id}\n")


def test_logs_escapes_what_would_drive_the_terminal(
    live: ResaleClient, environment: dict[str, str]
) -> None:
    hostile = "Music\x1b[2J\u202e"
    with pytest.raises(Exception):  # noqa: B017 - any refusal: only its log line matters
        live.create(customer_identifier="escape", merchant_account_key="BANGO", product_key=hostile)
    code, out, _ = run(
        "logs", "--operation", "createEntitlement", "--status", "409", "--limit", "1"
    )
    assert code == 0
    assert "\x1b" not in out and "\u202e" not in out
    assert "Music\\x1b[2J\\u202e" in out


def test_logs_refuses_bad_filters_in_shell_terms(environment: dict[str, str]) -> None:
    code, _, err = run("logs", "--status", "41")
    assert code == 2 and err == (
        "error: logs: --status: '41' is not an HTTP status (409) or class (4xx)\n"
    )
    code, _, err = run("logs", "--limit", "0")
    assert code == 2 and "--limit: must be from 1 to 1000" in err


def test_logs_follow_prints_new_requests_as_they_come(
    live: ResaleClient, environment: dict[str, str], customer: str
) -> None:
    old = activated(live, f"{customer}-before")  # before following: not shown
    follower = subprocess.Popen(
        [
            *(sys.executable, "-m", "bango_resale.cli", "logs", "--follow", "--json"),
            *("--operation", "createEntitlement", "--count", "2", "--poll-interval", "0.1"),
        ],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stderr is not None
        ready = follower.stderr.readline()
        assert ready.startswith("Ready: following the requests"), ready
        live.get(old)  # another operation: filtered out
        made = [activated(live, f"{customer}-{n}") for n in range(2)]
        stdout, stderr = follower.communicate(timeout=30)
    finally:
        follower.kill()
    assert follower.returncode == 0, stderr
    assert [json.loads(line)["entitlementId"] for line in stdout.splitlines()] == made
