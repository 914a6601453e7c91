"""`bango-resale-contract receiver URL`: what it sends, and that it tells a correct receiver
from one with each classic bug.

The correct receiver is built as the README shows: `bango_resale.NotificationReceiver`
authenticates and parses, repeats are dropped by `dedupe_key`. Each classic bug is a subclass
that changes one step of it, so a reader of `Receiver` sees only the right way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

import bango_resale_spec as spec
from bango_resale import (
    InvalidNotificationError,
    NotificationAuthenticationError,
    NotificationEvent,
    NotificationReceiver,
)
from bango_resale_contract import receiver_checks
from bango_resale_contract.__main__ import main as contract_main
from bango_resale_contract.receiver_checks import (
    ArgumentError,
    ReceiverVerdict,
    check_receiver,
    check_receiver_async,
    notifications,
    platform_delivery_timeout,
    platform_notifications,
)
from bango_resale_sandbox import load_config
from bango_resale_spec import compiled

PATH = "/bango/notifications"
USER, PASSWORD = "bango-notifier", "receiver-secret-1"
API_KEY, TOKEN = "receiver-key-1", "receiver-token-1"
CREDENTIALS: dict[str, dict[str, Any]] = {
    "basic": {"basic": (USER, PASSWORD)},
    "api_key": {"api_key": API_KEY},
    "bearer": {"bearer_token": TOKEN},
}
# What a reproducer needs in its environment, per kind of credentials.
ENVIRONMENT = {
    "basic": {"RECEIVER_USER": USER, "RECEIVER_PASSWORD": PASSWORD},
    "api_key": {"RECEIVER_API_KEY": API_KEY},
    "bearer": {"RECEIVER_TOKEN": TOKEN},
}
SECRETS = (PASSWORD, API_KEY, TOKEN)
LOGGER = logging.getLogger("tests.receiver")

Scope = Mapping[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Mapping[str, Any]], Any]


# -- receivers ----------------------------------------------------------------------------------


class Receiver:
    """A correct receiver (ASGI): authenticate, parse, act once per notificationId, answer."""

    def __init__(self, **credentials: Any) -> None:
        self.notifications = NotificationReceiver(**credentials)
        self.handled: dict[str, NotificationEvent] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        status = await self.answer(headers, body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps({"status": status}).encode()})

    async def answer(self, headers: Mapping[str, str], body: bytes) -> int:
        try:
            self.authenticate(headers)
        except NotificationAuthenticationError:
            return 401
        try:
            event = self.parse(body)
        except InvalidNotificationError:
            return 400
        await self.handle(event)
        return 200

    def authenticate(self, headers: Mapping[str, str]) -> None:
        self.notifications.authenticate(headers)

    def parse(self, body: bytes) -> NotificationEvent:
        return self.notifications.parse(body)

    async def handle(self, event: NotificationEvent) -> None:
        if event.dedupe_key not in self.handled:
            self.handled[event.dedupe_key] = event


class NoCredentialCheck(Receiver):
    """Takes any request: a forged notification included."""

    def authenticate(self, headers: Mapping[str, str]) -> None:
        pass


class CrashesOnUnknownType(Receiver):
    """Dispatches on a table of the types it was written for."""

    async def handle(self, event: NotificationEvent) -> None:
        handlers = {name: (lambda: None) for name in spec.notification_types()}
        handlers[event.notification_type]()
        await super().handle(event)


class CrashesOnUnknownStatus(Receiver):
    """Orders statuses by a list of the ones it knows."""

    async def handle(self, event: NotificationEvent) -> None:
        list(spec.entitlement_statuses()).index(event.entitlement.status)
        await super().handle(event)


class CrashesOnRepeat(Receiver):
    """Stores every notificationId under a unique key, so a repeat fails the insert."""

    async def handle(self, event: NotificationEvent) -> None:
        if event.dedupe_key in self.handled:
            raise RuntimeError("UNIQUE constraint failed: notifications.notification_id")
        await super().handle(event)


class CrashesOnGarbage(Receiver):
    """Logs the ids from the raw JSON before parsing it properly."""

    def parse(self, body: bytes) -> NotificationEvent:
        payload = json.loads(body)
        LOGGER.info("notification %s for %s", payload["notificationId"], payload["entitlementId"])
        return super().parse(body)


class SlowToEnd(Receiver):
    """Does the slow work of an ending (mails the customer, say) before it answers."""

    delay = 0.0

    async def handle(self, event: NotificationEvent) -> None:
        if event.notification_type == "TERMINATION_SUCCESS":
            await asyncio.sleep(self.delay)
        await super().handle(event)


BODY_CHECKS = {
    "body-empty",
    "body-not-json",
    "body-not-utf8",
    "body-not-an-object",
    "body-without-notification-id",
    "body-without-record",
}
CLASSIC_BUGS = [
    (NoCredentialCheck, {"no-credentials", "wrong-credentials", "malformed-credentials"}),
    (CrashesOnUnknownType, {"unknown-notification-type"}),
    (CrashesOnUnknownStatus, {"unknown-status"}),
    (CrashesOnRepeat, {"repeat"}),
    (CrashesOnGarbage, BODY_CHECKS),
]


def failed(verdict: ReceiverVerdict) -> set[str]:
    return {result.name for result in verdict.failures}


# -- what is sent -------------------------------------------------------------------------------


def test_every_notification_type_is_sent_for_each_status_the_machine_sends_it_in() -> None:
    expected = {
        (notification_type, row.result(before))
        for row in spec.status_machine()
        for before in row.from_statuses or (None,)
        for notification_type in row.notifications
    }
    sent = platform_notifications("https://reseller.example/hooks")
    assert {(n.notification_type, n.status) for n in sent} == expected
    # The statuses whose dates the records get right are the spec's.
    dated = {notifications.PENDING, notifications.ACTIVE, notifications.SUSPENDED}
    assert dated | {notifications.ACTIVE_ENDING} <= set(spec.entitlement_statuses())
    assert {n.notification_type for n in sent} == set(spec.notification_types())
    assert len({n.body["notificationId"] for n in sent}) == len(sent)
    assert len({n.body["entitlementId"] for n in sent}) == len(sent)


def test_what_is_sent_as_a_notification_is_one_by_the_webhook_schema() -> None:
    webhook = spec.load_partner_spec()["webhooks"]["entitlementNotification"]["post"]
    validator = compiled.partner().media_validator(webhook["requestBody"]["content"])
    assert validator is not None
    receiver = NotificationReceiver(api_key=API_KEY)
    for notification in platform_notifications("https://reseller.example/hooks"):
        errors = [error.message for error in validator.iter_errors(dict(notification.body))]
        assert not errors, (notification.notification_type, notification.status, errors)
        event = receiver.parse(json.dumps(notification.body))
        assert (event.notification_type, event.entitlement.status) == (
            notification.notification_type,
            notification.status,
        )
        assert event.entitlement.notification_url == "https://reseller.example/hooks"


def test_the_delivery_timeout_is_the_one_the_sandbox_is_packaged_with() -> None:
    assert platform_delivery_timeout() == load_config(None).delivery.timeout_seconds


# -- correct and broken receivers, over loopback HTTP -------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_a_receiver_built_on_notification_receiver_passes(
    asgi_server: Callable[[Any], str], kind: str
) -> None:
    receiver = Receiver(**CREDENTIALS[kind])
    url = asgi_server(receiver) + PATH
    verdict = check_receiver(url, **CREDENTIALS[kind])
    assert verdict.passed, verdict.text()
    names = [result.name for result in verdict.results]
    assert len(names) == len(set(names))
    assert {"repeat", "unknown-notification-type", "unknown-status", "extra-fields"} <= set(names)
    assert {"no-credentials", "wrong-credentials", "malformed-credentials"} <= set(names)
    assert set(names) >= BODY_CHECKS and names[-1] == "answers-in-time"
    # Every notification acknowledged was handled once; refused and rejected ones not at all.
    acknowledged = sum(
        1 for result in verdict.results if result.expected == "a 2xx" and result.name != "repeat"
    )
    assert len(receiver.handled) == acknowledged + 1


@pytest.mark.integration
@pytest.mark.parametrize(
    ("bug", "caught_by"), CLASSIC_BUGS, ids=[bug.__name__ for bug, _ in CLASSIC_BUGS]
)
def test_each_classic_bug_is_caught_by_its_named_check(
    asgi_server: Callable[[Any], str], bug: type[Receiver], caught_by: set[str]
) -> None:
    url = asgi_server(bug(**CREDENTIALS["basic"])) + PATH
    verdict = check_receiver(url, **CREDENTIALS["basic"])
    assert failed(verdict) == caught_by, verdict.text()
    for failure in verdict.failures:
        assert failure.reproduce is not None and failure.reproduce.startswith("curl ")
        assert PASSWORD not in failure.reproduce


@pytest.mark.integration
def test_a_receiver_slower_than_the_platform_waits_fails_answers_in_time(
    asgi_server: Callable[[Any], str],
) -> None:
    # Generous, so that on a loaded machine only the slow answers pass the limit.
    limit = 2.0
    receiver = SlowToEnd(**CREDENTIALS["bearer"])
    receiver.delay = limit + 2
    url = asgi_server(receiver) + PATH
    verdict = check_receiver(url, delivery_timeout=limit, **CREDENTIALS["bearer"])
    assert failed(verdict) == {
        "answers-in-time",
        "notification[TERMINATION_SUCCESS/CANCELLED]",
        "notification[TERMINATION_SUCCESS/REVOKED]",
    }, verdict.text()
    timing = verdict.results[-1]
    assert timing.problem is not None and "nothing within 2 s" in timing.problem
    assert timing.reproduce is not None and "%{time_total}" in timing.reproduce


@pytest.mark.integration
def test_an_unreachable_receiver_is_one_failure_not_one_per_check(refusing_port: int) -> None:
    verdict = check_receiver(f"http://127.0.0.1:{refusing_port}{PATH}", api_key=API_KEY)
    assert [(r.name, r.passed) for r in verdict.results] == [("connect", False)]
    assert "cannot connect" in str(verdict.results[0].problem)


def test_the_credentials_are_exactly_one_of_the_three() -> None:
    with pytest.raises(ArgumentError, match="exactly one of basic="):
        check_receiver("http://receiver.test/")
    with pytest.raises(ArgumentError, match="exactly one of basic="):
        check_receiver("http://receiver.test/", api_key="k", bearer_token="t")
    with pytest.raises(ArgumentError, match=r"^basic: "):
        check_receiver("http://receiver.test/", basic=("user:name", "p"))
    with pytest.raises(ArgumentError, match=r"^url: "):
        check_receiver("receiver.test/hooks", api_key="k")


# -- in this process, as a pytest user would -----------------------------------------------------


def test_an_asgi_receiver_in_process() -> None:
    async def run(receiver: Receiver, raise_app_exceptions: bool) -> ReceiverVerdict:
        transport = httpx.ASGITransport(app=receiver, raise_app_exceptions=raise_app_exceptions)
        return await check_receiver_async(
            "http://receiver.test/hooks", transport=transport, **CREDENTIALS["api_key"]
        )

    assert asyncio.run(run(Receiver(**CREDENTIALS["api_key"]), False)).passed
    crashed = asyncio.run(run(CrashesOnUnknownStatus(**CREDENTIALS["api_key"]), False))
    assert failed(crashed) == {"unknown-status"}
    assert "got HTTP 500" in str(crashed.failures[0].problem)
    # Left to raise, the app's exception is the answer reported.
    raised = asyncio.run(run(CrashesOnUnknownStatus(**CREDENTIALS["api_key"]), True))
    assert failed(raised) == {"unknown-status"}
    assert "ValueError" in str(raised.failures[0].problem)


def test_a_wsgi_receiver_in_process() -> None:
    notifications = NotificationReceiver(basic=(USER, PASSWORD))
    seen: set[str] = set()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        headers = {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            event = notifications.receive(headers, body)
            seen.add(event.dedupe_key)
            status = "204 No Content"
        except NotificationAuthenticationError:
            status = "401 Unauthorized"
        except InvalidNotificationError:
            status = "400 Bad Request"
        start_response(status, [])
        return []

    verdict = check_receiver(
        "http://receiver.test/hooks", transport=httpx.WSGITransport(app=app), basic=(USER, PASSWORD)
    )
    assert verdict.passed, verdict.text()
    assert seen


# -- the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "the following arguments are required: URL"),
        (["http://r.test/"], "one of the arguments --basic --api-key --bearer is required"),
        (["http://r.test/", "--basic", "nopassword"], "--basic: expected USER:PASSWORD"),
        (["http://r.test/", "--api-key", ""], "--api-key: the key is empty"),
        (["http://r.test/", "--api-key", "k", "--bearer", "t"], "not allowed with argument"),
        (["r.test/hooks", "--bearer", "t"], "URL: 'r.test/hooks' is not an http(s) URL"),
        (["http://r.test/", "--bearer", "t", "--report-dir", "/dev/null/x"], "--report-dir: "),
    ],
)
def test_a_usage_error_is_one_line_naming_the_flag_and_exit_2(
    capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    assert contract_main(["receiver", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("bango-resale-contract receiver: ")
    assert message in captured.err


@pytest.mark.integration
def test_the_command_passes_a_correct_receiver_and_writes_its_reports(
    asgi_server: Callable[[Any], str], tmp_path: Path
) -> None:
    url = asgi_server(Receiver(**CREDENTIALS["bearer"])) + PATH
    result = subprocess.run(
        [sys.executable, "-m", "bango_resale_contract", "receiver", url, "--bearer", TOKEN],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    report = json.loads((tmp_path / "reports" / receiver_checks.JSON_NAME).read_text())
    assert report["passed"] is True and report["failures"] == 0
    assert report["deliveryTimeoutSeconds"] == platform_delivery_timeout()
    names = [check["name"] for check in report["checks"]]
    assert [line.split(":")[0] for line in lines if line.startswith("PASS ")] == [
        f"PASS {name}" for name in names
    ]
    assert f"receiver {url}: PASSED, {len(names)} checks" in lines
    suite = ElementTree.parse(tmp_path / "reports" / receiver_checks.JUNIT_NAME).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == (str(len(names)), "0")


@pytest.mark.integration
@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_the_command_fails_a_broken_receiver_with_a_curl_that_reproduces_each_failure(
    asgi_server: Callable[[Any], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    url = asgi_server(CrashesOnGarbage(**CREDENTIALS[kind])) + PATH
    flag = {"basic": ["--basic", f"{USER}:{PASSWORD}"], "api_key": ["--api-key", API_KEY]}.get(
        kind, ["--bearer", TOKEN]
    )
    assert contract_main(["receiver", url, *flag, "--report-dir", str(tmp_path)]) == 1
    output = capsys.readouterr().out
    failures = [line for line in output.splitlines() if line.startswith("FAIL ")]
    assert {line.split(":")[0].removeprefix("FAIL ") for line in failures} == BODY_CHECKS
    assert f"FAILED: {len(BODY_CHECKS)} of" in output
    reproducers = [
        line.removeprefix("    reproduce: ")
        for line in output.splitlines()
        if line.startswith("    reproduce: ")
    ]
    assert len(reproducers) == len(BODY_CHECKS)
    report_text = (tmp_path / receiver_checks.JSON_NAME).read_text()
    junit_text = (tmp_path / receiver_checks.JUNIT_NAME).read_text()
    for text in (output, report_text, junit_text):
        assert not any(secret in text for secret in SECRETS)
    # Each reproducer, run with the credentials in the environment, gets the same 500 back.
    for command in reproducers:
        answer = subprocess.run(
            ["bash", "-c", command + " -o /dev/null -w '%{http_code}'"],
            env={**os.environ, **ENVIRONMENT[kind]},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert answer.stdout == "500", (command, answer.stdout, answer.stderr)
