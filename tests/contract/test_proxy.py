"""The validating proxy in front of the real sandbox, over loopback, driven by the typed client.

Each deliberate sandbox fault must be reported by the rule that owns it; without faults the
whole scenario suite (and a notification round trip) passes through with zero violations. The
last tests hold the proxy to HTTP/1.1: pipelining, Connection: close, HEAD, chunked answers,
keep-alive connections after a large answer. (`test_proxy_http` holds the rest of its HTTP.)
"""

from __future__ import annotations

import base64
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from proxy_helpers import proxy_process, stop_and_report

import bango_resale_spec as spec
from bango_resale import ResaleClient, RetryPolicy
from bango_resale_contract import live, promises
from bango_resale_contract.behaviour import CHECK as STATE_RULE
from bango_resale_contract.behaviour import NOTIFICATION_CHECK
from bango_resale_contract.notification_server import NotificationServer, receiving
from bango_resale_contract.proxy import RECEIVER_PATH, default_judged_bytes
from bango_resale_contract.scenarios import run_scenarios
from bango_resale_sandbox.faults import KNOWN_FAULTS
from bango_resale_sandbox.testing import DEMO_RESELLER, SandboxProcess

MAGIC = "X-Magic-Number"
ACTIVATED = {MAGIC: "CREATE_REQUEST_RETURNS_ACTIVATED"}


@dataclass
class Proxied:
    """A sandbox behind a proxy, and what the test needs to drive and read them."""

    url: str
    sandbox_url: str
    report_dir: Path
    receiver: NotificationServer | None
    process: subprocess.Popen[bytes]
    counter: int = 0

    def client(self) -> ResaleClient:
        return ResaleClient(self.url, *DEMO_RESELLER, retry=RetryPolicy(max_attempts=1))

    def create(
        self,
        client: ResaleClient,
        *,
        merchant: str = "BANGO",
        product: str = "BangoMusic",
        **kwargs: Any,
    ) -> str:
        self.counter += 1
        if self.receiver is not None:
            kwargs.setdefault("notification_url", self.url + RECEIVER_PATH)
        created = client.create(
            customer_identifier=f"proxy-customer-{self.counter}-{time.monotonic_ns()}",
            merchant_account_key=merchant,
            product_key=product,
            extra_headers=kwargs.pop("extra_headers", ACTIVATED),
            **kwargs,
        )
        return str(created.entitlement.entitlement_id)

    def wait_for_notifications(self, count: int) -> None:
        assert self.receiver is not None
        deadline = time.monotonic() + 10
        while self.receiver.deliveries < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # let a held-back or stray one arrive too

    def stop(self) -> dict[str, Any]:
        """SIGTERM the proxy and read the report it writes on the way out."""
        return stop_and_report(self.report_dir.parent, self.process)


@contextmanager
def proxied(
    tmp_path: Path, faults: tuple[str, ...] = (), *, notify: bool = False, enforce: bool = False
) -> Iterator[Proxied]:
    with SandboxProcess(tmp_path / "sandbox.db", faults=faults) as sandbox, receiving() as rx:
        flags = [*(["--notify", rx.url] if notify else []), *(["--enforce"] if enforce else [])]
        with proxy_process(sandbox.base_url, tmp_path, *flags) as (url, process):
            yield Proxied(
                url, sandbox.base_url, tmp_path / "report", rx if notify else None, process
            )


def _quietly(call: Callable[[], object]) -> None:
    """Call the client; a fault may make it raise, which is not what this test is about."""
    with suppress(Exception):
        call()


# Each fault: whether it needs the receiver, how to reach it, the rule that must report it.
def _server_error(p: Proxied, c: ResaleClient) -> None:
    _quietly(lambda: p.create(c, offer_key="offer-1"))


def _one_active(p: Proxied, c: ResaleClient) -> None:
    p.create(c)


def _missing(p: Proxied, c: ResaleClient) -> None:
    _quietly(lambda: c.get("no-such-entitlement"))


def _no_credentials(p: Proxied, c: ResaleClient) -> None:
    entitlement_id = p.create(c)
    # An integration that lost its credentials: the typed client always sends them.
    httpx.get(f"{p.url}/v1/entitlement/{entitlement_id}")


