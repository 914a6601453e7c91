from enum import StrEnum


class ReasonCategory(StrEnum):
    ACTIVATION_ROLLBACK = "ACTIVATION_ROLLBACK"
    CUSTOMER_CANCELLED = "CUSTOMER_CANCELLED"
    CUSTOMER_CHANGED = "CUSTOMER_CHANGED"
    REVOKED = "REVOKED"

    def __str__(self) -> str:
        return str(self.value)
