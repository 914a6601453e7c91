"""The server's connection guard on its own: `server.build` serving an app the test controls,
with real uvicorn, real sockets on loopback and short limits.

The first tests are the canary for what the guard needs of uvicorn (see
`bango_resale_sandbox._connection_guard`): they fail when a uvicorn release changes how it builds
the protocol given as `Config(http=...)` or what each request's scope carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest
import uvicorn

from bango_resale_sandbox import _connection_guard, server
from bango_resale_sandbox.config import ServerLimits

pytestmark = pytest.mark.integration

LIMITS = ServerLimits(
    max_header_bytes=4096,
    request_timeout_seconds=1.0,
    keep_alive_seconds=30,
    unauthenticated_keep_alive_seconds=1.0,
    max_connections=6,
    max_connections_per_source=4,
)


class App:
    """Answers `200 {"path": ...}`. `/hold` waits until `release` is set; `/login` marks its
    connection authenticated; `/early` answers without reading the body; `/connection` says
    which connection the request came on; any other path reads the whole body first."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.held = 0

    async def __call__(self, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": f"{message['type']}.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope["path"]
        answer: dict[str, Any] = {"path": path}
        if path == "/hold":
            self.held += 1
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        elif path == "/login":
            server.mark_authenticated(scope)
        elif path == "/connection":
            answer["connection"] = id(_connection_guard.connection_of(scope))
        if path != "/early":
            more = True
            while more:
                message = await receive()
                more = message.get("more_body", False)
        body = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class Served:
    """`server.build(app)` serving on a loopback port of its own, in a thread."""

    def __init__(self, app: Any, limits: ServerLimits = LIMITS) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.uvicorn = server.build(app, log_level="warning", limits=limits)
        self.thread = threading.Thread(
            target=self.uvicorn.run, kwargs={"sockets": [self.listener]}, daemon=True
        )

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.uvicorn.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.uvicorn.should_exit = True
        self.thread.join(timeout=15)
        self.listener.close()

    def connect(self, source: str = "127.0.0.1") -> Conn:
        sock = socket.socket()
        sock.settimeout(5)
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", self.port))
        return Conn(sock)


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
def served(app: App) -> Iterator[Served]:
    with Served(app) as running:
        yield running
    app.release.set()


@pytest.fixture
def patient(app: App) -> Iterator[Served]:
    """Like `served`, with idle connections kept long enough to be taken for new ones."""
    with Served(app, replace(LIMITS, unauthenticated_keep_alive_seconds=60)) as running:
        yield running
    app.release.set()


def request(path: str, *, body: bytes = b"", extra: bytes = b"") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n".encode()
    return head + extra + b"\r\n" + body


class Conn:
    """A client connection that reads answers one at a time (pipelined ones included)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self, what: bytes) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, f"closed before {what.decode()}: {self.buffer!r}"
        self.buffer += chunk

    def read_answer(self) -> tuple[int, dict[str, Any], bytes]:
        """One answer: (status, JSON body, the raw head)."""
        while b"\r\n\r\n" not in self.buffer:
            self._more(b"an answer")
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(self.buffer) < length:
            self._more(b"the body")
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(head.split()[1]), json.loads(body), head

    def is_closed(self, wait: float = 5.0) -> bool:
        """True when the server closes the connection (within `wait` seconds) sending nothing
        more."""
        self.sock.settimeout(wait)
        try:
            return not self.buffer and self.sock.recv(1024) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False


# -- canary: what the guard needs of uvicorn ------------------------------------------------


def test_uvicorn_builds_its_http_protocol_by_keyword_with_the_lifespan_state(app: App) -> None:
    built: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    class Recorder(asyncio.Protocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            built.append((args, kwargs))

    config = uvicorn.Config(app, http=Recorder, lifespan="on", log_level="warning")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not running.started and time.monotonic() < deadline:
            time.sleep(0.01)
        with socket.create_connection(listener.getsockname(), timeout=5):
            deadline = time.monotonic() + 5
            while not built and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        running.should_exit = True
        thread.join(timeout=15)
        listener.close()
    assert built, "uvicorn built no protocol for a connection"
    args, kwargs = built[0]
    assert args == ()
    assert _connection_guard.APP_STATE_ARGUMENT in kwargs
    assert isinstance(kwargs[_connection_guard.APP_STATE_ARGUMENT], dict)
    # The protocol the guard wraps takes exactly what uvicorn passes.
    wrapped = inspect.signature(_connection_guard.HttpToolsProtocol).parameters
    assert set(kwargs) <= set(wrapped)
    assert all(p.default is not p.empty for name, p in wrapped.items() if name not in kwargs)


def test_the_wrapped_protocol_is_what_the_public_httptools_option_names(app: App) -> None:
    config = uvicorn.Config(app, http="httptools", log_level="warning")
    config.load()
    assert config.http_protocol_class is _connection_guard.HttpToolsProtocol


def test_each_request_scope_carries_its_connection(served: Served) -> None:
    with served.connect() as first, served.connect() as second:
        first.sendall(request("/connection") + request("/connection"))
        one, two = first.read_answer()[1], first.read_answer()[1]
        second.sendall(request("/connection"))
        other = second.read_answer()[1]
    assert one["connection"] == two["connection"] != id(None)
    assert other["connection"] not in (one["connection"], id(None))


def test_a_protocol_built_without_the_lifespan_state_fails_loudly() -> None:
    cls = _connection_guard.Guard(LIMITS).protocol_class()
    with pytest.raises(RuntimeError, match="_connection_guard needs updating"):
        cls(object(), object())


def test_options_the_limits_set_cannot_be_passed_to_uvicorn(app: App) -> None:
    for option, value in (
        ("http", "h11"),
        ("ws", "websockets"),
        ("timeout_keep_alive", 5),
        ("limit_concurrency", 10),
    ):
        with pytest.raises(TypeError, match=option):
            server.build(app, log_level="warning", limits=LIMITS, **{option: value})
    # What the guard sets anyway may be said again.
    assert server.build(app, log_level="warning", limits=LIMITS, ws="none").config.ws == "none"


# -- request heads ----------------------------------------------------------------------------


def test_a_head_over_the_cap_gets_431_in_one_read_or_many(served: Served) -> None:
    big = b"X-Big: " + b"a" * 6000 + b"\r\n"
    with served.connect() as conn:
        conn.sendall(request("/x", extra=big))
        status, body, _ = conn.read_answer()
        assert (status, body["responseCode"]) == (431, "BAD_REQUEST")
        assert b"4096 bytes" in body["responseMessage"].encode()
        assert conn.is_closed()
    with served.connect() as conn:
        conn.sendall(b"GET /x HTTP/1.1\r\nHost: t\r\n")
        for _ in range(60):
            with contextlib.suppress(OSError):
                conn.sendall(b"X-Slow: " + b"b" * 100 + b"\r\n")
        assert conn.read_answer()[0] == 431
    # A head within the cap with a large body in the same read is no head over the cap.
    with served.connect() as conn:
        conn.sendall(request("/x", body=b"z" * 60_000))
        assert conn.read_answer()[0] == 200


def test_an_oversized_pipelined_head_is_refused_after_the_answers_before_it(
    served: Served, app: App
) -> None:
    with served.connect() as conn:
        conn.sendall(request("/hold") + b"GET /x HTTP/1.1\r\nHost: t\r\n")
        time.sleep(0.2)
        conn.sendall(b"X-Big: " + b"a" * 6000 + b"\r\n")
        time.sleep(0.2)
        app.release.set()
        assert conn.read_answer()[:2] == (200, {"path": "/hold"})
        assert conn.read_answer()[0] == 431
        assert conn.is_closed()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"FOO /x HTTP/1.1\r\nHost: t\r\n\r\n", "malformed request"),
        (b"GET /x HTTP/1.1\nHost: t\n\n", "malformed request"),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "malformed request"),
        (
            b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            "upgrades",
        ),
        (b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n", "upgrades"),
        (b"CONNECT example.net:443 HTTP/1.1\r\nHost: example.net\r\n\r\n", "upgrades"),
    ],
)
def test_what_cannot_be_served_gets_a_json_400_and_never_reaches_the_app(
    served: Served, app: App, raw: bytes, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with served.connect() as conn:
        conn.sendall(raw)
        status, body, head = conn.read_answer()
        assert conn.is_closed()
    assert status == 400
    assert body["responseCode"] == "BAD_REQUEST"
    assert reason in body["responseMessage"]
    assert b"content-type: application/json" in head.lower()
    assert not [r for r in caplog.records if r.name.startswith("uvicorn")]


def test_the_rest_of_a_body_answered_early_is_dropped_and_must_come_in_time(
    served: Served,
) -> None:
    with served.connect() as conn:
        whole = request("/early", body=b"0123456789")
        conn.sendall(whole[:-5])  # 5 bytes of the body missing
        assert conn.read_answer()[0] == 200
        conn.sendall(whole[-5:])  # the rest is read and dropped, not taken for a request
        conn.sendall(request("/x"))
        assert conn.read_answer()[:2] == (200, {"path": "/x"})
        conn.sendall(whole[:-5])  # and a rest that never comes meets the request deadline
        assert conn.read_answer()[0] == 200
        assert conn.is_closed(wait=4)


# -- deadlines ---------------------------------------------------------------------------------


def test_a_slow_request_is_closed_at_its_deadline(served: Served) -> None:
    with served.connect() as conn:
        conn.sendall(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n01")
        assert conn.is_closed(wait=4)
    with served.connect() as conn:
        for piece in (b"GET /x HT", b"TP/1.1\r\n", b"Host: t\r\n", b"X-A: 1\r\n"):
            conn.sendall(piece)
            time.sleep(0.3)
        assert conn.is_closed(wait=4)


def test_unauthenticated_connections_idle_briefly_and_authenticated_ones_longer(
    served: Served,
) -> None:
    with served.connect() as fresh, served.connect() as anonymous, served.connect() as known:
        anonymous.sendall(request("/x"))
        known.sendall(request("/login"))
        assert anonymous.read_answer()[0] == known.read_answer()[0] == 200
        assert fresh.is_closed(wait=4)
        assert anonymous.is_closed(wait=4)
        known.sendall(request("/x"))
        assert known.read_answer()[0] == 200


# -- connection caps ---------------------------------------------------------------------------


def test_a_new_connection_takes_the_place_of_the_longest_idle_unauthenticated_one(
    patient: Served,
) -> None:
    known = [patient.connect(source) for source in ("127.0.0.2", "127.0.0.3")]
    anonymous = [patient.connect(source) for source in ("127.0.0.4", "127.0.0.5")]
    try:
        for conn in known:
            conn.sendall(request("/login"))
            assert conn.read_answer()[0] == 200
        for conn in anonymous:
            conn.sendall(request("/x"))
            assert conn.read_answer()[0] == 200
            time.sleep(0.05)
        # Two more fill the server (6); two after them take the anonymous ones' places.
        newer = [patient.connect("127.0.0.6") for _ in range(4)]
        for conn in newer:
            conn.sendall(request("/x"))
            assert conn.read_answer()[0] == 200
        assert all(conn.is_closed(wait=0.5) for conn in anonymous)
        for conn in known:
            conn.sendall(request("/x"))
            assert conn.read_answer()[0] == 200
    finally:
        for conn in [*known, *anonymous, *newer]:
            conn.close()


def test_when_every_connection_is_busy_a_new_one_is_closed_at_once(
    patient: Served, app: App
) -> None:
    busy = [patient.connect(f"127.0.0.{2 + i // 4}") for i in range(6)]
    try:
        for conn in busy:
            conn.sendall(request("/hold"))
        deadline = time.monotonic() + 5
        while app.held < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        with patient.connect("127.0.0.9") as extra:
            assert extra.is_closed(wait=2)
        app.release.set()
        assert all(conn.read_answer()[0] == 200 for conn in busy)
    finally:
        for conn in busy:
            conn.close()


def test_one_source_cannot_hold_more_than_its_share(patient: Served, app: App) -> None:
    # Idle connections of one source make room for that source's new ones; when all of that
    # source's connections are busy, its next is refused while another source is served.
    flood = [patient.connect("127.0.0.2") for _ in range(10)]
    try:
        time.sleep(0.2)
        assert sum(not conn.is_closed(wait=0.05) for conn in flood) == 4
        busy = [patient.connect("127.0.0.2") for _ in range(4)]
        for conn in busy:
            conn.sendall(request("/hold"))
        deadline = time.monotonic() + 5
        while app.held < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        with patient.connect("127.0.0.2") as extra:
            assert extra.is_closed(wait=2)
        with patient.connect("127.0.0.1") as other:
            other.sendall(request("/x"))
            assert other.read_answer()[0] == 200
        app.release.set()
        assert all(conn.read_answer()[0] == 200 for conn in busy)
    finally:
        for conn in flood:
            conn.close()


# -- writes: an answer's head goes out with its body ------------------------------------------


class RecordingTransport(asyncio.Transport):
    """A transport that keeps each write (what would be one send to the kernel)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        self.writes.append(b"".join(list_of_data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 80)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class Scripted:
    """An app that answers as its script says: ("start",), ("body", bytes, more_body),
    ("wait",) until `go` is set, ("fail",) to raise."""

    def __init__(self, *script: tuple[Any, ...]) -> None:
        self.script = script
        self.go = asyncio.Event()
        self.writes_when_waiting: list[bytes] | None = None
        self.transport: RecordingTransport | None = None

    async def __call__(self, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
        await receive()
        for step in self.script:
            if step[0] == "start":
                headers = [(b"content-type", b"application/json"), *step[1:]]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
            elif step[0] == "body":
                await send({"type": "http.response.body", "body": step[1], "more_body": step[2]})
            elif step[0] == "wait":
                assert self.transport is not None
                self.writes_when_waiting = list(self.transport.writes)
                await self.go.wait()
            else:
                raise RuntimeError("the app failed after it began to answer")


async def _answer_one(app: Scripted) -> RecordingTransport:
    """Serve one request of `app` through `server.build`'s protocol onto a recording
    transport; the writes it made once the app has finished."""
    built = server.build(app, log_level="critical", limits=LIMITS, lifespan="off")
    built.config.load()
    protocol = built.config.http_protocol_class(
        config=built.config, server_state=built.server_state, app_state={}
    )
    transport = app.transport = RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
    for _ in range(100):
        await asyncio.sleep(0)
        if app.writes_when_waiting is not None:
            app.go.set()
    await asyncio.sleep(0.01)
    return transport


def test_a_small_answer_goes_out_in_one_write() -> None:
    length = (b"content-length", b"2")
    transport = asyncio.run(_answer_one(Scripted(("start", length), ("body", b"{}", False))))
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.writes[0].endswith(b"\r\n\r\n{}")


def test_a_streamed_answer_goes_out_part_by_part_each_as_the_app_gives_it() -> None:
    app = Scripted(("start",), ("body", b"[1", True), ("wait",), ("body", b"]", False))
    transport = asyncio.run(_answer_one(app))
    # The head went with the first part, before the app was done.
    assert app.writes_when_waiting is not None and len(app.writes_when_waiting) == 1
    assert app.writes_when_waiting[0].endswith(b"\r\n\r\n2\r\n[1\r\n")
    assert transport.writes[1:] == [b"1\r\n]\r\n0\r\n\r\n"]


def test_a_head_held_when_the_app_fails_goes_out_before_the_connection_closes() -> None:
    length = (b"content-length", b"2")
    transport = asyncio.run(_answer_one(Scripted(("start", length), ("fail",))))
    assert [w.split(b"\r\n", 1)[0] for w in transport.writes] == [b"HTTP/1.1 200 OK"]
    assert transport.closed
