"""The Arazzo document itself: the journeys the issue asks for, and the rules the runner relies
on (manual steps form each journey's tail; every write has its own request id)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bango_resale_contract.certification import journeys

REPOSITORY = Path(__file__).resolve().parents[2]
DOCUMENT = REPOSITORY / "spec" / journeys.DOCUMENT_NAME
PARTNER_PREFIX = f"$sourceDescriptions.{journeys.PARTNER_SOURCE}."
# Journeys Bango's test plan asks a reseller to show, by workflowId.
EXPECTED_JOURNEYS = (
    "connectivity",
    "first-time-activation",
    "activation-with-code",
    "cancel-with-reason",
    "revoke",
    "suspend-then-resume",
    "update-product-and-metadata",
    "accepted-then-notification",
    "deprecated-reactivate",
)
WRITES = {
    "createEntitlement",
    "updateEntitlement",
    "cancelEntitlement",
    "revokeEntitlement",
    "reactivateEntitlement",
}


@pytest.fixture(scope="module")
def content() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text("utf-8"))
    return loaded


def _steps(content: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(w["workflowId"], step) for w in content["workflows"] for step in w["steps"]]


def test_every_journey_of_the_plan_is_there() -> None:
    document = journeys.load(DOCUMENT)
    assert tuple(j.workflow_id for j in document.journeys) == EXPECTED_JOURNEYS


def test_only_partner_api_steps_run_unattended(content: dict[str, Any]) -> None:
    """A step that uses the sandbox's controls or follows a link is a person's job on Bango's
    sandbox, so it must carry x-manual; and once a person is needed, every later step waits."""
    for workflow in content["workflows"]:
        manual_seen = False
        for step in workflow["steps"]:
            partner = str(step.get("operationId", "")).startswith(PARTNER_PREFIX)
            manual = journeys.MANUAL_KEY in step
            where = f"{workflow['workflowId']}/{step['stepId']}"
            assert partner or manual, f"{where} needs x-manual"
            assert manual or not manual_seen, f"{where} follows a manual step without x-manual"
            manual_seen = manual_seen or manual


def test_every_write_sends_its_own_request_identifier(content: dict[str, Any]) -> None:
    seen: set[str] = set()
    for where, step in _steps(content):
        operation = str(step.get("operationId", "")).removeprefix(PARTNER_PREFIX)
        identifiers = [
            p["value"] for p in step.get("parameters", ()) if p["name"] == "X-RequestIdentifier"
        ]
        if operation in WRITES:
            assert len(identifiers) == 1, f"{where}/{step['stepId']}"
            assert identifiers[0].startswith("{$inputs.runId}-")
            assert identifiers[0] not in seen, f"{identifiers[0]} is used twice"
            seen.add(identifiers[0])
        else:
            assert not identifiers, "reads need no request identifier"


def test_automated_part_stops_before_the_first_manual_step() -> None:
    document = journeys.load(DOCUMENT)
    automated = document.automated_part()
    by_id = {w["workflowId"]: w for w in automated["workflows"]}
    for journey in document.journeys:
        kept = [step["stepId"] for step in by_id[journey.workflow_id]["steps"]]
        assert kept == [s.step_id for s in journey.steps[: journey.first_manual]]
        assert all(journeys.MANUAL_KEY not in step for step in by_id[journey.workflow_id]["steps"])
    assert all(Path(source["url"]).is_absolute() for source in automated["sourceDescriptions"])
    assert by_id["first-time-activation"]["steps"][0]["stepId"] == "createPending"


def test_instructions_get_the_runs_values() -> None:
    filled = journeys.fill(
        "Open {$steps.create.outputs.signUpUrl} for {$inputs.runId}, not {$steps.other.outputs.x}",
        {"runId": "r-1"},
        {"create": {"signUpUrl": "https://merchant.example/s/abc"}},
    )
    assert filled == "Open https://merchant.example/s/abc for r-1, not {$steps.other.outputs.x}"


def test_step_outputs_follow_json_pointers() -> None:
    step = journeys.StepDefinition(
        step_id="create",
        description="",
        manual=None,
        outputs={
            "url": "$response.body#/parameters/url",
            "first": "$response.body#/items/0/a~1b",
            "status": "$statusCode",
            "missing": "$response.body#/nope",
        },
    )
    body = {"parameters": {"url": "https://x.example/1"}, "items": [{"a/b": 7}]}
    assert journeys.step_outputs(step, 202, body) == {
        "url": "https://x.example/1",
        "first": "7",
        "status": "202",
    }


def test_a_document_that_is_not_arazzo_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "openapi.yaml"
    other.write_text("openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths: {}\n", "utf-8")
    with pytest.raises(ValueError, match="not an Arazzo"):
        journeys.load(other)
