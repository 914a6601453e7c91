"""The controls the console is built from, over real HTTP: platform events raised by name
(`raiseEvent`), an entitlement's timeline, the reseller's entitlements newest first, the
request log; each answer checked against the schema the sandbox spec gives it."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema_rs
import pytest

import bango_resale_spec as spec
from bango_resale_sandbox.config import default_config_text
from bango_resale_sandbox.testing import DEMO_RESELLER, SECOND_DEMO_RESELLER, SandboxThread

from support.api import Api
from support.receivers import NotificationSink

pytestmark = pytest.mark.integration


@cache
def _validator(schema: str) -> Any:
    # Plain dicts (the cached documents are read-only), and the partner spec for the sandbox
    # spec's references into it.
    sandbox = json.loads(json.dumps(spec.load_sandbox_spec()))
    partner = json.loads(json.dumps(spec.load_partner_spec()))

    def retrieve(uri: str) -> Any:
        assert uri.endswith("/bango-resale.openapi.yaml"), uri
        return partner

    return jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": sandbox["components"]},
        retriever=retrieve,
        base_uri="file:///spec/sandbox.openapi.yaml",
        validate_formats=True,
    )


def answer(response: httpx.Response, schema: str, status: int = 200) -> dict[str, Any]:
    """The JSON answer, checked to have `status` and to match the spec's `schema`."""
    assert response.status_code == status, response.text
    document: dict[str, Any] = response.json()
    errors = [e.message for e in _validator(schema).iter_errors(document)]
    assert not errors, (schema, errors, document)
    return document


@pytest.fixture
def demo(sandbox: SandboxThread) -> Iterator[Api]:
    client = Api(sandbox.base_url, DEMO_RESELLER)
    yield client
    client.close()


def fire(api: Api, entitlement_id: str, event: str, **body: Any) -> httpx.Response:
    return api.http.post(
        f"/sandbox/entitlements/{entitlement_id}/events/{event}", json=body or None
    )


def timeline(api: Api, entitlement_id: str) -> dict[str, Any]:
    response = api.http.get(f"/sandbox/entitlements/{entitlement_id}/timeline")
    return answer(response, "TimelineResponse")


def requests_of(api: Api, **params: Any) -> dict[str, Any]:
    return answer(api.http.get("/sandbox/requests", params=params), "RequestLogResponse")


# -- events -----------------------------------------------------------------------------------


def test_the_platform_events_the_statuses_allow_each_fire_their_row(
    demo: Api, customer: str, receiver: NotificationSink
) -> None:
    activated = demo.create_id(customer, notificationUrl=receiver.url)
    # From ACTIVE the machine allows the merchant's and the platform's own events; a
    # confirmation needs something to confirm.
    offered = {o["event"]: o for o in timeline(demo, activated)["events"]}
    assert set(offered) == {
        "MERCHANT_CONFIRMED",
        "EXPIRY_REACHED",
        "MERCHANT_CANCELLED",
        "MERCHANT_REVOKED",
        "MERCHANT_STATE_LOST",
    }
    assert not offered["MERCHANT_CONFIRMED"]["available"]
    assert offered["MERCHANT_CANCELLED"]["rows"] == ["merchant-cancelled"]

    done = answer(
        fire(
            demo,
            activated,
            "MERCHANT_REVOKED",
            reasonCategory="ACTIVATION_ROLLBACK",
            reasonCode="FRAUD",
        ),
        "EventRaisedResponse",
    )
    assert (done["event"], done["rows"]) == ("MERCHANT_REVOKED", ["merchant-revoked"])
    assert done["entitlement"]["status"] == "REVOKED"
    assert done["entitlement"]["extensionData"]["cancelReasonCode"] == "FRAUD"
    assert demo.notification_types(activated) == ["ACTIVATION_SUCCESS", "TERMINATION_SUCCESS"]

    lost = demo.create_id(f"{customer}-lost")
    assert answer(fire(demo, lost, "MERCHANT_STATE_LOST"), "EventRaisedResponse")["rows"] == [
        "merchant-state-lost"
    ]
    assert demo.status(lost) == "FAILED"

    expiring = demo.create_id(f"{customer}-exp", dateExpiry="2099-01-01T00:00:00Z")
    expired = answer(fire(demo, expiring, "EXPIRY_REACHED"), "EventRaisedResponse")
    assert expired["rows"] == ["expiry-reached"]
    record = expired["entitlement"]
    assert record["status"] == "CANCELLED"
    assert record["extensionData"]["cancelReasonCode"] == "EXPIRED"
    assert record["dateExpiry"] == "2099-01-01T00:00:00.000Z"  # kept: it happened early


