"""The OpenAPI documents compiled for matching and validating, once per document.

`partner()` and `sandbox()` are the shipped documents compiled (cached); `compile_spec()` compiles
any document of the same form (a changed copy in a test). A `CompiledSpec` matches a request's
method and path to its `Operation`, which carries validators for the path, query and header
parameters and the JSON body, and (compiled on first use) one validator per documented HTTP
status of the answer. The sandbox validates requests with them, the live judge judges traffic
with them and the tests check answers with them, so the three cannot read the spec apart.

A refused request's message names the field and says what is wrong in the spec's words: the
condition that limits an enum (a reason code is valid only with its category), the meaning of
a pattern (`x-pattern-meaning`), the branch of a `oneOf` the body meant.

This module needs jsonschema-rs, which comes with the sandbox extra; the rest of the package
does not, so a client-only install imports `bango_resale_spec` without it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

from .tables import HTTP_METHODS, load_partner_spec, load_sandbox_spec


class RequestInvalid(ValueError):
    """The request does not match the document; the message names the field."""


def _compile_schema(schema: Mapping[str, Any]) -> Any:
    # Formats are checked as JSON Schema defines them (RFC 3339 date-time, RFC 3986 uri): a
    # looser check would accept a notificationUrl such as "http://x y" and then return it in a
    # response that breaks the spec's own `format: uri`. The sandbox adds its own rule on top
    # (http or https, with a host on the allow-list).
    return jsonschema_rs.Draft202012Validator(dict(schema), validate_formats=True)


_MISSING = object()


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


class Validator:
    """One schema of the document, compiled.

    `is_valid(instance)` and `iter_errors(instance)` are jsonschema-rs's own (no extra call on
    the hot path); `check(instance, where)` raises `RequestInvalid` with one message that names
    the field; for a top-level oneOf it describes the error of the branch the instance meant.
    """

    __slots__ = ("branches", "integer", "is_valid", "iter_errors", "root")

    def __init__(
        self,
        whole: Any,
        branches: tuple[_Branch, ...] = (),
        *,
        integer: bool = False,
        root: Mapping[str, Any] | None = None,
    ) -> None:
        self.is_valid: Any = whole.is_valid
        self.iter_errors: Any = whole.iter_errors
        self.branches = branches
        # A query or path string stands for an integer where the schema says so ("after=7").
        self.integer = integer
        # The document the schema's $refs point into, to describe an error by where it arose.
        self.root: Mapping[str, Any] = root if root is not None else {}

    def errors(self, instance: Any) -> list[str]:
        """Every error's message, in the library's words (empty when the instance is valid)."""
        return [error.message for error in self.iter_errors(instance)]

    def check_text(self, text: str, where: str) -> None:
        """Check a value that arrived as text (query, path, header)."""
        if self.integer and re.fullmatch(r"-?[0-9]{1,19}", text):
            self.check(int(text), where)
        else:
            self.check(text, where)

    def check(self, instance: Any, where: str) -> None:
        if self.is_valid(instance):
            return
        candidates = [self.iter_errors]
        if self.branches:
            # The branch whose const properties the body names (a suspend names
            # entitlementBenefits SUSPENDED) is the one it meant; among equals, report the
            # branch the body came closest to.
            best_claim = max(branch.claim(instance) for branch in self.branches)
            candidates = [
                b.validator.iter_errors for b in self.branches if b.claim(instance) == best_claim
            ]
        best = min((list(errors(instance)) for errors in candidates), key=len)
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


class _Responses(Mapping[int, Validator | None]):
    """HTTP status -> the validator of its JSON body (None for an answer without one), for every
    numeric status the operation documents; compiled on first use (a service never needs them,
    the judge and the tests do)."""

    __slots__ = ("_compiled", "_spec", "_statuses")

    def __init__(self, spec: CompiledSpec, statuses: Mapping[int, Mapping[str, Any]]) -> None:
        self._spec = spec
        self._statuses = statuses
        self._compiled: dict[int, Validator | None] | None = None

    def _all(self) -> dict[int, Validator | None]:
        if self._compiled is None:
            self._compiled = {
                status: self._spec.media_validator(self._spec.resolve(answer).get("content"))
                for status, answer in self._statuses.items()
            }
        return self._compiled

    def __getitem__(self, status: int) -> Validator | None:
        return self._all()[status]

    def __iter__(self) -> Iterator[int]:
        return iter(self._statuses)

    def __len__(self) -> int:
        return len(self._statuses)

    def __contains__(self, status: object) -> bool:
        return status in self._statuses


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the document, ready to match and validate requests and answers."""

    operation_id: str
    method: str
    path_template: str
    # The template as a regular expression ending at the path's end, one named group per
    # parameter: `match` for the whole path, `search` for a path mounted under a prefix.
    pattern: re.Pattern[str]
    literal: bool
    path_params: Mapping[str, Validator]
    query_params: Mapping[str, Validator]
    body: Validator | None
    body_required: bool
    json_body: bool
    header_params: Mapping[str, Validator] = field(default_factory=dict)
    responses: Mapping[int, Validator | None] = field(default_factory=dict)

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