def _cancel_twice(p: Proxied, c: ResaleClient) -> None:
    entitlement_id = p.create(c)
    c.revoke(entitlement_id, ("REVOKED", "OTHER"))
    _quietly(lambda: c.cancel(entitlement_id, ("CUSTOMER_CANCELLED", "NOT_RENEWED")))


def _cancel(p: Proxied, c: ResaleClient) -> None:
    entitlement_id = p.create(c)
    _quietly(lambda: c.cancel(entitlement_id, ("CUSTOMER_CANCELLED", "NOT_RENEWED")))


def _cancel_at_period_end(p: Proxied, c: ResaleClient) -> None:
    # This product's merchant ends a cancelled entitlement when the paid period ends.
    entitlement_id = p.create(c, merchant="BANGO_US", product="MUSIC")
    _quietly(lambda: c.cancel(entitlement_id, ("CUSTOMER_CANCELLED", "NOT_RENEWED")))


def _metadata_update(p: Proxied, c: ResaleClient) -> None:
    entitlement_id = p.create(c)
    p.wait_for_notifications(1)
    c.update(entitlement_id, customer_identifier=f"renamed-{time.monotonic_ns()}")
    p.wait_for_notifications(2)


def _out_of_order(p: Proxied, c: ResaleClient) -> None:
    entitlement_id = p.create(c)
    c.update(entitlement_id, customer_identifier=f"renamed-{time.monotonic_ns()}")
    p.wait_for_notifications(2)


def _revoke(p: Proxied, c: ResaleClient) -> None:
    entitlement_id = p.create(c)
    c.revoke(entitlement_id, ("REVOKED", "OTHER"))
    p.wait_for_notifications(2)


def _suspend_accepted(p: Proxied, c: ResaleClient) -> str:
    """A watched entitlement whose suspend waits for the merchant (202)."""
    entitlement_id = p.create(c)
    p.wait_for_notifications(1)
    c.suspend(
        entitlement_id,
        ("ACTIVATION_ROLLBACK", "CUSTOMER_PAYMENT_DEFAULT"),
        extra_headers={MAGIC: "SUSPEND_REQUEST_RETURNS_ACCEPTED"},
    )
    return entitlement_id


def _change_while_waiting(p: Proxied, c: ResaleClient) -> None:
    entitlement_id = _suspend_accepted(p, c)
    _quietly(lambda: c.revoke(entitlement_id, ("REVOKED", "OTHER")))
    p.wait_for_notifications(2)


def _suspend_while_waiting(p: Proxied, c: ResaleClient) -> None:
    # No receiver: a second suspend accepted is possible only while the first one's 202 waits
    # (once the merchant confirms, the record is SUSPENDED and a suspend is NOT_AVAILABLE).
    entitlement_id = p.create(c)
    c.suspend(
        entitlement_id,
        ("ACTIVATION_ROLLBACK", "CUSTOMER_PAYMENT_DEFAULT"),
        extra_headers={MAGIC: "SUSPEND_REQUEST_RETURNS_ACCEPTED"},
    )
    c.get(entitlement_id)
    _quietly(lambda: c.suspend(entitlement_id, ("ACTIVATION_ROLLBACK", "CUSTOMER_PAYMENT_DEFAULT")))


def _create_with_offer(p: Proxied, c: ResaleClient) -> None:
    p.create(c, offer_key="offer-1")


def _query_by_status(p: Proxied, c: ResaleClient) -> None:
    customer = f"proxy-query-{time.monotonic_ns()}"
    p.counter += 1
    c.create(
        customer_identifier=customer,
        merchant_account_key="BANGO",
        product_key="BangoMusic",
        extra_headers=ACTIVATED,
    )
    _quietly(lambda: c.query(customer, status="REVOKED"))


def _echo(p: Proxied, c: ResaleClient) -> None:
    _quietly(lambda: c.echo("hello", request_id="proxy-echo-1"))


def _cancel_with_custom_data(p: Proxied, c: ResaleClient) -> None:
    entitlement_id = p.create(c)
    reason = ("CUSTOMER_CANCELLED", "NOT_RENEWED")
    _quietly(lambda: c.cancel(entitlement_id, reason, custom_data={"ticket": "T-1"}))


