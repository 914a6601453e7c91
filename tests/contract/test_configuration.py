"""The committed schemathesis.toml, as schemathesis itself reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis

from bango_resale_contract.suite import default_config_path
from bango_resale_spec import partner_spec_path

CONFIG = Path(__file__).resolve().parents[2] / "schemathesis.toml"


def _reproducer(config: schemathesis.Config) -> str:
    """The curl line schemathesis prints for a create, under `config`'s output sanitization."""
    schema = schemathesis.openapi.from_path(partner_spec_path(), config=config)
    case = schema["/v1/entitlement"]["POST"].Case(
        body={
            "customerIdentifier": "c-1",
            "merchantAccountKey": "BANGO",
            "productKey": "BangoMusic",
            "offerKey": "gold",
            "password": "hunter2",
        },
        headers={"Authorization": "Basic ZGVtbzpkZW1vLXNlY3JldA==", "X-Api-Key": "k-123"},
    )
    return str(case.as_curl_command(base_url="http://127.0.0.1:8000"))


def test_reproducers_keep_product_names_and_hide_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BANGO_CONTRACT_USER", "demo")
    monkeypatch.setenv("BANGO_CONTRACT_PASSWORD", "demo-secret")
    config = schemathesis.Config.from_path(CONFIG)
    assert config.projects.default.output.sanitization.enabled
    printed = _reproducer(config)
    for shown in ('"merchantAccountKey": "BANGO"', '"productKey": "BangoMusic"', '"gold"'):
        assert shown in printed, printed
    for secret in ("ZGVtbzpkZW1vLXNlY3JldA==", "k-123", "hunter2"):
        assert secret not in printed, printed
    assert "Authorization: [Filtered]" in printed


def test_without_the_committed_markers_product_names_would_be_hidden() -> None:
    """What the committed markers fix: schemathesis's defaults hide every "...Key" field."""
    printed = _reproducer(schemathesis.Config())
    assert '"productKey": "[Filtered]"' in printed, printed


def test_outside_a_checkout_root_the_default_configuration_is_the_committed_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from elsewhere, the suite reads the one committed file (a wheel carries a copy the
    build makes of it; tests/pipeline/test_wheel.py checks that copy)."""
    monkeypatch.chdir(tmp_path)
    assert default_config_path().read_bytes() == CONFIG.read_bytes()
