"""`bango-resale-contract receiver URL`: test a reseller's notification receiver.

The platform POSTs a notification to the reseller's receiver on every status change (the
partner spec's `webhooks.entitlementNotification`). Delivery is at least once, notifications
are not signed (the platform authenticates with Basic credentials, an `X-Api-Key` header or a
bearer token, whichever the reseller configured), and any answer but a 2xx, or none within
the platform's delivery timeout, means "send it again later". This module sends a receiver
what the platform would and judges each answer:

- one notification for every (notificationType, status) pair the rows of `x-status-machine`
  produce, each about a fresh entitlement, shaped by the webhook's schema and example: 2xx;
- the same notification twice (same `notificationId`), a `notificationType` and a `status` it
  cannot know, fields it has never seen: 2xx (Bango may add all of these);
- a notification without credentials, or with wrong ones: 401 or 403; credentials in a form
  the platform never sends: a 4xx;
- bodies that are not notifications (empty, not JSON, not UTF-8, not an object, no
  `notificationId`, no record): a 4xx, never a 5xx;
- every notification answered within the platform's delivery timeout, read from the reference
  sandbox's packaged configuration (`[delivery] timeout_seconds`), the one place it is stated.

Each check is a line (PASS or FAIL, what was sent, what came back, the rule); a failure comes
with a curl that sends the same request, the credentials read from `$RECEIVER_USER` and
`$RECEIVER_PASSWORD` (or `$RECEIVER_API_KEY`, `$RECEIVER_TOKEN`). The entitlements are
made up: a receiver must acknowledge a notification about an entitlement it has not stored
yet (it carries the whole record), since one may arrive before the create's answer is stored.

From pytest, against a receiver in the test's own process (or pass no transport for real
HTTP to `url`):

    import httpx
    from bango_resale_contract.receiver_checks import check_receiver, check_receiver_async

    def test_flask_receiver() -> None:
        verdict = check_receiver(
            "http://receiver.test/bango/notifications",
            basic=("bango", "notify-secret"),
            transport=httpx.WSGITransport(app=flask_app),
        )
        assert verdict.passed, verdict.text()

    async def test_asgi_receiver() -> None:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        verdict = await check_receiver_async(
            "http://receiver.test/hooks", api_key="key", transport=transport
        )
        assert verdict.passed, verdict.text()

(With `raise_app_exceptions=False` a crash is the 500 a server would answer; otherwise the
exception itself is reported as the answer.)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import enum
import functools
import json
import os
import shlex
import time
import tomllib
import uuid
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx

import bango_resale_spec as spec
from bango_resale_contract._usage import PROG, UsageError

__all__ = [
    "Answer",
    "ArgumentError",
    "CheckResult",
    "PlatformNotification",
    "ReceiverVerdict",
    "check_receiver",
    "check_receiver_async",
    "platform_delivery_timeout",
    "platform_notifications",
]

COMMAND = "receiver"
JSON_NAME = "receiver-report.json"
JUNIT_NAME = "receiver-junit.xml"
WEBHOOK = "entitlementNotification"
# The reference sandbox states how long the platform waits for a receiver's answer; read as
# data, as the proxy reads its body limit: this package imports nothing of the sandbox.
SANDBOX_PACKAGE = "bango_resale_sandbox"
SANDBOX_CONFIG = "default_config.toml"
# Statuses whose record dates a notification sets (values of the spec's EntitlementStatus).
PENDING, ACTIVE, ACTIVE_ENDING, SUSPENDED = "PENDING", "ACTIVE", "ACTIVE-ENDING", "SUSPENDED"
# The length of a paid period, for the made-up dates of an entitlement that ends with it.
PAID_PERIOD = timedelta(days=30)
# Placeholders the reproducers use instead of the credentials.
USER_VARIABLE, PASSWORD_VARIABLE = "$RECEIVER_USER", "$RECEIVER_PASSWORD"
API_KEY_VARIABLE, TOKEN_VARIABLE = "$RECEIVER_API_KEY", "$RECEIVER_TOKEN"
ANSWER_EXCERPT = 200


@functools.cache
def platform_delivery_timeout() -> float:
    """Seconds the platform waits for a receiver's answer before it counts the delivery as
    failed: `[delivery] timeout_seconds` of the reference sandbox's packaged configuration."""
    text = resources.files(SANDBOX_PACKAGE).joinpath(SANDBOX_CONFIG).read_text("utf-8")
    return float(tomllib.loads(text)["delivery"]["timeout_seconds"])


