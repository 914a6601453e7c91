"""Limits on the shape of JSON a caller can make the sandbox parse, store and send back.

Both come from the partner spec: `x-max-json-depth` (root) bounds the nesting of any JSON
body, checked where the body enters; `ExtensionData`'s `maxProperties` and `x-max-bytes`
bound a record's `extensionData` after every merge, checked before the record is stored.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import bango_resale_spec as spec

from . import _json


@functools.cache
def max_json_depth() -> int:
    """Levels a JSON body may nest (the body itself is level 1)."""
    return int(spec.load_partner_spec()["x-max-json-depth"])


@functools.cache
def _extension_data_schema() -> Mapping[str, Any]:
    schema: Mapping[str, Any] = spec.load_partner_spec()["components"]["schemas"]["ExtensionData"]
    return schema


def max_extension_properties() -> int:
    return int(_extension_data_schema()["maxProperties"])


def max_extension_bytes() -> int:
    return int(_extension_data_schema()["x-max-bytes"])


def too_deep(value: Any, where: str, max_depth: int) -> str | None:
    """None when `value` nests at most `max_depth` levels, else a message naming the first
    place that goes deeper. Iterative: the input may be nested far past the recursion limit."""
    stack: list[tuple[Any, int, str]] = [(value, 1, where)]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict):
            children: Any = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        if depth > max_depth:
            shown = path if len(path) <= 200 else path[:200] + "..."
            return f"{shown}: nested deeper than {max_depth} levels"
        for key, child in children:
            if isinstance(child, dict | list):
                step = f"[{key}]" if isinstance(key, int) else f".{key}"
                stack.append((child, depth + 1, path + step))
    return None


def extension_data_problem(data: Mapping[str, Any]) -> str | None:
    """None when a record's extensionData is within the spec's limits, else why it is not."""
    limit = max_extension_properties()
    if len(data) > limit:
        return (
            f"extensionData: would hold {len(data)} properties, more than {limit}; remove some"
            " (set them to null in an update)"
        )
    size = len(_json.dumps(data))
    limit = max_extension_bytes()
    if size > limit:
        return (
            f"extensionData: would be {size} bytes as JSON, more than {limit}; remove some"
            " properties (set them to null in an update) or send smaller values"
        )
    return None
