"""What a hostile or careless caller can make the sandbox do, over real HTTP: deep and
growing JSON, oversized and slow request heads, probing another reseller's ids, a forged
`Host`, credentials in `notificationUrl`, long notification listings, password guessing and an
unusable database."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bango_resale_sandbox.config import default_config_text
from bango_resale_sandbox.testing import SandboxThread

from support.api import REASON, Api, check_conforms

pytestmark = pytest.mark.integration

CLIENT_ACTION = "CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED"
JSON_TYPE = {"Content-Type": "application/json"}
# Seconds a socket waits for the server before the test calls it a hang (not a slow machine).
HANG_SECONDS = 60


def nested(depth: int) -> Any:
    """A JSON value `depth` levels deep: {"a": {"a": ... 1}}."""
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def write_config(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    text = default_config_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


# -- 1. deep JSON -------------------------------------------------------------------------


DEEP = "@deep@"


def with_deep(body: dict[str, Any], depth: int) -> str:
    """`body` as JSON text with the value DEEP replaced by `nested(depth)` (JSON encoders
    give up long before 1,000 levels, so the deep part is spliced in as text)."""
    return json.dumps(body).replace(f'"{DEEP}"', '{"a":' * depth + "1" + "}" * depth)


@pytest.mark.parametrize("depth", [16, 251, 300, 1000])
def test_deep_extension_data_is_refused_and_poisons_nothing(
    api: Api, customer: str, depth: int
) -> None:
    created = api.http.post(
        "/v1/entitlement",
        content=with_deep(
            {
                "customerIdentifier": customer,
                "merchantAccountKey": "BANGO",
                "productKey": "BangoMusic",
                "extensionData": {"x": DEEP},
            },
            depth,
        ),
        headers=JSON_TYPE,
    )
    assert created.status_code == 400, created.text
    assert created.json()["responseCode"] == "BAD_REQUEST"
    assert "body.extensionData.x" in created.json()["responseMessage"]
    entitlement_id = api.create_id(customer)
    patched = api.http.patch(
        "/v1/entitlement",
        content=with_deep({"entitlementId": entitlement_id, "extensionData": {"x": DEEP}}, depth),
        headers=JSON_TYPE,
    )
    assert patched.status_code == 400, patched.text
    assert "extensionData" in patched.json()["responseMessage"]
    # Nothing deep was stored: the customer's report and the notification list still work.
    report = api.query(customer)
    assert report.status_code == 200, report.text
    assert [e["extensionData"] for e in report.json()["entitlements"]] == [{}]
    assert api.http.get("/sandbox/notifications").status_code == 200


def test_nesting_up_to_the_documented_depth_is_accepted(api: Api, customer: str) -> None:
    # The body is level 1 and extensionData level 2: 14 more levels fit in 16.
    created = api.create(customer, extensionData={"x": nested(13)})
    assert created.status_code == 200, created.text
    body = check_conforms(created, "createEntitlement")
    assert body["extensionData"] == {"x": nested(13)}


def test_deep_bodies_of_other_operations_are_refused(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    deep = api.http.post(
        f"/v1/entitlement/cancel/{entitlement_id}",
        content=with_deep({**REASON, "custom": DEEP}, 600),
        headers=JSON_TYPE,
    )
    assert deep.status_code == 400
    assert "body.custom" in deep.json()["responseMessage"]
    report = api.http.post(
        "/v1/entitlement/report",
        content=with_deep({"customerIdentifier": customer, "x": DEEP}, 900),
        headers=JSON_TYPE,
    )
    assert report.status_code == 400
    assert api.status(entitlement_id) == "ACTIVE"


# -- 4. extensionData growth ----------------------------------------------------------------


def test_extension_data_cannot_grow_past_its_limit_through_merges(api: Api, customer: str) -> None:
    entitlement_id = api.create_id(customer)
    statuses = [
        api.update(entitlement_id, extensionData={f"k{i}": "v" * 3000}).status_code
        for i in range(10)
    ]
    assert statuses[:5] == [200] * 5
    assert set(statuses[5:]) == {400}
    refused = api.update(entitlement_id, extensionData={"k99": "v" * 3000})
    assert "extensionData" in refused.json()["responseMessage"]
    record = api.get(entitlement_id).json()
    assert sorted(record["extensionData"]) == [f"k{i}" for i in range(5)]
    # Refused merges notified nothing; removing keys makes room again.
    assert api.notification_types(entitlement_id).count("METADATA_UPDATE") == 5
    freed = api.update(entitlement_id, extensionData={"k0": None, "k99": "v" * 3000})
    assert freed.status_code == 200, freed.text


def test_extension_data_property_count_is_bounded_on_create_update_and_cancel(
    api: Api, customer: str
) -> None:
    too_many = {f"p{i}": i for i in range(65)}
    assert api.create(customer, extensionData=too_many).status_code == 400
    entitlement_id = api.create_id(customer, extensionData={f"p{i}": i for i in range(60)})
    grown = api.update(entitlement_id, extensionData={f"q{i}": i for i in range(5)})
    assert grown.status_code == 400
    assert "64" in grown.json()["responseMessage"]
    # A cancel stores its reason in extensionData too: past the bound it is refused whole.
    cancelled = api.cancel(entitlement_id, **{f"c{i}": i for i in range(5)})
    assert cancelled.status_code == 400, cancelled.text
    assert api.status(entitlement_id) == "ACTIVE"
    assert api.cancel(entitlement_id).status_code == 200


# -- 3. request heads ---------------------------------------------------------------------


def raw_request(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(data)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def closed_by_server(conn: socket.socket) -> bool:
    """True when the server closed the connection without sending anything."""
    try:
        return conn.recv(1024) == b""
    except ConnectionResetError:
        return True


def test_oversized_request_head_gets_431_and_a_closed_connection(
    sandbox: SandboxThread,
) -> None:
    big = b"GET /sandbox/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 50_000 + b"\r\n\r\n"
    answer = raw_request(sandbox.port, big)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"larger than 16384 bytes" in answer
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(400))
    answer = raw_request(sandbox.port, b"GET /sandbox/health HTTP/1.1\r\n" + many + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")
    # A body, even one arriving in the same read as the head, is not counted as head.
    large = httpx.post(
        f"{sandbox.base_url}/v1/entitlement/report",
        auth=("demo", "demo-secret"),
        json={"customerIdentifier": "c", "padding": "p" * 50_000},
    )
    assert large.status_code == 400
    assert large.json()["responseMessage"].startswith("body")
    assert httpx.get(f"{sandbox.base_url}/sandbox/health").status_code == 200


def test_slow_request_heads_and_idle_connections_are_closed(
    in_process_sandbox: Callable[..., SandboxThread], tmp_path: Path
) -> None:
    config = write_config(
        tmp_path,
        ("request_timeout_seconds = 10", "request_timeout_seconds = 1"),
        ("unauthenticated_keep_alive_seconds = 5", "unauthenticated_keep_alive_seconds = 1"),
        ("max_connections = 1000", "max_connections = 5"),
    )
    server = in_process_sandbox(config=config)
    # The server closes these (without an answer) once its deadline passes; a client that
    # waits has no deadline of its own, so the sockets' timeouts only guard against a hang.
    with socket.create_connection(("127.0.0.1", server.port), timeout=HANG_SECONDS) as conn:
        conn.sendall(b"GET /sandbox/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert closed_by_server(conn)  # no answer
    # A connection that never sends anything is closed as well.
    with socket.create_connection(("127.0.0.1", server.port), timeout=HANG_SECONDS) as idle:
        assert closed_by_server(idle)
    # Past max_connections, a new connection takes the place of the longest idle one.
    held = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(5)]
    try:
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as extra:
            extra.sendall(b"GET /sandbox/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert extra.recv(1024).startswith(b"HTTP/1.1 200 ")
        assert closed_by_server(held[0])
    finally:
        for conn in held:
            conn.close()
    assert httpx.get(f"{server.base_url}/sandbox/health").status_code == 200


# -- 5. entitlement ids per reseller -----------------------------------------------------


def test_entitlement_ids_are_scoped_per_reseller(api: Api, api2: Api, customer: str) -> None:
    entitlement_id = f"order-{customer}"
    assert api2.create(customer, entitlementId=entitlement_id).status_code == 200
    mine = api.create(customer, entitlementId=entitlement_id, productKey="BangoMusic")
    assert mine.status_code == 200, mine.text
    assert api.cancel(entitlement_id).status_code == 200
    assert api.status(entitlement_id) == "CANCELLED"
    assert api2.status(entitlement_id) == "ACTIVE"
    again = api2.create(customer, entitlementId=entitlement_id)
    assert again.json()["responseCode"] == "ALREADY_EXISTS"


_V0_TABLES = """
CREATE TABLE entitlements (
    entitlement_id TEXT PRIMARY KEY, reseller TEXT NOT NULL, customer_identifier TEXT NOT NULL,
    merchant_account_key TEXT NOT NULL, product_key TEXT NOT NULL, offer_key TEXT,
    status TEXT NOT NULL, ends_at REAL, expires_at REAL, created_seq INTEGER NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX entitlements_by_customer ON entitlements (reseller, customer_identifier);
CREATE TABLE pending_operations (
    entitlement_id TEXT PRIMARY KEY, reseller TEXT NOT NULL, operation TEXT NOT NULL,
    payload BLOB NOT NULL, due_at REAL
);
"""


def test_a_database_from_before_per_reseller_ids_is_migrated(
    in_process_sandbox: Callable[..., SandboxThread], tmp_path: Path, customer: str
) -> None:
    first = in_process_sandbox()
    Api(first.base_url, ("demo", "demo-secret")).create_id(customer, entitlementId="legacy-1")
    first.stop()
    old_db = tmp_path / "old.sqlite3"
    with sqlite3.connect(first.db_path) as source, sqlite3.connect(old_db) as target:
        target.executescript(_V0_TABLES)
        rows = source.execute("SELECT * FROM entitlements").fetchall()
        target.executemany(f"INSERT INTO entitlements VALUES ({','.join('?' * 11)})", rows)
    server = SandboxThread(old_db).start()
    try:
        demo = Api(server.base_url, ("demo", "demo-secret"))
        demo2 = Api(server.base_url, ("demo2", "demo2-secret"))
        assert demo.status("legacy-1") == "ACTIVE"
        assert demo2.create(customer, entitlementId="legacy-1").status_code == 200
        assert demo.query(customer).json()["entitlements"][0]["entitlementId"] == "legacy-1"
    finally:
        server.stop()
    with sqlite3.connect(old_db) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1


# -- 6. Host header ------------------------------------------------------------------------


def test_sign_up_url_ignores_the_host_header(api: Api, sandbox: SandboxThread) -> None:
    for host in ("evil.example:666", "<b>x</b>", "a b"):
        response = api.http.post(
            "/v1/entitlement",
            json={
                "customerIdentifier": "host-probe",
                "merchantAccountKey": "BANGO",
                "productKey": "BangoMusic",
            },
            headers={"Host": host, "X-Magic-Number": CLIENT_ACTION},
        )
        assert response.status_code == 202, response.text
        body = check_conforms(response, "createEntitlement")
        assert body["parameters"]["url"].startswith(f"{sandbox.base_url}/sandbox/activate/")


def test_sign_up_url_uses_the_configured_public_base_url(
    in_process_sandbox: Callable[..., SandboxThread], tmp_path: Path, customer: str
) -> None:
    config = write_config(
        tmp_path, ('public_base_url = ""', 'public_base_url = "https://sandbox.example.net"')
    )
    server = in_process_sandbox(config=config)
    created = Api(server.base_url, ("demo", "demo-secret")).create(customer, magic=CLIENT_ACTION)
    url = created.json()["parameters"]["url"]
    assert url.startswith("https://sandbox.example.net/sandbox/activate/")


def test_a_malformed_public_base_url_is_a_configuration_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, ('public_base_url = ""', 'public_base_url = "ftp://x/y"'))
    result = subprocess.run(
        [sys.executable, "-m", "bango_resale_sandbox", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "public_base_url" in result.stderr
    assert "Traceback" not in result.stderr


# -- 7. user info in notificationUrl --------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://x:y@127.0.0.1/hook", "http://user@127.0.0.1:9/hook", "https://:pw@localhost/h"],
)
def test_user_info_in_notification_url_is_refused(api: Api, customer: str, url: str) -> None:
    created = api.create(customer, notificationUrl=url)
    assert created.status_code == 400, created.text
    assert created.json()["responseMessage"].startswith("notificationUrl: ")
    entitlement_id = api.create_id(customer)
    updated = api.update(entitlement_id, notificationUrl=url)
    assert updated.status_code == 400
    assert "user info" in updated.json()["responseMessage"]
    assert api.get(entitlement_id).json()["notificationUrl"] is None


# -- 8. paging the notification list -----------------------------------------------------------


def test_notification_list_is_paged_with_a_next_cursor(
    in_process_sandbox: Callable[..., SandboxThread], customer: str
) -> None:
    server = in_process_sandbox()
    demo = Api(server.base_url, ("demo", "demo-secret"))
    for i in range(1005):
        demo.create_id(f"{customer}-{i}")
    first = demo.http.get("/sandbox/notifications").json()
    assert len(first["notifications"]) == 1000
    assert first["nextCursor"] is not None
    rest = demo.http.get("/sandbox/notifications", params={"cursor": first["nextCursor"]}).json()
    assert len(rest["notifications"]) == 5
    assert rest["nextCursor"] is None
    ids = [n["notificationId"] for n in first["notifications"] + rest["notifications"]]
    assert len(set(ids)) == 1005
    small = demo.http.get("/sandbox/notifications", params={"limit": "2"}).json()
    assert [n["notificationId"] for n in small["notifications"]] == ids[:2]
    assert small["nextCursor"] is not None
    for bad in ({"limit": "0"}, {"limit": "1001"}, {"limit": "x"}, {"cursor": "-1"}):
        response = demo.http.get("/sandbox/notifications", params=bad)
        assert response.status_code == 400, bad
        assert response.json()["responseMessage"].startswith(next(iter(bad)))


# -- 9. failed logins --------------------------------------------------------------------------


def test_failed_logins_are_throttled_per_source_and_per_user(
    in_process_sandbox: Callable[..., SandboxThread],
) -> None:
    server = in_process_sandbox()
    guesser = httpx.Client(base_url=server.base_url, auth=("demo", "wrong"))
    statuses = [guesser.get("/v1/echo/x").status_code for _ in range(50)]
    assert statuses[:20] == [401] * 20
    assert set(statuses[20:]) == {429}
    throttled = guesser.get("/v1/echo/x")
    assert throttled.json()["responseCode"] == "TOO_MANY_REQUESTS"
    assert int(throttled.headers["retry-after"]) >= 1
    # While throttled, even the right password is not checked: guessing learns nothing.
    right = httpx.get(f"{server.base_url}/v1/echo/x", auth=("demo", "demo-secret"))
    assert right.status_code == 429
    # The health check needs no login and is never throttled.
    assert httpx.get(f"{server.base_url}/sandbox/health").status_code == 200


def test_failed_login_throttle_refills(
    in_process_sandbox: Callable[..., SandboxThread], tmp_path: Path
) -> None:
    # A token back every 10 s: far more than four requests take, on any machine.
    config = write_config(
        tmp_path,
        (
            "per_source_burst = 20\nper_source_per_second = 1.0",
            "per_source_burst = 3\nper_source_per_second = 0.1",
        ),
    )
    server = in_process_sandbox(config=config)
    wrong = [httpx.get(f"{server.base_url}/v1/echo/x", auth=("x", "y")) for _ in range(4)]
    assert [r.status_code for r in wrong] == [401, 401, 401, 429]
    # The bucket refills: the right password gets through again once a token is back, however
    # long this machine takes to get there (asking does not spend one; only a hang fails).
    deadline = time.monotonic() + HANG_SECONDS
    while (
        answer := httpx.get(f"{server.base_url}/v1/echo/x", auth=("demo", "demo-secret"))
    ).status_code == 429:
        assert time.monotonic() < deadline, "the throttle never let the right password in"
        time.sleep(0.5)
    assert answer.status_code == 200


# -- 10. unusable database -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["directory", "not-a-database", "missing-directory", "read-only"])
def test_an_unusable_database_is_one_clear_line_and_exit_2(tmp_path: Path, kind: str) -> None:
    prefix: list[str] = []
    if kind == "read-only":
        db = tmp_path / "read-only.sqlite3"
        sqlite3.connect(db).close()
        db.chmod(0o444)
        if os.geteuid() == 0:  # root writes anyway unless it gives up overriding modes
            prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    elif kind == "directory":
        db = tmp_path / "a-directory"
        db.mkdir()
    elif kind == "not-a-database":
        db = tmp_path / "garbage.sqlite3"
        db.write_bytes(b"this is not SQLite" * 100)
    else:
        db = tmp_path / "nowhere" / "sandbox.sqlite3"
    result = subprocess.run(
        [*prefix, sys.executable, "-m", "bango_resale_sandbox", "--db", str(db), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: cannot use database {db}: ")
