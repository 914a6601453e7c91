"""The change gate (`make spec-diff`): what it lets through, what it stops, and the baseline."""

from __future__ import annotations

import copy
import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import spec_diff  # noqa: E402

# sha256 of spec/bango-resale.openapi.yaml as 1.0.0 shipped it (main at e4de945).
RELEASED_1_0_0_SHA256 = "8ebb761c0b07418e32b004fa78eb2ebaabf7d75ea1cdd3c754b621c7410c8a7e"

Document = dict[str, Any]


@pytest.fixture(scope="module")
def base_document() -> Document:
    return spec_diff.load(spec_diff.SPEC)


@pytest.fixture
def gate(tmp_path: Path, base_document: Document) -> Callable[..., spec_diff.Verdict]:
    """Judge an edited copy of the spec against the spec itself, as if it were released."""
    base = tmp_path / "base.openapi.yaml"
    base.write_text(yaml.safe_dump(base_document, sort_keys=False), "utf-8")
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text("# Changelog\n\n## 9.0.0 (unreleased)\n\n- everything\n", "utf-8")

    def judge(edit: Callable[[Document], None], version: str | None = None) -> spec_diff.Verdict:
        document = copy.deepcopy(base_document)
        edit(document)
        if version is not None:
            document["info"]["version"] = version
        revision = tmp_path / "revision.openapi.yaml"
        revision.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
        return spec_diff.judge(base, revision, changelog)

    return judge


def schemas(document: Document) -> Document:
    result: Document = document["components"]["schemas"]
    return result


def remove_operation(document: Document) -> None:
    del document["paths"]["/v1/echo/{echoRequestId}"]


def narrow_enum(document: Document) -> None:
    schemas(document)["EntitlementStatus"]["enum"].remove("FAILED")


def require_new_field(document: Document) -> None:
    request = schemas(document)["QueryEntitlementsRequest"]
    request["properties"]["region"] = {"type": "string", "description": "A region."}
    request["required"].append("region")


def remove_reason_row(document: Document) -> None:
    document["x-reasons"] = [r for r in document["x-reasons"] if r["index"] != 8]


def narrow_precondition(document: Document) -> None:
    for row in document["x-status-machine"]:
        if row.get("operation") == "cancelEntitlement" and "SUSPENDED" in row["from"]:
            row["from"].remove("SUSPENDED")


def add_optional_field(document: Document) -> None:
    request = schemas(document)["QueryEntitlementsRequest"]
    request["properties"]["region"] = {"type": "string", "description": "A region."}


def add_reason_row(document: Document) -> None:
    document["x-reasons"].append(
        {
            "index": 24,
            "category": "REVOKED",
            "code": "OTHER",
            "description": "A new sample description",
            "notes": None,
            "suspendPreferred": False,
            "appliedByPlatform": False,
        }
    )


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (remove_operation, "Path `/v1/echo/{echoRequestId}` was removed"),
        (narrow_enum, "lost values: 'FAILED'"),
        (require_new_field, "became required: `region`"),
        (remove_reason_row, "reason REVOKED/SUSPENDED_CANCEL was removed"),
        (narrow_precondition, "no longer accepted from SUSPENDED"),
    ],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_a_breaking_change_without_a_major_version_fails(
    gate: Callable[..., spec_diff.Verdict], edit: Callable[[Document], None], expected: str
) -> None:
    verdict = gate(edit)
    assert not verdict.passed
    assert verdict.needed == "major"
    breaking = [c.message for c in verdict.changes if c.impact == "major"]
    assert any(expected in message for message in breaking), breaking
    text = spec_diff.report(verdict)
    assert "GATE FAILED" in text and "need a major version" in text
    # A minor bump does not excuse it either.
    assert not gate(edit, version=bump(verdict.base_version, minor=True)).passed


@pytest.mark.parametrize("edit", [add_optional_field, add_reason_row], ids=lambda e: e.__name__)
def test_an_addition_passes(
    gate: Callable[..., spec_diff.Verdict], edit: Callable[[Document], None]
) -> None:
    verdict = gate(edit)
    assert verdict.passed, verdict.problems
    assert verdict.needed == "minor"
    assert "Additions (need a minor version): 1" in spec_diff.report(verdict)


def test_a_breaking_change_passes_with_a_major_bump_and_its_changelog_entry(
    gate: Callable[..., spec_diff.Verdict],
) -> None:
    assert gate(remove_reason_row, version="9.0.0").passed
    undocumented = gate(remove_reason_row, version="10.0.0")
    assert undocumented.problems == ("CHANGELOG.md has no `## 10.0.0` entry",)


def test_wording_alone_needs_nothing(gate: Callable[..., spec_diff.Verdict]) -> None:
    def reword(document: Document) -> None:
        document["info"]["description"] += "\nOne more sentence.\n"

    verdict = gate(reword)
    assert verdict.passed and verdict.needed == "patch"


def bump(version: str, minor: bool) -> str:
    major, minor_part, _ = (int(part) for part in version.split("."))
    return f"{major}.{minor_part + 1}.0" if minor else f"{major + 1}.0.0"


