"""No caller can lock out, starve or trick another, tried over real HTTP against a sandbox in its
own process with a real database file: password guessing aimed at another reseller's user name,
idle connections held from one address, requests the sandbox cannot serve, writes from another
site's page, and notification targets aimed at the sandbox's own or other local ports."""

from __future__ import annotations

import base64
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from bango_resale_sandbox.config import default_config_text
from bango_resale_sandbox.testing import DEMO_RESELLER, SandboxProcess, SandboxThread

from support.api import REASON, Api, check_conforms
from support.receivers import NotificationSink

pytestmark = pytest.mark.integration


def connect_from(source: str, port: int) -> socket.socket:
    """A connection to the sandbox from the loopback address `source` (127.0.0.0/8 is all ours)."""
    conn = socket.socket()
    conn.settimeout(5)
    conn.bind((source, 0))
    conn.connect(("127.0.0.1", port))
    return conn


def client_from(source: str, server: SandboxProcess, auth: tuple[str, str]) -> httpx.Client:
    """An HTTP client of the sandbox whose connections come from the loopback address `source`."""
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=server.base_url, auth=auth, transport=transport, timeout=10)


def config_file(folder: Path, **failed_logins: float) -> Path:
    """The packaged configuration with its [failed_logins] table replaced by `failed_logins`."""
    text = default_config_text()
    start = text.index("[failed_logins]")
    end = text.index("\n[", start + 1)
    table = "".join(f"{key} = {value}\n" for key, value in failed_logins.items())
    path = folder / "config.toml"
    path.write_text(f"{text[:start]}[failed_logins]\n{table}{text[end:]}")
    return path


