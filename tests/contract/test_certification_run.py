"""`make certify` for real: Redocly Respect runs the Arazzo journeys over loopback HTTP against a
fresh sandbox, a sandbox with a deliberate fault, and a service it must treat as foreign."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from pathlib import Path

import pytest

from bango_resale_contract import sandbox_data
from bango_resale_contract.certification import (
    CertificationOptions,
    Verdict,
    certify,
    write_reports,
)
from bango_resale_contract.certification.__main__ import main
from bango_resale_sandbox.testing import SandboxThread

REPOSITORY = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration]


@pytest.fixture(autouse=True)
def _from_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # The runner reads spec/ and node_modules/ relative to the working directory.
    monkeypatch.chdir(REPOSITORY)


def _junit(path: Path) -> ElementTree.Element:
    return ElementTree.parse(path).getroot()


def _report_texts(directory: Path) -> str:
    return "".join(p.read_text("utf-8") for p in directory.iterdir() if p.is_file())


def test_every_journey_passes_on_a_fresh_sandbox(tmp_path: Path) -> None:
    run = certify(CertificationOptions(report_dir=tmp_path))
    files = write_reports(run, tmp_path)

    assert run.problems == ()
    assert run.outcome is Verdict.PASSED, [
        (j.workflow_id, s.step_id, [c.detail for c in s.failed_checks])
        for j in run.journeys
        for s in j.steps
        if s.outcome is not Verdict.PASSED
    ]
    assert len(run.journeys) == 9
    assert run.count(Verdict.PASSED) == sum(len(j.steps) for j in run.journeys) >= 38
    assert (run.finished_at - run.started_at).total_seconds() < 60
    for journey in run.journeys:
        assert journey.started_at is not None and journey.finished_at is not None
        for step in journey.steps:
            assert step.exchange is not None and step.exchange.started_at is not None
            assert step.checks and all(check.passed for check in step.checks)
    # Respect also judged every partner answer against the OpenAPI description.
    names = {c.name for j in run.journeys for s in j.steps for c in s.checks}
    assert {"success criteria check", "schema check", "status code check"} <= names
    suites = _junit(files.junit)
    assert (suites.get("tests"), suites.get("failures"), suites.get("skipped")) == (
        str(run.count(Verdict.PASSED)),
        "0",
        "0",
    )
    markdown = files.markdown.read_text("utf-8")
    assert markdown.startswith("# Bango Resale certification report\n\n**PASSED: 9 of 9")
    assert all(f'<a id="{j.workflow_id}"></a>' in markdown for j in run.journeys)
    assert sandbox_data.DEMO_PASSWORD not in _report_texts(tmp_path)
    # What the journeys exercised, as the proxy reports it for an integration's traffic.
    coverage = run.coverage
    suspend = next(j for j in run.journeys if j.workflow_id == "suspend-then-resume")
    assert suspend.coverage is not None
    assert {r for r, n in suspend.coverage.transitions.items() if n} == {
        "create-activated",
        "suspend",
        "resume",
    }
    assert "Rows of the status machine it made: create-activated, suspend, resume." in markdown
    assert f"- transitions exercised: {coverage.exercised}/41" in markdown
    assert coverage.exercised >= 12
    assert "  - TOO_MANY_REQUESTS (HTTP 429): " in markdown  # no journey meets one
    assert "transitions exercised:" in files.html.read_text("utf-8")


def test_a_cancel_that_drops_its_reason_fails_the_cancel_journey(tmp_path: Path) -> None:
    run = certify(CertificationOptions(report_dir=tmp_path, faults=("drop_cancel_reason",)))
    files = write_reports(run, tmp_path)

    outcomes = {journey.workflow_id: journey.outcome for journey in run.journeys}
    assert outcomes.pop("cancel-with-reason") is Verdict.FAILED
    assert set(outcomes.values()) == {Verdict.PASSED}
    assert run.outcome is Verdict.FAILED
    cancel = next(j for j in run.journeys if j.workflow_id == "cancel-with-reason")
    assert [s.outcome for s in cancel.steps] == [
        Verdict.PASSED,
        Verdict.FAILED,
        Verdict.NOT_RUN,
        Verdict.NOT_RUN,
    ]
    failed = " ".join(check.detail for check in cancel.steps[1].failed_checks)
    assert "cancelReasonCategory" in failed and "cancelReasonCode" in failed
    suite = next(s for s in _junit(files.junit) if s.get("name") == "cancel-with-reason")
    assert suite.get("failures") == "1"
    assert "FAILED" in files.markdown.read_text("utf-8").splitlines()[2]


def test_another_service_gets_manual_steps_never_passed(
    tmp_path: Path, in_process_sandbox: Callable[..., SandboxThread]
) -> None:
    url = in_process_sandbox(login_throttle=False).base_url
    run = certify(
        CertificationOptions(
            url=url,
            user=sandbox_data.DEMO_USER,
            password=sandbox_data.DEMO_PASSWORD,
            report_dir=tmp_path,
        )
    )
    files = write_reports(run, tmp_path)

    assert run.outcome is Verdict.MANUAL
    assert run.count(Verdict.FAILED) == run.count(Verdict.NOT_RUN) == 0
    manual = [s for j in run.journeys for s in j.steps if s.outcome is Verdict.MANUAL]
    assert len(manual) == run.count(Verdict.MANUAL) >= 10
    for step in manual:
        assert step.exchange is None and not step.checks
        assert step.instruction and "{$" not in step.instruction, step.instruction
    signup = next(j for j in run.journeys if j.workflow_id == "first-time-activation")
    assert signup.steps[0].outcome is Verdict.PASSED
    assert f"Open {url}/sandbox/activate/" in (signup.steps[1].instruction or "")
    # Nothing the run sent used the sandbox's own controls or followed a link.
    har = json.loads((tmp_path / "respect.har").read_text("utf-8"))
    assert har["log"]["entries"]
    assert all("/sandbox/" not in e["request"]["url"] for e in har["log"]["entries"])
    suites = _junit(files.junit)
    assert suites.get("failures") == "0"
    skipped = [case.find("skipped") for case in suites.iter("testcase")]
    messages = [element.get("message", "") for element in skipped if element is not None]
    assert len(messages) == len(manual)
    assert all(message.startswith("manual: ") for message in messages)
    text = files.markdown.read_text("utf-8")
    assert "INCOMPLETE: manual steps outstanding" in text
    assert "## Manual steps a person must do" in text


def test_an_unreachable_service_fails_every_journey(tmp_path: Path, refusing_port: int) -> None:
    run = certify(
        CertificationOptions(
            url=f"http://127.0.0.1:{refusing_port}",
            user="reseller",
            password="secret",
            report_dir=tmp_path,
        )
    )

    assert run.outcome is Verdict.FAILED
    assert {journey.outcome for journey in run.journeys} == {Verdict.FAILED}
    # A journey that broke before its manual part has nothing for a person to do yet.
    assert run.count(Verdict.MANUAL) == 0
    assert run.count(Verdict.FAILED) == len(run.journeys)


def test_the_report_reads_in_a_browser(tmp_path: Path, chromium: Callable[..., list[str]]) -> None:
    run = certify(
        CertificationOptions(
            report_dir=tmp_path, faults=("drop_cancel_reason",), workflows=("cancel-with-reason",)
        )
    )
    files = write_reports(run, tmp_path)
    dom = _rendered(chromium, files.html, tmp_path / "chromium")

    assert "FAILED: 0 of 1 journeys passed" in dom
    assert "cancelReasonCode" in dom
    assert '<h2 id="cancel-with-reason">1. Cancel with a reason and custom data</h2>' in dom


def _rendered(chromium: Callable[..., list[str]], page: Path, profile: Path) -> str:
    """The page's DOM after Debian's chromium has loaded and laid it out."""
    result = subprocess.run(
        chromium(profile, "--dump-dom", page.resolve().as_uri()),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--url", "http://127.0.0.1:9", "--user", "u", "--password", "p", "--fault", "x"],
            "--fault",
        ),
        (["--url", "http://127.0.0.1:9"], "--url needs --user and --password"),
        (["--journey", "no-such-journey"], "unknown journey"),
        (["--run-id", "has space"], "--run-id 'has space' must match"),
        (["--url", "ftp://host", "--user", "u", "--password", "p"], "not an http(s) URL"),
    ],
)
def test_usage_errors_exit_2(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*arguments, "--report-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_exit_status_follows_the_outcome(tmp_path: Path) -> None:
    assert main(["--journey", "connectivity", "--report-dir", str(tmp_path)]) == 0
    assert (tmp_path / "certification.junit.xml").exists()