def test_a_waiting_202_and_a_pending_activation_are_confirmed_by_their_events(
    demo: Api, customer: str
) -> None:
    pending = demo.create_id(customer, magic="CREATE_REQUEST_RETURNS_CREATED")
    offers = {o["event"]: o for o in timeline(demo, pending)["events"]}
    assert offers["ACTIVATION_COMPLETED"]["available"]
    assert timeline(demo, pending)["waitingFor"] == "activate"
    activated = answer(fire(demo, pending, "ACTIVATION_COMPLETED"), "EventRaisedResponse")
    assert (activated["rows"], activated["entitlement"]["status"]) == (
        ["activation-completed"],
        "ACTIVE",
    )

    # Where the customer must sign up, the event is the sign-up completed (the page's button).
    signing_up = demo.create_id(f"{customer}-sign-up", merchant="BANGO_US", product="MUSIC")
    assert timeline(demo, signing_up)["waitingFor"] is None
    signed_up = answer(fire(demo, signing_up, "ACTIVATION_COMPLETED"), "EventRaisedResponse")
    assert signed_up["entitlement"]["status"] == "ACTIVE"
    assert demo.notification_types(signing_up) == ["ACTIVATION_SUCCESS"]

    assert demo.cancel(pending, magic="CANCEL_REQUEST_RETURNS_ACCEPTED").status_code == 202
    view = timeline(demo, pending)
    assert view["waitingFor"] == "cancel"
    confirm = next(o for o in view["events"] if o["event"] == "MERCHANT_CONFIRMED")
    assert confirm["available"] and confirm["note"] == "confirms the waiting cancel"
    confirmed = answer(fire(demo, pending, "MERCHANT_CONFIRMED"), "EventRaisedResponse")
    assert confirmed["rows"] == ["cancel-confirmed-now"]
    assert demo.status(pending) == "CANCELLED"
    assert timeline(demo, pending)["waitingFor"] is None


def test_the_paid_period_can_end_before_its_time(demo: Api, customer: str) -> None:
    # MUSIC keeps access until the paid period ends after a cancel.
    ending = demo.create_id(
        customer, merchant="BANGO_US", product="MUSIC", magic="CREATE_REQUEST_RETURNS_ACTIVATED"
    )
    assert demo.cancel(ending).json()["status"] == "ACTIVE-ENDING"
    planned = demo.get(ending).json()["dateEnded"]
    ended = answer(fire(demo, ending, "PAID_PERIOD_ENDED"), "EventRaisedResponse")
    assert ended["rows"] == ["paid-period-ended"]
    assert ended["entitlement"]["status"] == "CANCELLED"
    assert ended["entitlement"]["dateEnded"] < planned  # now, not the planned end
    assert demo.notification_types(ending)[-1] == "TERMINATION_SUCCESS"


