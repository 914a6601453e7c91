"""The `bango-resale` command: reasons offline, operations against the sandbox."""

from __future__ import annotations

import io
import json

import pytest

from bango_resale import Reason, ResaleClient
from bango_resale.cli import main
from bango_resale_sandbox.testing import SandboxProcess


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_reasons_table_lists_every_row() -> None:
    code, out, _ = run("reasons")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["#", "CATEGORY", "CODE"]
    assert len(lines) == 1 + len(Reason.all())
    assert "prefer suspend" in out and "platform only" in out


def test_reasons_json() -> None:
    code, out, _ = run("reasons", "--json")
    rows = json.loads(out)
    assert code == 0
    assert [r["index"] for r in rows] == [r.index for r in Reason.all()]


def test_bad_reason_is_a_usage_error_naming_the_fix(sandbox: SandboxProcess) -> None:
    code, _, err = run(
        "cancel",
        "ent-1",
        "--reason",
        "REVOKED/FRAUD",
        "--base-url",
        sandbox.base_url,
        "--username",
        "demo",
        "--password",
        "demo-secret",
    )
    assert code == 2
    assert "ACTIVATION_ROLLBACK/FRAUD" in err


@pytest.fixture
def connection(sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BANGO_RESALE_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("BANGO_RESALE_USERNAME", "demo")
    monkeypatch.setenv("BANGO_RESALE_PASSWORD", "demo-secret")
    return sandbox.base_url


def test_get_suspend_resume_cancel_revoke_echo(connection: str, live: ResaleClient) -> None:
    created = live.create(
        customer_identifier="cli-customer",
        merchant_account_key="BANGO",
        product_key="BangoMusic",
        extra_headers={"X-Magic-Number": "CREATE_REQUEST_RETURNS_ACTIVATED"},
    )
    eid = created.entitlement.entitlement_id

    code, out, _ = run("get", eid)
    assert code == 0 and eid in out and "ACTIVE" in out
    assert "  allows    update, change_product, suspend, cancel, revoke\n" in out

    code, out, _ = run("get", eid, "--json")
    assert json.loads(out)["allowedOperations"] == [
        "update",
        "change_product",
        "suspend",
        "cancel",
        "revoke",
    ]

    code, out, _ = run("suspend", eid, "--reason", "12", "--json")
    assert code == 0 and json.loads(out)["status"] == "SUSPENDED"

    code, out, _ = run("resume", eid, "--json")
    assert code == 0 and json.loads(out)["status"] == "ACTIVE"

    code, out, err = run("revoke", eid, "--reason", "REVOKED/OTHER")
    assert code == 0 and "REVOKED" in out, err
    assert "  allows    nothing\n" in out

    code, _, err = run("revoke", eid, "--reason", "17", "--json")
    assert code == 1
    assert json.loads(err)["responseCode"] == "NOT_AVAILABLE"

    other = live.create(
        customer_identifier="cli-customer",
        merchant_account_key="BANGO",
        product_key="BangoMusic",
        extra_headers={"X-Magic-Number": "CREATE_REQUEST_RETURNS_ACTIVATED"},
    ).entitlement.entitlement_id
    code, out, _ = run(
        "cancel",
        other,
        "--reason",
        "CUSTOMER_CANCELLED/NOT_RENEWED",
        "--json",
        "--header",
        "X-Magic-Number:CANCEL_REQUEST_RETURNS_ACCEPTED",
    )
    document = json.loads(out)
    assert code == 0 and document["httpStatus"] == 202 and document["outcome"] == "accepted"

    code, out, _ = run("echo", "cli-ping")
    assert code == 0 and "cli-ping" in out


def test_not_found_is_reported_readably(connection: str) -> None:
    code, _, err = run("get", "missing-entitlement")
    assert code == 1
    assert err.startswith("error: NotFoundError")


def test_a_closed_pipe_ends_quietly() -> None:
    import subprocess
    import sys

    # Far more output than a pipe buffers, so the writes outlive the reader and Python raises
    # BrokenPipeError inside main().
    script = (
        "import sys; from bango_resale.cli import main; "
        "sys.exit(max(main(['reasons', '--json']) for _ in range(300)))"
    )
    result = subprocess.run(
        f"'{sys.executable}' -c \"{script}\" | head -c 1 > /dev/null; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in result.stderr
    assert result.returncode == 0
