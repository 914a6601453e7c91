"""The validating proxy as HTTP: who gets which answer, interim answers, encoded bodies,
answers delimited by closing, the judge's state per reseller, what its reports are made of
whatever the traffic carried, and the sandbox's limits. Real processes on loopback: the proxy
in a process of its own, the real sandbox behind it, or an upstream written byte by byte
where the sandbox cannot show what a test needs."""

from __future__ import annotations

import base64
import gzip
import json
import socket
import threading
import time
import uuid
import zlib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from proxy_helpers import (
    CLOSE,
    http_answer,
    peak_memory,
    proxy_process,
    raw_upstream,
    stop_and_report,
)

from bango_resale_contract import live
from bango_resale_sandbox.testing import DEMO_RESELLER, SECOND_DEMO_RESELLER, SandboxProcess

ACTIVATED = {"X-Magic-Number": "CREATE_REQUEST_RETURNS_ACTIVATED"}
JSON = {"content-type": "application/json"}
BASIC = "Basic " + base64.b64encode(":".join(DEMO_RESELLER).encode()).decode()
# A body that gzip shrinks about a thousandfold: 60 MB decoded, about 60 KB sent.
BOMB_SIZE = 60 * 2**20


def _create_body(customer: str, entitlement_id: str | None = None) -> dict[str, str]:
    body = {
        "customerIdentifier": customer,
        "merchantAccountKey": "BANGO",
        "productKey": "BangoMusic",
    }
    if entitlement_id is not None:
        body["entitlementId"] = entitlement_id
    return body


def _bomb() -> bytes:
    inner = b'{"customerIdentifier": "' + b"a" * BOMB_SIZE + b'"}'
    return gzip.compress(inner, compresslevel=9)


