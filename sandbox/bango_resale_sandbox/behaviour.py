"""How the sandbox behaves on one request, decided at the edge before the service runs.

Two things make the sandbox depart from a product's configured behaviour: the request's
`X-Magic-Number` (it forces the mocked merchant's answer) and the deliberate faults the
sandbox was started with. The pipeline turns both into one `Behaviour` value, so the service
asks typed questions ("does the merchant refuse this cancel?") instead of comparing header
strings and fault names.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import ActivationMode
from .faults import Faults
from .magic import MagicNumber

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

    faults: Faults = Faults()  # noqa: RUF009 (frozen: one shared default is safe)
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
