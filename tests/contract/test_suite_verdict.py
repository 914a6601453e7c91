"""The suite's verdict on hand-made results: each problem says what was measured and how to
reproduce it."""

from __future__ import annotations

from pathlib import Path

from bango_resale_contract.schemathesis_runner import FailureGroup, LinkCoverage, SchemathesisRun
from bango_resale_contract.suite import SuiteOptions, SuiteResult, _verdict


def _partner(**changes: object) -> SchemathesisRun:
    run = SchemathesisRun(
        name="partner",
        exit_code=0,
        seconds=1.0,
        output="",
        junit_path=Path("reports/schemathesis/partner.junit.xml"),
        links=LinkCoverage(covered=21, selected=21, total=21),
    )
    for name, value in changes.items():
        setattr(run, name, value)
    return run


def _problems(run: SchemathesisRun) -> list[str]:
    return _verdict(SuiteOptions(), SuiteResult(runs=[run], stateful_creates=1))


def test_low_link_coverage_gives_the_measured_figure() -> None:
    low = _partner(links=LinkCoverage(covered=18, selected=21, total=21))

    assert _problems(_partner()) == []
    assert _problems(low) == ["stateful link coverage 18/21 (86%) is below 90%"]
    assert "no link coverage" in _problems(_partner(links=None))[0]


def test_failures_point_to_their_curl_reproducers() -> None:
    failing = _partner(
        exit_code=1,
        failures=[FailureGroup("ST101", "Server error", 2, ("POST /v1/entitlement",))],
    )

    problems = _problems(failing)

    assert problems[0] == "partner: ST101 Server error x2 (POST /v1/entitlement)"
    assert "reports/schemathesis/partner.junit.xml" in problems[1]
    assert "curl" in problems[1]
