"""What `bango-resale` prints of the service's answers: `--json` as the API sent it, and text
that no value from the service can use to drive the terminal."""

from __future__ import annotations

import dataclasses
import datetime
import json
import threading
import unicodedata
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from client_helpers import run_cli as run

from bango_resale import ResaleClient
from bango_resale_sandbox.testing import SandboxThread

AUTH = ("demo", "demo-secret")


@pytest.fixture
def connection(sandbox: SandboxThread, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BANGO_RESALE_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("BANGO_RESALE_USERNAME", AUTH[0])
    monkeypatch.setenv("BANGO_RESALE_PASSWORD", AUTH[1])
    return sandbox.base_url


# --- --json: the API's values, as sent ---------------------------------------------------------


def test_json_output_keeps_the_answer_exactly_as_the_api_sent_it(
    connection: str, live: ResaleClient, customer: str
) -> None:
    eid = live.create(
        customer_identifier=customer,
        merchant_account_key="BANGO",
        product_key="BangoMusic",
        extension_data={"plan": "solo", "seats": 3, "ratio": 0.25, "tags": ["a", None]},
    ).entitlement.entitlement_id
    sent = httpx.get(f"{connection}/v1/entitlement/{eid}", auth=AUTH).json()
    assert sent["dateCreated"].endswith("Z")  # the sandbox's style, which isoformat() is not

    code, out, err = run("get", eid, "--json")
    assert code == 0, err
    printed = json.loads(out)
    assert {key: printed[key] for key in sent} == sent
    assert printed["httpStatus"] == 200 and printed["allowedOperations"]

    code, out, err = run("query", customer, "--json")
    listed = httpx.post(
        f"{connection}/v1/entitlement/report",
        json={"customerIdentifier": customer},
        auth=AUTH,
    ).json()["entitlements"]
    assert code == 0, err
    assert json.loads(out) == listed


def test_a_decoded_record_gives_back_the_api_date_strings(live: ResaleClient) -> None:
    result = live.create(
        customer_identifier="py-json-exact", merchant_account_key="BANGO", product_key="BangoMusic"
    )
    record = result.entitlement.to_json()
    sent = result.entitlement.sent
    assert sent is not None and record["dateCreated"] == sent["dateCreated"]
    assert {key: sent[key] for key in record} == record
    # A date changed since is written from its new value, not from what was sent.
    later = result.entitlement.date_created + datetime.timedelta(days=1)
    moved = dataclasses.replace(result.entitlement, date_created=later)
    assert moved.to_json()["dateCreated"] == later.isoformat()


# --- Text: nothing from the service reaches the terminal raw -------------------------------------

ATTACK = "\x1b[2J\x1b]0;PWNED\x07$ sudo rm -rf /\r"
BIDI = "\u202egnp.exe"
C1 = "\x9b31mred"


def unsafe_characters(text: str) -> list[str]:
    """Characters a terminal acts on or reorders by: C0 but the line ends, DEL, C1, bidi."""
    return [
        f"U+{ord(c):04X}"
        for c in text
        if (unicodedata.category(c) == "Cc" and c != "\n")
        or unicodedata.bidirectional(c)
        in {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
    ]


def test_the_check_sees_what_it_looks_for() -> None:
    assert unsafe_characters(ATTACK) == ["U+001B", "U+001B", "U+0007", "U+000D"]
    assert unsafe_characters(BIDI + C1 + "\x7f\t") == ["U+202E", "U+009B", "U+007F", "U+0009"]
    assert unsafe_characters("plain text, é, 日本, 👩‍👩‍👧\n") == []


def test_text_output_escapes_control_characters_the_sandbox_stored(
    connection: str, live: ResaleClient
) -> None:
    eid = live.create(
        customer_identifier=f"cli-{ATTACK}",
        merchant_account_key="BANGO",
        product_key="BangoMusic",
        offer_key=BIDI,
    ).entitlement.entitlement_id

    code, out, err = run("get", eid)
    assert code == 0, err
    assert unsafe_characters(out) == []
    assert "  customer  cli-\\x1b[2J\\x1b]0;PWNED\\x07$ sudo rm -rf /\\r\n" in out
    assert "(offer \\u202egnp.exe)" in out

    code, out, err = run("get", eid, "--json")
    assert json.loads(out)["customerIdentifier"] == f"cli-{ATTACK}"
    assert unsafe_characters(out) == []


class Hostile:
    """A service on loopback that answers each path with a canned JSON body."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, Any]] = {}

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0]
        status, body = next(
            (answer for prefix, answer in self.routes.items() if path.startswith(prefix)),
            (404, {"responseCode": "NOT_FOUND", "responseMessage": "no route"}),
        )
        content = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hostile]:
    service = Hostile()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            service.answer(self)

        do_POST = do_PATCH = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("BANGO_RESALE_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("BANGO_RESALE_USERNAME", AUTH[0])
    monkeypatch.setenv("BANGO_RESALE_PASSWORD", AUTH[1])
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def hostile_record() -> dict[str, Any]:
    return {
        "entitlementId": "ent-hostile\x1b[8m",  # the rest of the line hidden
        "status": f"ACTIVE{C1}",
        "dateCreated": "2026-12-06T00:37:21.456Z",
        "dateActivated": "2026-12-06T00:37:21.456Z",
        "dateEnded": "2027-01-01T00:00:00Z",
        "dateSuspended": None,
        "dateResumed": None,
        "dateLastUpdated": "2026-12-06T00:37:21.456Z",
        "dateExpiry": None,
        "customerIdentifier": ATTACK,
        "merchantAccountKey": f"BANGO{ATTACK}",
        "productKey": f"Music{BIDI}",
        "offerKey": ATTACK,
        "activationCode": f"code\x7f{ATTACK}",
        "entitlementDisplayName": ATTACK,
        "notificationUrl": f"https://receiver.example/\x1b]8;;https://evil.example\x07{BIDI}",
        "extensionData": {ATTACK: ATTACK},
    }


def test_every_value_from_the_service_is_escaped_in_text(hostile: Hostile) -> None:
    hostile.routes["/v1/entitlement/report"] = (
        200,
        {"responseCode": "OK", "responseMessage": ATTACK, "entitlements": [hostile_record()]},
    )
    hostile.routes["/v1/entitlement/ent-hostile"] = (
        202,
        {
            "responseCode": "CLIENT_ACTION_REQUIRED",
            "responseMessage": ATTACK,
            **hostile_record(),
            "parameters": {
                "action": "NAVIGATE_TO_URL",
                "url": f"https://merchant.example/{ATTACK}",
                "urlExpiry": "2026-12-06T01:37:21Z",
            },
        },
    )
    hostile.routes["/v1/echo/"] = (
        200,
        {"responseCode": f"OK{ATTACK}", "responseMessage": ATTACK, "echo": ATTACK},
    )
    hostile.routes["/v1/entitlement/revoke/"] = (
        409,
        {"responseCode": f"NOT_AVAILABLE{ATTACK}", "responseMessage": f"{ATTACK}{BIDI}{C1}"},
    )
    hostile.routes["/sandbox/notifications/feed"] = (
        200,
        {
            "entries": [
                {
                    "cursor": 1,
                    "queuedAt": ATTACK,
                    "rawBody": ATTACK,
                    "notification": {
                        "notificationId": ATTACK,
                        "notificationType": BIDI,
                        "entitlementId": C1,
                        "state": ATTACK,
                    },
                }
            ],
            "nextCursor": 1,
            "latestCursor": 1,
            "headers": {},
        },
    )

    commands = [
        ("get", "ent-hostile"),
        ("get", "ent-hostile", "--quiet"),
        ("query", "someone"),
        ("query", "someone", "--quiet"),
        ("echo",),
        ("revoke", "ent-hostile", "--reason", "17", "--no-retry"),
        ("listen", "--from-start", "--count", "1"),
    ]
    for command in commands:
        code, out, err = run(*command)
        assert code in (0, 1), (command, err)
        assert out or err, command
        assert unsafe_characters(out) == [], (command, out)
        assert unsafe_characters(err) == [], (command, err)
        assert "\\x1b" in out + err or "\\u202e" in out + err or "\\x9b" in out + err, command

        if "--quiet" in command:
            continue
        # --json: exact JSON, whose decoded strings are what the service sent.
        code, out, err = run(*command, "--json")
        assert unsafe_characters(out + err) == [], (command, out)
        documents = (
            [json.loads(line) for line in out.splitlines()]
            if "listen" in command
            else [json.loads(out)]
        )
        assert any(hostile in text for text in strings(documents) for hostile in (ATTACK, BIDI, C1))


def strings(value: Any) -> Iterator[str]:
    """Every string in a decoded JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
