"""The suite's verdict on hand-made results: each problem says what was measured and how to
reproduce it."""

from __future__ import annotations

from pathlib import Path

import pytest

import bango_resale_spec as spec
from bango_resale_contract.behaviour import BehaviourJudge
from bango_resale_contract.notification_server import NotificationServer, receiving
from bango_resale_contract.scenarios import ScenarioReport
from bango_resale_contract.schemathesis_runner import FailureGroup, LinkCoverage, SchemathesisRun
from bango_resale_contract.suite import (
    SuiteOptions,
    SuiteResult,
    _verdict,
    _warnings,
    format_summary,
)
from bango_resale_contract.transitions import TransitionReport, receiver_reachable


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
    return [p.text for p in _verdict(SuiteOptions(), SuiteResult(runs=[run], stateful_creates=1))]


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

    (problem,) = _verdict(SuiteOptions(), SuiteResult(runs=[failing], stateful_creates=1))

    assert problem.text == "partner: ST101 Server error x2 (POST /v1/entitlement)"
    (hint,) = problem.hints
    assert "reports/schemathesis/partner.junit.xml" in hint and "curl" in hint


def _judged(run: SchemathesisRun, options: SuiteOptions | None = None) -> SuiteResult:
    options = options or SuiteOptions()
    result = SuiteResult(runs=[run], stateful_creates=1)
    result.problems = _verdict(options, result)
    result.warnings = _warnings(options, result)
    return result


def test_refused_credentials_give_one_problem_in_our_flag_names() -> None:
    options = SuiteOptions(url="https://partner.example", user="me", password="wrong")
    refused = _partner(exit_code=1, warnings={"missing_auth": ["POST /v1/entitlement"]})
    result = SuiteResult(
        runs=[refused],
        scenarios=ScenarioReport(misses=[f"miss {n}" for n in range(80)]),
    )
    result.problems = _verdict(options, result)
    result.warnings = _warnings(options, result)

    (problem,) = [p.text for p in result.problems]
    assert "--user" in problem and "--password" in problem and "--auth" not in problem
    assert "schemathesis exited" not in problem
    assert result.warnings == ["scenarios: 80 misses not listed: every request was refused (401)"]
    summary = format_summary(options, result)
    assert "miss 7" not in summary


def test_schemathesis_warnings_are_carried_into_the_verdict() -> None:
    warned = _partner(
        warnings={
            "missing_test_data": ["GET /v1/entitlement/activationInfo/{entitlementId}"],
            "unmatched_filter": ["[[operations]] include-name 'PATCH /v1/entitlement'"],
        }
    )
    result = _judged(warned)

    assert result.problems == []
    assert any("kept answering 404" in w and "activationInfo" in w for w in result.warnings)
    assert any("PATCH /v1/entitlement" in w for w in result.warnings)
    assert "Warnings (not failures): 2" in format_summary(SuiteOptions(), result)


def test_link_coverage_is_judged_against_the_time_budget() -> None:
    low = _partner(links=LinkCoverage(covered=7, selected=21, total=21))
    short = SuiteOptions(max_time=6)

    assert "7/21" in _judged(low).problems[0].text
    result = _judged(low, short)
    assert result.problems == []
    assert result.warnings == [
        "link coverage (7/21) not judged: --max-time 6 is shorter than the 25 s per run"
        " the 90% target is set for"
    ]


def test_failures_print_a_replay_command_that_names_everything_it_needs() -> None:
    failing = _partner(
        exit_code=1,
        failures=[FailureGroup("ST108", "Response violates schema", 1, ("POST /v1/entitlement",))],
        replay_ids=[("POST /v1/entitlement", "Lw5Imr")],
    )
    (problem,) = _judged(failing, SuiteOptions(faults=("extra_field",))).problems

    replay = next(hint for hint in problem.hints if "--config-file" in hint)
    assert "bango-resale-sandbox --port 8000 --db replay.sqlite3 --fault extra_field" in replay
    assert "BANGO_CONTRACT_USER=demo BANGO_CONTRACT_PASSWORD=demo-secret" in replay
    assert "replay ID --url http://127.0.0.1:8000" in replay
    assert "replay IDs: Lw5Imr (POST /v1/entitlement)" in problem.hints


