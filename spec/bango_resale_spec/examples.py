"""The partner spec's examples as request/answer pairs, the way example-driven tools read them.

A request example (a request body's, or a path parameter's) and a response example with the
same name make a pair: the request, and the answer it gets. Specmatic turns each pair into a
test; the sandbox holds the entitlements they name (`x-example-entitlements`), so each pair
holds against a fresh sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .tables import HTTP_METHODS, load_partner_spec, resolve


@dataclass(frozen=True, slots=True)
class ExamplePair:
    """One request example and the response example of the same name."""

    operation_id: str
    method: str  # upper case
    path_template: str
    name: str
    path_parameters: Mapping[str, Any]
    body: Any  # None for an operation without a request body
    status: int
    answer: Mapping[str, Any]  # the response example's value

    @property
    def path(self) -> str:
        path = self.path_template
        for name, value in self.path_parameters.items():
            path = path.replace(f"{{{name}}}", quote(str(value), safe=""))
        return path


def request_example_names(
    operation: Mapping[str, Any], document: Mapping[str, Any] | None = None
) -> set[str]:
    """The names of an operation's request examples: its parameters' and its body's."""
    names: set[str] = set()
    for parameter in _parameters(operation, document):
        names |= set(parameter.get("examples", {}))
    names |= set(_body_examples(operation))
    return names


def response_examples(
    operation: Mapping[str, Any], document: Mapping[str, Any]
) -> dict[int, dict[str, Any]]:
    """Status -> {example name -> example value} of an operation's JSON responses."""
    found: dict[int, dict[str, Any]] = {}
    for status, response in operation["responses"].items():
        media = resolve(response, document).get("content", {}).get("application/json", {})
        found[int(status)] = {
            name: resolve(example, document)["value"]
            for name, example in media.get("examples", {}).items()
        }
    return found


def example_pairs(document: Mapping[str, Any] | None = None) -> tuple[ExamplePair, ...]:
    """Every pair of the document (default: the partner spec): operations in document order,
    each one's pairs by name."""
    document = document if document is not None else load_partner_spec()
    pairs = []
    for template, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            answers = response_examples(operation, document)
            bodies = _body_examples(operation)
            for name in sorted(request_example_names(operation, document)):
                for status, examples in answers.items():
                    if name not in examples:
                        continue
                    parameters = {
                        p["name"]: resolve(p["examples"][name], document)["value"]
                        for p in _parameters(operation, document)
                        if p.get("in") == "path" and name in p.get("examples", {})
                    }
                    body = bodies.get(name)
                    pairs.append(
                        ExamplePair(
                            operation_id=str(operation["operationId"]),
                            method=method.upper(),
                            path_template=template,
                            name=name,
                            path_parameters=parameters,
                            body=None if body is None else resolve(body, document)["value"],
                            status=status,
                            answer=examples[name],
                        )
                    )
    return tuple(pairs)


def example_entitlements(
    document: Mapping[str, Any] | None = None,
) -> tuple[Mapping[str, Any], ...]:
    """The records the examples start from (`x-example-entitlements`), in the API's JSON form,
    in document order."""
    document = document if document is not None else load_partner_spec()
    return tuple(document.get("x-example-entitlements", ()))


def _parameters(
    operation: Mapping[str, Any], document: Mapping[str, Any] | None
) -> list[Mapping[str, Any]]:
    return [resolve(p, document) for p in operation.get("parameters", ())]


def _body_examples(operation: Mapping[str, Any]) -> Mapping[str, Any]:
    content = operation.get("requestBody", {}).get("content", {})
    return dict(content.get("application/json", {}).get("examples", {}))
