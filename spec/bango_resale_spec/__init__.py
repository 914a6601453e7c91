"""The Bango Resale contract as data: the two OpenAPI documents and their one reader.

The partner spec (`bango-resale.openapi.yaml`) and the sandbox spec (`sandbox.openapi.yaml`)
ship with this package, with the certification journeys written against them
(`bango-resale.arazzo.yaml`). Everything else in the distribution (the client, the sandbox,
the contract suite) reads the contract through the functions here; this package imports none
of them. `bango_resale_spec.diagram` draws the status machine; `bango_resale_spec.distribution`
says how this installation adds an extra; `bango_resale_spec.compiled` holds the documents
compiled for matching and validating requests and answers (it needs jsonschema-rs, from the
sandbox extra, and is imported only where it is used).
"""

from __future__ import annotations

from .examples import ExamplePair, example_entitlements, example_pairs
from .machine import (
    PRODUCT_CHANGE,
    MachineError,
    StatusMachine,
    Transition,
    body_allowed_from,
    machine_from,
    operation_allowed_from,
    status_machine,
)
from .magic_numbers import ANY_OPERATION, MagicNumber, magic_number, magic_numbers
from .tables import (
    FOREIGN_ORIGIN,
    HTTP_METHODS,
    REQUEST_IDENTIFIER_REUSED,
    UNSUPPORTED_MEDIA_TYPE,
    DocumentedResponse,
    ReasonRow,
    ResponseCodeRow,
    accepted_reason_pairs,
    client_actions,
    entitlement_statuses,
    general_http_statuses,
    journeys_path,
    load_partner_spec,
    load_sandbox_spec,
    notification_types,
    operation_responses,
    partner_spec_path,
    partner_spec_text,
    reason_fallback_code,
    reason_fallback_description,
    reason_rows,
    reason_storage_keys,
    resolve,
    response_code_row_for,
    response_code_rows,
    response_codes,
    sandbox_spec_path,
    terminal_statuses,
)

__all__ = [
    "ANY_OPERATION",
    "FOREIGN_ORIGIN",
    "HTTP_METHODS",
    "PRODUCT_CHANGE",
    "REQUEST_IDENTIFIER_REUSED",
    "UNSUPPORTED_MEDIA_TYPE",
    "DocumentedResponse",
    "ExamplePair",
    "MachineError",
    "MagicNumber",
    "ReasonRow",
    "ResponseCodeRow",
    "StatusMachine",
    "Transition",
    "accepted_reason_pairs",
    "body_allowed_from",
    "client_actions",
    "entitlement_statuses",
    "example_entitlements",
    "example_pairs",
    "general_http_statuses",
    "journeys_path",
    "load_partner_spec",
    "load_sandbox_spec",
    "machine_from",
    "magic_number",
    "magic_numbers",
    "notification_types",
    "operation_allowed_from",
    "operation_responses",
    "partner_spec_path",
    "partner_spec_text",
    "reason_fallback_code",
    "reason_fallback_description",
    "reason_rows",
    "reason_storage_keys",
    "resolve",
    "response_code_row_for",
    "response_code_rows",
    "response_codes",
    "sandbox_spec_path",
    "status_machine",
    "terminal_statuses",
]
