"""`bango-resale` errors say what to do, once, in the words the user typed; the flags every
command takes work before the command as well as after it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from client_helpers import run_cli as run

from bango_resale import ResaleClient
from bango_resale_sandbox.testing import SandboxThread

CREDENTIALS = ("--username", "demo", "--password", "demo-secret")


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BANGO_RESALE_BASE_URL", raising=False)
    monkeypatch.setenv("BANGO_RESALE_USERNAME", "demo")
    monkeypatch.setenv("BANGO_RESALE_PASSWORD", "demo-secret")


def test_a_sandbox_that_is_not_running_is_one_line_naming_the_command_that_starts_it(
    refusing_port: int, tmp_path: Path
) -> None:
    # The installed command, as a user runs it: nothing patched, so retries would really wait.
    url = f"http://127.0.0.1:{refusing_port}"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BANGO_")}
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "bango-resale"),
            "echo",
            "--base-url",
            url,
            *CREDENTIALS,
        ],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == (
        f"error: echo: nothing listens at {url} (connection refused): start the sandbox with"
        f" `bango-resale-sandbox --port {refusing_port}`, or correct --base-url\n"
    )


def test_the_hint_names_the_variable_when_the_url_came_from_it(
    refusing_port: int, credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BANGO_RESALE_BASE_URL", f"http://localhost:{refusing_port}")
    code, out, err = run("get", "ent-1")
    assert (code, out) == (3, "")
    (line,) = err.splitlines()
    assert line.endswith(
        f"start the sandbox with `bango-resale-sandbox --port {refusing_port}`,"
        " or correct $BANGO_RESALE_BASE_URL"
    )
    assert "--base-url" not in line

    code, out, err = run("get", "ent-1", "--json")
    document = json.loads(out)
    assert (code, err) == (3, "")
    assert document["error"] == "NothingListeningError"
    assert document["attempts"] == 1
    assert document["startCommand"] == f"bango-resale-sandbox --port {refusing_port}"


def test_listen_says_the_same_when_the_sandbox_is_not_running(
    refusing_port: int, credentials: None
) -> None:
    url = f"http://127.0.0.1:{refusing_port}"
    code, out, err = run("listen", "--base-url", url, "--count", "1")
    assert (code, out) == (3, "")
    assert err == (
        f"error: listen: nothing listens at {url} (connection refused): start the sandbox with"
        f" `bango-resale-sandbox --port {refusing_port}`, or correct --base-url\n"
    )


@pytest.mark.parametrize(
    ("how", "named"),
    [("flag", "--base-url"), ("variable", "$BANGO_RESALE_BASE_URL")],
)
def test_a_url_without_a_scheme_says_so_once_and_names_what_the_user_typed(
    how: str, named: str, credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if how == "flag":
        code, out, err = run("echo", "--base-url", "127.0.0.1:8000")
    else:
        monkeypatch.setenv("BANGO_RESALE_BASE_URL", "127.0.0.1:8000")
        code, out, err = run("echo")
    assert (code, out) == (2, "")
    assert err == (
        f"error: {named}: '127.0.0.1:8000' is not an http:// or https:// URL;"
        " did you mean 'http://127.0.0.1:8000'?\n"
    )


def test_the_flags_every_command_takes_also_work_before_the_command(
    sandbox: SandboxThread, credentials: None
) -> None:
    code, out, err = run(
        "--json",
        "--base-url",
        sandbox.base_url,
        "create",
        "--customer",
        "cli-flags-first",
        "--merchant",
        "BANGO",
        "--product",
        "BangoMusic",
    )
    assert code == 0, err
    eid = json.loads(out)["entitlementId"]

    code, out, err = run("-q", "--base-url", sandbox.base_url, "get", eid)
    assert (code, out, err) == (0, f"{eid}\n", "")

    # Given on both sides, a repeatable flag keeps every value; a single one takes the last.
    code, out, err = run(
        "--header",
        "X-RequestIdentifier:rid-before-the-command",
        "--base-url",
        "http://127.0.0.1:1",
        "get",
        eid,
        "--base-url",
        sandbox.base_url,
        "--header",
        "X-Magic-Number:ANY_REQUEST_RETURNS_SERVICE_UNAVAILABLE",
        "--no-retry",
        "--json",
    )
    document = json.loads(out)
    assert (code, err) == (1, "")
    assert document["responseCode"] == "SERVICE_UNAVAILABLE"
    assert document["requestIdentifier"] == "rid-before-the-command"


def test_a_usage_error_before_the_command_is_still_one_line(credentials: None) -> None:
    code, out, err = run("--timeout", "soon", "get", "ent-1")
    assert (code, out) == (2, "")
    (line,) = err.splitlines()
    assert "--timeout" in line and "soon" in line

    code, out, err = run("--json")
    assert (code, err) == (2, "")
    assert "COMMAND" in json.loads(out)["message"]


def test_the_client_and_the_cli_read_a_reason_the_same_way(
    sandbox: SandboxThread, credentials: None, live: ResaleClient
) -> None:
    first = live.create(
        customer_identifier="cli-reason-text",
        merchant_account_key="BANGO",
        product_key="BangoMusic",
    ).entitlement.entitlement_id
    second = live.create(
        customer_identifier="cli-reason-text",
        merchant_account_key="BANGO",
        product_key="BangoMusic",
    ).entitlement.entitlement_id
    from_python = live.revoke(first, "revoked/other").entitlement
    code, out, err = run(
        "revoke", second, "--reason", "revoked/other", "--json", "--base-url", sandbox.base_url
    )
    from_shell = json.loads(out)
    assert code == 0, err
    assert from_python.extension_data == from_shell["extensionData"]
