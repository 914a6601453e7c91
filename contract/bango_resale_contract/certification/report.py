"""Evidence a reseller can hand over: a Markdown report, the same as an HTML page, JUnit XML.

All three come from one `CertificationRun`. Manual steps are listed with what the person must
do and are never counted as passed: in JUnit they are `skipped` with the instruction as message.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from bango_resale_contract.certification.model import (
    CertificationRun,
    JourneyResult,
    StepExchange,
    StepResult,
    Verdict,
)
from bango_resale_contract.coverage import Coverage

TITLE = "Bango Resale certification report"
VERDICTS = {
    Verdict.PASSED: "PASSED",
    Verdict.FAILED: "FAILED",
    Verdict.MANUAL: "INCOMPLETE: manual steps outstanding",
}
NOT_RUN_REASON = "not run: an earlier step of this journey failed"


@dataclass(frozen=True, slots=True)
class ReportFiles:
    markdown: Path
    html: Path
    junit: Path


def write_reports(run: CertificationRun, directory: Path) -> ReportFiles:
    """Write certification.md, certification.html and certification.junit.xml."""
    directory.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(
        markdown=directory / "certification.md",
        html=directory / "certification.html",
        junit=directory / "certification.junit.xml",
    )
    files.markdown.write_text(markdown(run), "utf-8")
    files.html.write_text(html_page(run), "utf-8")
    files.junit.write_bytes(junit_xml(run))
    return files


def headline(run: CertificationRun) -> str:
    """One line: the verdict and the counts."""
    journeys_passed = sum(j.outcome is Verdict.PASSED for j in run.journeys)
    return (
        f"{VERDICTS[run.outcome]}: {journeys_passed} of {len(run.journeys)} journeys passed;"
        f" steps: {run.count(Verdict.PASSED)} passed, {run.count(Verdict.FAILED)} failed,"
        f" {run.count(Verdict.MANUAL)} manual, {run.count(Verdict.NOT_RUN)} not run"
    )


def _facts(run: CertificationRun) -> list[tuple[str, str]]:
    target = (
        f"{run.target} (the project's sandbox, started with a fresh database for this run)"
        if run.own_sandbox
        else run.target
    )
    seconds = (run.finished_at - run.started_at).total_seconds()
    return [
        ("Service", target),
        ("Reseller", run.user),
        ("Run id", run.run_id),
        ("Started", _stamp(run.started_at)),
        ("Finished", f"{_stamp(run.finished_at)} ({seconds:.1f} s)"),
        ("Engine", run.engine),
        ("Journeys from", run.document),
        ("Deliberate sandbox faults", ", ".join(run.faults) or "none"),
    ]


def _stamp(moment: datetime | None, *, time_only: bool = False) -> str:
    if moment is None:
        return "-"
    text = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return text.split("T")[1] if time_only else text


def _path(exchange: StepExchange) -> str:
    parts = urlsplit(exchange.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _answer_text(exchange: StepExchange) -> str:
    parts = [str(exchange.status) if exchange.status is not None else "no answer"]
    parts += [f"{name} {value}" for name, value in exchange.answer]
    return " · ".join(parts)


def _request_text(exchange: StepExchange) -> str:
    text = f"{exchange.method} {_path(exchange)}"
    for name, value in exchange.headers:
        text += f" · {name}: {value}"
    return text


def _timing(exchange: StepExchange | None) -> tuple[str, str]:
    """(time of day the request was sent, milliseconds it took), "-" where unknown."""
    if exchange is None:
        return "-", "-"
    took = f"{exchange.duration_ms:.0f}" if exchange.duration_ms is not None else "-"
    return _stamp(exchange.started_at, time_only=True), took


def _exercised(coverage: Coverage) -> list[str]:
    """The coverage summary (rows made, the answers to handle never met), then the answers
    met per operation."""
    lines = coverage.summary_lines("the journeys")
    for operation_id in sorted(coverage.answers):
        met = ", ".join(f"{key} x{count}" for key, count in coverage.met(operation_id).items())
        lines.append(f"{operation_id} answered {met}")
    return lines


def _rows_made(journey: JourneyResult) -> str:
    if journey.coverage is None:
        return "not known"
    made = [
        row_id if count == 1 else f"{row_id} x{count}"
        for row_id, count in journey.coverage.transitions.items()
        if count
    ]
    return ", ".join(made) or "none"


def _manual_steps(run: CertificationRun) -> list[tuple[JourneyResult, StepResult]]:
    return [
        (journey, step)
        for journey in run.journeys
        for step in journey.steps
        if step.outcome is Verdict.MANUAL
    ]


# Markdown ---------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_outcome(outcome: Verdict) -> str:
    return {
        Verdict.PASSED: "passed",
        Verdict.FAILED: "**FAILED**",
        Verdict.MANUAL: "*manual*",
        Verdict.NOT_RUN: "not run",
    }[outcome]


def markdown(run: CertificationRun) -> str:
    lines = [f"# {TITLE}", "", f"**{headline(run)}**", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {_cell(value)} |" for name, value in _facts(run)]
    if run.problems:
        lines += ["", "## Problems", ""] + [f"- {_cell(p)}" for p in run.problems]
    lines += ["", "## Journeys", "", "| # | Journey | Result | Steps passed | Started (UTC) |"]
    lines += ["|---|---|---|---|---|"]
    for number, journey in enumerate(run.journeys, 1):
        passed = sum(step.outcome is Verdict.PASSED for step in journey.steps)
        lines.append(
            f"| {number} | [{_cell(journey.summary)}](#{journey.workflow_id}) |"
            f" {_md_outcome(journey.outcome)} | {passed}/{len(journey.steps)} |"
            f" {_stamp(journey.started_at, time_only=True)} |"
        )
    lines += ["", "## What the journeys exercised", ""]
    lines += [
        f"  - {_cell(line.strip())}" if line.startswith(" ") else f"- {_cell(line)}"
        for line in _exercised(run.coverage)
    ]
    manual = _manual_steps(run)
    if manual:
        lines += ["", "## Manual steps a person must do", ""]
        lines += [
            "These steps were not checked by the run. Do them on the service, in this order per"
            " journey, and record what you saw.",
            "",
        ]
        lines += [
            f"1. **{journey.workflow_id} / {step.step_id}**: {step.instruction}"
            for journey, step in manual
        ]
    for number, journey in enumerate(run.journeys, 1):
        lines += _md_journey(number, journey)
    return "\n".join(lines) + "\n"


def _md_journey(number: int, journey: JourneyResult) -> list[str]:
    lines = [
        "",
        f'<a id="{journey.workflow_id}"></a>',
        "",
        f"## {number}. {journey.summary}",
        "",
        f"`{journey.workflow_id}`: **{journey.outcome.value}**, started"
        f" {_stamp(journey.started_at)}, finished {_stamp(journey.finished_at)}.",
        "",
        journey.description,
        "",
        f"Rows of the status machine it made: {_rows_made(journey)}.",
        "",
        "| Step | Result | Request | Answer | At (UTC) | ms |",
        "|---|---|---|---|---|---|",
    ]
    for step in journey.steps:
        exchange = step.exchange
        if step.outcome is Verdict.MANUAL:
            request, answer = f"to do: {step.instruction}", "-"
        elif exchange is None:
            request, answer = (NOT_RUN_REASON if step.outcome is Verdict.NOT_RUN else "-"), "-"
        else:
            request, answer = f"`{_request_text(exchange)}`", _answer_text(exchange)
        at, took = _timing(exchange)
        lines.append(
            f"| `{step.step_id}`: {_cell(step.description)} | {_md_outcome(step.outcome)} |"
            f" {_cell(request)} | {_cell(answer)} | {at} | {took} |"
        )
    failures = [(step, check) for step in journey.steps for check in step.failed_checks]
    if failures:
        lines += ["", "Failed checks:", ""]
        lines += [f"- `{step.step_id}`: {check.name}: {check.detail}" for step, check in failures]
    exchanges = [step for step in journey.steps if step.exchange is not None]
    if exchanges:
        lines += ["", "<details><summary>Requests and answers</summary>", ""]
        for step in exchanges:
            assert step.exchange is not None
            lines += [f"**{step.step_id}**: `{_request_text(step.exchange)}`", ""]
            if step.exchange.request_body:
                lines += ["Request body:", "", "```json", step.exchange.request_body, "```", ""]
            lines += [f"Answer {step.exchange.status}:", ""]
            lines += ["```", step.exchange.response_body or "(empty)", "```", ""]
        lines.append("</details>")
    return lines


# HTML -------------------------------------------------------------------------------------

_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:78em;
padding:0 1.2em;color:#1d2330}
h1{margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #d8dce3;padding-bottom:.2em}
table{border-collapse:collapse;width:100%;margin:.6em 0}
th,td{border:1px solid #d8dce3;padding:.35em .55em;text-align:left;vertical-align:top;
overflow-wrap:break-word}
th{background:#f3f5f8}td code{word-break:break-all}
table.steps{table-layout:fixed}
.steps .step{width:17%}.steps .result{width:7%}.steps .request{width:25%}
.steps .at{width:9.5em}.steps .ms{width:3.5em}
.verdict{font-size:1.15em;font-weight:600;padding:.6em .8em;border-radius:4px}
.passed{color:#116329}.failed,.not-run{color:#a40e26}.manual{color:#8a5300}
.verdict.passed{background:#e6f4ea}.verdict.failed{background:#fde7ea}
.verdict.manual{background:#fff4d6}
.facts th{width:14em}pre{background:#f6f8fa;padding:.6em;overflow-x:auto;font-size:13px}
details{margin:.6em 0}ul.checks{margin:.3em 0}
"""