def test_the_summary_counts_failures_and_lists_each_ones_replay_hints_under_it() -> None:
    failing = _partner(
        exit_code=1,
        failures=[
            FailureGroup("ST108", "Response violates schema", 1, ("POST /v1/entitlement",)),
            FailureGroup("ST101", "Server error", 2, ("GET /v1/echo/{echoRequestId}",)),
        ],
        replay_ids=[
            ("GET /v1/echo/{echoRequestId}", "Echo01"),
            ("POST /v1/entitlement", "Lw5Imr"),
            ("PATCH /v1/entitlement", "Orphan"),  # named by no group: listed, not lost
        ],
    )
    result = _judged(failing)

    summary = format_summary(SuiteOptions(), result).splitlines()

    start = summary.index("FAILED: 2 failures")
    verdict = summary[start + 1 :]
    assert verdict[0] == "  - partner: ST108 Response violates schema x1 (POST /v1/entitlement)"
    assert (
        verdict[1]
        == "      replay IDs: Lw5Imr (POST /v1/entitlement), Orphan (PATCH /v1/entitlement)"
    )
    assert verdict[2].startswith("      to replay a failure, start a sandbox like the suite's")
    assert verdict[3].startswith("      a curl command per failure is in")
    assert verdict[4:] == [
        "  - partner: ST101 Server error x2 (GET /v1/echo/{echoRequestId})",
        "      replay IDs: Echo01 (GET /v1/echo/{echoRequestId})",
    ]


def test_one_failure_is_one_failure() -> None:
    failing = _partner(
        exit_code=1,
        failures=[FailureGroup("ST101", "Server error", 1, ("POST /v1/entitlement",))],
        replay_ids=[("POST /v1/entitlement", "Lw5Imr")],
    )
    summary = format_summary(SuiteOptions(), _judged(failing))
    assert "FAILED: 1 failure\n" in summary


def _walked(receiver: NotificationServer | None) -> TransitionReport:
    judge = BehaviourJudge(spec.status_machine(), receiver=receiver)
    for seen in judge.coverage.values():
        seen.observed = 1
    return TransitionReport(judge)


def test_a_pass_without_a_receiver_says_notifications_were_not_checked() -> None:
    remote = SuiteOptions(url="https://partner.example", user="me", password="pw")
    unchecked = SuiteResult(runs=[_partner()], stateful_creates=1, transitions=_walked(None))
    with receiving() as receiver:
        checked = SuiteResult(runs=[_partner()], stateful_creates=1, transitions=_walked(receiver))
    skipped = SuiteResult(runs=[_partner()], stateful_creates=1)

    assert format_summary(remote, unchecked).endswith(
        "PASSED, notifications not checked (give --notify-url)"
    )
    assert format_summary(remote, checked).endswith("PASSED: zero failures")
    assert format_summary(remote, skipped).endswith(
        "PASSED, notifications not checked (the journeys did not run: --no-transitions)"
    )


def test_rows_not_run_fail_only_the_suites_own_sandbox_and_carry_their_reasons() -> None:
    report = _walked(None)
    report.judge.coverage["paid-period-ended"].observed = 0
    report.reasons["paid-period-ended"] = ["BANGO/BangoMusic: 'the paid period ends' needs ..."]
    own = SuiteResult(runs=[_partner()], stateful_creates=1, transitions=report)
    remote_options = SuiteOptions(url="http://127.0.0.1:9", user="u", password="p")
    remote = SuiteResult(runs=[_partner()], stateful_creates=1, transitions=report)

    (problem,) = _verdict(SuiteOptions(), own)
    assert problem.text == "transitions: row paid-period-ended was never observed"
    assert problem.hints == ("BANGO/BangoMusic: 'the paid period ends' needs ...",)
    assert _verdict(remote_options, remote) == []
    assert _warnings(remote_options, remote) == [
        "transitions: 1 of 41 rows not run with the products given (each has its reason in the"
        " table above); --product adds products"
    ]


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://127.3.4.5", True),
        ("http://[::1]:8080/base", True),
        ("http://localhost:8000", True),
        ("https://api.partner.example", False),
        ("http://10.0.0.7:8000", False),
    ],
)
def test_a_service_on_loopback_gets_the_suites_receiver_unasked(url: str, local: bool) -> None:
    assert receiver_reachable(url, own_sandbox=False, notify_url=None) is local
    assert receiver_reachable(url, own_sandbox=False, notify_url="https://r.example/n")


def test_products_the_service_does_not_sell_fail_the_run_naming_them() -> None:
    report = _walked(None)
    for seen in report.judge.coverage.values():
        seen.observed = 0
    report.products = (("BANGO", "NoSuchProduct"),)
    refusal = (
        "BANGO/NoSuchProduct: 'create activated' (X-Magic-Number CREATE_REQUEST_RETURNS_ACTIVATED)"
        " created none: it got HTTP 409 NOT_AVAILABLE \"merchant 'BANGO' offers no product\""
    )
    report.reasons["create-activated"] = [refusal]
    options = SuiteOptions(url="http://127.0.0.1:9", user="u", password="p")
    result = SuiteResult(runs=[_partner()], stateful_creates=1, transitions=report)

    (problem,) = _verdict(options, result)
    assert problem.text == (
        "transitions: no create made an entitlement with --product BANGO/NoSuchProduct; check"
        " that the service sells them"
    )
    assert problem.hints == (refusal,)
