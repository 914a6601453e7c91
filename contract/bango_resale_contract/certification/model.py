"""What a certification run found: journeys, their steps, and what each step sent and got."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bango_resale_contract.coverage import Coverage


class Verdict(StrEnum):
    """How a step, a journey or the whole run ended."""

    PASSED = "passed"
    FAILED = "failed"
    # A person must do it on the service under test; nothing was checked automatically.
    MANUAL = "manual"
    # Not run because an earlier step of its journey failed.
    NOT_RUN = "not run"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check the engine made on a step's answer."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True, slots=True)
class StepExchange:
    """The request a step sent and the answer it got, summarised for a person."""

    method: str
    url: str
    # Only the headers that say something about the journey (request id, magic number).
    headers: tuple[tuple[str, str], ...]
    request_body: str | None
    status: int | None
    # responseCode, status and the like, read from a JSON answer.
    answer: tuple[tuple[str, str], ...]
    response_body: str | None
    started_at: datetime | None
    duration_ms: float | None


@dataclass(frozen=True, slots=True)
class StepResult:
    step_id: str
    description: str
    outcome: Verdict
    exchange: StepExchange | None = None
    checks: tuple[CheckResult, ...] = ()
    # For a manual step: what the person must do, with the run's values filled in.
    instruction: str | None = None

    @property
    def failed_checks(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if not check.passed)


@dataclass(frozen=True, slots=True)
class JourneyResult:
    workflow_id: str
    summary: str
    description: str
    steps: tuple[StepResult, ...]
    started_at: datetime | None
    finished_at: datetime | None
    # What its requests exercised of the contract (judged as the proxy judges traffic).
    coverage: Coverage | None = None

    @property
    def outcome(self) -> Verdict:
        return combined(step.outcome for step in self.steps)


@dataclass(frozen=True, slots=True)
class CertificationRun:
    """Everything a report needs: where, who, with what, and what happened."""

    target: str
    own_sandbox: bool
    user: str
    run_id: str
    engine: str
    document: str
    started_at: datetime
    finished_at: datetime
    journeys: tuple[JourneyResult, ...]
    faults: tuple[str, ...] = ()
    # Problems outside any step (the engine did not run, a journey is missing from its log).
    problems: tuple[str, ...] = ()

    @property
    def outcome(self) -> Verdict:
        if self.problems:
            return Verdict.FAILED
        return combined(journey.outcome for journey in self.journeys)

    @property
    def coverage(self) -> Coverage:
        """What every journey's requests together exercised of the contract."""
        total = Coverage()
        total.merge(j.coverage for j in self.journeys if j.coverage is not None)
        return total

    def count(self, outcome: Verdict) -> int:
        """How many steps ended with `outcome`."""
        return sum(step.outcome is outcome for journey in self.journeys for step in journey.steps)


def combined(outcomes: Iterable[Verdict]) -> Verdict:
    """Failed beats manual beats passed; steps skipped after a failure count as failed."""
    seen = set(outcomes)
    if Verdict.FAILED in seen or Verdict.NOT_RUN in seen:
        return Verdict.FAILED
    if Verdict.MANUAL in seen:
        return Verdict.MANUAL
    return Verdict.PASSED