class CompiledSpec:
    """A document's operations, compiled; matches (method, path) to one of them. Literal paths
    win over templated ones, as OpenAPI says."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self._root = {"components": document.get("components", {})}
        operations: list[Operation] = []
        for template, item in document.get("paths", {}).items():
            for method, operation in item.items():
                if method in HTTP_METHODS:
                    operations.append(self._compile(template, item, method, operation))
        operations.sort(key=lambda op: not op.literal)
        self.operations: tuple[Operation, ...] = tuple(operations)
        self._literal: dict[str, list[Operation]] = {}
        for op in self.operations:
            if op.literal:
                self._literal.setdefault(op.path_template, []).append(op)
        self._templated = [op for op in self.operations if not op.literal]
        self.by_id: Mapping[str, Operation] = {op.operation_id: op for op in self.operations}

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

    def schema(self, name: str) -> Validator:
        """A validator of the component schema `name` (`#/components/schemas/<name>`)."""
        return self.validator({"$ref": f"#/components/schemas/{name}"})

    def validator(self, schema: Mapping[str, Any]) -> Validator:
        """A validator of `schema`, whose `$ref`s point into this document's components."""
        whole = _compile_schema({**schema, **self._root})
        resolved = self.resolve(schema)
        branches = tuple(
            _Branch(_compile_schema({**branch, **self._root}), self._consts(branch))
            for branch in resolved.get("oneOf", ())
        )
        return Validator(
            whole, branches, integer=resolved.get("type") == "integer", root=self._root
        )

    def media_validator(self, content: Mapping[str, Any] | None) -> Validator | None:
        """The validator of a `content` map's `application/json` schema; None without one."""
        schema = (content or {}).get("application/json", {}).get("schema")
        return None if schema is None else self.validator(schema)

    def resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        """`node`, following its local `$ref`s."""
        while "$ref" in node:
            target: Any = self._root
            for part in str(node["$ref"]).removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def _consts(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        properties = self.resolve(schema).get("properties", {})
        return {
            name: rule["const"]
            for name, rule in properties.items()
            if isinstance(rule, Mapping) and "const" in rule
        }

    def _compile(
        self, template: str, item: Mapping[str, Any], method: str, operation: Mapping[str, Any]
    ) -> Operation:
        params = [
            self.resolve(p) for p in (*item.get("parameters", ()), *operation.get("parameters", ()))
        ]
        by_place: dict[str, dict[str, Validator]] = {"path": {}, "query": {}, "header": {}}
        for param in params:
            if param["in"] in by_place:
                by_place[param["in"]][param["name"]] = self.validator(param.get("schema", {}))
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        body = operation.get("requestBody")
        body_validator = None
        json_body = False
        if body is not None:
            body = self.resolve(body)
            media = body.get("content", {}).get("application/json")
            if media is not None:
                json_body = True
                body_validator = self.validator(media.get("schema", {}))
        statuses = {
            int(status): answer
            for status, answer in operation.get("responses", {}).items()
            if str(status).isdigit()
        }
        return Operation(
            operation_id=str(operation["operationId"]),
            method=method.upper(),
            path_template=template,
            pattern=re.compile(f"{regex}$"),
            literal="{" not in template,
            path_params=by_place["path"],
            query_params=by_place["query"],
            header_params=by_place["header"],
            body=body_validator,
            body_required=bool(body and body.get("required")),
            json_body=json_body,
            responses=_Responses(self, statuses),
        )


def compile_spec(document: Mapping[str, Any]) -> CompiledSpec:
    """Any document of the partner or sandbox spec's form, compiled (not cached)."""
    return CompiledSpec(document)


@functools.cache
def partner() -> CompiledSpec:
    """The shipped partner spec, compiled once per process."""
    return CompiledSpec(load_partner_spec())


@functools.cache
def sandbox() -> CompiledSpec:
    """The shipped sandbox spec (the sandbox's controls), compiled once per process."""
    return CompiledSpec(load_sandbox_spec())


@functools.cache
def schema(name: str) -> Validator:
    """A validator of the partner spec's component schema `name`, compiled once."""
    return partner().schema(name)
