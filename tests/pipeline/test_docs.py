"""`make docs`: each page renders every operation in headless Chromium with the network off."""

from __future__ import annotations

import re
import socketserver
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from bango_resale_sandbox.testing import free_port

METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}

#: Hosts Chromium itself contacts (updates, time, sign-in) whatever page it shows; a request to
#: any other host came from the page.
BROWSER_SERVICE_HOSTS = (
    "update.googleapis.com",
    "clients2.google.com",
    "accounts.google.com",
    "optimizationguide-pa.googleapis.com",
    "content-autofill.googleapis.com",
    "clientservices.googleapis.com",
    "safebrowsingohttpgateway.googleapis.com",
    "redirector.gvt1.com",
)


class _RecordingProxy(socketserver.ThreadingTCPServer):
    """Chromium's proxy: records every request it is asked to make and refuses it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int) -> None:
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", port), _ProxyHandler)


class _ProxyHandler(socketserver.StreamRequestHandler):
    server: _RecordingProxy

    def handle(self) -> None:
        line = self.rfile.readline().decode(errors="replace").strip()
        self.server.requests.append(line)
        self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture(scope="module")
def proxy() -> Iterator[_RecordingProxy]:
    server = _RecordingProxy(free_port())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def docs(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    # As `make docs` builds them: the status machine's picture first, then the pages.
    for command in (
        ["scripts/draw_status_machine.py", str(out)],
        ["scripts/build_docs.py", "--out", str(out)],
    ):
        subprocess.run([sys.executable, *command], cwd=repo_root, check=True)
    return out


def operation_ids(spec: Path) -> set[str]:
    document = yaml.safe_load(spec.read_text())
    return {
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    }


def render(
    chromium: Callable[..., list[str]], page: Path, proxy: _RecordingProxy, profile: Path
) -> tuple[str, str]:
    """The DOM after Redoc ran, and Chromium's console log."""
    result = subprocess.run(
        chromium(
            profile,
            # Every request goes to the recording proxy, which refuses it: the network is off.
            f"--proxy-server=http://127.0.0.1:{proxy.server_address[1]}",
            "--proxy-bypass-list=<-loopback>",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=15000",
            "--dump-dom",
            page.as_uri(),
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    console = "\n".join(line for line in result.stderr.splitlines() if ":CONSOLE" in line)
    return result.stdout, console


@pytest.mark.slow
@pytest.mark.parametrize("spec_name", ["bango-resale", "sandbox"])
def test_page_renders_every_operation_offline(
    spec_name: str,
    docs: Path,
    proxy: _RecordingProxy,
    repo_root: Path,
    tmp_path: Path,
    chromium: Callable[..., list[str]],
) -> None:
    page = docs / f"{spec_name}.html"
    source = page.read_text()
    # Nothing on the page is fetched from elsewhere: the Redoc bundle sits beside it.
    assert not re.search(r"<script[^>]+src=\"https?:", source)
    assert (docs / "redoc.standalone.js").is_file()

    before = len(proxy.requests)
    dom, console = render(chromium, page, proxy, tmp_path / "profile")

    rendered = set(re.findall(r"operation/([A-Za-z]+)", dom))
    expected = operation_ids(repo_root / "spec" / f"{spec_name}.openapi.yaml")
    assert expected <= rendered, f"not rendered: {sorted(expected - rendered)}"
    # Navigation works from file://: every link into the page is an anchor, not a path.
    assert not re.search(r'href="/', dom)
    assert 'href="#tag/' in dom
    assert "Uncaught" not in console, console
    assert 'placeholder="Search..."' in dom

    page_requests = [
        request
        for request in proxy.requests[before:]
        if not any(host in request for host in BROWSER_SERVICE_HOSTS)
    ]
    assert page_requests == []
    # The one thing Redoc would fetch (its footer logo) is stopped by the page's own policy
    # before any request is made.
    blocked = re.findall(r"Loading the image '([^']+)' violates", console)
    assert set(blocked) <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
