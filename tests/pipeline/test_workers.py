"""`make test` keeps a module marked `xdist_group` on one worker, so its module fixtures (a
built wheel and its venvs, a browser) are made once. pytest-xdist does it by renaming each
test; this trips when a pytest or xdist release stops that from working."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GROUPED_MODULE = """
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("together")


@pytest.mark.parametrize("n", range(6))
def test_where(n: int) -> None:
    Path(f"ran-{n}").write_text(os.environ["PYTEST_XDIST_WORKER"])
"""


def test_a_grouped_module_runs_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED_MODULE)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_grouped.py",
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    workers = {(tmp_path / f"ran-{n}").read_text() for n in range(6)}
    assert len(workers) == 1, f"the grouped tests ran on {sorted(workers)}"
