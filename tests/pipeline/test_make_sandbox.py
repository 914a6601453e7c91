"""`make sandbox` as a make user meets it: its hints name make's variables, not the flags."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path


def test_a_busy_port_tells_a_make_user_to_pick_another_port_variable(
    repo_root: Path, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                "make",
                "--no-print-directory",
                "-C",
                str(repo_root),
                # The venv is there already: not (re)installed on account of this test.
                "-o",
                ".venv/.installed",
                "sandbox",
                f"PORT={port}",
                f"DB={tmp_path / 'sandbox.sqlite3'}",
                f"PY={sys.executable}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    assert (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use (pick another PORT=)"
        in result.stderr.splitlines()
    ), result.stderr
    assert "--port)" not in result.stderr
