"""The proxy's hot path (`_relay`, `_upstream`): HTTP/1.1 details a relayed exchange must keep.

The usual exchange is relayed from uvicorn's protocol callbacks rather than through the ASGI
application; these tests hold it to what a client and a service expect of a proxy: answers in
order on a pipelined connection, `Connection: close` honoured, HEAD without a body, a chunked
answer passed on whole and judged, and the pool's connections left readable.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from bango_resale_contract._upstream import HIGH_WATER, TurnWrites, UpstreamPool, _Connection
from bango_resale_contract.proxy import command as proxy_command
from bango_resale_sandbox.testing import free_port


class _Handler(BaseHTTPRequestHandler):
    """Answers with the request's path as a JSON body; chunked for paths ending in /chunked."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        body = json.dumps({"path": self.path}).encode()
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
def _proxy(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    log = (tmp_path / "proxy.log").open("wb")
    process = subprocess.Popen(
        proxy_command(
            f"http://127.0.0.1:{upstream.server_address[1]}",
            port,
            "--report",
            str(tmp_path / "report"),
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, "the proxy exited at start"
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            assert time.monotonic() < deadline, "the proxy did not start"
            time.sleep(0.1)
        yield port, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
        upstream.shutdown()


def _report(tmp_path: Path, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    report: dict[str, Any] = json.loads((tmp_path / "report" / "proxy-report.json").read_text())
    return report


def _read_until_closed(connection: socket.socket) -> bytes:
    received = []
    while piece := connection.recv(65536):
        received.append(piece)
    return b"".join(received)


def test_pipelined_requests_are_answered_in_order_and_close_is_honoured(tmp_path: Path) -> None:
    with _proxy(tmp_path) as (port, process):
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
        report = _report(tmp_path, process)
    assert report["exchanges"]["echo"] == 3


def test_a_chunked_answer_is_passed_on_whole_and_judged(tmp_path: Path) -> None:
    with _proxy(tmp_path) as (port, process):
        answer = httpx.get(f"http://127.0.0.1:{port}/v1/echo/chunked")
        assert answer.status_code == 200
        assert answer.json() == {"path": "/v1/echo/chunked"}
        report = _report(tmp_path, process)
    assert report["exchanges"]["echo"] == 1 and report["notJudged"] == []


def test_head_has_no_body_and_the_connection_goes_on(tmp_path: Path) -> None:
    with _proxy(tmp_path) as (port, _), httpx.Client() as client:
        head = client.head(f"http://127.0.0.1:{port}/v1/echo/head")
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) > 0  # the length a GET would have
        after = client.get(f"http://127.0.0.1:{port}/v1/echo/after")
        assert after.json() == {"path": "/v1/echo/after"}


class _FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.reading = True
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True


def test_the_turns_writes_go_out_in_order_joined_per_connection() -> None:
    async def turn() -> tuple[_FakeTransport, _FakeTransport]:
        writes = TurnWrites(asyncio.get_running_loop())
        one, other = _FakeTransport(), _FakeTransport()
        writes.write(one, b"head ")
        writes.write(one, b"body")
        writes.write(other, b"request")
        writes.write(one, None)  # close, after what was written before
        assert one.written == other.written == []  # nothing before the turn ends
        await asyncio.sleep(0)
        return one, other

    one, other = asyncio.run(turn())
    assert one.written == [b"head body"] and one.closed
    assert other.written == [b"request"] and not other.closed


def test_a_connection_paused_by_a_large_answer_reads_again_for_the_next() -> None:
    async def exchange() -> tuple[_FakeTransport, UpstreamPool, _Connection]:
        pool = UpstreamPool("http://127.0.0.1:1")
        connection = _Connection(pool)
        transport = _FakeTransport()
        connection.connection_made(transport)
        pool.release(connection)
        answer = pool.request("GET", b"/big", [], b"").answer
        body = b"x" * (HIGH_WATER + 1)
        # The whole answer in one read: more than the reader may have buffered, so reading
        # stops, yet the answer is complete and the connection goes back to the pool.
        connection.data_received(
            b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body
        )
        assert answer.complete and not connection.closed
        assert await answer.chunk() == body
        return transport, pool, connection

    transport, pool, connection = asyncio.run(exchange())
    assert pool._connection() is connection  # kept alive, back in the pool
    assert transport.reading, "a connection back in the pool must be read again"