def _css_class(outcome: Verdict) -> str:
    return outcome.value.replace(" ", "-")


def _prose(text: str) -> str:
    """Escape text for HTML, showing `code` spans (the journeys' descriptions use them)."""
    pieces = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


def _html_request(exchange: StepExchange) -> str:
    lines = [f"<code>{html.escape(f'{exchange.method} {_path(exchange)}')}</code>"]
    lines += [
        f"<small>{html.escape(name)}: {html.escape(value)}</small>"
        for name, value in exchange.headers
    ]
    return "<br>".join(lines)


def _badge(outcome: Verdict) -> str:
    return f'<span class="{_css_class(outcome)}">{html.escape(outcome.value)}</span>'


def html_page(run: CertificationRun) -> str:
    escape = html.escape
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(TITLE)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(TITLE)}</h1>",
        f'<p class="verdict {_css_class(run.outcome)}">{escape(headline(run))}</p>',
        '<table class="facts">',
    ]
    parts += [f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in _facts(run)]
    parts.append("</table>")
    if run.problems:
        parts.append("<h2>Problems</h2><ul>")
        parts += [f"<li><pre>{escape(problem)}</pre></li>" for problem in run.problems]
        parts.append("</ul>")
    parts.append(
        "<h2>Journeys</h2><table><tr><th>#</th><th>Journey</th><th>Result</th>"
        "<th>Steps passed</th><th>Started (UTC)</th></tr>"
    )
    for number, journey in enumerate(run.journeys, 1):
        passed = sum(step.outcome is Verdict.PASSED for step in journey.steps)
        parts.append(
            f'<tr><td>{number}</td><td><a href="#{escape(journey.workflow_id)}">'
            f"{escape(journey.summary)}</a></td><td>{_badge(journey.outcome)}</td>"
            f"<td>{passed}/{len(journey.steps)}</td>"
            f"<td>{_stamp(journey.started_at, time_only=True)}</td></tr>"
        )
    parts.append("</table>")
    parts.append("<h2>What the journeys exercised</h2><ul>")
    parts += [f"<li>{escape(line.strip())}</li>" for line in _exercised(run.coverage)]
    parts.append("</ul>")
    manual = _manual_steps(run)
    if manual:
        parts.append(
            "<h2>Manual steps a person must do</h2><p>These steps were not checked by the run."
            " Do them on the service, in this order per journey, and record what you saw.</p><ol>"
        )
        parts += [
            f"<li><strong>{escape(journey.workflow_id)} / {escape(step.step_id)}</strong>:"
            f" {_prose(step.instruction or '')}</li>"
            for journey, step in manual
        ]
        parts.append("</ol>")
    for number, journey in enumerate(run.journeys, 1):
        parts += _html_journey(number, journey)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_journey(number: int, journey: JourneyResult) -> list[str]:
    escape = html.escape
    parts = [
        f'<h2 id="{escape(journey.workflow_id)}">{number}. {escape(journey.summary)}</h2>',
        f"<p><code>{escape(journey.workflow_id)}</code>: {_badge(journey.outcome)}, started"
        f" {_stamp(journey.started_at)}, finished {_stamp(journey.finished_at)}.</p>",
        f"<p>{_prose(journey.description)}</p>",
        f"<p>Rows of the status machine it made: {escape(_rows_made(journey))}.</p>",
        # Fixed column widths: long checks and ids wrap inside their cell instead of pushing
        # the table past the page's edge.
        '<table class="steps"><colgroup><col class="step"><col class="result">'
        '<col class="request"><col class="answer"><col class="at"><col class="ms"></colgroup>'
        "<tr><th>Step</th><th>Result</th><th>Request</th><th>Answer</th>"
        "<th>At (UTC)</th><th>ms</th></tr>",
    ]
    for step in journey.steps:
        exchange = step.exchange
        if step.outcome is Verdict.MANUAL:
            request, answer = f"<strong>To do:</strong> {_prose(step.instruction or '')}", "-"
        elif exchange is None:
            request = escape(NOT_RUN_REASON if step.outcome is Verdict.NOT_RUN else "-")
            answer = "-"
        else:
            request = _html_request(exchange)
            answer = escape(_answer_text(exchange))
        failed = "".join(
            f"<li>{escape(check.name)}: {escape(check.detail)}</li>" for check in step.failed_checks
        )
        if failed:
            answer += f'<ul class="checks failed">{failed}</ul>'
        at, took = _timing(exchange)
        parts.append(
            f"<tr><td><code>{escape(step.step_id)}</code><br>{escape(step.description)}</td>"
            f"<td>{_badge(step.outcome)}</td><td>{request}</td><td>{answer}</td>"
            f"<td>{at}</td><td>{took}</td></tr>"
        )
    parts.append("</table>")
    exchanges = [step for step in journey.steps if step.exchange is not None]
    if exchanges:
        parts.append("<details><summary>Requests and answers</summary>")
        for step in exchanges:
            assert step.exchange is not None
            parts.append(
                f"<p><strong>{escape(step.step_id)}</strong>:"
                f" <code>{escape(_request_text(step.exchange))}</code></p>"
            )
            if step.exchange.request_body:
                parts.append(f"<pre>{escape(step.exchange.request_body)}</pre>")
            parts.append(
                f"<p>Answer {step.exchange.status}:</p>"
                f"<pre>{escape(step.exchange.response_body or '(empty)')}</pre>"
            )
        parts.append("</details>")
    return parts


