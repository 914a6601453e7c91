"""The OpenAPI documents are compiled once, in `bango_resale_spec.compiled`, and the sandbox, the
live judge and the tests use what it compiled; a client-only install never needs it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from bango_resale_contract.live import Contract
from bango_resale_sandbox import create_app
from bango_resale_spec import compiled
from bango_resale_spec.compiled import RequestInvalid

PACKAGES = ("spec", "overrides", "sandbox", "contract")
# The one module that compiles the OpenAPI documents, and the sandbox's configuration schema
# (which is no OpenAPI document).
COMPILERS = {"spec/bango_resale_spec/compiled.py", "sandbox/bango_resale_sandbox/config_schema.py"}


def test_only_the_compiled_module_builds_validators(repo_root: Path) -> None:
    importers = set()
    for folder in PACKAGES:
        for path in (repo_root / folder).rglob("*.py"):
            tree = ast.parse(path.read_text("utf-8"))
            for node in ast.walk(tree):
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(name.split(".")[0] == "jsonschema_rs" for name in names):
                    importers.add(str(path.relative_to(repo_root)))
    assert importers == COMPILERS


def test_the_sandbox_and_the_judge_use_the_same_compiled_operations(tmp_path: Path) -> None:
    app = create_app(str(tmp_path / "shared.sqlite3"))
    assert app.pipeline.partner is compiled.partner()
    assert app.pipeline.controls is compiled.sandbox()
    judged = Contract().operations
    for operation in compiled.partner().operations:
        assert judged[operation.operation_id].request is operation.body
        for status, validator in operation.responses.items():
            assert judged[operation.operation_id].responses[status] is validator


def test_a_changed_document_is_compiled_apart() -> None:
    document = dict(compiled.partner().document)
    document["paths"] = {
        path: item for path, item in document["paths"].items() if "report" not in path
    }
    changed = compiled.compile_spec(document)
    assert "queryEntitlements" in compiled.partner().by_id
    assert "queryEntitlements" not in changed.by_id
    assert changed.match("POST", "/v1/entitlement/report")[0] is None


def test_every_documented_answer_has_its_validator() -> None:
    get = compiled.partner().by_id["getEntitlement"]
    assert set(get.responses) == {200, 400, 401, 404, 429, 500, 503}
    ok = get.responses[200]
    assert ok is not None
    assert ok.errors({"responseCode": "OK"})  # a record's fields are missing
    not_found = get.responses[404]
    assert not_found is not None
    assert not_found.errors({"responseCode": "NOT_FOUND", "responseMessage": "no such"}) == []


def test_a_request_refusal_names_the_field_and_the_condition() -> None:
    cancel = compiled.partner().by_id["cancelEntitlement"]
    assert cancel.body is not None
    with pytest.raises(RequestInvalid) as refused:
        cancel.body.check(
            {"cancelReasonCategory": "REVOKED", "cancelReasonCode": "NOT_RENEWED"}, "body"
        )
    assert str(refused.value).startswith('cancelReasonCode: "NOT_RENEWED" is not one of ')
    assert str(refused.value).endswith('when cancelReasonCategory is "REVOKED"')


def test_literal_paths_win_and_templates_give_their_parameters() -> None:
    partner = compiled.partner()
    operation, params, allowed = partner.match("GET", "/v1/entitlement/report")
    assert (operation, params, allowed) == (None, {}, {"POST"})
    operation, params, _ = partner.match("GET", "/v1/entitlement/e-1")
    assert operation is not None and operation.operation_id == "getEntitlement"
    assert params == {"entitlementId": "e-1"}


def test_the_client_needs_no_validator_library() -> None:
    """A client-only install has no jsonschema-rs (the sandbox extra brings it): the client and
    the spec reader work without it; only the compiled module asks for it."""
    script = """
import sys
sys.modules["jsonschema_rs"] = None  # as if not installed
import bango_resale, bango_resale_spec
assert bango_resale_spec.reason_rows() and bango_resale_spec.status_machine()
with bango_resale.ResaleClient("http://127.0.0.1:9", "u", "p") as client:
    pass
try:
    import bango_resale_spec.compiled
except ImportError:
    print("compiled needs jsonschema_rs")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "compiled needs jsonschema_rs"