def _read_answer(connection: socket.socket) -> tuple[int, bytes, bytes]:
    """One final answer with a Content-Length from a raw connection: status, head, body."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = connection.recv(65536)
        assert piece, f"closed before the answer's head: {data!r}"
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        piece = connection.recv(65536)
        assert piece, "closed before the answer's body"
        rest += piece
    return int(head.split(b" ")[1]), head, rest[:length]


# Interim answers and who gets which answer.


def test_interim_answers_are_never_taken_for_the_final_one(tmp_path: Path) -> None:
    def answer(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        interim = (
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n"
        )
        return interim + http_answer(200, json.dumps({"path": path}).encode(), JSON)

    with (
        raw_upstream(answer) as upstream,
        proxy_process(upstream, tmp_path) as (url, _),
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        for number in range(6):  # one keep-alive connection, each answer its own
            got = client.get(f"/v1/echo/round-{number}")
            assert (got.status_code, got.json()) == (200, {"path": f"/v1/echo/round-{number}"})


def test_expect_100_continue_works_end_to_end(tmp_path: Path) -> None:
    with (
        SandboxProcess(tmp_path / "sandbox.db") as sandbox,
        proxy_process(sandbox.base_url, tmp_path) as (url, _),
    ):
        port = int(url.rsplit(":", 1)[1])
        body = json.dumps(_create_body("expecting")).encode()
        head = (
            f"POST /v1/entitlement HTTP/1.1\r\nhost: x\r\nauthorization: {BASIC}\r\n"
            "content-type: application/json\r\nx-magic-number: CREATE_REQUEST_RETURNS_ACTIVATED"
            f"\r\nexpect: 100-continue\r\ncontent-length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(head)
            interim = connection.recv(65536)
            # The body goes only once the proxy said to go on, as a careful client does.
            assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
            connection.sendall(body)
            status, _, answer = _read_answer(connection)
        assert status == 200, answer
        assert json.loads(answer)["customerIdentifier"] == "expecting"


def test_under_two_concurrent_resellers_every_answer_reaches_the_client_that_asked(
    tmp_path: Path,
) -> None:
    problems: list[str] = []

    def rounds(credentials: tuple[str, str]) -> None:
        with httpx.Client(base_url=url, auth=credentials, timeout=10) as client:
            for number in range(25):
                customer = f"{credentials[0]}-{number}-{uuid.uuid4().hex[:8]}"
                try:
                    created = client.post(
                        "/v1/entitlement",
                        json=_create_body(customer),
                        headers={**ACTIVATED, "Expect": "100-continue"},
                    )
                    if created.status_code != 200:
                        problems.append(f"{customer}: create answered {created.status_code}")
                        continue
                    record = created.json()
                    if record["customerIdentifier"] != customer:
                        problems.append(f"{customer} got {record['customerIdentifier']}'s record")
                        continue
                    read = client.get(f"/v1/entitlement/{record['entitlementId']}")
                    if read.status_code != 200 or read.json()["customerIdentifier"] != customer:
                        problems.append(f"{customer}: read answered {read.status_code}")
                except httpx.HTTPError as error:
                    problems.append(f"{customer}: {type(error).__name__} {error}")

    with (
        SandboxProcess(tmp_path / "sandbox.db") as sandbox,
        proxy_process(sandbox.base_url, tmp_path) as (url, process),
    ):
        threads = [
            threading.Thread(target=rounds, args=(credentials,))
            for credentials in (DEMO_RESELLER, SECOND_DEMO_RESELLER)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        report = stop_and_report(tmp_path, process)
    assert problems == []
    assert report["violations"] == [] and report["notJudged"] == []
    assert report["exchanges"]["createEntitlement"] == 50


# Encoded bodies: judged decoded, never past the bound.


def _relay_to(sandbox_url: str) -> Any:
    """An upstream in front of the sandbox that re-frames its answers as the request's
    x-test-* headers ask: gzip, deflate (zlib or raw) or br, or delimited by closing."""

    def answer(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        sent = {k: v for k, v in headers.items() if k not in {"host", "content-length"}}
        got = httpx.request(method, sandbox_url + path, headers=sent, content=body)
        content = got.content
        encoding = headers.get("x-test-encoding")
        if encoding == "gzip":
            content = gzip.compress(content)
        elif encoding == "deflate":
            content = zlib.compress(content)
        elif encoding == "raw-deflate":
            squeeze = zlib.compressobj(wbits=-zlib.MAX_WBITS)
            content, encoding = squeeze.compress(content) + squeeze.flush(), "deflate"
        elif encoding == "br":
            content = b"\x8b\x03\x80" + content + b"\x03"  # framed as brotli's raw metadata
        out = {"content-type": got.headers["content-type"]}
        for name in ("x-requestidentifier", "retry-after"):
            if name in got.headers:
                out[name] = got.headers[name]
        if encoding:
            out["content-encoding"] = encoding
        if headers.get("x-test-frame") == "close":
            return http_answer(got.status_code, content, out, length=False) + CLOSE
        return http_answer(got.status_code, content, out)

    return answer


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_encoded_answers_are_judged_decoded_and_passed_on_as_they_came(
    tmp_path: Path, encoding: str
) -> None:
    with (
        SandboxProcess(tmp_path / "sandbox.db", faults=("extra_field",)) as sandbox,
        raw_upstream(_relay_to(sandbox.base_url)) as upstream,
        proxy_process(upstream, tmp_path) as (url, process),
    ):
        with (
            httpx.Client(base_url=url, auth=DEMO_RESELLER, timeout=10) as client,
            client.stream(
                "POST",
                "/v1/entitlement",
                json=_create_body("encoded"),
                headers={**ACTIVATED, "x-test-encoding": encoding},
            ) as created,
        ):
            raw = b"".join(created.iter_raw())
        expected = "deflate" if encoding == "raw-deflate" else encoding
        assert created.headers["content-encoding"] == expected
        wbits = {"gzip": 31, "deflate": 15, "raw-deflate": -15}[encoding]
        record = json.loads(zlib.decompress(raw, wbits))
        assert record["customerIdentifier"] == "encoded"
        report = stop_and_report(tmp_path, process)
    # The fault adds a field the schema forbids: seen only by a judge that decoded the body.
    assert report["violationsPerRule"][live.SHAPE_RULE] == 1, report
    assert report["notJudged"] == []


def test_an_answer_in_an_encoding_the_proxy_does_not_decode_is_reported_not_judged(
    tmp_path: Path,
) -> None:
    with (
        SandboxProcess(tmp_path / "sandbox.db") as sandbox,
        raw_upstream(_relay_to(sandbox.base_url)) as upstream,
        proxy_process(upstream, tmp_path) as (url, process),
    ):
        answer = httpx.get(
            f"{url}/v1/echo/hello", auth=DEMO_RESELLER, headers={"x-test-encoding": "br"}
        )
        assert answer.headers["content-encoding"] == "br"
        report = stop_and_report(tmp_path, process)
    assert report["notJudgedPerOperation"] == {"echo": 1}
    assert "encoded as br" in report["notJudged"][0]["why"]
    assert process.returncode == 1  # not judged is not passed


def test_a_compressed_request_past_the_bound_is_not_judged_nor_decompressed_whole(
    tmp_path: Path,
) -> None:
    seen: list[int] = []

    def answer(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        seen.append(len(body))
        return http_answer(200, b'{"responseCode": "OK"}', JSON)

    bomb = _bomb()
    with raw_upstream(answer) as upstream, proxy_process(upstream, tmp_path) as (url, process):
        with httpx.Client(base_url=url, auth=DEMO_RESELLER, timeout=30) as client:
            client.get("/v1/echo/warm-up")
            before = peak_memory(process.pid)
            sent = client.post(
                "/v1/entitlement",
                content=bomb,
                headers={"content-type": "application/json", "content-encoding": "gzip"},
            )
            assert sent.status_code == 200
            # Decoded within the bound: a request that breaks its schema, accepted, is seen.
            small = gzip.compress(json.dumps({"customerIdentifier": "no product"}).encode())
            client.post(
                "/v1/entitlement",
                content=small,
                headers={"content-type": "application/json", "content-encoding": "gzip"},
            )
        grown = peak_memory(process.pid) - before
        report = stop_and_report(tmp_path, process)
    assert seen[1] == len(bomb)  # forwarded as it came
    assert grown < 24 * 2**20, f"the proxy's peak memory grew by {grown / 2**20:.0f} MiB"
    assert report["notJudgedPerOperation"] == {"createEntitlement": 1}
    assert "request body decodes to more than" in report["notJudged"][0]["why"]
    assert report["violationsPerRule"][live.INVALID_REQUEST_RULE] == 1


@pytest.mark.parametrize("enforce", [False, True])
def test_a_compressed_answer_past_the_bound_is_not_judged_and_never_a_huge_502(
    tmp_path: Path, enforce: bool
) -> None:
    bomb = _bomb()

    def answer(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        if path.endswith("/bomb"):
            return http_answer(200, bomb, {**JSON, "content-encoding": "gzip"})
        return http_answer(200, b'{"responseCode": "OK"}', JSON)

    flags = ["--enforce"] if enforce else []
    with raw_upstream(answer) as upstream, proxy_process(upstream, tmp_path, *flags) as (url, p):
        with httpx.Client(base_url=url, auth=DEMO_RESELLER, timeout=30) as client:
            client.get("/v1/echo/warm-up")
            before = peak_memory(p.pid)
            with client.stream("GET", "/v1/entitlement/bomb") as got:
                raw = b"".join(got.iter_raw())
        grown = peak_memory(p.pid) - before
        report = stop_and_report(tmp_path, p)
    if enforce:
        assert got.status_code == 502 and len(raw) < 2048
        assert "cannot be judged" in json.loads(raw)["responseMessage"]
    else:
        assert (got.status_code, raw) == (200, bomb)  # passed on as it came
    assert grown < 24 * 2**20, f"the proxy's peak memory grew by {grown / 2**20:.0f} MiB"
    assert report["notJudgedPerOperation"] == {"getEntitlement": 1}
    assert "answer body decodes to more than" in report["notJudged"][0]["why"]


# Answers delimited by closing the connection.


@pytest.mark.parametrize("enforce", [False, True])
def test_an_answer_delimited_by_closing_is_judged_and_passed_on(
    tmp_path: Path, enforce: bool
) -> None:
    flags = ["--enforce"] if enforce else []
    with (
        SandboxProcess(tmp_path / "sandbox.db") as sandbox,
        raw_upstream(_relay_to(sandbox.base_url)) as upstream,
        proxy_process(upstream, tmp_path, *flags) as (url, process),
    ):
        with httpx.Client(base_url=url, auth=DEMO_RESELLER, timeout=10) as client:
            for name in ("first", "second"):
                echoed = client.get(f"/v1/echo/{name}", headers={"x-test-frame": "close"})
                assert echoed.status_code == 200, echoed.text
                assert echoed.json()["echo"] == name
        report = stop_and_report(tmp_path, process)
    assert report["exchanges"]["echo"] == 2
    assert report["violations"] == [] and report["notJudged"] == []


# The judge's state per reseller.


def test_the_judge_follows_each_resellers_entitlements_apart(tmp_path: Path) -> None:
    shared = f"shared-{uuid.uuid4()}"
    with (
        SandboxProcess(tmp_path / "sandbox.db") as sandbox,
        proxy_process(sandbox.base_url, tmp_path, "--enforce") as (url, process),
    ):
        first = httpx.Client(base_url=url, auth=DEMO_RESELLER, timeout=10)
        second = httpx.Client(base_url=url, auth=SECOND_DEMO_RESELLER, timeout=10)
        with first, second:
            for client, customer in ((first, "one"), (second, "two")):
                made = client.post(
                    "/v1/entitlement", json=_create_body(customer, shared), headers=ACTIVATED
                )
                assert made.status_code == 200, made.text
            revoke = {"cancelReasonCategory": "REVOKED", "cancelReasonCode": "OTHER"}
            revoked = first.post(f"/v1/entitlement/revoke/{shared}", json=revoke)
            assert revoked.json()["status"] == "REVOKED"
            # The other reseller's entitlement of the same id is still active.
            read = second.get(f"/v1/entitlement/{shared}")
            assert (read.status_code, read.json().get("status")) == (200, "ACTIVE"), read.text
            again = first.get(f"/v1/entitlement/{shared}")
            assert again.json()["status"] == "REVOKED"
        report = stop_and_report(tmp_path, process)
    assert report["violations"] == []
    assert report["entitlementsTracked"] == 2


# Whatever the traffic carried, one log line per violation and well-formed reports.


def test_control_characters_cannot_forge_log_lines_or_break_the_reports(tmp_path: Path) -> None:
    def answer(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        return http_answer(200, b"not json \x00\x1b[31m", {"content-type": "text/plain"})

    forged = "\nVIOLATION rule=forged operation=x\x00\x1b[2J\u2028\udcff"
    with raw_upstream(answer) as upstream, proxy_process(upstream, tmp_path) as (url, process):
        with httpx.Client(base_url=url, auth=DEMO_RESELLER, timeout=10) as client:
            client.get("/v1/entitlement/x%0AVIOLATION%20rule=forged%00%1B%5B2J%EF%BF%BE")
            client.post(
                "/v1/entitlement",
                content=("{" + forged).encode("utf-8", "surrogateescape"),
                headers={"content-type": "application/json"},
            )
            client.patch(
                "/v1/entitlement",
                content=json.dumps({"entitlementId": forged}).encode(),
                headers={"content-type": "application/json"},
            )
        report = stop_and_report(tmp_path, process)
    log = (tmp_path / "proxy.log").read_text("utf-8")
    lines = [line for line in log.splitlines() if line.startswith("VIOLATION")]
    assert not any("rule=forged" in line.split(" operation=")[0] for line in lines)
    total = sum(report["violationsPerRule"].values())
    assert total >= 3 and len(lines) == total
    assert "\x00" not in log and "\x1b" not in log
    assert "\\x00" in log  # escaped, not lost
    junit = ElementTree.parse(tmp_path / "report" / "proxy-junit.xml").getroot()
    failures = junit.findall(".//failure")
    assert failures and all("\x00" not in (f.text or "") for f in failures)
    json.loads((tmp_path / "report" / "proxy-report.json").read_text("ascii"))
    summary = (tmp_path / "report" / "proxy-summary.txt").read_text("utf-8")
    assert summary.isprintable() or all(line.isprintable() for line in summary.splitlines())


# The sandbox's limits, from the same configuration.


def _limits_config(tmp_path: Path) -> Path:
    path = tmp_path / "limits.toml"
    path.write_text(
        "[server]\nmax_header_bytes = 2048\nrequest_timeout_seconds = 3\n"
        "keep_alive_seconds = 1\nmax_connections = 3\n\n"
        '[resellers.demo]\npassword = "demo-secret"\n'
    )
    return path


def _closed_by_peer(connection: socket.socket) -> bool:
    """Whether the server closes the connection (within a generous wait)."""
    connection.settimeout(15)
    try:
        while connection.recv(65536):
            pass
    except (ConnectionResetError, TimeoutError):
        return False
    return True


def _limit_outcomes(port: int) -> dict[str, Any]:
    outcomes: dict[str, Any] = {}
    address = ("127.0.0.1", port)
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(
            b"GET /v1/echo/big HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 3000 + b"\r\n\r\n"
        )
        outcomes["head past the limit"] = _read_answer(connection)[0]
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(
            f"GET /v1/echo/small HTTP/1.1\r\nhost: x\r\nauthorization: {BASIC}\r\n".encode()
            + b"x-small: "
            + b"a" * 1000
            + b"\r\n\r\n"
        )
        outcomes["head within the limit"] = _read_answer(connection)[0]
        outcomes["idle after an answer: closed"] = _closed_by_peer(connection)
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(b"GET /v1/echo/slow HTTP/1.1\r\nhost: x\r\n")  # never finished
        outcomes["unfinished request: closed"] = _closed_by_peer(connection)
    held = [socket.create_connection(address, timeout=10) for _ in range(3)]
    try:
        with socket.create_connection(address, timeout=10) as one_too_many:
            one_too_many.settimeout(2)
            try:
                outcomes["one connection too many: closed"] = one_too_many.recv(1) == b""
            except TimeoutError:
                outcomes["one connection too many: closed"] = False
    finally:
        for connection in held:
            connection.close()
    return outcomes


def test_the_proxy_holds_clients_to_the_sandboxs_limits_read_from_its_configuration(
    tmp_path: Path,
) -> None:
    config = _limits_config(tmp_path)
    with SandboxProcess(tmp_path / "sandbox.db", config=config) as sandbox:
        direct = _limit_outcomes(sandbox.port)
        with proxy_process(sandbox.base_url, tmp_path, "--config", str(config)) as (url, _):
            # Let the sandbox close its idle connections first: the proxy's count as its own.
            time.sleep(1.5)
            proxied = _limit_outcomes(int(url.rsplit(":", 1)[1]))
    assert direct == {
        "head past the limit": 431,
        "head within the limit": 200,
        "idle after an answer: closed": True,
        "unfinished request: closed": True,
        "one connection too many: closed": True,
    }
    assert proxied == direct


def test_a_header_that_cannot_go_on_unchanged_is_refused_not_altered(tmp_path: Path) -> None:
    seen: list[str] = []

    def answer(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        seen.append(path)
        return http_answer(200, b"{}", JSON)

    with raw_upstream(answer) as upstream, proxy_process(upstream, tmp_path) as (url, process):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(b"GET /v1/echo/latin HTTP/1.1\r\nhost: x\r\nx-name: caf\xe9\r\n\r\n")
            status, _, body = _read_answer(connection)
        report = stop_and_report(tmp_path, process)
    assert status == 400 and seen == []
    assert "x-name" in json.loads(body)["responseMessage"]
    assert report["exchanges"] == {"(not forwarded: cannot go on unchanged)": 1}
