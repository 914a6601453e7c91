"""`bango-resale-sandbox` as a shell user meets it: help, a busy port, the sign-up page."""

from __future__ import annotations

import html.parser
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from support.api import Api

NEEDS_SIGNUP = "CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED"


def test_a_busy_port_fails_with_one_line_and_no_listening_claim(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "bango_resale_sandbox",
                "--port",
                str(port),
                "--db",
                str(tmp_path / "db.sqlite3"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use (pick another --port)"
    ]


def test_help_names_the_installed_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bango_resale_sandbox", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("usage: bango-resale-sandbox")


class _Meta(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and values.get("name"):
            self.meta[str(values["name"])] = str(values.get("content"))


def test_sign_up_page_is_laid_out_for_phones(api: Api, customer: str) -> None:
    body = api.create(customer, magic=NEEDS_SIGNUP).json()
    page = httpx.get(body["parameters"]["url"])
    assert page.status_code == 200
    parser = _Meta()
    parser.feed(page.text)
    assert "width=device-width" in parser.meta.get("viewport", "")
