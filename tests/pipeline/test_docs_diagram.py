"""`make docs`: the reference page shows the status machine's diagram, checked in a real
headless browser (Debian `chromium`) with no network."""

from __future__ import annotations

import html
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

import bango_resale_spec as spec
from bango_resale_sandbox.testing import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The diagram's <img> (a data: URI) once the page has loaded: natural size and size on the page.
PROBE = """
(() => {
  const img = document.querySelector('img[src^="data:image/svg+xml"]');
  if (!img || !img.complete || document.readyState !== 'complete') return null;
  const box = img.getBoundingClientRect();
  return {natural: [img.naturalWidth, img.naturalHeight], shown: [box.width, box.height]};
})()
"""


def _build(repo_root: Path, out: Path) -> Path:
    """The diagram, then the offline page, as `make docs` builds them."""
    for script in ("draw_status_machine.py", "build_docs.py"):
        arguments = [str(out)] if script == "draw_status_machine.py" else ["--out", str(out)]
        subprocess.run(
            [sys.executable, str(repo_root / "scripts" / script), *arguments],
            check=True,
            cwd=repo_root,
            capture_output=True,
        )
    return out / "bango-resale.html"


@contextmanager
def _chromium(chromium: Callable[..., list[str]], url: str, profile: Path) -> Iterator[str]:
    """Headless Chromium on `url`; yields the page's DevTools WebSocket address."""
    port = free_port()
    process = subprocess.Popen(
        chromium(profile, f"--remote-debugging-port={port}", url, headless="--headless=new"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=2).json()
                page = next(t for t in targets if t.get("type") == "page")
                yield str(page["webSocketDebuggerUrl"])
                return
            except (httpx.HTTPError, StopIteration):
                assert time.monotonic() < deadline, "chromium's DevTools never answered"
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _evaluate(socket_url: str, expression: str, timeout: float = 20.0) -> Any:
    """Evaluate until the expression gives something other than null; return it."""
    deadline = time.monotonic() + timeout
    with connect(socket_url, max_size=None) as socket:
        for number in range(1, 10_000):
            socket.send(
                json.dumps(
                    {
                        "id": number,
                        "method": "Runtime.evaluate",
                        "params": {"expression": expression, "returnByValue": True},
                    }
                )
            )
            while True:
                message = json.loads(socket.recv(timeout=10))
                if message.get("id") == number:
                    break
            value = message["result"]["result"].get("value")
            if value is not None or time.monotonic() > deadline:
                return value
            time.sleep(0.2)
    return None


def test_the_reference_page_shows_the_status_machine(
    repo_root: Path, tmp_path: Path, chromium: Callable[..., list[str]]
) -> None:
    page = _build(repo_root, tmp_path / "docs")
    svg = html.unescape((page.parent / "status-machine.svg").read_text())
    # Drawn from the table: every status is a node, every row id labels an edge.
    for status in spec.entitlement_statuses():
        assert f">{status}</text>" in svg, status
    for row in spec.status_machine():
        assert f"{row.id}: " in svg, row.id

    with _chromium(chromium, page.as_uri(), tmp_path / "profile") as socket_url:
        shown = _evaluate(socket_url, PROBE)

    assert shown is not None, "the page has no loaded status machine image"
    natural_width, natural_height = shown["natural"]
    assert natural_width > 500 and natural_height > 100, shown
    assert shown["shown"][0] > 100, f"the diagram takes no room on the page: {shown}"
