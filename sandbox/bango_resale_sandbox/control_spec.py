"""The sandbox's own OpenAPI document: control endpoints, the activation page and health.

It ships in the package beside a copy of the partner spec (its relative `$ref`s point there).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any

import yaml

SANDBOX_SPEC_RESOURCE = "_data/sandbox.openapi.yaml"


@functools.cache
def sandbox_spec() -> Mapping[str, Any]:
    """The parsed sandbox spec (cached; treat it as read-only)."""
    text = resources.files(__package__).joinpath(SANDBOX_SPEC_RESOURCE).read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document: Mapping[str, Any] = yaml.load(text, Loader=loader)
    return document