# JUnit ------------------------------------------------------------------------------------


def junit_xml(run: CertificationRun) -> bytes:
    """One testsuite per journey, one testcase per step."""
    root = ElementTree.Element(
        "testsuites",
        name=TITLE,
        tests=str(sum(len(j.steps) for j in run.journeys)),
        failures=str(run.count(Verdict.FAILED)),
        skipped=str(run.count(Verdict.MANUAL) + run.count(Verdict.NOT_RUN)),
        errors=str(len(run.problems)),
        time=f"{(run.finished_at - run.started_at).total_seconds():.3f}",
        timestamp=_stamp(run.started_at),
    )
    for journey in run.journeys:
        suite = ElementTree.SubElement(
            root,
            "testsuite",
            name=journey.workflow_id,
            tests=str(len(journey.steps)),
            failures=str(sum(s.outcome is Verdict.FAILED for s in journey.steps)),
            skipped=str(sum(s.outcome in (Verdict.MANUAL, Verdict.NOT_RUN) for s in journey.steps)),
            errors="0",
            time=f"{_seconds(journey.steps):.3f}",
        )
        if journey.started_at is not None:
            suite.set("timestamp", _stamp(journey.started_at))
        properties = ElementTree.SubElement(suite, "properties")
        for name, value in (("service", run.target), ("runId", run.run_id), ("engine", run.engine)):
            ElementTree.SubElement(properties, "property", name=name, value=value)
        for step in journey.steps:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=f"certification.{journey.workflow_id}",
                name=f"{step.step_id}: {step.description}",
                time=f"{(step.exchange.duration_ms or 0.0) / 1000 if step.exchange else 0.0:.3f}",
            )
            if step.outcome is Verdict.FAILED:
                failure = ElementTree.SubElement(
                    case,
                    "failure",
                    type="certification",
                    message="; ".join(c.detail for c in step.failed_checks) or "step failed",
                )
                failure.text = _failure_text(step)
            elif step.outcome is Verdict.MANUAL:
                ElementTree.SubElement(case, "skipped", message=f"manual: {step.instruction}")
            elif step.outcome is Verdict.NOT_RUN:
                ElementTree.SubElement(case, "skipped", message=NOT_RUN_REASON)
            if step.exchange is not None:
                ElementTree.SubElement(
                    case, "system-out"
                ).text = f"{_request_text(step.exchange)}\n-> {_answer_text(step.exchange)}"
    if run.problems:
        suite = ElementTree.SubElement(root, "testsuite", name="engine", tests="1", errors="1")
        case = ElementTree.SubElement(suite, "testcase", classname="certification", name="engine")
        ElementTree.SubElement(case, "error", message="; ".join(run.problems))
    ElementTree.indent(root)
    return bytes(ElementTree.tostring(root, encoding="utf-8", xml_declaration=True))


def _seconds(steps: Iterable[StepResult]) -> float:
    return sum((s.exchange.duration_ms or 0.0) / 1000 for s in steps if s.exchange is not None)


def _failure_text(step: StepResult) -> str:
    lines = [f"{check.name}: {check.detail}" for check in step.failed_checks]
    if step.exchange is not None:
        lines += ["", _request_text(step.exchange), f"-> {_answer_text(step.exchange)}"]
    return "\n".join(lines)