def raw_exchange(port: int, data: bytes) -> tuple[int, bytes, bytes]:
    """Send `data` on a new connection, read until the server closes: (status, head, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(data)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), head, body


# -- failed logins: a guesser can never lock another caller out -------------------------------

WRONG = (DEMO_RESELLER[0], "not-the-password")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new database of each kind: a SQLite file, or a schema on the session's PostgreSQL."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres").url(f"t_{uuid.uuid4().hex[:16]}"))
    return str(tmp_path / "sandbox.sqlite3")


def test_guesses_from_one_address_never_lock_the_user_out_from_another(
    database: str, tmp_path: Path
) -> None:
    with SandboxProcess(database, log_path=tmp_path / "s.log") as server:
        with client_from("127.0.0.2", server, WRONG) as guesser:
            statuses = [guesser.get(f"/v1/echo/g{i}").status_code for i in range(25)]
            assert statuses == [401] * 20 + [429] * 5
            # The guesser's own address learns nothing, not even from the right password.
            right = guesser.get("/v1/echo/right", auth=DEMO_RESELLER)
            assert right.status_code == 429
            assert int(right.headers["retry-after"]) >= 1
        # The reseller, from its own address (its first login there), is checked as usual.
        with client_from("127.0.0.1", server, DEMO_RESELLER) as reseller:
            assert [reseller.get(f"/v1/echo/r{i}").status_code for i in range(5)] == [200] * 5


@pytest.mark.slow
def test_a_flood_of_other_user_names_does_not_give_a_guesser_fresh_guesses(
    database: str, tmp_path: Path
) -> None:
    # One token per 1000 s for a pair: the guesser stays refused for the whole test.
    config = config_file(
        tmp_path,
        per_source_burst=20,
        per_source_per_second=1.0,
        per_source_user_burst=20,
        per_source_user_per_second=0.001,
        per_user_burst=100,
        per_user_per_second=0.1,
    )
    with SandboxProcess(database, config=config, log_path=tmp_path / "s.log") as server:
        with client_from("127.0.0.2", server, WRONG) as guesser:
            assert {guesser.get(f"/v1/echo/g{i}").status_code for i in range(20)} == {401}
            assert guesser.get("/v1/echo/g").status_code == 429
        # 10,000 failed logins, each for a name of its own, from 500 other addresses (20 each,
        # within each address's allowance), past every bounded table of buckets.
        floods = []
        for a in range(500):
            conn = connect_from(f"127.0.{1 + a // 250}.{1 + a % 250}", server.port)
            conn.settimeout(60)
            floods.append(conn)
            requests = b"".join(
                b"GET /v1/echo/f HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n%s\r\n"
                % (
                    base64.b64encode(f"name-{a}-{i}:x".encode()),
                    b"Connection: close\r\n" if i == 19 else b"",
                )
                for i in range(20)
            )
            conn.sendall(requests)
        statuses = []
        for conn in floods:
            answers = b""
            while chunk := conn.recv(65536):
                answers += chunk
            conn.close()
            statuses += [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", answers)]
        assert statuses == [401] * 10_000
        time.sleep(1.5)  # the guesser's address has a token again (one a second)
        with client_from("127.0.0.2", server, DEMO_RESELLER) as guesser:
            assert guesser.get("/v1/echo/after").status_code == 429
        with client_from("127.0.0.1", server, DEMO_RESELLER) as reseller:
            assert reseller.get("/v1/echo/owner").status_code == 200


def test_many_addresses_guessing_one_user_stop_new_addresses_but_not_its_known_one(
    database: str, tmp_path: Path
) -> None:
    config = config_file(tmp_path, per_user_burst=5, per_user_per_second=0.001)
    with (
        SandboxProcess(database, config=config, log_path=tmp_path / "s.log") as server,
        client_from("127.0.0.1", server, DEMO_RESELLER) as reseller,
    ):
        assert reseller.get("/v1/echo/before").status_code == 200
        for i in range(5):  # one guess from each of five addresses spends the user's five
            with client_from(f"127.0.3.{i + 1}", server, WRONG) as guesser:
                assert guesser.get("/v1/echo/g").status_code == 401
        with client_from("127.0.4.1", server, DEMO_RESELLER) as newcomer:
            assert newcomer.get("/v1/echo/new").status_code == 429
        assert reseller.get("/v1/echo/after").status_code == 200
        with client_from("127.0.0.1", server, DEMO_RESELLER) as again:  # a new connection
            assert again.get("/v1/echo/again").status_code == 200


# -- connections: one source's idle connections never starve another's requests -----------


@pytest.fixture
def held() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.mark.parametrize("sources", [1, 4], ids=["one-source", "four-sources"])
@pytest.mark.parametrize("kind", ["idle-after-a-request", "half-sent-head"])
def test_a_thousand_held_connections_do_not_stop_another_sources_requests(
    sandbox_server: Callable[..., SandboxProcess], held: ExitStack, sources: int, kind: str
) -> None:
    server = sandbox_server()
    # The default cap is 1000 connections: fill it from 127.0.0.2 (and .3, .4, .5).
    attackers = [
        held.enter_context(connect_from(f"127.0.0.{2 + i % sources}", server.port))
        for i in range(1000)
    ]
    for conn in attackers:
        if kind == "half-sent-head":
            conn.sendall(b"GET /sandbox/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        else:
            conn.sendall(b"GET /sandbox/health HTTP/1.1\r\nHost: x\r\n\r\n")
    # Each of the reseller's requests on a new connection of its own, from 127.0.0.1.
    statuses = []
    for i in range(20):
        answer = httpx.get(f"{server.base_url}/v1/echo/e{i}", auth=DEMO_RESELLER, timeout=5)
        statuses.append(answer.status_code)
    assert statuses == [200] * 20
    # And one connection that stays, authenticated, through another burst.
    with httpx.Client(base_url=server.base_url, auth=DEMO_RESELLER, timeout=5) as client:
        assert client.get("/v1/echo/first").status_code == 200
        more = [held.enter_context(connect_from("127.0.0.2", server.port)) for _ in range(1000)]
        assert more
        assert client.get("/v1/echo/second").status_code == 200


# -- requests the sandbox cannot serve get a JSON 4xx ---------------------------------------

UPGRADE = b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
UPGRADE += b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"


@pytest.fixture(scope="module")
def one_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxProcess]:
    with SandboxProcess(tmp_path_factory.mktemp("db") / "sandbox.sqlite3") as server:
        yield server


@pytest.mark.parametrize(
    ("request_bytes", "status", "message"),
    [
        (b"GET /v1/entitlement/x HTTP/1.1\r\nHost: x\r\n" + UPGRADE + b"\r\n", 400, "upgrade"),
        (b"GET /sandbox/health HTTP/1.1\r\nHost: x\r\n" + UPGRADE + b"\r\n", 400, "upgrade"),
        (b"GET /no/such/path HTTP/1.1\r\nHost: x\r\n" + UPGRADE + b"\r\n", 400, "upgrade"),
        (
            b"POST /v1/entitlement HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings"
            b"\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n",
            400,
            "upgrade",
        ),
        (b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n", 400, "upgrade"),
        (b"FROB /v1/echo/x HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed request"),
        (
            b"GET /v1/echo/x HTTP/1.1\r\nHost: x\r\nExpect: coffee\r\nConnection: close\r\n\r\n",
            417,
            "Expect",
        ),
        (
            b"POST /v1/entitlement HTTP/1.1\r\nHost: x\r\nExpect: 100-continue, tea\r\n"
            b"Content-Length: 2\r\nConnection: close\r\n\r\n{}",
            417,
            "Expect",
        ),
    ],
    ids=[
        "websocket-partner-path",
        "websocket-health",
        "websocket-unknown-path",
        "h2c",
        "connect",
        "unknown-method",
        "expect-other",
        "expect-list",
    ],
)
def test_requests_the_sandbox_cannot_serve_get_a_json_4xx(
    one_sandbox: SandboxProcess, request_bytes: bytes, status: int, message: str
) -> None:
    got, head, body = raw_exchange(one_sandbox.port, request_bytes)
    assert got == status, (head, body)
    assert b"content-type: application/json" in head.lower()
    envelope = httpx.Response(status, content=body).json()
    assert envelope["responseCode"] == "BAD_REQUEST"
    assert message in envelope["responseMessage"]
    assert "Traceback" not in one_sandbox.log_path.read_text()


def test_expect_100_continue_still_works(one_sandbox: SandboxProcess) -> None:
    body = b'{"customerIdentifier":"c-100","merchantAccountKey":"BANGO","productKey":"BangoMusic"}'
    head = (
        b"POST /v1/entitlement HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ZGVtbzpkZW1vLXNlY3JldA=="
        b"\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    with socket.create_connection(("127.0.0.1", one_sandbox.port), timeout=5) as conn:
        conn.sendall(head)
        assert conn.recv(65536).startswith(b"HTTP/1.1 100 ")
        conn.sendall(body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]


# -- writes from another site's page --------------------------------------------------------

CREATE = b'{"customerIdentifier":"%s","merchantAccountKey":"BANGO","productKey":"BangoMusic"}'


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data"],
)
def test_a_body_not_sent_as_json_is_refused_with_415(
    one_sandbox: SandboxProcess, content_type: str | None
) -> None:
    customer = f"c-{uuid.uuid4().hex[:8]}"
    headers = {} if content_type is None else {"Content-Type": content_type}
    with httpx.Client(base_url=one_sandbox.base_url, auth=DEMO_RESELLER, timeout=10) as client:
        created = client.post(
            "/v1/entitlement", content=CREATE % customer.encode(), headers=headers
        )
        assert created.status_code == 415, created.text
        check_conforms(created, "createEntitlement")
        assert created.json()["responseMessage"].startswith("Content-Type: ")
        report = client.post("/v1/entitlement/report", json={"customerIdentifier": customer})
        assert report.json()["entitlements"] == []  # nothing was created
        advance = client.post("/sandbox/clock/advance", content=b'{"seconds":1}', headers=headers)
        assert advance.status_code == 415


def test_json_with_parameters_and_bodyless_writes_are_accepted(one_sandbox: SandboxProcess) -> None:
    customer = f"c-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=one_sandbox.base_url, auth=DEMO_RESELLER, timeout=10) as client:
        created = client.post(
            "/v1/entitlement",
            content=CREATE % customer.encode(),
            headers={"Content-Type": "Application/JSON; charset=utf-8"},
        )
        assert created.status_code == 200, created.text
        entitlement = created.json()["entitlementId"]
        cancelled = client.post(f"/v1/entitlement/cancel/{entitlement}", json=REASON)
        assert cancelled.status_code == 200, cancelled.text
        # Bango's own reactivate sample sends neither a body nor a content type.
        reactivated = client.post(f"/v1/entitlement/reactivate/{entitlement}")
        assert reactivated.status_code == 200, reactivated.text
        empty = client.post(f"/v1/entitlement/reactivate/{entitlement}", content=b"")
        assert empty.status_code == 409, empty.text  # ALREADY_EXISTS: no 415 for no body


def test_a_write_from_another_origin_is_refused_and_changes_nothing(
    one_sandbox: SandboxProcess,
) -> None:
    """What a page on another port sends with `fetch(url, {method: 'POST', mode: 'no-cors',
    credentials: 'include', body})` once the browser holds the reseller's Basic credentials."""
    port = one_sandbox.port
    with httpx.Client(base_url=one_sandbox.base_url, auth=DEMO_RESELLER, timeout=10) as client:
        entitlement = client.post(
            "/v1/entitlement", json={**json_create(), "customerIdentifier": "victim"}
        ).json()["entitlementId"]
        for origin in (f"http://127.0.0.1:{port + 1}", "http://evil.example", "null"):
            revoked = client.post(
                f"/v1/entitlement/revoke/{entitlement}",
                content=b'{"cancelReasonCategory":"REVOKED","cancelReasonCode":"OTHER"}',
                headers={"Origin": origin, "Content-Type": "text/plain;charset=UTF-8"},
            )
            assert revoked.status_code == 403, revoked.text
            assert check_conforms(revoked, "revokeEntitlement")["responseCode"] == "UNAUTHORIZED"
            reactivated = client.post(
                f"/v1/entitlement/reactivate/{entitlement}", headers={"Origin": origin}
            )
            assert reactivated.status_code == 403
            reset = client.post("/sandbox/reset", headers={"Origin": origin})
            assert reset.status_code == 403
            # Reads are not writes: a page may not read the answer anyway.
            assert (
                client.get(f"/v1/entitlement/{entitlement}", headers={"Origin": origin}).json()[
                    "status"
                ]
                == "ACTIVE"
            )
        # The sandbox's own pages, and clients that send no Origin, write as before.
        for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}", None):
            headers = {} if origin is None else {"Origin": origin}
            created = client.post(
                "/v1/entitlement",
                json={**json_create(), "customerIdentifier": f"own-{origin}"},
                headers=headers,
            )
            assert created.status_code == 200, (origin, created.text)


