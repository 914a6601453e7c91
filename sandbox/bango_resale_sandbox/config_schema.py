"""The configuration file's JSON Schema (`config.schema.json`, shipped beside this module) and
what it finds wrong, in words that name the key as the file spells it.

The schema refuses unknown keys and values of the wrong kind; `config.py` builds the
configuration from a file that passed, and checks what a schema cannot (hosts, origins, URLs).
jsonschema-rs comes with the sandbox extra: it is imported on first use, so that a client-only
install can still import the package (and be told which extra it lacks).
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

SCHEMA_RESOURCE = "config.schema.json"

_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a table",
    "array": "a list",
}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@functools.cache
def schema() -> Mapping[str, Any]:
    """The configuration's JSON Schema (parsed; treat it as read-only)."""
    text = resources.files(__package__).joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    document: Mapping[str, Any] = json.loads(text)
    return document


@functools.cache
def _validator() -> Any:
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator(dict(schema()))


def problems(data: Mapping[str, Any]) -> list[str]:
    """What is wrong with parsed TOML, one line each (empty when the schema accepts it), in the
    order the keys come: `[server] max_conections: unknown key; did you mean max_connections?`."""
    validator = _validator()
    if validator.is_valid(data):
        return []
    errors = sorted(validator.iter_errors(data), key=lambda e: _order(data, list(e.instance_path)))
    return [_describe(error) for error in errors]


def enum(*path: str) -> tuple[str, ...]:
    """The values the schema allows at `path` (properties and `$defs` names): one list for the
    schema and the code that reads the value."""
    node: Any = schema()
    for part in path:
        node = _resolved(node)
        node = node["$defs"][part] if part in node.get("$defs", {}) else node["properties"][part]
    node = _resolved(node)
    return tuple(str(value) for value in node.get("enum", node.get("items", {}).get("enum", ())))


def _order(data: Any, path: list[str | int]) -> list[int]:
    """Where a key sits in the file (TOML keeps its order), to report the first problem first."""
    order = []
    for part in path:
        if isinstance(data, Mapping):
            keys = list(data)
            order.append(keys.index(part) if part in keys else len(keys))
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int):
            order.append(part)
            data = data[part] if part < len(data) else None
    return order


def _describe(error: Any) -> str:
    path: list[str | int] = list(error.instance_path)
    kind = error.kind
    name = type(kind).__name__
    details = kind.as_dict()
    value = error.instance
    if name == "AdditionalProperties":
        unexpected = str(details["unexpected"][0])
        allowed = list(_node_at(list(error.schema_path)[:-1]).get("properties", {}))
        table = isinstance(value, Mapping) and isinstance(value.get(unexpected), Mapping)
        # A top-level table is written [name]; a key, under its table or at the top, bare.
        spell = (lambda key: f"[{_key(key)}]") if table and not path else _key
        where = _where([*path, unexpected]) if path else spell(unexpected)
        close = difflib.get_close_matches(unexpected, allowed, n=1, cutoff=0.6)
        if close:
            hint = f"; did you mean {spell(close[0])}?"
        elif allowed:
            known = (lambda key: f"[{key}]") if not path else _key  # the top level holds tables
            hint = f" (known: {', '.join(known(key) for key in allowed)})"
        else:
            hint = ""
        return f"{where}: unknown {'table' if table else 'key'}{hint}"
    if name == "Required":
        return f"{_where([*path, str(details['property'])])}: missing"
    where = _where(path)
    shown = _shown(value)
    if name == "Type":
        expected = " or ".join(_TYPE_NAMES.get(t, t) for t in details["types"])
        quoted = isinstance(value, str) and value.lower() in {"true", "false"}
        hint = " (without quotes)" if quoted and "boolean" in details["types"] else ""
        return f"{where}: expected {expected}{hint}, got {shown}"
    if name == "Enum":
        # Values read without regard to case are listed in both: name each once.
        distinct = {str(option).lower(): option for option in reversed(details["options"])}
        options = ", ".join(_shown(option) for option in reversed(distinct.values()))
        return f"{where}: expected one of {options}, got {shown}"
    if name == "Minimum":
        return f"{where}: expected at least {details['limit']}, got {shown}"
    if name == "ExclusiveMinimum":
        return f"{where}: expected more than {details['limit']}, got {shown}"
    if name == "MinLength":
        return f"{where}: expected a non-empty string"
    if name == "UniqueItems":
        return f"{where}: a value is listed twice: {shown}"
    return f"{where}: {error.message}"


def _where(path: Sequence[str | int]) -> str:
    """A key as a TOML file spells it: `[table.sub] key`, `[table]` for a top-level table,
    `[delivery] allowed_hosts[2]` for an item of a list."""
    keys = [part for part in path if isinstance(part, str)]
    if not keys:
        return "the file"
    last = max(i for i, part in enumerate(path) if isinstance(part, str))
    key = _key(str(path[last])) + "".join(f"[{index}]" for index in path[last + 1 :])
    if len(keys) == 1:
        return f"[{key}]" if last == len(path) - 1 else key
    table = ".".join(_key(str(part)) for part in path[:last] if isinstance(part, str))
    return f"[{table}] {key}"


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)


def _shown(value: Any) -> str:
    """A value as TOML writes it (strings quoted, booleans in lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    return json.dumps(value, default=str)


def _resolved(node: Any) -> Any:
    while isinstance(node, Mapping) and "$ref" in node:
        node = _node_at(str(node["$ref"]).removeprefix("#/").split("/"))
    return node


def _node_at(schema_path: Sequence[str | int]) -> Mapping[str, Any]:
    """The schema object at an error's (resolved) schema path; empty when there is none."""
    node: Any = schema()
    for part in schema_path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return {}
    return node if isinstance(node, Mapping) else {}