# -- status preconditions: x-allowed-from and x-status-machine -----------------------------------


@pytest.fixture
def allowed_from_document() -> Document:
    """Release 1.0.0, which stated its preconditions with x-allowed-from."""
    return spec_diff.load(spec_diff.RELEASED / "1.0.0.openapi.yaml")


def with_machine(document: Document) -> Document:
    """The same preconditions stated as x-status-machine rows instead of x-allowed-from."""
    machine = []
    for trigger, statuses in sorted(spec_diff.preconditions(document).items()):
        # An update body (`EntitlementChanges`, `...productKey`) is named by `request`.
        named = {"operation": trigger}
        if trigger[0].isupper():
            named = {"operation": "updateEntitlement", "request": trigger}
        machine.append(
            {
                "id": f"{trigger}-ok",
                **named,
                "from": sorted(statuses),
                "httpStatus": 200,
                "responseCode": "OK",
                "notifications": [],
            }
        )
        machine.append(
            {
                "id": f"{trigger}-refused",
                **named,
                "from": ["REVOKED"],
                "httpStatus": 409,
                "responseCode": "NOT_AVAILABLE",
                "notifications": [],
            }
        )
    moved = _strip_allowed_from(copy.deepcopy(document))
    moved["x-status-machine"] = machine
    return moved


def _strip_allowed_from(node: Any) -> Any:
    if isinstance(node, dict):
        node.pop("x-allowed-from", None)
        for value in node.values():
            _strip_allowed_from(value)
    elif isinstance(node, list):
        for value in node:
            _strip_allowed_from(value)
    return node


def test_moving_preconditions_into_the_status_machine_is_no_change(
    allowed_from_document: Document,
) -> None:
    machine = with_machine(allowed_from_document)
    assert spec_diff.preconditions(machine) == spec_diff.preconditions(allowed_from_document)
    assert spec_diff.table_changes(allowed_from_document, machine) == []


def test_a_narrowed_precondition_is_seen_across_the_move_to_the_machine(
    allowed_from_document: Document,
) -> None:
    machine = with_machine(allowed_from_document)
    row = next(r for r in machine["x-status-machine"] if r["id"] == "cancelEntitlement-ok")
    row["from"].remove("SUSPENDED")
    changes = spec_diff.table_changes(allowed_from_document, machine)
    assert [(c.impact, c.message) for c in changes] == [
        ("major", "no longer accepted from SUSPENDED")
    ]


def test_machine_rows_are_compared_by_id(allowed_from_document: Document) -> None:
    old = with_machine(allowed_from_document)
    new = copy.deepcopy(old)
    rows = new["x-status-machine"]
    removed = rows.pop(next(i for i, r in enumerate(rows) if r["id"] == "revokeEntitlement-ok"))
    narrowed = next(r for r in rows if r["id"] == "cancelEntitlement-ok")
    narrowed["from"].remove("PENDING")
    rows.append({**removed, "id": "revokeEntitlement-new", "from": ["FAILED"]})
    found = {(c.where, c.impact, c.message) for c in spec_diff.table_changes(old, new)}
    assert ("x-status-machine row revokeEntitlement-ok", "major", "transition removed") in found
    assert (
        "x-status-machine row cancelEntitlement-ok",
        "major",
        "no longer from PENDING",
    ) in found
    assert ("x-status-machine row revokeEntitlement-new", "minor", "transition added") in found


def test_a_new_machine_row_alone_is_an_addition(allowed_from_document: Document) -> None:
    old = with_machine(allowed_from_document)
    new = copy.deepcopy(old)
    new["x-status-machine"].append(
        {"id": "expiry", "event": "EXPIRY_REACHED", "from": ["ACTIVE"], "to": "CANCELLED"}
    )
    changes = spec_diff.table_changes(old, new)
    assert {c.impact for c in changes} == {"minor"}


# -- the released baseline -----------------------------------------------------------------------


def test_the_1_0_0_baseline_is_what_1_0_0_was() -> None:
    baseline = spec_diff.RELEASED / "1.0.0.openapi.yaml"
    assert hashlib.sha256(baseline.read_bytes()).hexdigest() == RELEASED_1_0_0_SHA256
    assert spec_diff.load(baseline)["info"]["version"] == "1.0.0"


