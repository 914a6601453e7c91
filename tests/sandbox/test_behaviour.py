"""The per-request behaviour the pipeline hands the service: X-Magic-Number read once at the
edge, asked as typed questions."""

from __future__ import annotations

import pytest

from bango_resale_sandbox.behaviour import Behaviour
from bango_resale_sandbox.config import ActivationMode
from bango_resale_spec import MagicNumber, magic_number, magic_numbers

OPERATIONS = ("create", "update", "suspend", "resume", "cancel", "revoke", "reactivate")


@pytest.mark.parametrize("magic", magic_numbers(), ids=lambda m: m.value)
def test_each_operation_magic_number_answers_for_its_operation_only(magic: MagicNumber) -> None:
    behaviour = Behaviour(magic=magic)
    operation, _, outcome = magic.value.partition("_REQUEST_RETURNS_")
    asked = {
        "NOT_AVAILABLE": behaviour.refuses,
        "ACCEPTED": behaviour.defers,
        "ACTIVATION_REQUIRED": behaviour.needs_sign_up,
    }
    for name in OPERATIONS:
        for question_outcome, question in asked.items():
            expected = name.upper() == operation and question_outcome == outcome
            assert question(name) is expected, (magic, name, question_outcome)


def test_create_magic_numbers_pick_the_activation() -> None:
    assert Behaviour().activation is None
    forced = {
        "CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED": ActivationMode.CLIENT_ACTION,
        "CREATE_REQUEST_RETURNS_CREATED": ActivationMode.PENDING,
        "CREATE_REQUEST_RETURNS_ACTIVATED": ActivationMode.IMMEDIATE,
    }
    for magic in magic_numbers():
        assert Behaviour(magic=magic).activation is forced.get(magic.value)
    code = magic_number("ACTIVATION_INFO_RETURNS_ACTIVATION_CODE")
    assert Behaviour(magic=code).wants_activation_code
    link = magic_number("ACTIVATION_INFO_RETURNS_ACTIVATION_URL")
    assert not Behaviour(magic=link).wants_activation_code


def test_every_create_outcome_but_a_refusal_picks_an_activation() -> None:
    """A create value the spec adds must be taught to the sandbox, not silently ignored."""
    for magic in magic_numbers():
        if magic.subject == "CREATE" and magic.outcome != "NOT_AVAILABLE":
            assert Behaviour(magic=magic).activation is not None, magic.value