def _rate_limited(p: Proxied, c: ResaleClient) -> None:
    limited = {MAGIC: "ANY_REQUEST_RETURNS_TOO_MANY_REQUESTS"}
    _quietly(lambda: c.get("any-entitlement", extra_headers=limited))


def _change_product(p: Proxied, c: ResaleClient) -> None:
    entitlement_id = p.create(c, merchant="BANGO_US", product="MUSIC")
    _quietly(lambda: c.update(entitlement_id, product_key="MUSIC_PREMIUM"))


def _confirmed_by_the_merchant(p: Proxied, c: ResaleClient) -> None:
    entitlement_id = _suspend_accepted(p, c)
    # The merchant confirms (a sandbox control, past the proxy); the integration reads it.
    control = f"{p.sandbox_url}/sandbox/entitlements/{entitlement_id}/complete"
    httpx.post(control, auth=DEMO_RESELLER).raise_for_status()
    c.get(entitlement_id)
    p.wait_for_notifications(2)


FAULT_CASES: dict[str, tuple[bool, Callable[[Proxied, ResaleClient], None], str]] = {
    "server_error": (False, _server_error, live.SHAPE_RULE),
    "extra_field": (False, _one_active, live.SHAPE_RULE),
    "wrong_response_code": (False, _missing, "bango_response_code_matches_status"),
    "ignore_auth": (False, _no_credentials, live.CREDENTIALS_RULE),
    "illegal_transition": (False, _cancel_twice, STATE_RULE),
    "drop_cancel_reason": (False, _cancel, "bango_reason_echoed"),
    "unchanged_after_200": (False, _cancel, STATE_RULE),
    "wrong_notification_type": (True, _metadata_update, NOTIFICATION_CHECK),
    "skipped_notification": (True, _revoke, NOTIFICATION_CHECK),
    "notifications_out_of_order": (True, _out_of_order, NOTIFICATION_CHECK),
    "waiting_202_ignored": (False, _suspend_while_waiting, STATE_RULE),
    "query_ignores_status": (False, _query_by_status, "bango_query_filters_hold"),
    "request_id_not_echoed": (False, _echo, "bango_request_identifier_echoed"),
    "echo_mangled": (False, _echo, "bango_echo_returns_the_id"),
    "create_drops_offer": (
        False,
        _create_with_offer,
        "bango_record_is_what_was_asked",
    ),
    "active_ending_without_end": (False, _cancel_at_period_end, "bango_dates_match_the_status"),
    "cancel_drops_custom": (False, _cancel_with_custom_data, "bango_custom_properties_kept"),
    "retry_after_missing": (False, _rate_limited, "bango_required_headers_sent"),
    "product_change_ignored": (False, _change_product, "bango_update_applied"),
    "notification_status_stale": (True, _revoke, NOTIFICATION_CHECK),
    "confirmation_not_notified": (True, _confirmed_by_the_merchant, NOTIFICATION_CHECK),
}
# Faults only the contract suite reports: their checks judge an answer against what earlier
# answers showed (`checks.RecordMemory`), and the proxy keeps one small record per entitlement.
SUITE_ONLY = {"extension_data_replaced", "query_drops_last"}


def test_every_sandbox_fault_has_a_case() -> None:
    assert set(FAULT_CASES) | SUITE_ONLY == KNOWN_FAULTS
    assert {p.fault for p in promises.PROMISES} <= set(FAULT_CASES)


@pytest.mark.parametrize("fault", sorted(FAULT_CASES))
def test_the_proxy_reports_each_fault(tmp_path: Path, fault: str) -> None:
    notify, drive, rule = FAULT_CASES[fault]
    with proxied(tmp_path, (fault,), notify=notify) as proxy:
        with proxy.client() as client:
            drive(proxy, client)
        report = proxy.stop()
    assert report["violationsPerRule"][rule] >= 1, report
    log = (tmp_path / "proxy.log").read_text()
    assert f"VIOLATION rule={rule}" in log
    # Credentials pass through but appear nowhere the proxy writes.
    written = log + json.dumps(report) + (tmp_path / "report" / "proxy-junit.xml").read_text()
    assert DEMO_RESELLER[1] not in written and "Basic " not in written