# -- what the platform sends -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlatformNotification:
    """A notification the platform sends: its type, the record's status after the change, the
    status-machine row that sends it, and the JSON body."""

    notification_type: str
    status: str
    row: str
    changes_status: bool
    body: Mapping[str, Any]


def _webhook() -> Mapping[str, Any]:
    return spec.load_partner_spec()["webhooks"][WEBHOOK]["post"]  # type: ignore[no-any-return]


def _template() -> dict[str, Any]:
    """The webhook's first example: every field a notification carries, with spec values."""
    content = _webhook()["requestBody"]["content"]["application/json"]
    example = next(iter(content["examples"].values()))
    return dict(spec.resolve(example)["value"])


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _record_dates(before: str | None, after: str, now: datetime) -> dict[str, str | None]:
    """Dates that agree with a change from `before` (None: a create) to `after`."""
    created = now - 2 * PAID_PERIOD
    never_active = after == PENDING and before in (None, PENDING)
    ended = None
    if after in spec.terminal_statuses():
        ended = _stamp(now)
    elif after == ACTIVE_ENDING:
        ended = _stamp(now + PAID_PERIOD)
    return {
        "dateCreated": _stamp(created),
        "dateActivated": None if never_active else _stamp(created + timedelta(seconds=1)),
        "dateEnded": ended,
        "dateSuspended": _stamp(now if after == SUSPENDED else now - timedelta(days=1))
        if SUSPENDED in (before, after)
        else None,
        "dateResumed": _stamp(now) if before == SUSPENDED and after == ACTIVE else None,
        "dateLastUpdated": _stamp(now),
    }


def platform_notifications(
    notification_url: str | None = None, now: datetime | None = None
) -> tuple[PlatformNotification, ...]:
    """One notification for each (notificationType, status after the change) pair that the
    status machine's rows send, in table order, each about a fresh entitlement (whose
    `notificationUrl` is `notification_url`, when given)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    template = _template()
    if notification_url is not None:
        template["notificationUrl"] = notification_url
    seen: set[tuple[str, str]] = set()
    found = []
    for row in spec.status_machine():
        for before in row.from_statuses or (None,):
            after = row.result(before)
            for notification_type in row.notifications:
                if after is None or (notification_type, after) in seen:
                    continue
                seen.add((notification_type, after))
                body = {
                    **template,
                    **_record_dates(before, after, now),
                    "responseCode": "OK",
                    "responseMessage": row.description.split("\n")[0][:200] or notification_type,
                    "entitlementId": f"receiver-check-{uuid.uuid4()}",
                    "status": after,
                    "notificationType": notification_type,
                    "notificationId": str(uuid.uuid4()),
                }
                changes = before != after
                found.append(PlatformNotification(notification_type, after, row.id, changes, body))
    return tuple(found)


def _fresh(body: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy about another entitlement, with another notificationId."""
    return {
        **body,
        "entitlementId": f"receiver-check-{uuid.uuid4()}",
        "notificationId": str(uuid.uuid4()),
        **changes,
    }


def _unknown(known: Iterable[str], wanted: str) -> str:
    """`wanted`, made longer until it is none of `known` (the spec may adopt it one day)."""
    taken = set(known)
    while wanted in taken:
        wanted += "_NEW"
    return wanted


# -- credentials ------------------------------------------------------------------------------


