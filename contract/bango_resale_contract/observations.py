"""Observed (HTTP status, responseCode) answers per operation, and the coverage matrix."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import bango_resale_spec as spec

# Where the schemathesis hooks append their observations (set by the runner).
OBSERVATIONS_ENVIRONMENT_VARIABLE = "BANGO_CONTRACT_OBSERVATIONS"


@dataclass(frozen=True, slots=True)
class Observation:
    """One answer: which operation, what HTTP status and responseCode, and who caused it."""

    operation_id: str
    http_status: int
    response_code: str | None
    source: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Observation:
        data = json.loads(line)
        return cls(
            operation_id=str(data["operation_id"]),
            http_status=int(data["http_status"]),
            response_code=data.get("response_code"),
            source=str(data.get("source", "")),
        )


def read_observations(path: Path) -> list[Observation]:
    """Every observation in a JSON-lines file (none if the file does not exist)."""
    if not path.exists():
        return []
    return [
        Observation.from_json(line)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


@dataclass(frozen=True, slots=True)
class MatrixRow:
    """One documented pair of one operation and which sources produced it."""

    operation_id: str
    http_status: int
    response_code: str
    sources: tuple[str, ...]

    @property
    def observed(self) -> bool:
        return bool(self.sources)


def coverage_matrix(observations: Iterable[Observation]) -> list[MatrixRow]:
    """For every documented (operation, HTTP status, responseCode), the sources seen."""
    seen: dict[tuple[str, int, str], set[str]] = {}
    for observation in observations:
        if observation.response_code is None:
            continue
        key = (observation.operation_id, observation.http_status, observation.response_code)
        seen.setdefault(key, set()).add(observation.source.split(":")[0])
    rows = []
    for operation_id, outcomes in spec.operation_responses().items():
        for outcome in outcomes:
            key = (operation_id, outcome.http_status, outcome.response_code)
            rows.append(
                MatrixRow(
                    operation_id=operation_id,
                    http_status=outcome.http_status,
                    response_code=outcome.response_code,
                    sources=tuple(sorted(seen.get(key, set()))),
                )
            )
    return rows


def operations_exercised(observations: Iterable[Observation]) -> Mapping[str, int]:
    """Requests answered per documented operation (zero for those never called)."""
    counts = dict.fromkeys(spec.operation_responses(), 0)
    for observation in observations:
        if observation.operation_id in counts:
            counts[observation.operation_id] += 1
    return counts


def format_matrix(rows: list[MatrixRow]) -> str:
    """The matrix as aligned text, one line per documented pair, with the count at the end."""
    lines = ["Coverage matrix (documented HTTP status / responseCode per operation):"]
    width = max(len(row.operation_id) for row in rows)
    current = ""
    for row in rows:
        name = row.operation_id if row.operation_id != current else ""
        current = row.operation_id
        mark = "x" if row.observed else " "
        seen_by = ", ".join(row.sources) if row.sources else "NOT OBSERVED"
        lines.append(
            f"  {name:<{width}}  [{mark}] {row.http_status} {row.response_code:<24} {seen_by}"
        )
    observed = sum(row.observed for row in rows)
    lines.append(f"Documented pairs observed: {observed}/{len(rows)}")
    return "\n".join(lines)