def test_a_change_while_waiting_is_reported_with_notifications_too(tmp_path: Path) -> None:
    # With the receiver the completion would have been seen, so any change counts.
    with proxied(tmp_path, ("waiting_202_ignored",), notify=True) as proxy:
        with proxy.client() as client:
            _change_while_waiting(proxy, client)
        report = proxy.stop()
    assert report["violationsPerRule"][STATE_RULE] >= 1, report


def test_no_fault_no_violation_over_the_scenario_suite_without_notify(tmp_path: Path) -> None:
    # Without the receiver the judge must not guess whether a 202 still waits.
    with proxied(tmp_path) as proxy:
        scenarios = run_scenarios(proxy.url, *DEMO_RESELLER)
        assert not scenarios.violations and not scenarios.misses
        report = proxy.stop()
    assert report["violations"] == [] and report["notJudged"] == []
    assert sum(report["exchanges"].values()) >= scenarios.requests


def test_no_fault_no_violation_over_the_scenario_suite(tmp_path: Path) -> None:
    with proxied(tmp_path, notify=True) as proxy:
        scenarios = run_scenarios(proxy.url, *DEMO_RESELLER)
        assert not scenarios.violations and not scenarios.misses
        with proxy.client() as client:
            # A watched entitlement's whole life, notifications included.
            entitlement_id = proxy.create(client)
            client.update(entitlement_id, customer_identifier=f"renamed-{time.monotonic_ns()}")
            client.suspend(entitlement_id, ("ACTIVATION_ROLLBACK", "CUSTOMER_PAYMENT_DEFAULT"))
            client.resume(entitlement_id)
            client.revoke(entitlement_id, ("REVOKED", "OTHER"))
            client.get(entitlement_id)
            proxy.wait_for_notifications(5)
        report = proxy.stop()
    assert report["violations"] == []
    assert report["exchanges"]["(notification)"] == 5
    assert sum(report["exchanges"].values()) > scenarios.requests
    junit = (tmp_path / "report" / "proxy-junit.xml").read_text()
    assert "<failure" not in junit and 'name="bango_status_machine"' in junit
    # What the traffic exercised: every row listed, the ones the scenarios make counted.
    coverage = report["coverage"]
    assert list(coverage["transitions"]) == [row.id for row in spec.status_machine()]
    for row in ("create-activated", "create-sign-up", "suspend", "resume", "revoke", "reactivate"):
        assert coverage["transitions"][row] >= 1, row
    assert coverage["responseCodes"]["createEntitlement"]["202 CLIENT_ACTION_REQUIRED"] >= 1
    assert coverage["responseCodes"]["getEntitlement"]["429 TOO_MANY_REQUESTS"] >= 1
    summary = (tmp_path / "report" / "proxy-summary.txt").read_text()
    exercised = sum(1 for count in coverage["transitions"].values() if count)
    assert f"transitions exercised: {exercised}/41" in summary
    assert "answers your integration must handle: every one was met" in summary


def test_observe_mode_forwards_bytes_unchanged(tmp_path: Path) -> None:
    with proxied(tmp_path, ("extra_field",)) as proxy:
        path = "/v1/echo/a%2Fb%20c?x=1&x=2"
        direct = httpx.get(
            proxy.sandbox_url + path, auth=DEMO_RESELLER, headers={"X-RequestIdentifier": "same"}
        )
        through = httpx.get(
            proxy.url + path, auth=DEMO_RESELLER, headers={"X-RequestIdentifier": "same"}
        )
        assert (through.status_code, through.content) == (direct.status_code, direct.content)
        assert through.headers.get("x-requestidentifier") == "same"
        proxy.stop()


def test_enforce_mode_answers_a_violation_with_502(tmp_path: Path) -> None:
    with proxied(tmp_path, ("illegal_transition",), enforce=True) as proxy:
        client = httpx.Client(base_url=proxy.url, auth=DEMO_RESELLER)
        created = client.post(
            "/v1/entitlement",
            json={
                "customerIdentifier": "enforced",
                "merchantAccountKey": "BANGO",
                "productKey": "BangoMusic",
            },
            headers=ACTIVATED,
        )
        assert created.status_code == 200  # a clean answer goes through unchanged
        entitlement_id = created.json()["entitlementId"]
        body = {"cancelReasonCategory": "REVOKED", "cancelReasonCode": "OTHER"}
        assert client.post(f"/v1/entitlement/revoke/{entitlement_id}", json=body).status_code == 200
        body = {"cancelReasonCategory": "CUSTOMER_CANCELLED", "cancelReasonCode": "NOT_RENEWED"}
        refused = client.post(f"/v1/entitlement/cancel/{entitlement_id}", json=body)
        client.close()
        assert refused.status_code == 502
        envelope = refused.json()
        assert envelope["responseCode"] == "CONTRACT_VIOLATION"
        assert STATE_RULE in {v["rule"] for v in envelope["violations"]}
        proxy.stop()