class ArgumentError(ValueError):
    """A bad argument to `check_receiver` (or the command line): `argument` names it."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument
        self.message = message


def _api_key_header() -> str:
    """The header the webhook's apiKey security scheme names (`X-Api-Key`)."""
    schemes = spec.load_partner_spec()["components"]["securitySchemes"]
    for requirement in _webhook()["security"]:
        for name in requirement:
            if schemes[name]["type"] == "apiKey" and schemes[name]["in"] == "header":
                return str(schemes[name]["name"])
    raise LookupError(f"webhook {WEBHOOK} names no apiKey header scheme")


@dataclass(frozen=True, slots=True)
class _Credentials:
    """How the platform authenticates to the receiver: one of the webhook's three schemes."""

    kind: str  # "basic", "api_key" or "bearer"
    user: str  # basic only
    secret: str  # the password, the key or the token

    @classmethod
    def of(
        cls, basic: tuple[str, str] | None, api_key: str | None, bearer_token: str | None
    ) -> _Credentials:
        if sum(value is not None for value in (basic, api_key, bearer_token)) != 1:
            raise ArgumentError(
                "credentials",
                "give exactly one of basic=(user, password), api_key= or bearer_token=: the"
                " credentials the platform is configured to send your receiver",
            )
        if basic is not None:
            user, password = basic
            if not user or not password or ":" in user:
                raise ArgumentError("basic", "expected USER:PASSWORD, both non-empty")
            return cls("basic", user, password)
        if api_key is not None:
            if not api_key:
                raise ArgumentError("api_key", "the key is empty")
            return cls("api_key", "", api_key)
        if not bearer_token:
            raise ArgumentError("bearer_token", "the token is empty")
        return cls("bearer", "", bearer_token)

    @property
    def label(self) -> str:
        if self.kind == "api_key":
            return f"{_api_key_header()} header"
        return "Basic password" if self.kind == "basic" else "bearer token"

    def _wrong(self) -> str:
        """A secret of the same kind that is not this one."""
        wrong = {"basic": "not-the-password", "api_key": "not-the-key"}.get(self.kind, "not-it")
        return wrong + "-x" if wrong == self.secret else wrong

    def headers(self, which: str) -> tuple[tuple[bytes, bytes], ...]:
        """Headers for `which`: "valid", "none", "wrong" or "malformed" credentials."""
        if which == "none":
            return ()
        secret = self.secret if which == "valid" else self._wrong()
        if self.kind == "api_key":
            # Malformed: a key that is not even ASCII (a receiver must not crash decoding it).
            value = b"\xe9t\xe9-" + secret.encode() if which == "malformed" else secret.encode()
            return ((_api_key_header().encode(), value),)
        if which == "malformed":
            value = b"Basic !not base64!" if self.kind == "basic" else b"Bearer"
        elif self.kind == "basic":
            value = b"Basic " + base64.b64encode(f"{self.user}:{secret}".encode())
        else:
            value = f"Bearer {secret}".encode()
        return ((b"Authorization", value),)

    def curl_arguments(self, which: str) -> tuple[str, ...]:
        """The same credentials for curl, a real secret left to a shell variable."""
        if which in ("none", "malformed"):
            return tuple(
                part
                for name, value in self.headers(which)
                for part in ("-H", _shell_bytes(name + b": " + value))
            )
        if self.kind == "basic":
            secret = PASSWORD_VARIABLE if which == "valid" else self._wrong()
            return ("-u", f'"{USER_VARIABLE}:{secret}"')
        variable = API_KEY_VARIABLE if self.kind == "api_key" else TOKEN_VARIABLE
        secret = variable if which == "valid" else self._wrong()
        header = f"{_api_key_header()}: " if self.kind == "api_key" else "Authorization: Bearer "
        return ("-H", f'"{header}{secret}"')


# -- the checks -------------------------------------------------------------------------------


