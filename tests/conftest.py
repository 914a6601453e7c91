"""Shared test configuration, and every fixture that runs a sandbox (one launcher:
`bango_resale_sandbox.testing`; what only the tests need is in `tests/support/`).

- `store_kind`: "sqlite", or "postgresql" where tests/sandbox/conftest.py runs a module's tests
  on both stores.
- `postgres`: one throwaway PostgreSQL server for the whole session (started on first use).
- `fresh_database`: a factory of new, empty databases of the test's store kind.
- `sandbox`: one shared default sandbox for the session, in this process (`SandboxThread`);
  tests keep apart by using fresh customer ids (see `customer`).
- `in_process_sandbox`: a factory; `in_process_sandbox(faults=[...], config=path, ...)` starts a
  fresh sandbox with its own database in this process (stopped after the test).
- `sandbox_server`: the same factory for a sandbox in a child process (`SandboxProcess`), for
  tests that kill it, set its environment, read its log or run several on one database.
- `api` / `api2`: `Api` clients of the shared sandbox as the two demo resellers; `live`: the
  public `ResaleClient` on it.
- `receiver`: a `NotificationSink` for the test.
- `refusing_port`: a loopback port held closed for the test (connections are refused).
- `asgi_server`: a factory; `asgi_server(app)` serves any ASGI app (not a sandbox: those
  start through the launcher) with uvicorn on a port it binds itself and returns its base
  URL (stopped after the test).
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bango_resale import ResaleClient
from bango_resale_sandbox.testing import (
    DEMO_RESELLER,
    SECOND_DEMO_RESELLER,
    SandboxProcess,
    SandboxThread,
)

from support.api import Api
from support.postgres import PostgresServer
from support.receivers import NotificationSink

REPO_ROOT = Path(__file__).resolve().parent.parent
SandboxLauncher = TypeVar("SandboxLauncher", SandboxThread, SandboxProcess)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def doc_block(page: str, heading: str, language: str = "bash") -> str:
    """The first fenced `language` block under `heading` in `page` (a path from the root)."""
    text = (REPO_ROOT / page).read_text()
    start = text.index(f"\n{heading}\n")
    fence = text.index(f"```{language}\n", start) + len(f"```{language}\n")
    return text[fence : text.index("```", fence)]


@pytest.fixture(scope="session")
def cli_walkthrough_block() -> str:
    """The command-line guide's walk through every command, as a user would paste it."""
    return doc_block("docs/cli.md", "## A walk through every command")


@pytest.fixture(scope="session")
def run_cli_walkthrough(cli_walkthrough_block: str) -> Callable[[str, Path, Path], str]:
    """Runs the CLI guide's walk-through: (base URL, directory of the commands, cwd)."""
    return functools.partial(_run_bash_block, cli_walkthrough_block)


@pytest.fixture(scope="session")
def run_shell_block() -> Callable[[str, str, Path, Path], str]:
    """Runs a docs shell block: (block, base URL, directory of the commands, cwd)."""
    return _run_bash_block


def _run_bash_block(block: str, base_url: str, bin_dir: Path, cwd: Path) -> str:
    """Run the block with `bash -e` and pipefail (the docs' URL pointed at `base_url`), with
    the commands of `bin_dir` first on PATH and none of our BANGO_* settings."""
    script = "set -euo pipefail\n" + block.replace("http://127.0.0.1:8000", base_url)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BANGO_")}
    environment["PATH"] = f"{bin_dir}{os.pathsep}{environment['PATH']}"
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, f"shell block failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


#: Headless Debian chromium as root with a closed network: no sandbox (root), no GPU, and none of
#: the browser's own background traffic (updates, sync), which this machine's network refuses.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)


@pytest.fixture(scope="session")
def chromium_flags() -> list[str]:
    """The flags above, for a browser that Playwright launches (`executable_path` chromium)."""
    return list(CHROMIUM_FLAGS)


@pytest.fixture(scope="session")
def chromium() -> Callable[..., list[str]]:
    """Builds a headless chromium command line: (profile folder, further arguments...)."""
    binary = shutil.which("chromium")
    assert binary, "Debian chromium is missing: it is in system-packages.txt (make install)"

    def command(profile: Path, *arguments: str, headless: str = "--headless") -> list[str]:
        return [binary, headless, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments]

    return command


@pytest.fixture(scope="session")
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server; every sandbox on it gets a schema of its own."""
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def fresh_database(
    store_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], str]:
    """Call it for a new empty database: a SQLite path or a URL naming a new schema."""

    def fresh() -> str:
        if store_kind == "postgresql":
            server: PostgresServer = request.getfixturevalue("postgres")
            return server.url(f"t_{uuid.uuid4().hex[:16]}")
        return str(tmp_path_factory.mktemp("db") / "sandbox.sqlite3")

    return fresh


def _fresh_sandboxes(
    launcher: type[SandboxLauncher], fresh_database: Callable[[], str]
) -> Iterator[Callable[..., SandboxLauncher]]:
    """A factory of started sandboxes, each on a new database; all stopped afterwards."""
    started: list[SandboxLauncher] = []

    def start(**kwargs: Any) -> SandboxLauncher:
        server = launcher(fresh_database(), **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def in_process_sandbox(fresh_database: Callable[[], str]) -> Iterator[Callable[..., SandboxThread]]:
    """Factory for fresh sandboxes in this process: `in_process_sandbox(faults=..., config=...,
    resellers=..., login_throttle=...)`."""
    yield from _fresh_sandboxes(SandboxThread, fresh_database)


@pytest.fixture
def sandbox_server(fresh_database: Callable[[], str]) -> Iterator[Callable[..., SandboxProcess]]:
    """Factory for fresh sandboxes in child processes: `sandbox_server(faults=..., config=...,
    resellers=..., extra_env=..., log_path=...)`."""
    yield from _fresh_sandboxes(SandboxProcess, fresh_database)


@pytest.fixture(scope="session")
def sandbox(fresh_database: Callable[[], str]) -> Iterator[SandboxThread]:
    """The shared default sandbox (packaged configuration, demo resellers), in this process."""
    with SandboxThread(fresh_database()) as server:
        yield server


@pytest.fixture(scope="session")
def api(sandbox: SandboxThread) -> Iterator[Api]:
    client = Api(sandbox.base_url, DEMO_RESELLER)
    yield client
    client.close()


@pytest.fixture(scope="session")
def api2(sandbox: SandboxThread) -> Iterator[Api]:
    client = Api(sandbox.base_url, SECOND_DEMO_RESELLER)
    yield client
    client.close()


@pytest.fixture
def live(sandbox: SandboxThread) -> Iterator[ResaleClient]:
    """The public client on the shared sandbox, as the first demo reseller."""
    user, password = DEMO_RESELLER
    with ResaleClient(sandbox.base_url, user, password) as c:
        yield c


@pytest.fixture
def customer() -> str:
    """A customer id no other test uses."""
    return f"cust-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def receiver() -> Iterator[NotificationSink]:
    with NotificationSink() as running:
        yield running


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses every connection for the whole test.

    The socket is bound and never listens, so the kernel answers a connection with a reset
    (refused), and while the test holds it no other process can take the port: a port bound,
    read and closed again would be free for anyone to start listening on meanwhile.
    """
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


@pytest.fixture
def asgi_server() -> Iterator[Callable[[Any], str]]:
    import uvicorn

    running: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []

    def serve(app: Any) -> str:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [listener]}, name="asgi-server", daemon=True
        )
        thread.start()
        running.append((server, thread, listener))
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the ASGI server did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield serve
    for server, thread, listener in running:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