def _har(exchanges: list[httpx.Response]) -> dict[str, Any]:
    def headers(items: httpx.Headers) -> list[dict[str, str]]:
        return [{"name": k, "value": v} for k, v in items.multi_items()]

    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "test", "version": "1"},
            "entries": [
                {
                    "startedDateTime": f"2026-01-01T00:00:{number:02d}.000Z",
                    "request": {
                        "method": r.request.method,
                        "url": str(r.request.url),
                        "headers": headers(r.request.headers),
                        "postData": {
                            "mimeType": "application/json",
                            "text": r.request.content.decode(),
                        },
                    },
                    "response": {
                        "status": r.status_code,
                        "headers": headers(r.headers),
                        "content": {"mimeType": "application/json", "text": r.text},
                    },
                }
                for number, r in enumerate(exchanges)
            ],
        }
    }


def test_audit_judges_a_recorded_har(tmp_path: Path) -> None:
    sandbox = SandboxProcess(tmp_path / "sandbox.db", faults=("illegal_transition",))
    with sandbox, httpx.Client(base_url=sandbox.base_url, auth=DEMO_RESELLER) as client:
        created = client.post(
            "/v1/entitlement",
            json={
                "customerIdentifier": "har",
                "merchantAccountKey": "BANGO",
                "productKey": "BangoMusic",
            },
            headers=ACTIVATED,
        )
        entitlement_id = created.json()["entitlementId"]
        body = {"cancelReasonCategory": "REVOKED", "cancelReasonCode": "OTHER"}
        revoked = client.post(f"/v1/entitlement/revoke/{entitlement_id}", json=body)
        body = {"cancelReasonCategory": "CUSTOMER_CANCELLED", "cancelReasonCode": "NOT_RENEWED"}
        cancelled = client.post(f"/v1/entitlement/cancel/{entitlement_id}", json=body)
        recorded = [created, revoked, cancelled]
    clean, faulty = tmp_path / "clean.har", tmp_path / "faulty.har"
    clean.write_text(json.dumps(_har(recorded[:2])))
    faulty.write_text(json.dumps(_har(recorded)))
    command = [sys.executable, "-m", "bango_resale_contract", "audit"]
    ok = subprocess.run([*command, str(clean)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run(
        [*command, str(faulty), "--report", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert (
        f"VIOLATION rule={STATE_RULE} operation=cancelEntitlement entitlement={entitlement_id}"
        in bad.stdout
    )
    assert "demo-secret" not in bad.stdout
    audited = json.loads((tmp_path / "r" / "proxy-report.json").read_text())
    assert audited["violationsPerRule"][STATE_RULE] == 1
    # The recording made a create and a revoke, and met no 202, 429, 500 or 503.
    made = {row: n for row, n in audited["coverage"]["transitions"].items() if n}
    assert made == {"create-activated": 1, "revoke": 1}
    assert "transitions exercised: 2/41" in bad.stdout
    assert "  CLIENT_ACTION_REQUIRED (HTTP 202): " in bad.stdout
    broken = tmp_path / "broken.har"
    broken.write_text("{}")
    refused = subprocess.run([*command, str(broken)], capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "no log.entries" in refused.stderr


def test_an_unknown_entitlement_is_unknown_not_guessed() -> None:
    judge = live.LiveJudge()
    assert judge.status_of("never-seen") == live.UNKNOWN
    # A cancel of an entitlement never seen cannot be judged against the machine: no guess.
    found = judge.exchange(
        "POST",
        "http://service/v1/entitlement/cancel/never-seen",
        [(b"authorization", b"Basic eA=="), (b"content-type", b"application/json")],
        b'{"cancelReasonCategory": "CUSTOMER_CANCELLED", "cancelReasonCode": "NOT_RENEWED"}',
        409,
        [(b"content-type", b"application/json")],
        b'{"responseCode": "NOT_AVAILABLE", "responseMessage": "no"}',
    )
    assert [v.rule for v in found] == []
    assert judge.status_of("never-seen") == live.UNKNOWN
    assert "never-seen" not in judge.tracked  # a probe leaves no state behind


_CREATED = {"customerIdentifier": "c", "merchantAccountKey": "BANGO", "productKey": "BangoMusic"}


def _record(entitlement_id: str, status: str) -> bytes:
    return json.dumps(
        {
            "responseCode": "OK",
            "responseMessage": "Success",
            "entitlementId": entitlement_id,
            "status": status,
        }
    ).encode()


def test_a_change_while_a_202_may_have_completed_unseen_is_not_guessed() -> None:
    judge = live.LiveJudge()
    auth = [(b"authorization", b"Basic eA=="), (b"content-type", b"application/json")]
    answer = [(b"content-type", b"application/json")]
    base = "http://service/v1/entitlement"

    def suspend(entitlement_id: str) -> bytes:
        return json.dumps(
            {
                "entitlementId": entitlement_id,
                "entitlementBenefits": "SUSPENDED",
                "reasonCategory": "ACTIVATION_ROLLBACK",
                "reasonCode": "CUSTOMER_PAYMENT_DEFAULT",
            }
        ).encode()

    def state_rule(method: str, url: str, sent: bytes, status: int, body: bytes) -> list[str]:
        found = judge.exchange(method, url, auth, sent, status, answer, body)
        return [v.rule for v in found if v.rule == STATE_RULE]

    for entitlement_id in ("a", "b"):
        judge.exchange(
            "GET",
            f"{base}/{entitlement_id}",
            auth,
            b"",
            200,
            answer,
            _record(entitlement_id, "ACTIVE"),
        )
        # 202 OK: the record is unchanged until the merchant confirms.
        waiting = _record(entitlement_id, "ACTIVE")
        assert state_rule("PATCH", base, suspend(entitlement_id), 202, waiting) == []
    # The merchant may have confirmed the suspend meanwhile, and a revoke is allowed from
    # SUSPENDED too: whether the 202 still waited is unknown, so nothing is reported.
    revoke = b'{"cancelReasonCategory": "REVOKED", "cancelReasonCode": "OTHER"}'
    assert state_rule("POST", f"{base}/revoke/a", revoke, 200, _record("a", "REVOKED")) == []
    # A second suspend accepted is possible only from ACTIVE, so the first still waited.
    assert state_rule("PATCH", base, suspend("b"), 200, _record("b", "SUSPENDED")) == [STATE_RULE]


class _SlowUpstream(ThreadingHTTPServer):
    """Answers every request with a body of `size` bytes sent in two halves; for a path ending
    in /big the second half goes only once `release` is set, so a proxy that buffered whole
    answers would hold the first half back. Records the request bodies it received."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.release = threading.Event()
        self.received: list[bytes] = []
        super().__init__(("127.0.0.1", 0), _SlowHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _SlowUpstream

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.server.received.append(self.rfile.read(length))
        half = b"x" * (self.server.size // 2)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(2 * len(half)))
        self.end_headers()
        self.wfile.write(half)
        self.wfile.flush()
        if self.path.endswith("/big") and not self.server.release.wait(10):
            self.close_connection = True  # never released: the answer stays incomplete
            return
        self.wfile.write(half)
        self.wfile.flush()

    do_GET = do_POST = _answer


def test_bodies_stream_through_and_past_the_limit_are_reported_not_judged(
    tmp_path: Path,
) -> None:
    limit = default_judged_bytes()
    upstream = _SlowUpstream(4 * limit)
    thread = threading.Thread(target=upstream.serve_forever, daemon=True)
    thread.start()
    try:
        with proxy_process(upstream.url, tmp_path) as (url, process):
            with httpx.Client(timeout=10) as client:
                with client.stream("GET", f"{url}/v1/entitlement/big", auth=DEMO_RESELLER) as r:
                    chunks = r.iter_raw()
                    first = next(chunks)
                    # The first half came while the upstream still holds the second back.
                    assert first and not upstream.release.is_set()
                    upstream.release.set()
                    rest = b"".join(chunks)
                assert len(first) + len(rest) == 4 * limit
                sent = b"y" * (2 * limit)
                answer = client.post(f"{url}/v1/entitlement", content=sent, auth=DEMO_RESELLER)
                assert answer.status_code == 200
            assert upstream.received[-1] == sent
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 1  # not judged is not passed
        report = json.loads((tmp_path / "report" / "proxy-report.json").read_text())
        not_judged = report["notJudgedPerOperation"]
        assert not_judged["createEntitlement"] == not_judged["getEntitlement"] == 1
        log = (tmp_path / "proxy.log").read_text()
        assert "NOT JUDGED operation=getEntitlement GET /v1/entitlement/big" in log
        assert "not_judged" in (tmp_path / "report" / "proxy-junit.xml").read_text()
    finally:
        upstream.release.set()
        upstream.shutdown()


def test_a_chunked_request_body_reaches_the_service_whole(tmp_path: Path) -> None:
    body = json.dumps(
        {"customerIdentifier": "chunked", "merchantAccountKey": "BANGO", "productKey": "BangoMusic"}
    ).encode()

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    with proxied(tmp_path) as proxy:
        created = httpx.post(
            proxy.url + "/v1/entitlement",
            content=pieces(),
            auth=DEMO_RESELLER,
            headers={**ACTIVATED, "Content-Type": "application/json"},
        )
        assert created.status_code == 200, created.text
        assert created.json()["customerIdentifier"] == "chunked"
        report = proxy.stop()
    assert report["exchanges"]["createEntitlement"] == 1
    assert report["violations"] == [] and report["notJudged"] == []


def test_an_upstream_that_does_not_answer_gets_a_502_of_its_own(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        nobody = f"http://127.0.0.1:{closed.getsockname()[1]}"
        with proxy_process(nobody, tmp_path) as (url, process):
            answer = httpx.get(f"{url}/v1/echo/x", auth=DEMO_RESELLER)
            assert answer.status_code == 502
            assert answer.json()["responseCode"] == "UPSTREAM_FAILED"
            process.send_signal(signal.SIGINT)  # Ctrl-C writes the reports too
            assert process.wait(timeout=20) == 0  # nothing was judged, nothing violated
    report = json.loads((tmp_path / "report" / "proxy-report.json").read_text())
    assert report["exchanges"]["(no answer from the upstream)"] == 1


# HTTP/1.1 details a proxy must keep.


class _Scripted(BaseHTTPRequestHandler):
    """Answers with the request's path as a JSON body; chunked for paths ending in /chunked,
    padded past what is judged for paths naming "large"."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        padding = "x" * 4 * default_judged_bytes() if "large" in self.path else ""
        body = json.dumps({"path": self.path, "padding": padding}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        if self.path.endswith("/chunked"):
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), 5):
                piece = body[start : start + 5]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        self.wfile.flush()

    do_GET = do_HEAD = _answer


@contextmanager
def _scripted_proxy(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """The proxy in front of `_Scripted`."""
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        with proxy_process(f"http://127.0.0.1:{upstream.server_address[1]}", tmp_path) as (
            url,
            process,
        ):
            yield int(url.rsplit(":", 1)[1]), process
    finally:
        upstream.shutdown()


def _read_until_closed(connection: socket.socket) -> bytes:
    received = []
    while piece := connection.recv(65536):
        received.append(piece)
    return b"".join(received)


def test_pipelined_requests_are_answered_in_order_and_close_is_honoured(tmp_path: Path) -> None:
    with _scripted_proxy(tmp_path) as (port, process):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(
                b"GET /v1/echo/first HTTP/1.1\r\nhost: x\r\n\r\n"
                b"GET /v1/echo/second HTTP/1.1\r\nhost: x\r\n\r\n"
                b"GET /v1/echo/third HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
            )
            received = _read_until_closed(connection)  # the proxy closes after the third
        answers = received.split(b"HTTP/1.1 ")[1:]
        assert [a.split(b"\r\n", 1)[0] for a in answers] == [b"200 OK"] * 3
        assert [json.loads(a.split(b"\r\n\r\n", 1)[1])["path"] for a in answers] == [
            "/v1/echo/first",
            "/v1/echo/second",
            "/v1/echo/third",
        ]
        assert b"connection: close" in answers[2].split(b"\r\n\r\n", 1)[0].lower()
        report = stop_and_report(tmp_path, process)
    assert report["exchanges"]["echo"] == 3


def test_a_chunked_answer_is_passed_on_whole_and_judged(tmp_path: Path) -> None:
    with _scripted_proxy(tmp_path) as (port, process):
        answer = httpx.get(f"http://127.0.0.1:{port}/v1/echo/chunked")
        assert answer.status_code == 200
        assert answer.json()["path"] == "/v1/echo/chunked"
        report = stop_and_report(tmp_path, process)
    assert report["exchanges"]["echo"] == 1 and report["notJudged"] == []


def test_head_has_no_body_and_the_connection_goes_on(tmp_path: Path) -> None:
    with _scripted_proxy(tmp_path) as (port, _), httpx.Client() as client:
        head = client.head(f"http://127.0.0.1:{port}/v1/echo/head")
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) > 0  # the length a GET would have
        after = client.get(f"http://127.0.0.1:{port}/v1/echo/after")
        assert after.json()["path"] == "/v1/echo/after"


def test_connections_go_on_after_a_large_answer(tmp_path: Path) -> None:
    # A large answer is streamed; the connections on both sides serve what comes next.
    with _scripted_proxy(tmp_path) as (port, process), httpx.Client(timeout=10) as client:
        for number in range(3):
            large = client.get(f"http://127.0.0.1:{port}/v1/echo/large-{number}")
            assert len(large.json()["padding"]) == 4 * default_judged_bytes()
            small = client.get(f"http://127.0.0.1:{port}/v1/echo/{number}")
            assert small.json()["path"] == f"/v1/echo/{number}"
        report = stop_and_report(tmp_path, process)
    assert report["exchanges"]["echo"] == 6
    assert report["notJudgedPerOperation"] == {"echo": 3}


def test_notifications_are_matched_to_the_reseller_they_are_owed_to() -> None:
    # Two resellers created the same entitlement id, both watched through the receiver.
    judge = live.LiveJudge(receiver_path=RECEIVER_PATH)
    answer = [(b"content-type", b"application/json")]
    receiver = f"http://proxy{RECEIVER_PATH}"

    def headers(user: str) -> list[tuple[bytes, bytes]]:
        token = base64.b64encode(f"{user}:secret".encode())
        return [(b"authorization", b"Basic " + token), (b"content-type", b"application/json")]

    def notify(status: str, kind: str, number: int) -> list[str]:
        body = {"entitlementId": "same", "status": status, "notificationType": kind}
        found = judge.notification(json.dumps({**body, "notificationId": f"n{number}"}).encode())
        return [v.rule for v in found]

    for user in ("one", "two"):
        sent = {**_CREATED, "entitlementId": "same", "notificationUrl": receiver}
        record = {**json.loads(_record("same", "ACTIVE")), **sent}
        created = judge.exchange(
            "POST",
            "http://service/v1/entitlement",
            headers(user),
            json.dumps(sent).encode(),
            200,
            answer,
            json.dumps(record).encode(),
        )
        assert created == [] or {v.rule for v in created} <= {live.SHAPE_RULE}
    revoke = b'{"cancelReasonCategory": "REVOKED", "cancelReasonCode": "OTHER"}'
    judge.exchange(
        "POST",
        "http://service/v1/entitlement/revoke/same",
        headers("one"),
        revoke,
        200,
        answer,
        _record("same", "REVOKED"),
    )
    assert judge.status_of("same", "one") == "REVOKED"
    assert judge.status_of("same", "two") == "ACTIVE"  # the other reseller's is its own
    # Each activation is owed to one of them, the termination to the first only.
    assert notify("ACTIVE", "ACTIVATION_SUCCESS", 1) == []
    assert notify("ACTIVE", "ACTIVATION_SUCCESS", 2) == []
    assert notify("REVOKED", "TERMINATION_SUCCESS", 3) == []
    # Owed to neither: which reseller's entitlement it is about cannot be told, so not judged.
    assert notify("SUSPENDED", "SUSPENSION_SUCCESS", 4) == []
    assert judge.not_judged_per_operation == {"(notification)": 1}
    assert judge.finish() == []  # nothing owed is left
