"""The per-request behaviour the pipeline hands the service: X-Magic-Number and faults read
once at the edge, asked as typed questions."""

from __future__ import annotations

import pytest

from bango_resale_sandbox import faults
from bango_resale_sandbox.behaviour import Behaviour
from bango_resale_sandbox.config import ActivationMode
from bango_resale_sandbox.faults import Faults
from bango_resale_sandbox.magic import MagicNumber

OPERATIONS = ("create", "update", "suspend", "resume", "cancel", "revoke", "reactivate")


@pytest.mark.parametrize("magic", list(MagicNumber))
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
        MagicNumber.CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED: ActivationMode.CLIENT_ACTION,
        MagicNumber.CREATE_REQUEST_RETURNS_CREATED: ActivationMode.PENDING,
        MagicNumber.CREATE_REQUEST_RETURNS_ACTIVATED: ActivationMode.IMMEDIATE,
    }
    for magic in MagicNumber:
        assert Behaviour(magic=magic).activation is forced.get(magic)
    code = MagicNumber.ACTIVATION_INFO_RETURNS_ACTIVATION_CODE
    assert Behaviour(magic=code).wants_activation_code
    assert not Behaviour(
        magic=MagicNumber.ACTIVATION_INFO_RETURNS_ACTIVATION_URL
    ).wants_activation_code


def test_faults_are_flags_named_as_the_faults() -> None:
    assert Faults.of([]) == Faults()
    switched = Faults.of(["echo_mangled,extra_field"])
    assert switched.echo_mangled and switched.extra_field
    assert not switched.server_error
    every = Faults.of(sorted(faults.KNOWN_FAULTS))
    assert all(getattr(every, name) for name in faults.KNOWN_FAULTS)
    with pytest.raises(ValueError, match="unknown fault"):
        Faults.of(["no_such_fault"])
