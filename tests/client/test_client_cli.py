"""The `bango-resale` command: reasons offline, operations against the sandbox."""

from __future__ import annotations

import argparse
import json
import socket

import pytest
from client_helpers import run_cli as run

from bango_resale import DEFAULT_BASE_URL, Reason, ResaleClient
from bango_resale.cli import build_parser
from bango_resale_sandbox.testing import SandboxThread


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


def test_bad_reason_is_a_usage_error_naming_the_fix(sandbox: SandboxThread) -> None:
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
def connection(sandbox: SandboxThread, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BANGO_RESALE_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("BANGO_RESALE_USERNAME", "demo")
    monkeypatch.setenv("BANGO_RESALE_PASSWORD", "demo-secret")
    return sandbox.base_url


def test_every_operation_from_the_shell(connection: str) -> None:
    code, eid, err = run(
        "create",
        "--customer",
        "cli-customer",
        "--merchant",
        "BANGO",
        "--product",
        "BangoMusic",
        "--extension-data",
        '{"plan": "solo"}',
        "--quiet",
    )
    eid = eid.strip()
    assert code == 0 and eid, err

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

    code, out, _ = run("query", "cli-customer", "--status", "ACTIVE")
    assert code == 0 and eid in out
    code, out, _ = run("query", "cli-customer", "--json")
    assert eid in [row["entitlementId"] for row in json.loads(out)]

    code, out, _ = run("update", eid, "--extension-data", '{"plan": "family"}', "--json")
    assert code == 0 and json.loads(out)["extensionData"]["plan"] == "family"

    code, out, _ = run("suspend", eid, "--reason", "12", "--json")
    assert code == 0 and json.loads(out)["status"] == "SUSPENDED"

    code, out, _ = run("resume", eid, "--json")
    assert code == 0 and json.loads(out)["status"] == "ACTIVE"

    code, out, err = run("cancel", eid, "--reason", "CUSTOMER_CANCELLED/NOT_RENEWED")
    assert code == 0 and "CANCELLED" in out, err

    code, out, err = run("reactivate", eid, "--json")
    assert code == 0 and json.loads(out)["status"] == "ACTIVE", err
    assert err == "warning: reactivate is deprecated by Bango; create a new entitlement instead\n"

    code, out, err = run("revoke", eid, "--reason", "REVOKED/OTHER")
    assert code == 0 and "REVOKED" in out, err
    assert "  allows    nothing\n" in out

    code, out, err = run("revoke", eid, "--reason", "17", "--json")
    assert code == 1 and err == ""
    assert json.loads(out)["responseCode"] == "NOT_AVAILABLE"

    code, pending, _ = run(
        "create", "--customer", "cli-customer", "--merchant", "BANGO_US", "--product", "MUSIC", "-q"
    )
    code, out, _ = run("activation-info", pending.strip())
    assert code == 0 and "NAVIGATE_TO_URL http" in out

    code, out, _ = run(
        "create",
        "--customer",
        "cli-customer",
        "--merchant",
        "BANGO",
        "--product",
        "BangoMusic",
        "--json",
        "--header",
        "X-Magic-Number:CREATE_REQUEST_RETURNS_ACTIVATED",
    )
    other = json.loads(out)["entitlementId"]
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
    code, out, err = run("get", "missing-entitlement")
    assert code == 1 and out == ""
    assert err.startswith("error: get: the platform answered HTTP 404 NOT_FOUND")


def test_json_errors_go_to_stdout_for_every_kind_of_failure(
    connection: str, refusing_port: int
) -> None:
    code, out, err = run("get", "missing-entitlement", "--json")
    assert (code, err) == (1, "")
    assert json.loads(out)["error"] == "NotFoundError"

    code, out, err = run("get", "--json")  # the operand is missing
    assert (code, err) == (2, "")
    assert "ENTITLEMENT_ID" in json.loads(out)["message"]

    url = f"http://127.0.0.1:{refusing_port}"
    code, out, err = run("get", "x", "--json", "--base-url", url)
    document = json.loads(out)
    assert code == 3 and document["exitStatus"] == 3
    assert document["url"] == f"{url}/v1/entitlement/x"


def test_usage_errors_name_the_flag(connection: str) -> None:
    code, _, err = run(
        "create",
        "--customer",
        "c",
        "--merchant",
        "BANGO",
        "--product",
        "P",
        "--expires",
        "2030-01-01T00:00:00",
    )
    assert code == 2 and err.startswith("error: create: --expires:") and "time zone" in err
    code, _, err = run("update", "ent-1", "--extension-data", "[1]")
    assert code == 2 and "--extension-data: must be a JSON object" in err
    code, _, err = run("update", "ent-1")
    assert code == 2 and "nothing to change" in err and "--product" in err
    code, _, err = run("get", "not a valid id!")
    assert code == 2 and err.startswith("error: ENTITLEMENT_ID:"), err
    code, _, err = run("suspend", "ent-1", "--reason", "NOPE/NOPE")
    assert code == 2 and err.startswith("error: --reason:"), err


def test_missing_credentials_name_the_flags(
    sandbox: SandboxThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BANGO_RESALE_USERNAME", raising=False)
    monkeypatch.delenv("BANGO_RESALE_PASSWORD", raising=False)
    code, out, err = run("echo", "--base-url", sandbox.base_url)
    assert code == 2 and out == ""
    assert "--username" in err and "--password" in err and "username=" not in err


def test_a_reason_warning_is_one_plain_line(connection: str, live: ResaleClient) -> None:
    eid = live.create(
        customer_identifier="cli-warned", merchant_account_key="BANGO", product_key="BangoMusic"
    ).entitlement.entitlement_id
    code, _, err = run("cancel", eid, "--reason", "ACTIVATION_ROLLBACK/FRAUD_CHECK", "-q")
    assert code == 0
    (line,) = err.splitlines()
    assert line.startswith("warning: Bango prefers suspend/resume over cancel")
    assert ".py:" not in line and "ReasonWarning" not in line and "client." not in line


def test_suspend_and_resume_errors_name_the_command_not_the_operation(connection: str) -> None:
    code, _, err = run(
        "suspend",
        "ent-1",
        "--reason",
        "12",
        "--header",
        "X-Magic-Number:SUSPEND_REQUEST_RETURNS_NOT_AVAILABLE",
    )
    assert code == 1 and err.startswith("error: suspend: the platform answered HTTP")
    assert "updateEntitlement" not in err


def test_a_silent_address_is_named_and_the_retries_are_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BANGO_RESALE_USERNAME", "demo")
    monkeypatch.setenv("BANGO_RESALE_PASSWORD", "demo-secret")
    monkeypatch.setattr("bango_resale._retry.sleep", lambda seconds: None)
    # Listening but never answering: each attempt times out, and timeouts are retried.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        code, out, err = run("echo", "--base-url", url, "--timeout", "0.2")
        lines = err.splitlines()
        assert code == 3 and out == ""
        assert len(lines) == 4, err  # three retry notes, then the error
        assert all(line.startswith(f"warning: echo {url}/v1/echo/ping") for line in lines[:3])
        assert lines[-1].startswith(f"error: echo: no answer from {url}/v1/echo/ping")
        assert lines[-1].endswith("(check --base-url)")

        code, _, err = run("echo", "--base-url", url, "--timeout", "0.2", "--no-retry")
        assert code == 3 and len(err.splitlines()) == 1


def test_help_describes_every_command_and_the_default_url() -> None:
    parser = build_parser()
    top = parser.format_help()
    assert DEFAULT_BASE_URL in top and "exit status" in top
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    expected = {
        "create",
        "get",
        "query",
        "update",
        "suspend",
        "resume",
        "cancel",
        "revoke",
        "activation-info",
        "reactivate",
        "echo",
        "reasons",
    }
    assert expected <= set(commands.choices)
    for name, command in commands.choices.items():
        assert command.description, f"`bango-resale {name} --help` has no description"
        assert DEFAULT_BASE_URL in command.format_help()


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
