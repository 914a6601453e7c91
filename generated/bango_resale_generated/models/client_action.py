from enum import StrEnum


class ClientAction(StrEnum):
    NAVIGATE_TO_URL = "NAVIGATE_TO_URL"

    def __str__(self) -> str:
        return str(self.value)
