"""Logging: requests are logged through `logging`, never with credentials."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from client_helpers import Script, envelope, record

from bango_resale import ResaleClient
from bango_resale._logging import REDACTED, redact_headers


def test_debug_log_names_the_call_but_not_the_credentials(
    client: ResaleClient, script: Script, caplog: pytest.LogCaptureFixture
) -> None:
    script.then(503, envelope("SERVICE_UNAVAILABLE")).then(200, envelope("OK", **record()))
    with caplog.at_level(logging.DEBUG, logger="bango_resale"):
        client.cancel("ent-1", 1, request_id="rid-log-1")
    text = caplog.text
    assert "cancelEntitlement" in text and "rid-log-1" in text
    assert "retrying" in text
    assert "[REDACTED]" in text  # the Authorization header was logged, masked
    assert "secret" not in text and "Basic " not in text


def test_redact_headers_hides_every_credential_header() -> None:
    redacted = redact_headers(
        {"Authorization": "Basic abc", "X-Api-Key": "k", "Accept": "application/json"}
    )
    assert redacted == {
        "Authorization": REDACTED,
        "X-Api-Key": REDACTED,
        "Accept": "application/json",
    }


def test_environment_switch_turns_on_stderr_debug_output() -> None:
    program = (
        "import httpx, bango_resale as br\n"
        "t = httpx.MockTransport(lambda r: httpx.Response(200, json={'responseCode': 'OK',"
        " 'responseMessage': 'ok', 'echo': 'x'}))\n"
        "br.ResaleClient('http://b.test', 'u', 'topsecret', transport=t).echo('x')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        env={"BANGO_RESALE_LOG": "debug", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "echo GET /v1/echo/x -> 200" in result.stderr
    assert "topsecret" not in result.stderr
