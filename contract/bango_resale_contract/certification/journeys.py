"""The certification journeys as the Arazzo document describes them, and what follows from it.

The document (`spec/bango-resale.arazzo.yaml`, packaged in the wheel beside the partner spec and
read through `bango_resale_spec`) is the only place the journeys are written down;
this module reads it for the runner and the reports: each workflow's steps, which of them a
person must do (`x-manual`), and the document the engine runs against a service other than the
project's sandbox (every workflow cut before its first manual step).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import bango_resale_spec as spec

DOCUMENT_NAME = "bango-resale.arazzo.yaml"
MANUAL_KEY = "x-manual"
PARTNER_SOURCE = "bangoResale"
SANDBOX_SOURCE = "sandboxControls"

# `{$inputs.name}` or `{$steps.stepId.outputs.name}` inside an instruction.
_PLACEHOLDER = re.compile(
    r"\{\$(inputs\.[A-Za-z0-9_]+|steps\.[A-Za-z0-9_-]+\.outputs\.[A-Za-z0-9_]+)\}"
)


@dataclass(frozen=True, slots=True)
class StepDefinition:
    step_id: str
    description: str
    # What a person does instead, on a service that is not the project's sandbox.
    manual: str | None
    # Output name -> runtime expression ($response.body#/pointer or $statusCode).
    outputs: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Journey:
    workflow_id: str
    summary: str
    description: str
    steps: tuple[StepDefinition, ...]

    @property
    def first_manual(self) -> int:
        """Index of the first manual step (len(steps) when there is none)."""
        return next(
            (index for index, step in enumerate(self.steps) if step.manual is not None),
            len(self.steps),
        )


@dataclass(frozen=True, slots=True)
class JourneyDocument:
    path: Path
    content: Mapping[str, Any]
    journeys: tuple[Journey, ...]

    @property
    def run_id_pattern(self) -> str:
        """The pattern the document sets for its `runId` input."""
        run_inputs = self.content["components"]["inputs"]["run"]
        return str(run_inputs["properties"]["runId"]["pattern"]).removeprefix("^").removesuffix("$")

    def automated_part(self) -> dict[str, Any]:
        """The document the engine runs against another service: every workflow stops before
        its first manual step, and a workflow that starts with one is left out. Source
        descriptions point at absolute paths so the copy can live anywhere."""
        document = copy.deepcopy(dict(self.content))
        for source in document["sourceDescriptions"]:
            source["url"] = str((self.path.parent / source["url"]).resolve())
        workflows = []
        for workflow, journey in zip(document["workflows"], self.journeys, strict=True):
            cut = journey.first_manual
            if cut == 0:
                continue
            workflow["steps"] = workflow["steps"][:cut]
            # Workflow outputs may name steps that are no longer there.
            workflow.pop("outputs", None)
            workflows.append(workflow)
        document["workflows"] = workflows
        return document


def default_path() -> Path:
    """The shipped document: `spec/` of a checkout, or the installed package's copy."""
    return spec.journeys_path()


def load(path: Path | None = None) -> JourneyDocument:
    """Read the Arazzo document; raise ValueError when it is not one this runner can use."""
    path = path or default_path()
    content = yaml.safe_load(path.read_text("utf-8"))
    if not isinstance(content, dict) or not str(content.get("arazzo", "")).startswith("1."):
        raise ValueError(f"{path} is not an Arazzo 1.x document")
    journeys = tuple(_journey(workflow) for workflow in content.get("workflows", ()))
    if not journeys:
        raise ValueError(f"{path} has no workflows")
    return JourneyDocument(path=path, content=content, journeys=journeys)


def _journey(workflow: Mapping[str, Any]) -> Journey:
    return Journey(
        workflow_id=str(workflow["workflowId"]),
        summary=str(workflow.get("summary", workflow["workflowId"])),
        description=" ".join(str(workflow.get("description", "")).split()),
        steps=tuple(
            StepDefinition(
                step_id=str(step["stepId"]),
                description=str(step.get("description", "")),
                manual=" ".join(str(step[MANUAL_KEY]).split()) if MANUAL_KEY in step else None,
                outputs={str(k): str(v) for k, v in (step.get("outputs") or {}).items()},
            )
            for step in workflow["steps"]
        ),
    )


def step_outputs(step: StepDefinition, status: int | None, body: Any) -> dict[str, str]:
    """The step's outputs, evaluated on its answer the way the engine evaluates them."""
    values: dict[str, str] = {}
    for name, expression in step.outputs.items():
        value: Any = None
        if expression == "$statusCode":
            value = status
        elif expression.startswith("$response.body#"):
            value = _pointer(body, expression.removeprefix("$response.body#"))
        if value is not None:
            values[name] = value if isinstance(value, str) else json.dumps(value)
    return values


def fill(template: str, inputs: Mapping[str, str], outputs: Mapping[str, Mapping[str, str]]) -> str:
    """Put the run's values into an instruction; an unknown value stays as written."""

    def value(match: re.Match[str]) -> str:
        parts = match.group(1).split(".")
        if parts[0] == "inputs":
            found = inputs.get(parts[1])
        else:
            found = outputs.get(parts[1], {}).get(parts[3])
        return found if found is not None else match.group(0)

    return _PLACEHOLDER.sub(value, template)


def _pointer(document: Any, pointer: str) -> Any:
    """RFC 6901 JSON pointer lookup; None when the path is not there."""
    node = document
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node
