"""The committed schemathesis.toml, as schemathesis itself reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from schemathesis.config import SchemathesisConfig
from schemathesis.core.output.sanitization import is_sensitive_key

CONFIG = Path(__file__).resolve().parents[2] / "schemathesis.toml"


def test_reproducers_keep_product_names_and_hide_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BANGO_CONTRACT_USER", "demo")
    monkeypatch.setenv("BANGO_CONTRACT_PASSWORD", "demo-secret")
    sanitization = SchemathesisConfig.from_path(CONFIG).projects.default.output.sanitization

    def hidden(key: str) -> bool:
        return is_sensitive_key(key, sanitization.keys_to_sanitize, sanitization.sensitive_markers)

    assert sanitization.enabled
    assert not any(hidden(k) for k in ("merchantAccountKey", "productKey", "offerKey"))
    assert all(hidden(k) for k in ("Authorization", "X-Api-Key", "password"))
