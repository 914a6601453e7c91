"""What traffic exercised of the contract, so that a partner sees what their integration has
met and what it never has: how often each row of `x-status-machine` fired, and per operation
each answer (HTTP status and responseCode) seen.

Of the answers, those an integration must be ready for are the ones it has to act on: a 202
(the merchant finishes later, or the customer must act first) and the transient failures it
must wait out and retry (the `transient` rows of the spec's response-code table). The summary
names each of them the traffic never met.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import bango_resale_spec as spec
from bango_resale_spec import ResponseCodeRow, StatusMachine

# How an answer is keyed in `responseCodes`: "202 CLIENT_ACTION_REQUIRED".
NO_RESPONSE_CODE = "(none)"


def answer_key(http_status: int, response_code: str | None) -> str:
    return f"{http_status} {response_code or NO_RESPONSE_CODE}"


def must_handle() -> tuple[ResponseCodeRow, ...]:
    """The answers an integration must act on: every 202, every transient failure."""
    return tuple(
        row for row in spec.response_code_rows() if row.http_status == 202 or row.transient
    )


@dataclass
class Coverage:
    """Counts of rows fired and answers met; `to_json` is the reports' `coverage`."""

    machine: StatusMachine = field(default_factory=spec.status_machine)
    transitions: dict[str, int] = field(default_factory=dict)
    # Per operation, (HTTP status, responseCode) -> count: keyed as a tuple because the proxy
    # counts every exchange; `to_json` spells the keys out.
    answers: dict[str, dict[tuple[int, str | None], int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for row in self.machine:
            self.transitions.setdefault(row.id, 0)

    def fired(self, row_id: str) -> None:
        self.transitions[row_id] = self.transitions.get(row_id, 0) + 1

    def answered(self, operation_id: str, http_status: int, response_code: str | None) -> None:
        seen = self.answers.get(operation_id)
        if seen is None:
            seen = self.answers[operation_id] = {}
        key = (http_status, response_code)
        seen[key] = seen.get(key, 0) + 1

    def merge(self, others: Iterable[Coverage]) -> None:
        """Add the counts of other coverage (of the same status machine)."""
        for other in others:
            for row_id, count in other.transitions.items():
                self.transitions[row_id] = self.transitions.get(row_id, 0) + count
            for operation_id, seen in other.answers.items():
                mine = self.answers.setdefault(operation_id, {})
                for key, count in seen.items():
                    mine[key] = mine.get(key, 0) + count

    def met(self, operation_id: str) -> dict[str, int]:
        """The answers one operation gave, as `"HTTP status responseCode"` -> count."""
        seen = self.answers.get(operation_id, {})
        return dict(sorted((answer_key(*key), count) for key, count in seen.items()))

    @property
    def exercised(self) -> int:
        return sum(1 for count in self.transitions.values() if count)

    def never_made(self) -> list[str]:
        """The rows no traffic made, in the table's order."""
        return [row_id for row_id, count in self.transitions.items() if not count]

    def unmet(self) -> list[ResponseCodeRow]:
        """The answers an integration must act on that no operation gave."""
        met = {key for seen in self.answers.values() for key, count in seen.items() if count}
        return [row for row in must_handle() if (row.http_status, row.response_code) not in met]

    def to_json(self) -> dict[str, object]:
        return {
            "transitions": dict(self.transitions),
            "responseCodes": {
                operation_id: self.met(operation_id) for operation_id in sorted(self.answers)
            },
        }

    def summary_lines(self, who: str = "your integration") -> list[str]:
        """The figures a person reads first: rows made, and the answers `who` never met
        (continuation lines are indented)."""
        lines = [f"transitions exercised: {self.exercised}/{len(self.transitions)}"]
        unmade = self.never_made()
        if unmade:
            lines.append(f"  never made: {', '.join(unmade)}")
        unmet = self.unmet()
        if unmet:
            lines.append(f"answers {who} never handled:")
            lines.extend(
                f"  {row.response_code} (HTTP {row.http_status}): {row.meaning}" for row in unmet
            )
        else:
            lines.append(f"answers {who} must handle: every one was met")
        return lines
