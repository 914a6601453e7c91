"""Start a sandbox from Python, for your own tests and tools: the one launcher, in two forms.

Both take the same arguments (a database, and optionally a configuration file, deliberate
faults, resellers, `login_throttle=False`), listen on a loopback port the operating system
picks (or the `port` you name), and return from `start()` (or `with`) once the sandbox
answers; then `base_url` and `port` say where it is.

- `SandboxThread` serves the real app with the real server (uvicorn, the sandbox's own limits)
  in a background thread of the calling process: real HTTP and a real database, without a
  Python start-up per sandbox.
- `SandboxProcess` runs the `bango-resale-sandbox` command in a child process, for what needs
  one: a crash (`kill()`, SIGKILL), the command line and its environment, a log file, several
  instances on one database.

`DEMO_RESELLER` and `SECOND_DEMO_RESELLER` are the packaged configuration's two resellers, as
(user, password) pairs.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from .__main__ import announced_url
from .config import load_config

__all__ = ["DEMO_RESELLER", "SECOND_DEMO_RESELLER", "SandboxProcess", "SandboxThread"]

HOST = "127.0.0.1"

# The packaged configuration's two demo resellers, as (name, password) pairs.
DEMO_RESELLER, SECOND_DEMO_RESELLER = [
    (reseller.name, reseller.password) for reseller in load_config().resellers.values()
][:2]


class _Sandbox:
    """What both forms of the launcher share: their arguments, address and context manager."""

    def __init__(
        self,
        db_path: Path | str,
        *,
        port: int = 0,
        config: Path | str | None = None,
        faults: Sequence[str] = (),
        resellers: Sequence[tuple[str, str]] = (),
        login_throttle: bool = True,
    ) -> None:
        # A SQLite file, or a postgresql:// URL (kept as the string it is).
        self.db_path: Path | str = (
            db_path if str(db_path).startswith("postgresql://") else Path(db_path)
        )
        # 0: the operating system picks a free port as the sandbox binds it (no port is
        # chosen here and bound later, which another process could take meanwhile).
        self.requested_port = port
        self._port: int | None = None
        self.config = config
        self.faults = tuple(faults)
        self.resellers = tuple(resellers)
        self.login_throttle = login_throttle

    @property
    def port(self) -> int:
        """The port the sandbox listens on (known once `start()` returned)."""
        if self._port is None:
            raise RuntimeError("the sandbox has not started: its port is known after start()")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 20.0) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class SandboxProcess(_Sandbox):
    """A sandbox server in a child process. Use as a context manager, or start()/stop().

    Its output goes to `log_path` (appended; by default beside a SQLite database, named after
    it). `start()` again after `stop()` or `kill()` starts a new process on the same database,
    on a new port unless one was named."""

    def __init__(
        self,
        db_path: Path | str,
        *,
        port: int = 0,
        config: Path | str | None = None,
        faults: Sequence[str] = (),
        resellers: Sequence[tuple[str, str]] = (),
        log_path: Path | str | None = None,
        extra_env: dict[str, str] | None = None,
        login_throttle: bool = True,
        program: Sequence[str] = (sys.executable, "-m", "bango_resale_sandbox"),
        cwd: Path | str | None = None,
    ) -> None:
        super().__init__(
            db_path,
            port=port,
            config=config,
            faults=faults,
            resellers=resellers,
            login_throttle=login_throttle,
        )
        if log_path is None:
            log_path = (
                self.db_path.with_suffix(".log")
                if isinstance(self.db_path, Path)
                else tempfile.mkstemp(prefix="sandbox-", suffix=".log")[1]
            )
        self.log_path = Path(log_path)
        self.extra_env = extra_env or {}
        # The command that runs the sandbox: this interpreter's module, or another install's
        # console script (`bango-resale-sandbox` of a wheel in its own virtual environment).
        self.program = tuple(program)
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        command = [
            *self.program,
            "--host",
            HOST,
            "--port",
            str(self.requested_port),
            "--db",
            str(self.db_path),
        ]
        if self.config is not None:
            command += ["--config", str(self.config)]
        for fault in self.faults:
            command += ["--fault", fault]
        for name, password in self.resellers:
            command += ["--reseller", f"{name}:{password}"]
        if not self.login_throttle:
            command.append("--no-login-throttle")
        return command

    def start(self, timeout: float = 20.0) -> Self:
        env = {**os.environ, **self.extra_env}
        if "BANGO_SANDBOX_FAULTS" not in self.extra_env:
            # Faults come only from this object, never from the caller's environment.
            env.pop("BANGO_SANDBOX_FAULTS", None)
        self._port = None
        # The log may hold earlier runs (a restart, other instances): read from here on.
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.cwd
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"sandbox exited early; see {self.log_path}:\n"
                    + self.log_path.read_text(errors="replace")[-3000:]
                )
            if self._port is None:
                self._port = self._announced_port(offset)
            elif self._answers():
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"sandbox did not answer within {timeout} s; see {self.log_path}")

    def _announced_port(self, offset: int) -> int | None:
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            url = announced_url(log.read().decode("utf-8", "replace"))
        return None if url is None else int(url.rsplit(":", 1)[1])

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/sandbox/health", timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        """Graceful stop (SIGTERM), then wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Crash: SIGKILL, no chance to clean up."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


class SandboxThread(_Sandbox):
    """The sandbox in this process: uvicorn's server on a background thread, serving the app the
    command line would build (same configuration, faults and resellers). start()/stop(), or use
    it as a context manager."""

    # Set by start(); the arguments are those of every launcher (`_Sandbox`).
    _server: Any = None
    _listener: socket.socket | None = None
    _thread: threading.Thread | None = None
    _gc_threshold: tuple[int, int, int] = (700, 10, 10)

    def start(self, timeout: float = 20.0) -> Self:
        from . import create_app, load_config, server
        from .faults import parse_faults

        # Restored by stop(): the app's start-up retunes the collector.
        self._gc_threshold = gc.get_threshold()
        config = load_config(None if self.config is None else Path(self.config))
        if self.resellers:
            config = config.with_resellers(list(self.resellers))
        config = config.with_faults(parse_faults(self.faults))
        if not self.login_throttle:
            config = config.without_login_throttle()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((HOST, self.requested_port))
        self._port = int(self._listener.getsockname()[1])
        app = create_app(str(self.db_path), config.serving_on(HOST, self._port))
        self._server = server.build(app, log_level="warning", limits=config.limits)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._listener]},
            name=f"sandbox-{self._port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the in-process sandbox on port {self._port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Graceful stop: uvicorn's shutdown (lifespan included), then join the thread."""
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
            self._thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            # The app tunes the collector for a process of its own (freeze, high threshold):
            # give the test process its settings back.
            gc.unfreeze()
            gc.set_threshold(*self._gc_threshold)