def test_an_event_the_status_does_not_allow_is_refused_naming_those_it_does(
    demo: Api, customer: str
) -> None:
    ended = demo.create_id(customer)
    assert fire(demo, ended, "MERCHANT_CANCELLED").status_code == 200
    refused = fire(demo, ended, "MERCHANT_REVOKED")
    assert refused.status_code == 409
    assert refused.json() == {
        "responseCode": "NOT_AVAILABLE",
        "responseMessage": "MERCHANT_REVOKED cannot happen to an entitlement that is CANCELLED;"
        " from CANCELLED the status machine allows: MERCHANT_CONFIRMED",
    }
    nothing = fire(demo, ended, "MERCHANT_CONFIRMED")
    assert nothing.status_code == 409
    assert "no operation is waiting for the merchant" in nothing.json()["responseMessage"]

    unknown = fire(demo, ended, "PAYMENT_FAILED")
    assert unknown.status_code == 400
    assert "MERCHANT_STATE_LOST" in unknown.json()["responseMessage"]  # names the events
    live = demo.create_id(f"{customer}-reason")
    misplaced = fire(
        demo, live, "MERCHANT_STATE_LOST", reasonCategory="REVOKED", reasonCode="OTHER"
    )
    assert misplaced.status_code == 400
    assert demo.status(live) == "ACTIVE"  # refused before anything changed
    assert fire(demo, "no-such-entitlement", "MERCHANT_CANCELLED").status_code == 404


def test_another_resellers_entitlement_is_not_found_by_any_console_control(
    sandbox: SandboxThread, demo: Api, customer: str
) -> None:
    theirs = demo.create_id(customer)
    with closing(Api(sandbox.base_url, SECOND_DEMO_RESELLER)) as other:
        assert fire(other, theirs, "MERCHANT_CANCELLED").status_code == 404
        assert other.http.get(f"/sandbox/entitlements/{theirs}/timeline").status_code == 404
        assert other.http.get(f"/sandbox/console/entitlements/{theirs}").status_code == 404
        listed = answer(other.http.get("/sandbox/entitlements"), "EntitlementPageResponse")
        assert theirs not in {e["entitlementId"] for e in listed["entitlements"]}
        # Their log holds their own refused attempt, none of the owner's requests.
        seen = requests_of(other, entitlementId=theirs)["requests"]
        assert [(e["operationId"], e["httpStatus"]) for e in seen] == [("raiseEvent", 404)]
    assert demo.status(theirs) == "ACTIVE"


# -- the timeline -------------------------------------------------------------------------------


def test_the_timeline_tells_requests_transitions_notifications_and_deliveries_in_order(
    demo: Api, customer: str
) -> None:
    with NotificationSink(fail_first=1) as flaky:
        entitlement_id = demo.create_id(customer, notificationUrl=flaky.url)
        flaky.wait_for(1)
        refused = demo.update(entitlement_id, entitlementBenefits="NORMAL")  # not SUSPENDED
        assert refused.status_code == 409
        demo.http.get(f"/v1/entitlement/{entitlement_id}", headers={"X-RequestIdentifier": "r-1"})
        view = timeline(demo, entitlement_id)
    kinds = [entry["kind"] for entry in view["timeline"]]
    assert kinds == ["request", "transition", "notification", "request", "request"]
    create, transition, notification, update, read = view["timeline"]
    assert (create["operationId"], create["httpStatus"], create["responseCode"]) == (
        "createEntitlement",
        200,
        "OK",
    )
    assert transition == {
        "kind": "transition",
        "at": transition["at"],
        "sandboxTime": transition["sandboxTime"],
        "row": "create-activated",
        "trigger": "createEntitlement",
        "description": spec.status_machine().row("create-activated").description,
        "from": None,
        "to": "ACTIVE",
    }
    assert notification["notificationType"] == "ACTIVATION_SUCCESS"
    first, second = notification["deliveries"]
    assert (first["httpStatus"], first["error"]) == (503, "HTTP 503")
    assert (second["httpStatus"], second["error"]) == (200, None)
    assert second["milliseconds"] >= 0 and notification["state"] == "delivered"
    # A refused update named the entitlement in its body only: it is on the timeline anyway.
    assert (update["operationId"], update["httpStatus"], update["responseCode"]) == (
        "updateEntitlement",
        409,
        "NOT_AVAILABLE",
    )
    assert "ACTIVE" in update["responseMessage"]
    assert (read["operationId"], read["requestIdentifier"]) == ("getEntitlement", "r-1")
    record = demo.get(entitlement_id).json()
    del record["responseCode"], record["responseMessage"]
    assert view["entitlement"] == record


