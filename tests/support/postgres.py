"""A throwaway PostgreSQL server for tests and benchmarks: `initdb`, then `pg_ctl start` on a
loopback port, in a temporary folder that `stop()` removes.

The binaries come from PATH or Debian's /usr/lib/postgresql/<version>/bin (package
`postgresql`, in system-packages.txt). PostgreSQL refuses to run as root, so as root the server
runs as the `postgres` user (created by the Debian package) or `nobody`, which takes `chown`
and `runuser`: one reason this lives with the tests, never in a package users install.

PostgreSQL cannot be told to pick a free port itself and say which, so a port is picked here;
when another process took it meanwhile, the server fails to bind and is started again on
another (the race is harmless, not merely unlikely).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

# Tries at a port another process may have taken between the pick and the bind.
_PORT_TRIES = 5


class PostgresServer:
    """A PostgreSQL server of its own; a context manager, or start()/stop()."""

    def __init__(self) -> None:
        self.port = 0
        self.folder = Path(tempfile.mkdtemp(prefix="bango-pg-"))
        self.data = self.folder / "data"
        self.bin = _postgres_bin()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = "postgres" if _user_exists("postgres") else "nobody"
            shutil.chown(self.folder, user)
            os.chmod(self.folder, 0o700)
            self._as_user = ["runuser", "-u", user, "--"]

    def url(self, schema: str | None = None) -> str:
        base = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        return base if schema is None else f"{base}?schema={schema}"

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_user, *command], check=True, capture_output=True, cwd=self.folder)

    def start(self) -> PostgresServer:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        for attempt in range(_PORT_TRIES):
            self.port = _unused_port()
            try:
                self.resume()
                return self
            except subprocess.CalledProcessError:
                if attempt == _PORT_TRIES - 1 or not self._port_was_taken():
                    raise
        raise AssertionError("unreachable")

    def _port_was_taken(self) -> bool:
        log = self.folder / "server.log"
        return log.exists() and "could not bind" in log.read_text(errors="replace")

    def resume(self) -> None:
        """Start the server on its data folder (after `start`, or again after `halt`)."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
            " -c max_connections=200 -c shared_buffers=128MB"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "start",
        )

    def halt(self) -> None:
        """Shut the server down, keeping its data, as a database outage would."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        if self.data.exists():
            stop = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"]
            subprocess.run([*self._as_user, *stop], capture_output=True, cwd=self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _postgres_bin() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4])
    )
    if not versions:
        raise RuntimeError(
            "no PostgreSQL server binaries (pg_ctl): install Debian's postgresql package"
            " (make install does, from system-packages.txt)"
        )
    return Path(versions[-1]).parent


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
