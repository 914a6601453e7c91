"""Shared test configuration."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def readme_block(heading: str, language: str = "bash") -> str:
    """The first fenced `language` block under `heading` in README.md."""
    text = (REPO_ROOT / "README.md").read_text()
    start = text.index(f"\n{heading}\n")
    fence = text.index(f"```{language}\n", start) + len(f"```{language}\n")
    return text[fence : text.index("```", fence)]


@pytest.fixture(scope="session")
def readme_cli_block() -> str:
    """The README's command-line walk-through, as a user would paste it into bash."""
    return readme_block("### Command line")


@pytest.fixture(scope="session")
def run_readme_cli(readme_cli_block: str) -> Callable[[str, Path, Path], str]:
    """Runs the README's command-line block: (base URL, directory of the commands, cwd)."""
    return functools.partial(_run_bash_block, readme_cli_block)


def _run_bash_block(block: str, base_url: str, bin_dir: Path, cwd: Path) -> str:
    """Run the block with `bash -e` and pipefail (the README's URL pointed at `base_url`)."""
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
    assert result.returncode == 0, f"README CLI block failed:\n{result.stdout}\n{result.stderr}"
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
def chromium() -> Callable[..., list[str]]:
    """Builds a headless chromium command line: (profile folder, further arguments...)."""
    binary = shutil.which("chromium")
    assert binary, "Debian chromium is missing: it is in system-packages.txt (make install)"

    def command(profile: Path, *arguments: str, headless: str = "--headless") -> list[str]:
        return [binary, headless, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments]

    return command
