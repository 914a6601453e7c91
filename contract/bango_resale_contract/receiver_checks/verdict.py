"""Judging the answers: what a receiver did with each request, each check's result (with a curl
reproducer for a failure), and the verdict with its reports (text, JSON, JUnit)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from bango_resale_contract._report_files import write_atomically
from bango_resale_contract._usage import PROG
from bango_resale_contract.receiver_checks.credentials import credential_variables, shell_bytes
from bango_resale_contract.receiver_checks.plan import Check, Delivery

COMMAND = "receiver"
JSON_NAME = "receiver-report.json"
JUNIT_NAME = "receiver-junit.xml"


@dataclass(frozen=True, slots=True)
class Answer:
    """What the receiver did with one request: its HTTP status (None: no answer), how long it
    took, the start of its body, or what went wrong instead."""

    status: int | None
    seconds: float
    body: str = ""
    error: str | None = None
    connected: bool = True
    timed_out: bool = False

    def describe(self) -> str:
        if self.status is None:
            return f"no answer ({self.error})"
        excerpt = " ".join(self.body.split())
        return f"HTTP {self.status}" + (f" {excerpt!r}" if excerpt else "")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check: its stable name, what it sent, what it expected, and how it went. A failure
    says what came back (`problem`), the rule it broke and a curl that sends the request again
    (credentials left to shell variables); `detail` sums up a pass without answers of its own."""

    name: str
    sends: str
    expected: str
    passed: bool
    answers: tuple[Answer, ...] = ()
    problem: str | None = None
    rule: str | None = None
    reproduce: str | None = None
    detail: str | None = None

    def lines(self) -> list[str]:
        if self.passed:
            seen = ", ".join(f"HTTP {a.status} in {a.seconds * 1000:.0f} ms" for a in self.answers)
            return [f"PASS {self.name}: {self.detail or seen}"]
        lines = [f"FAIL {self.name}: sent {self.sends}; {self.problem}. Rule: {self.rule}."]
        if self.reproduce:
            lines.append(f"    reproduce: {self.reproduce}")
        return lines


@dataclass(frozen=True, slots=True)
class ReceiverVerdict:
    """Every check's result, in the order they ran."""

    url: str
    authentication: str
    delivery_timeout: float
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(result for result in self.results if not result.passed)

    def summary(self) -> str:
        if self.passed:
            return f"receiver {self.url}: PASSED, {len(self.results)} checks"
        return (
            f"receiver {self.url}: FAILED: {len(self.failures)} of {len(self.results)} checks"
            " (the reproducers read the credentials from"
            f" {credential_variables(self.authentication)})"
        )

    def text(self) -> str:
        """A line per check (two for a failure: the curl), then the summary."""
        lines = [line for result in self.results for line in result.lines()]
        return "\n".join([*lines, self.summary()])

    def to_json(self) -> dict[str, Any]:
        return {
            "receiver": self.url,
            "authentication": self.authentication,
            "deliveryTimeoutSeconds": self.delivery_timeout,
            "passed": self.passed,
            "failures": len(self.failures),
            "checks": [asdict(result) for result in self.results],
        }

    def junit_xml(self) -> bytes:
        """One test case per check; a failed one carries the problem, the rule and the curl."""
        suite = ElementTree.Element(
            "testsuite",
            name=f"{PROG} {COMMAND}",
            tests=str(len(self.results)),
            failures=str(len(self.failures)),
        )
        for result in self.results:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=str(__package__),  # the package users import the checks from
                name=result.name,
                time=f"{sum(a.seconds for a in result.answers):.3f}",
            )
            if not result.passed:
                failure = ElementTree.SubElement(case, "failure", message=str(result.problem))
                failure.text = "\n".join(result.lines())
        suites = ElementTree.Element("testsuites")
        suites.append(suite)
        xml: bytes = ElementTree.tostring(suites, encoding="utf-8", xml_declaration=True)
        return xml

    def write_reports(self, directory: Path) -> list[Path]:
        """`receiver-report.json` and `receiver-junit.xml` in `directory` (each atomically)."""
        outputs = {
            JSON_NAME: json.dumps(self.to_json(), indent=2).encode() + b"\n",
            JUNIT_NAME: self.junit_xml(),
        }
        return write_atomically(directory, outputs)


def curl(url: str, delivery: Delivery, *, timed: bool = False) -> str:
    parts = ["curl", "-sS", "-X", "POST"]
    if timed:
        parts += ["-w", shlex.quote("%{http_code} after %{time_total} s\n")]
    parts += ["-H", shlex.quote("Content-Type: application/json"), *delivery.curl_credentials]
    return " ".join([*parts, "--data-binary", shell_bytes(delivery.body), shlex.quote(url)])


def judge(url: str, check: Check, answers: Sequence[Answer]) -> CheckResult:
    result = CheckResult(check.name, check.sends, check.expect.value, True, tuple(answers))
    for delivery, answer in zip(check.deliveries, answers, strict=True):
        if answer.status is None or not check.expect.met_by(answer.status):
            where = f"{delivery.label}: " if delivery.label else ""
            return replace(
                result,
                passed=False,
                problem=f"{where}expected {check.expect.value}, got {answer.describe()}",
                rule=check.rule,
                reproduce=curl(url, delivery),
            )
    return result


def judge_time(
    url: str, timeout: float, timed: Sequence[tuple[Check, Delivery, Answer]]
) -> CheckResult:
    late = [(c, d, a) for c, d, a in timed if a.timed_out or a.seconds > timeout]
    sends = f"the {len(timed)} notifications above, as the platform would"
    slowest = max((a.seconds for _, _, a in timed), default=0.0)
    result = CheckResult(
        "answers-in-time",
        sends,
        f"an answer within {timeout:g} s",
        True,
        detail=f"slowest of {len(timed)} answers {slowest * 1000:.0f} ms, {timeout:g} s allowed",
    )
    if not late:
        return result
    check, delivery, answer = max(late, key=lambda item: item[2].seconds)
    return replace(
        result,
        passed=False,
        problem=f"{len(late)} of {len(timed)} answered after {timeout:g} s or not at all; the"
        f" slowest, {check.name}, took {answer.seconds:.2f} s ({answer.describe()})",
        rule="the platform waits that long for an answer, then counts the delivery as failed"
        " and sends it again: answer first, then do slow work (a queue)",
        reproduce=curl(url, delivery, timed=True),
    )