def test_release_needs_the_changelog_entry_and_never_goes_back(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("openapi: 3.1.0\ninfo: {title: t, version: 2.1.0}\npaths: {}\n", "utf-8")
    released = tmp_path / "released"
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text("## 2.0.0\n", "utf-8")
    with pytest.raises(SystemExit, match=r"no `## 2\.1\.0` entry"):
        spec_diff.release(spec, released, changelog)
    changelog.write_text("## 2.1.0\n\n## 2.0.0\n", "utf-8")
    target = spec_diff.release(spec, released, changelog)
    assert target.name == "2.1.0.openapi.yaml" and target.read_bytes() == spec.read_bytes()
    (released / "3.0.0.openapi.yaml").write_text("x", "utf-8")
    with pytest.raises(SystemExit, match=r"newer than 2\.1\.0"):
        spec_diff.release(spec, released, changelog)


# -- shared components ---------------------------------------------------------------------------


def places_reaching(document: Document, component: str) -> set[str]:
    """Every operation (`METHOD /path`) and webhook (`webhook name`) whose parameters, request
    or responses lead to `component` through `$ref`s: found here without the gate's code."""

    def leads(node: Any, seen: frozenset[str]) -> bool:
        if isinstance(node, list):
            return any(leads(item, seen) for item in node)
        if not isinstance(node, dict):
            return False
        reference = node.get("$ref")
        if reference == component:
            return True
        if isinstance(reference, str) and reference not in seen:
            target: Any = document
            for part in reference.removeprefix("#/").split("/"):
                target = target[part]
            if leads(target, seen | {reference}):
                return True
        return any(leads(value, seen) for key, value in node.items() if key != "$ref")

    found = set()
    for kind in ("paths", "webhooks"):
        for name, item in document.get(kind, {}).items():
            for method, operation in item.items():
                if method in spec_diff.HTTP_METHODS and leads(operation, frozenset()):
                    found.add(
                        f"webhook {name}" if kind == "webhooks" else f"{method.upper()} {name}"
                    )
    return found


def test_a_change_to_a_shared_schema_is_reported_at_every_operation_it_reaches(
    gate: Callable[..., spec_diff.Verdict], base_document: Document
) -> None:
    def narrow_extension_data(document: Document) -> None:
        schemas(document)["ExtensionData"]["maxProperties"] = 32

    verdict = gate(narrow_extension_data)
    reached = {
        " ".join(change.where.split(" ")[:2])
        for change in verdict.changes
        if "maxProperties" in change.message
    }
    expected = places_reaching(base_document, "#/components/schemas/ExtensionData")
    assert {"POST /v1/entitlement", "PATCH /v1/entitlement", "webhook entitlementNotification"} <= (
        expected
    )
    assert reached == expected
    # Rated where it lands: fewer properties accepted breaks a request, not an answer.
    breaking = {" ".join(c.where.split(" ")[:2]) for c in verdict.changes if c.impact == "major"}
    assert breaking == {"POST /v1/entitlement", "PATCH /v1/entitlement"}
    assert not verdict.passed
    # The report names the change once, with the places it reaches.
    text = spec_diff.report(verdict)
    entry = next(line for line in text.splitlines() if "`maxProperties` of `extensionData`" in line)
    assert entry.startswith("- schemas/ExtensionData:")
    places = text.splitlines()[text.splitlines().index(entry) + 1]
    assert "POST /v1/entitlement (request body)" in places
    assert "PATCH /v1/entitlement (request body)" in places


def test_a_recursive_schema_is_inlined_down_to_where_it_repeats() -> None:
    document: Document = {
        "paths": {
            "/tree": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Node"}
                                }
                            }
                        }
                    }
                }
            }
        },
        "components": {
            "schemas": {
                "Node": {
                    "type": "object",
                    "properties": {"children": {"items": {"$ref": "#/components/schemas/Node"}}},
                },
                "Unused": {"type": "string"},
            }
        },
    }
    inlined, origins = spec_diff.inline_refs(document)
    schema = inlined["paths"]["/tree"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    assert schema["properties"]["children"]["items"] == {"$ref": "#/components/schemas/Node"}
    place = "#/paths/~1tree/get/responses/200/content/application~1json/schema"
    assert origins[place] == "#/components/schemas/Node"
    # Node is reported where it is used; Unused, used nowhere, stays where it is.
    assert inlined["components"]["schemas"] == {"Unused": {"type": "string"}}


def test_a_reference_into_another_file_stays_and_is_made_absolute(tmp_path: Path) -> None:
    document: Document = {"paths": {"/x": {"get": {"responses": {"200": {"$ref": "r.yaml#/Ok"}}}}}}
    inlined, origins = spec_diff.inline_refs(document, tmp_path)
    reference = inlined["paths"]["/x"]["get"]["responses"]["200"]["$ref"]
    assert reference == f"{tmp_path.resolve() / 'r.yaml'}#/Ok"
    assert origins == {}


# -- comparing with an earlier release -----------------------------------------------------------


@pytest.mark.parametrize("base", ["spec/released/1.0.0.openapi.yaml", "1.0.0"])
def test_make_spec_diff_compares_with_the_release_given_as_base(repo_root: Path, base: str) -> None:
    # -o: treat the install stamps as up to date; this test must never reinstall.
    result = subprocess.run(
        [
            "make",
            "-s",
            "-o",
            ".venv/.installed",
            "-o",
            "node_modules/.installed",
            "spec-diff",
            f"BASE={base}",
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=False,
    )
    current = spec_diff.load(spec_diff.SPEC)["info"]["version"]
    assert result.stdout.startswith(f"# Partner spec changes: 1.0.0 -> {current}\n"), (
        result.stdout[:300] + result.stderr[-2000:]
    )


def test_a_base_that_is_no_release_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert spec_diff.main(["check", "--base", "0.9.0"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith("--base: '0.9.0' is neither a spec file nor a released version")
    assert "1.0.0" in error