def test_a_delivery_with_no_http_answer_keeps_no_time(
    demo: Api, customer: str, refusing_port: int
) -> None:
    nobody = f"http://127.0.0.1:{refusing_port}/hooks"
    entitlement_id = demo.create_id(customer, notificationUrl=nobody)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        (notification,) = [
            e for e in timeline(demo, entitlement_id)["timeline"] if e["kind"] == "notification"
        ]
        if notification["deliveries"]:
            break
        time.sleep(0.05)
    attempt = notification["deliveries"][0]
    assert attempt["httpStatus"] is None and attempt["milliseconds"] is None
    assert attempt["error"] == notification["lastError"]
    assert attempt["url"] == nobody


# -- the list of entitlements -----------------------------------------------------------------


def test_entitlements_are_listed_newest_first_by_status_and_customer(
    demo: Api, customer: str
) -> None:
    made = [demo.create_id(f"{customer}-{n}") for n in range(3)]
    fire(demo, made[1], "MERCHANT_CANCELLED")
    newest = answer(
        demo.http.get("/sandbox/entitlements", params={"limit": 2}), "EntitlementPageResponse"
    )
    assert [e["entitlementId"] for e in newest["entitlements"]] == [made[2], made[1]]
    older = answer(
        demo.http.get("/sandbox/entitlements", params={"limit": 2, "before": newest["nextCursor"]}),
        "EntitlementPageResponse",
    )
    assert older["entitlements"][0]["entitlementId"] == made[0]
    cancelled = answer(
        demo.http.get("/sandbox/entitlements", params={"status": "CANCELLED", "limit": 500}),
        "EntitlementPageResponse",
    )
    assert made[1] in {e["entitlementId"] for e in cancelled["entitlements"]}
    assert {e["status"] for e in cancelled["entitlements"]} == {"CANCELLED"}
    one = answer(
        demo.http.get("/sandbox/entitlements", params={"customerIdentifier": f"{customer}-2"}),
        "EntitlementPageResponse",
    )
    assert [e["entitlementId"] for e in one["entitlements"]] == [made[2]]
    assert one["nextCursor"] is None


# -- the request log ----------------------------------------------------------------------------


