"""The sandbox spec's X-Magic-Number values, read as data: each name says what it applies to
and what it forces, and the spec says what each does."""

from __future__ import annotations

import pytest

import bango_resale_spec as spec

SUBJECTS = {
    "CREATE",
    "ACTIVATION_INFO",
    "CANCEL",
    "REVOKE",
    "SUSPEND",
    "RESUME",
    "UPDATE",
    "REACTIVATE",
    spec.ANY_OPERATION,
}


def test_every_value_is_read_with_its_subject_outcome_and_effect() -> None:
    numbers = spec.magic_numbers()
    schema = spec.load_sandbox_spec()["components"]["schemas"]["MagicNumber"]
    assert [n.value for n in numbers] == schema["enum"]
    for number in numbers:
        assert number.subject in SUBJECTS, number
        assert number.effect.strip(), number
        infix = "_RETURNS_" if number.subject == "ACTIVATION_INFO" else "_REQUEST_RETURNS_"
        assert number.value == f"{number.subject}{infix}{number.outcome}"
    assert spec.magic_number("CREATE_REQUEST_RETURNS_ACTIVATED").outcome == "ACTIVATED"
    info = spec.magic_number("ACTIVATION_INFO_RETURNS_ACTIVATION_CODE")
    assert (info.subject, info.outcome) == ("ACTIVATION_INFO", "ACTIVATION_CODE")


def test_values_for_every_operation_force_a_known_response_code() -> None:
    forced = {n.outcome for n in spec.magic_numbers() if n.applies_to_any_operation}
    assert forced == {"INTERNAL_ERROR", "SERVICE_UNAVAILABLE", "TOO_MANY_REQUESTS"}
    assert forced <= set(spec.general_http_statuses())


def test_an_unknown_value_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(KeyError, match="CREATE_REQUEST_RETURNS_CREATED"):
        spec.magic_number("CREATE_REQUEST_RETURNS_CAKE")
