from enum import StrEnum


class EntitlementStatus(StrEnum):
    ACTIVE = "ACTIVE"
    ACTIVE_ENDING = "ACTIVE-ENDING"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"
    PENDING = "PENDING"
    REVOKED = "REVOKED"
    SUSPENDED = "SUSPENDED"

    def __str__(self) -> str:
        return str(self.value)
