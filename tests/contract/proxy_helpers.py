"""Starting the validating proxy for tests: a process of its own on a port it picks itself,
and small upstreams written byte by byte where the sandbox cannot show what a test needs."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bango_resale_contract.proxy import announced_url
from bango_resale_contract.proxy import command as proxy_command


@contextmanager
def proxy_process(
    upstream: str, tmp_path: Path, *flags: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`bango-resale-contract proxy` in front of `upstream`, reporting into tmp_path/report,
    its output in tmp_path/proxy.log; yields its URL once it announced it."""
    log_path = tmp_path / "proxy.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        proxy_command(upstream, 0, "--report", str(tmp_path / "report"), *flags),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        url = None
        while url is None:
            assert process.poll() is None, "the proxy exited at start:\n" + log_path.read_text()
            assert time.monotonic() < deadline, "the proxy did not announce its address"
            time.sleep(0.05)
            url = announced_url(log_path.read_text())
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def stop_and_report(tmp_path: Path, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    """SIGTERM the proxy and read the JSON report it writes on the way out."""
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    report: dict[str, Any] = json.loads((tmp_path / "report" / "proxy-report.json").read_text())
    return report


def peak_memory(pid: int) -> int:
    """The most resident memory a process has had (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


# What a raw upstream does with one request: (method, path, headers, body) -> bytes to write;
# the connection is closed after the write when the bytes end with CLOSE.
RawAnswer = Callable[[str, str, dict[str, str], bytes], bytes]
CLOSE = b"\x00close"


@contextmanager
def raw_upstream(answer: RawAnswer) -> Iterator[str]:
    """A keep-alive HTTP/1.1 server on loopback whose answers are the exact bytes `answer`
    returns (interim 1xx, framing, encodings and all); yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            data = answer(self.command, self.path, headers, body)
            if data.endswith(CLOSE):
                data = data[: -len(CLOSE)]
                self.close_connection = True
            self.wfile.write(data)
            self.wfile.flush()

        do_GET = do_POST = do_PATCH = do_HEAD = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def http_answer(
    status: int, body: bytes, headers: dict[str, str] | None = None, *, length: bool = True
) -> bytes:
    """The bytes of an answer (with Content-Length unless `length` is false)."""
    lines = [f"HTTP/1.1 {status} X"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if length:
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
