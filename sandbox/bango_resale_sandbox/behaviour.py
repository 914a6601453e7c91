"""How the merchant behaves on one request, decided at the edge before the service runs.

The request's `X-Magic-Number` makes the sandbox depart from a product's configured behaviour:
it forces the mocked merchant's answer. The pipeline reads it into one `Behaviour` value, so
the service asks typed questions ("does the merchant refuse this cancel?") instead of
comparing header strings.
"""

from __future__ import annotations

from dataclasses import dataclass

from bango_resale_spec import MagicNumber

from .config import ActivationMode

# The outcomes an operation's magic numbers force, as `<OPERATION>_REQUEST_RETURNS_<OUTCOME>`.
_REFUSED = "NOT_AVAILABLE"
_DEFERRED = "ACCEPTED"
_SIGN_UP = "ACTIVATION_REQUIRED"
# Create's outcomes pick how the new entitlement activates.
_CREATE = "CREATE"
_CREATE_ACTIVATION = {
    "ACTIVATION_REQUIRED": ActivationMode.CLIENT_ACTION,
    "CREATED": ActivationMode.PENDING,
    "ACTIVATED": ActivationMode.IMMEDIATE,
}
# Activation info's outcome that asks for a code rather than a link.
_ACTIVATION_INFO = "ACTIVATION_INFO"
_ACTIVATION_CODE = "ACTIVATION_CODE"


@dataclass(frozen=True, slots=True)
class Behaviour:
    """The merchant's answer forced by this request, if any.

    Operations are named as the magic numbers name them: `create`, `update`, `suspend`,
    `resume`, `cancel`, `revoke`, `reactivate`.
    """

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
        magic = self.magic
        if magic is None or magic.subject != _CREATE:
            return None
        return _CREATE_ACTIVATION.get(magic.outcome)

    @property
    def wants_activation_code(self) -> bool:
        """Activation info answers with a code rather than a link."""
        return self._forces(_ACTIVATION_INFO, _ACTIVATION_CODE)

    def _forces(self, operation: str, outcome: str) -> bool:
        magic = self.magic
        return magic is not None and magic.subject == operation.upper() and magic.outcome == outcome