def test_the_request_log_keeps_what_each_request_got_newest_first(demo: Api, customer: str) -> None:
    entitlement_id = demo.create_id(customer)
    demo.get(entitlement_id)
    demo.http.get("/v1/entitlement/nobody-has-this")
    demo.http.post("/v1/entitlement", content=b"{}", headers={"Content-Type": "text/plain"})
    fire(demo, entitlement_id, "MERCHANT_CANCELLED")
    demo.http.get("/sandbox/clock")  # a read of the sandbox's own: not logged
    log = requests_of(demo, limit=5)["requests"]
    assert [(e["operationId"], e["httpStatus"]) for e in log[:4]] == [
        ("raiseEvent", 200),
        ("createEntitlement", 415),
        ("getEntitlement", 404),
        ("getEntitlement", 200),
    ]
    assert log[2]["responseMessage"] == "No entitlement nobody-has-this"
    assert log[3]["responseMessage"] is None  # only refusals keep theirs
    assert log[4]["entitlementId"] == entitlement_id  # a create, from its answer
    cursors = [e["cursor"] for e in log]
    assert cursors == sorted(cursors, reverse=True)

    mine = requests_of(demo, entitlementId=entitlement_id)["requests"]
    assert [e["operationId"] for e in mine] == ["raiseEvent", "getEntitlement", "createEntitlement"]
    refusals = requests_of(demo, status="4xx", limit=1000)["requests"]
    assert {e["httpStatus"] // 100 for e in refusals} == {4}
    not_found = requests_of(demo, status="404", operationId="getEntitlement", limit=1000)
    assert {(e["operationId"], e["httpStatus"]) for e in not_found["requests"]} == {
        ("getEntitlement", 404)
    }


def test_the_request_log_can_be_followed_and_paged(demo: Api, customer: str) -> None:
    start = requests_of(demo, limit=1)["latestCursor"]
    made = [demo.create_id(f"{customer}-{n}") for n in range(5)]
    followed = requests_of(demo, after=start, limit=3)
    assert [e["entitlementId"] for e in followed["requests"]] == made[:3]  # oldest first
    rest = requests_of(demo, after=followed["nextCursor"], limit=100)
    assert [e["entitlementId"] for e in rest["requests"]] == made[3:]
    assert requests_of(demo, after=rest["nextCursor"])["requests"] == []
    assert rest["latestCursor"] == rest["nextCursor"]

    newest = requests_of(demo, limit=2)
    older = requests_of(demo, limit=3, before=newest["nextCursor"])
    assert [e["entitlementId"] for e in newest["requests"] + older["requests"]] == made[::-1]
    # Both cursors: the entries between them, oldest first (a schema-valid query is served;
    # refusing it was a contract failure the suite found).
    between = requests_of(demo, after=start, before=older["requests"][0]["cursor"], limit=100)
    assert [e["entitlementId"] for e in between["requests"]] == made[:2]


@pytest.fixture
def small_log(tmp_path: Path) -> Callable[[int], Path]:
    def config(size: int) -> Path:
        path = tmp_path / f"log-{size}.toml"
        text = default_config_text()
        assert "request_log_size = 10000" in text
        path.write_text(text.replace("request_log_size = 10000", f"request_log_size = {size}"))
        return path

    return config


def test_each_resellers_log_keeps_its_newest_entries(
    in_process_sandbox: Callable[..., SandboxThread], small_log: Callable[[int], Path]
) -> None:
    server = in_process_sandbox(config=small_log(50))
    demo = Api(server.base_url, DEMO_RESELLER)
    other = Api(server.base_url, SECOND_DEMO_RESELLER)
    with closing(demo), closing(other):
        other.http.get("/v1/entitlement/theirs")
        for batch in range(12):
            for n in range(10):
                demo.http.get(f"/v1/entitlement/e-{batch}-{n}")
            requests_of(demo, limit=1)  # reading writes what waits: one batch of ten
        kept = requests_of(demo, limit=1000)["requests"]
        # The newest 50, and the rest of the batch that holds the oldest of them.
        assert 50 <= len(kept) < 60
        assert kept[0]["path"] == "/v1/entitlement/e-11-9"
        assert kept[49]["path"] == "/v1/entitlement/e-7-0"
        # Another reseller's log is its own, pruned on its own.
        assert [e["path"] for e in requests_of(other)["requests"]] == ["/v1/entitlement/theirs"]


def test_a_sandbox_can_keep_no_request_log(
    in_process_sandbox: Callable[..., SandboxThread], small_log: Callable[[int], Path]
) -> None:
    server = in_process_sandbox(config=small_log(0))
    with closing(Api(server.base_url, DEMO_RESELLER)) as demo:
        entitlement_id = demo.create_id("no-log")
        log = requests_of(demo)
        assert (log["requests"], log["latestCursor"], log["nextCursor"]) == ([], 0, None)
        kinds = {e["kind"] for e in timeline(demo, entitlement_id)["timeline"]}
        assert kinds == {"transition", "notification"}
        page = demo.http.get("/sandbox/console/requests")
        assert "request log is switched off" in page.text


def test_the_consoles_writes_are_refused_from_another_origin(
    sandbox: SandboxThread, demo: Api, customer: str
) -> None:
    """A page of another site, or of another port or scheme of this very host, cannot press the
    console's buttons for a browser that holds the reseller's credentials."""
    entitlement_id = demo.create_id(customer)
    (notification,) = [
        e for e in timeline(demo, entitlement_id)["timeline"] if e["kind"] == "notification"
    ]
    offset = demo.http.get("/sandbox/clock").json()["offsetSeconds"]
    port = urlsplit(sandbox.base_url).port
    assert port is not None
    writes = {
        f"/sandbox/entitlements/{entitlement_id}/events/MERCHANT_REVOKED": None,
        f"/sandbox/notifications/{notification['notificationId']}/redeliver": None,
        "/sandbox/clock/advance": {"seconds": 86400},
    }
    origins = (
        f"http://127.0.0.1:{port + 1}",
        f"http://localhost:{port + 1}",
        f"https://127.0.0.1:{port}",
        "http://evil.example",
        "null",
    )
    for origin in origins:
        for path, body in writes.items():
            refused = demo.http.post(path, json=body, headers={"Origin": origin})
            assert refused.status_code == 403, (origin, path, refused.text)
            assert refused.json()["responseCode"] == "UNAUTHORIZED"
    after = timeline(demo, entitlement_id)
    assert after["entitlement"]["status"] == "ACTIVE"
    assert [e for e in after["timeline"] if e["kind"] == "notification"] == [notification]
    assert demo.http.get("/sandbox/clock").json()["offsetSeconds"] == offset
    # The console's own page (the address the sandbox answers on) may.
    own = demo.http.post(
        f"/sandbox/entitlements/{entitlement_id}/events/MERCHANT_REVOKED",
        headers={"Origin": sandbox.base_url},
    )
    assert own.status_code == 200, own.text


def test_every_console_answer_carries_a_policy_that_keeps_it_to_the_sandbox(
    demo: Api, customer: str
) -> None:
    entitlement_id = demo.create_id(customer)
    paths = (
        "/sandbox/console/",
        f"/sandbox/console/entitlements/{entitlement_id}",
        "/sandbox/console/entitlements/no-such-one",
        "/sandbox/console/requests",
        "/sandbox/console/assets/console.js",
        "/sandbox/console/assets/console.css",
        "/sandbox/console/assets/icon.svg",
        "/sandbox/console/status-machine.svg?mark=ACTIVE",
        "/sandbox/console/moves.svg?from=ACTIVE",
    )
    for path in paths:
        response = demo.http.get(path)
        assert response.status_code == (404 if "no-such-one" in path else 200), path
        header = response.headers["content-security-policy"]
        policy = dict(part.strip().split(" ", 1) for part in header.split(";"))
        assert policy["default-src"] == "'none'", (path, header)
        for directive in ("script-src", "style-src", "img-src", "connect-src", "form-action"):
            assert policy[directive] == "'self'", (path, directive, header)
        assert policy["frame-ancestors"] == "'none'" and "unsafe" not in header, (path, header)
        assert response.headers["x-content-type-options"] == "nosniff", path
        if response.headers["content-type"].startswith("text/html"):
            # Every address a page names is a path on the sandbox itself, and no script is inline.
            addresses = re.findall(r'(?:src|href|action)="([^"]*)"', response.text)
            assert addresses and all(
                a.startswith("/") and not a.startswith("//") for a in addresses
            ), (path, addresses)
            assert re.findall(r"<script(?![^>]*\bsrc=)", response.text) == [], path
            assert response.headers["referrer-policy"] == "no-referrer", path


def test_a_drawing_without_its_status_is_a_bad_request(demo: Api) -> None:
    # `from` is required: without it, a 400 that names it (it was a KeyError, answered 500).
    missing = demo.http.get("/sandbox/console/moves.svg")
    assert missing.status_code == 400, missing.text
    assert missing.json()["responseCode"] == "BAD_REQUEST"
    assert missing.json()["responseMessage"].startswith("from: ")
    assert demo.http.get("/sandbox/console/moves.svg", params={"from": "ACTIVE"}).status_code == 200
