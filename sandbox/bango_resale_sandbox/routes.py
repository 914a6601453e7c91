"""Routing and request validation compiled once from an OpenAPI document.

Both the partner spec and the sandbox spec go through here, so paths, parameters and request
bodies are checked against exactly what the documents say, with no per-request spec parsing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

_METHODS = ("get", "post", "put", "patch", "delete")


class RequestInvalid(ValueError):
    """The request does not match the document; the message names the field."""


def _compile_schema(schema: dict[str, Any]) -> Any:
    # Formats are checked as JSON Schema defines them (RFC 3339 date-time, RFC 3986 uri): a
    # looser check would accept a notificationUrl such as "http://x y" and then return it in a
    # response that breaks the spec's own `format: uri`. The service adds its own rule on top
    # (http or https, with a host on the allow-list).
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


@dataclass(frozen=True, slots=True)
class _Branch:
    """One branch of a top-level oneOf: its validator, and the values its `const` properties
    demand (`entitlementBenefits: SUSPENDED`), which say which branch a body meant."""

    validator: Any
    consts: Mapping[str, Any]

    def claim(self, instance: Any) -> int:
        """How many of the branch's const properties the instance matches; -1 when one is
        missing or different."""
        if not isinstance(instance, Mapping):
            return 0
        for name, value in self.consts.items():
            if instance.get(name, _MISSING) != value:
                return -1
        return len(self.consts)


_MISSING = object()


@dataclass(frozen=True, slots=True)
class _Validator:
    """A compiled schema; for a top-level oneOf, also each branch for clearer messages."""

    whole: Any
    branches: tuple[_Branch, ...] = ()
    # A query or path string stands for an integer where the schema says so ("after=7").
    integer: bool = False
    # The document the schema's $refs point into, to describe an error by where it arose.
    root: Mapping[str, Any] = field(default_factory=dict)

    def check_text(self, text: str, where: str) -> None:
        """Check a value that arrived as text (query, path, header)."""
        if self.integer and re.fullmatch(r"-?[0-9]{1,19}", text):
            self.check(int(text), where)
        else:
            self.check(text, where)

    def check(self, instance: Any, where: str) -> None:
        if self.whole.is_valid(instance):
            return
        candidates = [self.whole]
        if self.branches:
            # The branch whose const properties the body names (a suspend names
            # entitlementBenefits SUSPENDED) is the one it meant; among equals, report the
            # branch the body came closest to.
            best_claim = max(branch.claim(instance) for branch in self.branches)
            candidates = [b.validator for b in self.branches if b.claim(instance) == best_claim]
        best = min((list(v.iter_errors(instance)) for v in candidates), key=len)
        raise RequestInvalid(_describe(best[0], where, self.root))


def _describe(error: Any, where: str, root: Mapping[str, Any]) -> str:
    path = "/".join(str(part) for part in error.instance_path)
    message = error.message
    if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Pattern):
        # A regular expression says little to a caller; the spec says in words what it demands.
        meaning = _node_at(list(error.schema_path)[:-1], root).get("x-pattern-meaning")
        if meaning:
            message = f"{json.dumps(error.instance)} is not {meaning}"
    options = getattr(error.kind, "options", None)
    if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Enum) and options:
        # Every allowed value (the library's message names two), and the condition that
        # chose them: a reason code is valid only with its category.
        allowed = ", ".join(json.dumps(option) for option in options)
        message = f"{json.dumps(error.instance)} is not one of {allowed}"
        condition = _condition_of(list(error.schema_path), root)
        if condition:
            message += f" when {condition}"
    return f"{path or where}: {message}"


def _condition_of(schema_path: list[str | int], root: Mapping[str, Any]) -> str | None:
    """For an error raised under an `if`/`then`, the `if`'s const properties in words
    ("cancelReasonCategory is \"REVOKED\""); None elsewhere."""
    if "then" not in schema_path:
        return None
    node = _node_at(schema_path[: len(schema_path) - schema_path[::-1].index("then") - 1], root)
    properties = node.get("if", {}).get("properties", {})
    consts = [
        f"{name} is {json.dumps(rule['const'])}"
        for name, rule in properties.items()
        if isinstance(rule, Mapping) and "const" in rule
    ]
    return " and ".join(consts) or None


def _node_at(schema_path: list[str | int], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema object at an error's (resolved) schema path; empty when there is none."""
    node: Any = root
    for part in schema_path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return {}
    return node if isinstance(node, Mapping) else {}


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the document, ready to match and validate requests."""

    operation_id: str
    method: str
    path_template: str
    pattern: re.Pattern[str]
    literal: bool
    path_params: Mapping[str, _Validator]
    query_params: Mapping[str, _Validator]
    body: _Validator | None
    body_required: bool
    json_body: bool
    header_params: Mapping[str, _Validator] = field(default_factory=dict)

    def check_path(self, params: Mapping[str, str]) -> None:
        for name, validator in self.path_params.items():
            validator.check(params[name], name)

    def check_query(self, query: list[tuple[str, str]]) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, value in query:
            validator = self.query_params.get(name)
            if validator is None:
                raise RequestInvalid(f"{name}: unknown query parameter")
            if name in values:
                raise RequestInvalid(f"{name}: given more than once")
            validator.check_text(value, name)
            values[name] = value
        return values


class Router:
    """Matches (method, path) to an operation; literal paths win over templated ones."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._root = {"components": document.get("components", {})}
        self.operations: list[Operation] = []
        for template, item in document.get("paths", {}).items():
            for method in _METHODS:
                if method in item:
                    self.operations.append(self._compile(template, item, method, item[method]))
        self.operations.sort(key=lambda op: not op.literal)
        self._literal: dict[str, list[Operation]] = {}
        for op in self.operations:
            if op.literal:
                self._literal.setdefault(op.path_template, []).append(op)
        self._templated = [op for op in self.operations if not op.literal]
        self.by_id = {op.operation_id: op for op in self.operations}

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], set[str]]:
        """The operation, its path parameters, and the methods the path allows."""
        allowed: set[str] = set()
        for op in self._literal.get(path, ()):
            if op.method == method:
                return op, {}, allowed
            allowed.add(op.method)
        if path in self._literal:
            # OpenAPI matches a concrete path before any template, whatever the method:
            # GET /v1/entitlement/report is not getEntitlement with the id "report".
            return None, {}, allowed
        for op in self._templated:
            found = op.pattern.match(path)
            if found is None:
                continue
            if op.method == method:
                return op, found.groupdict(), allowed
            allowed.add(op.method)
        return None, {}, allowed

    def _validator(self, schema: Mapping[str, Any]) -> _Validator:
        whole = _compile_schema({**schema, **self._root})
        resolved = self._resolve(schema)
        branches = tuple(
            _Branch(_compile_schema({**branch, **self._root}), self._consts(branch))
            for branch in resolved.get("oneOf", ())
        )
        return _Validator(
            whole, branches, integer=resolved.get("type") == "integer", root=self._root
        )

    def _consts(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        properties = self._resolve(schema).get("properties", {})
        return {
            name: rule["const"]
            for name, rule in properties.items()
            if isinstance(rule, Mapping) and "const" in rule
        }

    def _resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in node:
            target: Any = self._root
            for part in str(node["$ref"]).removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def _compile(
        self, template: str, item: Mapping[str, Any], method: str, operation: Mapping[str, Any]
    ) -> Operation:
        params = [
            self._resolve(p)
            for p in (*item.get("parameters", ()), *operation.get("parameters", ()))
        ]
        by_place: dict[str, dict[str, _Validator]] = {"path": {}, "query": {}, "header": {}}
        for param in params:
            if param["in"] in by_place:
                by_place[param["in"]][param["name"]] = self._validator(param.get("schema", {}))
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        body = operation.get("requestBody")
        body_validator = None
        json_body = False
        if body is not None:
            body = self._resolve(body)
            media = body.get("content", {}).get("application/json")
            if media is not None:
                json_body = True
                body_validator = self._validator(media.get("schema", {}))
        return Operation(
            operation_id=str(operation["operationId"]),
            method=method.upper(),
            path_template=template,
            pattern=re.compile(f"^{regex}$"),
            literal="{" not in template,
            path_params=by_place["path"],
            query_params=by_place["query"],
            header_params=by_place["header"],
            body=body_validator,
            body_required=bool(body and body.get("required")),
            json_body=json_body,
        )