class _Expect(enum.Enum):
    """The answers a check accepts."""

    ACKNOWLEDGED = "a 2xx"
    REFUSED = "401 or 403"
    REJECTED = "a 4xx"

    def met_by(self, status: int) -> bool:
        if self is _Expect.ACKNOWLEDGED:
            return 200 <= status < 300
        if self is _Expect.REFUSED:
            return status in (401, 403)
        return 400 <= status < 500


@dataclass(frozen=True, slots=True)
class _Delivery:
    """One POST: its headers (credentials included), its body, and its credentials as curl
    arguments with the secret left out."""

    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    curl_credentials: tuple[str, ...]
    label: str = ""


@dataclass(frozen=True, slots=True)
class _Check:
    name: str
    sends: str
    expect: _Expect
    rule: str
    deliveries: tuple[_Delivery, ...]
    # A notification as the platform sends it: its answer time counts for answers-in-time.
    timed: bool = False


_REDELIVERY = (
    "the platform reads any other answer as a failed delivery and sends it again later,"
    " holding back this entitlement's later notifications until it gives up"
)
_FORGERY = (
    "notifications are not signed: a receiver that takes one without the configured"
    " credentials takes forged ones from anyone"
)
_NOT_A_NOTIFICATION = (
    "a body that is not a notification is refused with a 4xx; a 5xx means the receiver broke"
    " on it (and, from the platform, asks for the same body again)"
)


