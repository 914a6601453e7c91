"""How the sandbox behaves on one request, decided at the edge before the service runs.

Two things make the sandbox depart from a product's configured behaviour: the request's
`X-Magic-Number` (it forces the mocked merchant's answer) and the deliberate faults the
sandbox was started with. The pipeline turns both into one `Behaviour` value, so the service
asks typed questions ("does the merchant refuse this cancel?") instead of comparing header
strings and fault names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

from . import faults as fault_names
from .config import ActivationMode
from .magic import MagicNumber


@dataclass(frozen=True, slots=True)
class Faults:
    """The deliberate faults switched on (see `faults.py` for what each breaks)."""

    server_error: bool = False
    extra_field: bool = False
    wrong_response_code: bool = False
    ignore_auth: bool = False
    illegal_transition: bool = False
    drop_cancel_reason: bool = False
    wrong_notification_type: bool = False
    skipped_notification: bool = False
    notifications_out_of_order: bool = False
    unchanged_after_200: bool = False
    waiting_202_ignored: bool = False
    query_ignores_status: bool = False
    request_id_not_echoed: bool = False
    echo_mangled: bool = False
    create_drops_offer: bool = False
    active_ending_without_end: bool = False

    @classmethod
    def of(cls, names: Iterable[str]) -> Faults:
        """From fault names as `faults.parse_faults` accepts them."""
        return cls(**{name: True for name in fault_names.parse_faults(names)})


# Every fault has a flag and every flag a fault: a new fault cannot be forgotten here.
assert {f.name for f in fields(Faults)} == fault_names.KNOWN_FAULTS


# The outcomes an operation's magic numbers force, as `<OPERATION>_REQUEST_RETURNS_<OUTCOME>`.
_REFUSED = "NOT_AVAILABLE"
_DEFERRED = "ACCEPTED"
_SIGN_UP = "ACTIVATION_REQUIRED"
# Create's magic numbers pick how the new entitlement activates.
_CREATE_ACTIVATION = {
    MagicNumber.CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED: ActivationMode.CLIENT_ACTION,
    MagicNumber.CREATE_REQUEST_RETURNS_CREATED: ActivationMode.PENDING,
    MagicNumber.CREATE_REQUEST_RETURNS_ACTIVATED: ActivationMode.IMMEDIATE,
}


@dataclass(frozen=True, slots=True)
class Behaviour:
    """The merchant's answer forced by this request (if any) and the faults in force.

    Operations are named as the magic numbers name them: `create`, `update`, `suspend`,
    `resume`, `cancel`, `revoke`, `reactivate`.
    """

    faults: Faults = Faults()
    magic: MagicNumber | None = None

    def refuses(self, operation: str) -> bool:
        """The merchant answers NOT_AVAILABLE."""
        return self._forces(operation, _REFUSED)

    def defers(self, operation: str) -> bool:
        """The merchant answers later (202, then a notification)."""
        return self._forces(operation, _DEFERRED)

    def needs_sign_up(self, operation: str) -> bool:
        """The customer must complete a step at the merchant (CLIENT_ACTION_REQUIRED)."""
        return self._forces(operation, _SIGN_UP)

    @property
    def activation(self) -> ActivationMode | None:
        """How a created entitlement activates, when the request forces it."""
        return None if self.magic is None else _CREATE_ACTIVATION.get(self.magic)

    @property
    def wants_activation_code(self) -> bool:
        """Activation info answers with a code rather than a link."""
        return self.magic is MagicNumber.ACTIVATION_INFO_RETURNS_ACTIVATION_CODE

    def _forces(self, operation: str, outcome: str) -> bool:
        return self.magic is not None and (
            self.magic.value == f"{operation.upper()}_REQUEST_RETURNS_{outcome}"
        )