def test_a_configured_origin_may_write(tmp_path: Path) -> None:
    text = default_config_text().replace(
        "trusted_origins = []", 'trusted_origins = ["http://127.0.0.1:8001"]'
    )
    config = tmp_path / "config.toml"
    config.write_text(text)
    with (
        SandboxProcess(tmp_path / "s.sqlite3", config=config) as server,
        httpx.Client(base_url=server.base_url, auth=DEMO_RESELLER, timeout=10) as client,
    ):
        for origin, status in (("http://127.0.0.1:8001", 200), ("http://127.0.0.1:8002", 403)):
            created = client.post("/v1/entitlement", json=json_create(), headers={"Origin": origin})
            assert created.status_code == status, created.text


def json_create() -> dict[str, str]:
    return {
        "customerIdentifier": f"c-{uuid.uuid4().hex[:8]}",
        "merchantAccountKey": "BANGO",
        "productKey": "BangoMusic",
    }


# -- notification targets ----------------------------------------------------------------------


def notification_rows(server: SandboxProcess | SandboxThread, url: str) -> list[dict[str, Any]]:
    """Create an entitlement notifying `url`, and return its outbox rows once an attempt was
    made (or the row was blocked)."""
    api = Api(server.base_url, DEMO_RESELLER)
    try:
        entitlement = api.create_id(f"c-{uuid.uuid4().hex[:8]}", notificationUrl=url)
        deadline = time.monotonic() + 15
        while True:
            rows = api.notifications(entitlement)
            if rows[0]["state"] != "pending" or rows[0]["lastError"] is not None:
                return rows
            assert time.monotonic() < deadline, rows
            time.sleep(0.05)
    finally:
        api.close()


