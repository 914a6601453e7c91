"""Run the certification journeys against a fresh sandbox or any service, and judge them."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bango_resale_contract import run_target, sandbox_data
from bango_resale_contract.certification import _respect, journeys
from bango_resale_contract.certification.journeys import Journey, JourneyDocument
from bango_resale_contract.certification.model import (
    CertificationRun,
    CheckResult,
    JourneyResult,
    StepExchange,
    StepResult,
    Verdict,
)
from bango_resale_contract.coverage import Coverage
from bango_resale_contract.live import LiveJudge

# Request headers worth showing in a report: they tell which request and which forced outcome.
SHOWN_HEADERS = ("x-requestidentifier", "x-magic-number")
# Fields of a JSON answer that summarise it.
ANSWER_FIELDS = ("responseCode", "status", "entitlementId", "productKey", "activationCode", "echo")
MAX_BODY_CHARS = 4000


@dataclass(frozen=True, slots=True)
class CertificationOptions:
    """What to run and against what; the defaults run every journey on a fresh sandbox."""

    url: str | None = None
    user: str = sandbox_data.DEMO_USER
    password: str = sandbox_data.DEMO_PASSWORD
    run_id: str | None = None
    notification_url: str | None = None
    report_dir: Path = Path("reports") / "certification"
    workflows: tuple[str, ...] = ()
    faults: tuple[str, ...] = ()
    document: Path | None = None
    root: Path = Path(".")

    @property
    def own_sandbox(self) -> bool:
        return self.url is None


def new_run_id() -> str:
    """Unique per run and valid wherever the journeys use it (ids, echo, request ids)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def certify(options: CertificationOptions) -> CertificationRun:
    """Run the journeys and return what happened; raise ValueError for unusable options."""
    document = journeys.load(options.document)
    selected = _selected(document, options.workflows)
    redocly = _respect.redocly_executable(options.root)
    if redocly is None:
        raise ValueError(f"Redocly CLI not found: {_respect.INSTALL_HINT}")
    run_id = options.run_id or new_run_id()
    if not re.fullmatch(document.run_id_pattern, run_id):
        raise ValueError(f"--run-id {run_id!r} must match {document.run_id_pattern}")
    if options.url is not None:
        parts = urlsplit(options.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--url {options.url!r} is not an http(s) URL with a host")
    options.report_dir.mkdir(parents=True, exist_ok=True)
    engine = _respect.engine_version(redocly)
    started = datetime.now(UTC)
    with _target(options) as base_url:
        log = _respect.run(
            redocly,
            _runnable_document(document, options),
            servers={journeys.PARTNER_SOURCE: base_url, journeys.SANDBOX_SOURCE: base_url},
            inputs=_inputs(options, run_id),
            workflows=[journey.workflow_id for journey in _to_run(selected, options)],
            json_log=options.report_dir / "respect.json",
            har_log=options.report_dir / "respect.har",
        )
    finished = datetime.now(UTC)
    inputs = {"runId": run_id, "username": options.user}
    timestamps = _Timestamps(log.har_entries)
    results = tuple(
        _journey_result(
            journey, log.workflows.get(journey.workflow_id), options, timestamps, inputs
        )
        for journey in selected
    )
    problems = []
    expected = {journey.workflow_id for journey in _to_run(selected, options)}
    if missing := sorted(expected - set(log.workflows)):
        problems.append(
            f"the engine did not report journey(s) {', '.join(missing)} (exit code"
            f" {log.exit_code}): {log.console_tail.strip()[-1500:]}"
        )
    return CertificationRun(
        target=base_url,
        own_sandbox=options.own_sandbox,
        user=options.user,
        run_id=run_id,
        engine=engine,
        document=str(document.path),
        started_at=started,
        finished_at=finished,
        journeys=results,
        faults=options.faults,
        problems=tuple(problems),
    )


def _selected(document: JourneyDocument, names: Sequence[str]) -> tuple[Journey, ...]:
    if not names:
        return document.journeys
    known = {journey.workflow_id: journey for journey in document.journeys}
    if unknown := [name for name in names if name not in known]:
        raise ValueError(f"unknown journey(s) {unknown}; known: {', '.join(known)}")
    # In the document's order: the engine runs them in that order, and the HAR log follows it.
    return tuple(journey for journey in document.journeys if journey.workflow_id in names)


def _to_run(selected: Sequence[Journey], options: CertificationOptions) -> list[Journey]:
    """Journeys the engine runs: all on the sandbox; elsewhere those with an automated part."""
    return [j for j in selected if options.own_sandbox or j.first_manual > 0]


@contextmanager
def _target(options: CertificationOptions) -> Iterator[str]:
    if options.url is not None:
        yield options.url.rstrip("/")
        return
    log_path = options.report_dir / "sandbox.log"
    with run_target.running_sandbox(options.faults, log_path=log_path) as base_url:
        yield base_url


def _runnable_document(document: JourneyDocument, options: CertificationOptions) -> Path:
    """The document as written for the sandbox; its automated part for any other service."""
    if options.own_sandbox:
        return document.path
    path = options.report_dir / "automated.arazzo.yaml"
    path.write_text(yaml.safe_dump(document.automated_part(), sort_keys=False), "utf-8")
    return path


def _inputs(options: CertificationOptions, run_id: str) -> dict[str, str]:
    inputs = {"username": options.user, "password": options.password, "runId": run_id}
    if options.notification_url:
        inputs["notificationUrl"] = options.notification_url
    return inputs


class _Timestamps:
    """Hands out the HAR entries in order: each executed step sent one request."""

    def __init__(self, entries: Sequence[Mapping[str, Any]]) -> None:
        self._entries = list(entries)
        self._next = 0

    def take(self, method: str, url: str) -> tuple[datetime | None, float | None]:
        for index in range(self._next, len(self._entries)):
            request = self._entries[index].get("request", {})
            if request.get("method", "").upper() == method.upper() and request.get("url") == url:
                self._next = index + 1
                entry = self._entries[index]
                started = datetime.fromisoformat(str(entry["startedDateTime"]))
                return started, float(entry.get("time", 0.0))
        return None, None


def _journey_result(
    journey: Journey,
    executed: Mapping[str, Any] | None,
    options: CertificationOptions,
    timestamps: _Timestamps,
    inputs: Mapping[str, str],
) -> JourneyResult:
    by_step: dict[str, Mapping[str, Any]] = {}
    for step in (executed or {}).get("executedSteps", ()):
        by_step[str(step.get("stepId"))] = step  # a retried step keeps its last attempt
    outputs: dict[str, dict[str, str]] = {}
    steps: list[StepResult] = []
    manual_from = len(journey.steps) if options.own_sandbox else journey.first_manual
    for index, definition in enumerate(journey.steps):
        broken = any(step.outcome in (Verdict.FAILED, Verdict.NOT_RUN) for step in steps)
        if index >= manual_from and not broken:
            instruction = definition.manual or definition.description
            steps.append(
                StepResult(
                    step_id=definition.step_id,
                    description=definition.description,
                    outcome=Verdict.MANUAL,
                    instruction=journeys.fill(instruction, inputs, outputs),
                )
            )
            continue
        logged = None if index >= manual_from else by_step.get(definition.step_id)
        if logged is None:
            steps.append(StepResult(definition.step_id, definition.description, Verdict.NOT_RUN))
            continue
        exchange = _exchange(logged, timestamps)
        response = logged.get("response") or {}
        outputs[definition.step_id] = journeys.step_outputs(
            definition, response.get("statusCode"), response.get("body")
        )
        steps.append(
            StepResult(
                step_id=definition.step_id,
                description=definition.description,
                outcome=Verdict.PASSED if logged.get("status") == "success" else Verdict.FAILED,
                exchange=exchange,
                checks=tuple(_check(check) for check in logged.get("checks", ())),
            )
        )
    times = [s.exchange for s in steps if s.exchange is not None and s.exchange.started_at]
    return JourneyResult(
        workflow_id=journey.workflow_id,
        summary=journey.summary,
        description=journey.description,
        steps=tuple(steps),
        started_at=times[0].started_at if times else None,
        finished_at=_end(times[-1]) if times else None,
        coverage=_coverage(steps),
    )


# What the live judge is told of a step's answer: the engine keeps its body, not its headers.
_JSON = ((b"content-type", b"application/json"),)


def _coverage(steps: Iterable[StepResult]) -> Coverage:
    """What the journey's requests exercised of the contract, followed by the same judge as
    the proxy's (the rows their answers and reads show, the answers met); its verdicts are
    the engine's business here."""
    judge = LiveJudge()
    for step in steps:
        exchange = step.exchange
        if exchange is None or exchange.status is None:
            continue
        judge.exchange(
            exchange.method,
            exchange.url,
            _JSON,
            (exchange.request_body or "").encode(),
            exchange.status,
            _JSON,
            (exchange.response_body or "").encode(),
        )
    return judge.coverage


def _end(exchange: StepExchange) -> datetime | None:
    if exchange.started_at is None:
        return None
    return exchange.started_at + timedelta(milliseconds=exchange.duration_ms or 0.0)


def _check(check: Mapping[str, Any]) -> CheckResult:
    """The check with a one-line detail: the condition, and why it failed when it did."""
    passed = bool(check.get("passed"))
    condition = str(check.get("condition") or "")
    lines = str(check.get("message", "")).strip().splitlines()
    message = lines[0].strip() if lines else ""
    if passed:
        detail = condition or message
    elif not condition:
        detail = message or "failed"
    elif message.startswith("Checking"):
        # Respect's message for a criterion that evaluated to false only repeats it.
        detail = f"{condition} (not met)"
    else:
        # "Failed to pass {...}: Error in resolving runtime expression '...': <reason>"
        reason = message.rsplit("': ", 1)[-1]
        detail = f"{condition} ({reason})"
    return CheckResult(name=str(check.get("name", "")), passed=passed, detail=detail)


def _exchange(step: Mapping[str, Any], timestamps: _Timestamps) -> StepExchange | None:
    request = step.get("request")
    if not request:
        return None
    method = str(request.get("method", "")).upper()
    url = str(request.get("url", ""))
    headers = request.get("headers") or {}
    response = step.get("response") or {}
    body = response.get("body")
    started, duration = timestamps.take(method, url)
    return StepExchange(
        method=method,
        url=url,
        headers=tuple((name, str(headers[name])) for name in SHOWN_HEADERS if name in headers),
        request_body=_text(request.get("body")),
        status=response.get("statusCode"),
        answer=_answer(body),
        response_body=_text(body),
        started_at=started,
        duration_ms=duration if duration is not None else response.get("time"),
    )


def _answer(body: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(body, dict):
        return ()
    fields = [(name, str(body[name])) for name in ANSWER_FIELDS if body.get(name) is not None]
    parameters = body.get("parameters")
    if isinstance(parameters, dict) and parameters.get("action"):
        fields.append(("parameters.action", str(parameters["action"])))
    extension = body.get("extensionData")
    if isinstance(extension, dict) and extension:
        fields.append(("extensionData", json.dumps(extension, sort_keys=True)))
    notifications = body.get("notifications")
    if isinstance(notifications, list):
        types = [str(n.get("notificationType")) for n in notifications if isinstance(n, dict)]
        fields.append(("notifications", ", ".join(types) or "none"))
    return tuple(fields)


def _text(body: Any) -> str | None:
    if body is None or body == "":
        return None
    text = body if isinstance(body, str) else json.dumps(body, indent=2, sort_keys=False)
    return text if len(text) <= MAX_BODY_CHARS else text[:MAX_BODY_CHARS] + "\n..."