def _plan(url: str, credentials: _Credentials) -> tuple[_Check, ...]:
    notifications = platform_notifications(url)
    first = notifications[0].body
    unchanged = next((n.body for n in notifications if not n.changes_status), first)

    def send(body: Any, which: str = "valid", *, label: str = "") -> _Delivery:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = ((b"Content-Type", b"application/json"), *credentials.headers(which))
        return _Delivery(headers, content, credentials.curl_arguments(which), label)

    checks = [
        _Check(
            f"notification[{n.notification_type}/{n.status}]",
            f"the {n.notification_type} notification of an entitlement now {n.status}"
            f" (status machine row {n.row})",
            _Expect.ACKNOWLEDGED,
            _REDELIVERY,
            (send(n.body),),
            timed=True,
        )
        for n in notifications
    ]
    repeated = _fresh(first)
    new_type = _unknown(spec.notification_types(), "ENTITLEMENT_RENEWED")
    new_status = _unknown(spec.entitlement_statuses(), "ARCHIVED")
    record_fields = _template().keys()
    extra = {_unknown(record_fields, "dateRenewal"): first["dateLastUpdated"]}
    extra[_unknown(record_fields, "renewalTerms")] = {"periodDays": 30, "autoRenew": True}
    checks += [
        _Check(
            "repeat",
            "one notification twice, with the same notificationId",
            _Expect.ACKNOWLEDGED,
            "delivery is at least once: a repeat of a notification already handled is"
            " acknowledged again, without doing it twice",
            (send(repeated, label="the first delivery"), send(repeated, label="the repeat")),
            timed=True,
        ),
        _Check(
            "unknown-notification-type",
            f"a notification of a type Bango may add ({new_type})",
            _Expect.ACKNOWLEDGED,
            "new notification types may appear: acknowledge one you do not know (and read the"
            f" record if you need it); {_REDELIVERY}",
            (send(_fresh(first, notificationType=new_type)),),
            timed=True,
        ),
        _Check(
            "unknown-status",
            f"a {unchanged['notificationType']} notification with a status Bango may add"
            f" ({new_status})",
            _Expect.ACKNOWLEDGED,
            f"new statuses may appear: acknowledge the notification; {_REDELIVERY}",
            (send(_fresh(unchanged, status=new_status)),),
            timed=True,
        ),
        _Check(
            "extra-fields",
            f"a notification with fields Bango may add ({', '.join(extra)})",
            _Expect.ACKNOWLEDGED,
            f"new fields may appear in the record and the notification; {_REDELIVERY}",
            (send(_fresh(first, **extra)),),
            timed=True,
        ),
        _Check(
            "no-credentials",
            "a notification without credentials",
            _Expect.REFUSED,
            _FORGERY,
            (send(_fresh(first), "none"),),
        ),
        _Check(
            "wrong-credentials",
            f"a notification whose {credentials.label} is not the configured one",
            _Expect.REFUSED,
            _FORGERY,
            (send(_fresh(first), "wrong"),),
        ),
        _Check(
            "malformed-credentials",
            "a notification whose credentials are malformed"
            f" ({credentials.headers('malformed')[0][1].decode('latin-1')!r})",
            _Expect.REJECTED,
            "credentials that cannot even be read are refused (401), never a crash",
            (send(_fresh(first), "malformed"),),
        ),
    ]
    text = json.dumps(_fresh(first)).encode()
    bodies = {
        "body-empty": ("an empty body", b""),
        "body-not-json": ("a notification cut off half way (not JSON)", text[: len(text) // 2]),
        "body-not-utf8": ("a body that is not UTF-8", b'{"notificationId": "\xff\xfe"}'),
        "body-not-an-object": ("a JSON array holding a notification", b"[" + text + b"]"),
        "body-without-notification-id": (
            "a notification without its notificationId",
            {k: v for k, v in _fresh(first).items() if k != "notificationId"},
        ),
        "body-without-record": (
            "a notification envelope without the entitlement record",
            {k: first[k] for k in ("responseCode", "responseMessage", "notificationType")}
            | {"notificationId": str(uuid.uuid4())},
        ),
    }
    checks += [
        _Check(name, sends, _Expect.REJECTED, _NOT_A_NOTIFICATION, (send(body),))
        for name, (sends, body) in bodies.items()
    ]
    return tuple(checks)


# -- answers and verdicts ---------------------------------------------------------------------


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
            f" (the reproducers read the credentials from {_variables(self.authentication)})"
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
                classname=__name__,
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
        directory.mkdir(parents=True, exist_ok=True)
        outputs = {
            JSON_NAME: json.dumps(self.to_json(), indent=2).encode() + b"\n",
            JUNIT_NAME: self.junit_xml(),
        }
        written = []
        for name, data in outputs.items():
            target = directory / name
            temporary = target.with_suffix(target.suffix + ".tmp")
            temporary.write_bytes(data)
            os.replace(temporary, target)
            written.append(target)
        return written


def _variables(authentication: str) -> str:
    if authentication == "basic":
        return f"{USER_VARIABLE} and {PASSWORD_VARIABLE}"
    return API_KEY_VARIABLE if authentication == "api_key" else TOKEN_VARIABLE


def _shell_bytes(data: bytes) -> str:
    """`data` as one shell word: quoted text, or bash's $'...' where it is not printable."""
    text = data.decode("utf-8", "replace")
    if text.encode() == data and text.isprintable():
        return shlex.quote(text)
    escaped = "".join(
        chr(byte) if 32 <= byte < 127 and byte not in b"\\'" else f"\\x{byte:02x}" for byte in data
    )
    return f"$'{escaped}'"


def _curl(url: str, delivery: _Delivery, *, timed: bool = False) -> str:
    parts = ["curl", "-sS", "-X", "POST"]
    if timed:
        parts += ["-w", shlex.quote("%{http_code} after %{time_total} s\n")]
    parts += ["-H", shlex.quote("Content-Type: application/json"), *delivery.curl_credentials]
    return " ".join([*parts, "--data-binary", _shell_bytes(delivery.body), shlex.quote(url)])


def _judge(url: str, check: _Check, answers: Sequence[Answer]) -> CheckResult:
    result = CheckResult(check.name, check.sends, check.expect.value, True, tuple(answers))
    for delivery, answer in zip(check.deliveries, answers, strict=True):
        if answer.status is None or not check.expect.met_by(answer.status):
            where = f"{delivery.label}: " if delivery.label else ""
            return replace(
                result,
                passed=False,
                problem=f"{where}expected {check.expect.value}, got {answer.describe()}",
                rule=check.rule,
                reproduce=_curl(url, delivery),
            )
    return result


def _judge_time(
    url: str, timeout: float, timed: Sequence[tuple[_Check, _Delivery, Answer]]
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
        reproduce=_curl(url, delivery, timed=True),
    )


# -- running them -----------------------------------------------------------------------------


def _session(
    url: str,
    credentials: _Credentials,
    timeout: float,
    on_result: Callable[[CheckResult], None] | None,
) -> Generator[_Delivery, Answer, ReceiverVerdict]:
    """Sends (yields) each delivery, takes its answer back, judges: one plan for both the
    synchronous and the asynchronous runner."""
    results: list[CheckResult] = []
    timed: list[tuple[_Check, _Delivery, Answer]] = []

    def record(result: CheckResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    for check in _plan(url, credentials):
        answers = []
        for delivery in check.deliveries:
            answer = yield delivery
            if not answer.connected and not results:
                record(
                    CheckResult(
                        "connect",
                        "the first notification",
                        "an answer",
                        False,
                        (answer,),
                        problem=f"cannot connect to {url} ({answer.error})",
                        rule="the receiver must be reachable; no other check was run",
                        reproduce=_curl(url, delivery),
                    )
                )
                return ReceiverVerdict(url, credentials.kind, timeout, tuple(results))
            answers.append(answer)
            if check.timed:
                timed.append((check, delivery, answer))
        record(_judge(url, check, answers))
    record(_judge_time(url, timeout, timed))
    return ReceiverVerdict(url, credentials.kind, timeout, tuple(results))


def _answered(response: httpx.Response, started: float) -> Answer:
    return Answer(
        response.status_code, time.perf_counter() - started, response.text[:ANSWER_EXCERPT]
    )


def _failed(error: BaseException, started: float, timeout: float) -> Answer:
    seconds = time.perf_counter() - started
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        return Answer(None, seconds, error=f"{type(error).__name__}: {error}", connected=False)
    if isinstance(error, httpx.TimeoutException | TimeoutError):
        return Answer(None, seconds, error=f"nothing within {timeout:g} s", timed_out=True)
    return Answer(None, seconds, error=f"{type(error).__name__}: {error}")


def _start(
    url: str,
    basic: tuple[str, str] | None,
    api_key: str | None,
    bearer_token: str | None,
    delivery_timeout: float | None,
) -> tuple[_Credentials, float]:
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise ArgumentError("url", f"{url!r} is not a URL ({error})") from None
    if target.scheme not in ("http", "https") or not target.host:
        raise ArgumentError("url", f"{url!r} is not an http(s) URL with a host")
    credentials = _Credentials.of(basic, api_key, bearer_token)
    timeout = platform_delivery_timeout() if delivery_timeout is None else delivery_timeout
    if not timeout > 0:
        raise ArgumentError("delivery_timeout", f"{timeout} is not a positive number of seconds")
    return credentials, timeout


def check_receiver(
    url: str,
    *,
    basic: tuple[str, str] | None = None,
    api_key: str | None = None,
    bearer_token: str | None = None,
    transport: httpx.BaseTransport | None = None,
    delivery_timeout: float | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> ReceiverVerdict:
    """Run every check against the receiver at `url`, one request at a time.

    Give the credentials the platform sends: exactly one of `basic=(user, password)`,
    `api_key=` or `bearer_token=`. `transport` reaches an app in this process
    (`httpx.WSGITransport(app=...)`); None sends real HTTP. `delivery_timeout` defaults to the
    platform's (`platform_delivery_timeout()`). `on_result` sees each result as it comes.
    Raises `ArgumentError` (a ValueError naming the argument) for a bad URL or credentials.
    """
    credentials, timeout = _start(url, basic, api_key, bearer_token, delivery_timeout)
    session = _session(url, credentials, timeout, on_result)
    with httpx.Client(transport=transport, timeout=timeout, follow_redirects=False) as client:

        def send(delivery: _Delivery) -> Answer:
            started = time.perf_counter()
            try:
                response = client.post(url, content=delivery.body, headers=delivery.headers)
            except Exception as error:  # an in-process app's own exception is an answer too
                return _failed(error, started, timeout)
            return _answered(response, started)

        try:
            delivery = next(session)
            while True:
                delivery = session.send(send(delivery))
        except StopIteration as finished:
            verdict: ReceiverVerdict = finished.value
            return verdict


async def check_receiver_async(
    url: str,
    *,
    basic: tuple[str, str] | None = None,
    api_key: str | None = None,
    bearer_token: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    delivery_timeout: float | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> ReceiverVerdict:
    """`check_receiver` for an event loop; `transport` may be `httpx.ASGITransport(app=...)`.
    Each answer is also cut off at the delivery timeout, so a hung in-process app fails the
    check instead of hanging the test."""
    credentials, timeout = _start(url, basic, api_key, bearer_token, delivery_timeout)
    session = _session(url, credentials, timeout, on_result)
    async with httpx.AsyncClient(
        transport=transport, timeout=timeout, follow_redirects=False
    ) as client:

        async def send(delivery: _Delivery) -> Answer:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(timeout):
                    response = await client.post(
                        url, content=delivery.body, headers=delivery.headers
                    )
            except Exception as error:  # an in-process app's own exception is an answer too
                return _failed(error, started, timeout)
            return _answered(response, started)

        try:
            delivery = next(session)
            while True:
                delivery = session.send(await send(delivery))
        except StopIteration as finished:
            verdict: ReceiverVerdict = finished.value
            return verdict


# -- the command line -------------------------------------------------------------------------

SUMMARY = "play the platform against your notification receiver"
DESCRIPTION = (
    "Send a notification receiver what the platform would (every notification type, repeats,"
    " values a newer platform may send, wrong credentials, bodies that are not notifications)"
    " and judge its answers; exit status 1 when a check fails."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `bango-resale-contract receiver`."""
    parser.add_argument("url", metavar="URL", help="the receiver, e.g. https://…/bango/hooks")
    method = parser.add_mutually_exclusive_group(required=True)
    method.add_argument("--basic", metavar="USER:PASSWORD", help="Basic credentials")
    method.add_argument("--api-key", metavar="KEY", help=f"an {_api_key_header()} header")
    method.add_argument("--bearer", metavar="TOKEN", help="a bearer token")
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help=f"where {JSON_NAME} and {JUNIT_NAME} go (default: reports)",
    )


# The command line's name for each argument of `check_receiver`.
_FLAGS = {"url": "URL", "basic": "--basic", "api_key": "--api-key", "bearer_token": "--bearer"}


def run(arguments: argparse.Namespace) -> int:
    """The command: 0 when every check holds, 1 when one fails; a `UsageError` naming the
    flag, before anything is sent, for arguments it cannot use."""
    basic = None
    if arguments.basic is not None:
        user, _, password = arguments.basic.partition(":")
        basic = (user, password)
    try:
        _start(arguments.url, basic, arguments.api_key, arguments.bearer, None)
    except ArgumentError as error:
        flag = _FLAGS.get(error.argument, error.argument)
        raise UsageError(f"{flag}: {error.message}") from None
    try:
        arguments.report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--report-dir: {error}") from None

    def show(result: CheckResult) -> None:
        print("\n".join(result.lines()), flush=True)

    print(
        f"{PROG} {COMMAND}: sending {arguments.url} what the platform would; it waits"
        f" {platform_delivery_timeout():g} s for each answer",
        flush=True,
    )
    verdict = check_receiver(
        arguments.url,
        basic=basic,
        api_key=arguments.api_key,
        bearer_token=arguments.bearer,
        on_result=show,
    )
    print(verdict.summary())
    for path in verdict.write_reports(arguments.report_dir):
        print(f"report: {path}")
    return 0 if verdict.passed else 1