def test_notifications_never_go_to_the_sandboxs_own_port(
    sandbox_server: Callable[..., SandboxProcess],
    in_process_sandbox: Callable[..., SandboxThread],
) -> None:
    for server in (sandbox_server(), in_process_sandbox()):
        for host in ("127.0.0.1", "localhost", "[::1]"):
            url = f"http://{host}:{server.port}/sandbox/reset"
            [row] = notification_rows(server, url)
            assert (row["state"], row["attempts"]) == ("blocked", 0), (url, row)
        # Any other loopback port is still allowed by default.
        with NotificationSink() as receiver:
            [row] = notification_rows(server, receiver.url)
            assert row["state"] == "delivered"


def test_the_allow_list_names_hosts_and_ports(tmp_path: Path) -> None:
    with NotificationSink() as receiver, NotificationSink() as other:
        receiver_port = int(receiver.url.split(":")[2].split("/")[0])
        text = default_config_text().replace(
            'allowed_hosts = ["127.0.0.1", "localhost", "::1"]',
            f'allowed_hosts = ["127.0.0.1:{receiver_port}", "localhost"]',
        )
        config = tmp_path / "config.toml"
        config.write_text(text)
        with SandboxProcess(tmp_path / "s.sqlite3", config=config) as server:
            [row] = notification_rows(server, receiver.url)
            assert row["state"] == "delivered"
            [row] = notification_rows(server, other.url)
            assert (row["state"], row["attempts"]) == ("blocked", 0)
            # "localhost" allows every port of it, but never the sandbox's own.
            [row] = notification_rows(server, other.url.replace("127.0.0.1", "localhost"))
            assert row["state"] == "delivered"
            [row] = notification_rows(server, f"http://localhost:{server.port}/x")
            assert row["state"] == "blocked"


def test_last_error_does_not_tell_which_local_ports_are_open(
    sandbox_server: Callable[..., SandboxProcess],
) -> None:
    server = sandbox_server()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    silent = socket.socket()  # listens, accepts, and closes without a word of HTTP
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    stop = threading.Event()

    def hang_up() -> None:
        silent.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = silent.accept()
            except TimeoutError:
                continue
            conn.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        with NotificationSink(fail_first=1_000) as refusing:  # answers HTTP 503
            errors = {
                kind: notification_rows(server, url)[0]["lastError"]
                for kind, url in (
                    ("closed", f"http://127.0.0.1:{closed_port}/hook"),
                    ("not-http", f"http://127.0.0.1:{silent.getsockname()[1]}/hook"),
                    ("http", refusing.url),
                )
            }
    finally:
        stop.set()
        thread.join(timeout=5)
        silent.close()
    assert errors["closed"] == errors["not-http"]
    assert "no HTTP answer" in errors["closed"]
    assert errors["http"] == "HTTP 503"
