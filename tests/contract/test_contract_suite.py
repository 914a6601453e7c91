"""The contract suite against the real sandbox: clean it passes with every figure met, and each
deliberate fault is reported."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bango_resale_contract.suite import SuiteOptions, run_suite
from bango_resale_sandbox.testing import SandboxProcess, SandboxThread

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIG = REPOSITORY / "schemathesis.toml"
# Seconds per schemathesis run for the fault variants: every fault shows within a few.
FAULT_BUDGET_SECONDS = 3

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _from_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite reads spec/ and schemathesis.toml relative to the working directory.
    monkeypatch.chdir(REPOSITORY)


# Judged on what schemathesis reaches in its time budget (link coverage): never beside other tests.
@pytest.mark.serial
def test_clean_sandbox_passes_with_every_figure(tmp_path: Path) -> None:
    result = run_suite(SuiteOptions(report_dir=tmp_path, config_path=CONFIG, echo=False))

    assert result.problems == []
    assert [run.name for run in result.runs] == ["partner", "sandbox-controls"]
    assert all(run.exit_code == 0 and not run.failures for run in result.runs)
    assert all(row.observed for row in result.matrix), "every documented pair observed"
    assert len(result.matrix) >= 76
    assert all(count > 0 for count in result.exercised.values())
    partner = result.runs[0]
    assert partner.links is not None
    assert partner.links.ratio >= 0.9
    assert result.stateful_creates > 0
    assert result.transitions is not None
    assert result.transitions.rows_observed == result.transitions.rows_total
    assert (tmp_path / "schemathesis" / "partner.junit.xml").exists()


# Fault -> a failure code or custom-check name the suite must report for it.
EXPECTED_FINDINGS = {
    "server_error": "ST101",
    "extra_field": "ST108",
    "wrong_response_code": "bango_response_code_matches_status",
    "ignore_auth": "ST401",
    "illegal_transition": "bango_terminal_status_final",
}

# Faults the scenario suite reports under the same check name, whatever the fuzzing reaches.
FOUND_BY_SCENARIOS = frozenset({"wrong_response_code", "illegal_transition"})


# Judged on what a 3-second budget finds (each fault showed within 2 s): never beside other tests.
@pytest.mark.serial
@pytest.mark.parametrize("fault", sorted(EXPECTED_FINDINGS))
def test_each_deliberate_fault_is_reported(fault: str, tmp_path: Path) -> None:
    result = run_suite(
        SuiteOptions(
            faults=(fault,),
            report_dir=tmp_path,
            config_path=CONFIG,
            max_time=FAULT_BUDGET_SECONDS,
            control_spec=False,
            echo=False,
        )
    )

    assert not result.passed
    # The short budget is not held against the service: link coverage is not judged.
    assert not any("link coverage" in problem.text for problem in result.problems), result.problems
    expected = EXPECTED_FINDINGS[fault]
    assert any(expected in finding for finding in result.findings()), sorted(result.findings())
    if fault in FOUND_BY_SCENARIOS:
        # Independent of the fuzzing's time budget: the scripted steps reach it every run.
        assert result.scenarios is not None
        assert any(expected in violation for violation in result.scenarios.violations)


def test_wrong_credentials_fail_the_run(
    tmp_path: Path, in_process_sandbox: Callable[..., SandboxThread]
) -> None:
    url = in_process_sandbox(login_throttle=False).base_url
    result = run_suite(
        SuiteOptions(
            url=url,
            user="demo",
            password="not-the-password",
            report_dir=tmp_path,
            config_path=CONFIG,
            phases=("examples", "coverage"),
            scenarios=False,
            echo=False,
        )
    )

    assert not result.passed
    partner = result.runs[0]
    assert partner.exit_code != 0
    assert partner.warnings["missing_auth"]
    (problem,) = result.problems
    assert problem.text.startswith("credentials refused: check --user and --password")


def test_the_printed_replay_command_reproduces_the_failure(
    tmp_path: Path, in_process_sandbox: Callable[..., SandboxThread]
) -> None:
    result = run_suite(
        SuiteOptions(
            faults=("extra_field",),
            report_dir=tmp_path,
            config_path=CONFIG,
            phases=("examples",),
            control_spec=False,
            scenarios=False,
            echo=False,
        )
    )
    (command,) = {
        hint.split("then run: ")[1]
        for problem in result.problems
        for hint in problem.hints
        if "then run: " in hint
    }
    case_id = next(
        case for operation, case in result.runs[0].replay_ids if operation == "POST /v1/entitlement"
    )
    sandbox = in_process_sandbox(faults=["extra_field"])
    line = command.replace(" ID ", f" {case_id} ").replace(
        "http://127.0.0.1:8000", sandbox.base_url
    )
    replay = subprocess.run(
        line, shell=True, capture_output=True, text=True, check=False, timeout=120
    )
    assert "Response violates schema" in replay.stdout, replay.stdout + replay.stderr
    assert "1 failed" in replay.stdout and "operation not found" not in replay.stdout


def test_a_service_on_loopback_has_its_notifications_checked_unasked(
    tmp_path: Path, sandbox_server: Callable[..., SandboxProcess]
) -> None:
    """A partner's run (`--url`, no `--notify-url`) against a service on this machine that
    never sends TERMINATION_SUCCESS: the suite's receiver on loopback catches it."""
    service = sandbox_server(faults=["skipped_notification"], login_throttle=False)
    options = SuiteOptions(
        url=service.base_url,
        report_dir=tmp_path,
        config_path=CONFIG,
        phases=("examples",),
        max_time=2,
        scenarios=False,
        echo=False,
    )
    result = run_suite(options)

    assert not result.passed
    assert result.transitions is not None and result.transitions.judge.notifications_checked
    assert any(
        p.text.startswith("transitions: bango_notifications: ")
        and "the contract expects the notifications ['TERMINATION_SUCCESS'] next" in p.text
        for p in result.problems
    ), result.problems
