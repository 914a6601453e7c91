"""Run the Arazzo document with Redocly CLI's `respect` and read back its logs.

Respect executes the workflows (criteria, outputs, runtime expressions, Basic credentials
through `x-security`) and also checks every answer against the OpenAPI description. Its JSON log
gives each executed step's request, response and checks; its HAR log gives each request's
wall-clock start. Credentials are masked in both by Respect itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Respect stops by itself after this long; the runner's own timeout is a little longer.
EXECUTION_TIMEOUT_SECONDS = 300
FETCH_TIMEOUT_SECONDS = 30


@dataclass(frozen=True, slots=True)
class EngineLog:
    """What one respect run left behind."""

    exit_code: int
    # executedWorkflows of the JSON log, by workflowId.
    workflows: Mapping[str, Mapping[str, Any]]
    # HAR entries in the order the requests were sent.
    har_entries: tuple[Mapping[str, Any], ...]
    # The end of respect's console output, for when it did not run at all.
    console_tail: str


#: The Redocly CLI release the journeys are written for (package.json pins the same).
REDOCLY_VERSION = "2.77.0"
INSTALL_HINT = (
    f"the journeys run on Redocly CLI {REDOCLY_VERSION} (Node.js): run `make install` in a"
    f" checkout, or `npm install @redocly/cli@{REDOCLY_VERSION}` in the folder you run from"
    " (or anywhere, with its node_modules/.bin on PATH)"
)


def redocly_executable(root: Path = Path(".")) -> Path | None:
    """The Redocly CLI to run, None when there is none: `root`'s node_modules (a checkout, where
    `make install` pins it, or a folder the user installed it in), the node_modules of the
    checkout this package is installed from (an editable install run from elsewhere), then
    `redocly` on PATH."""
    checkout = Path(__file__).resolve().parents[3]
    for folder in (root, checkout):
        candidate = folder / "node_modules" / ".bin" / "redocly"
        if candidate.exists():
            return candidate
    found = shutil.which("redocly")
    return Path(found) if found else None


def _environment() -> dict[str, str]:
    return {
        **os.environ,
        "REDOCLY_TELEMETRY": "off",
        "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
        "NO_COLOR": "1",
    }


def engine_version(redocly: Path) -> str:
    """`Redocly CLI <version> (respect), Node.js <version>`."""
    version = subprocess.run(
        [str(redocly), "--version"],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=60,
        check=True,
    ).stdout.strip()
    node = subprocess.run(
        ["node", "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    return f"Redocly CLI {version} (respect), Node.js {node}"


def run(
    redocly: Path,
    document: Path,
    *,
    servers: Mapping[str, str],
    inputs: Mapping[str, str],
    workflows: Sequence[str],
    json_log: Path,
    har_log: Path,
) -> EngineLog:
    """Run `workflows` of `document` against `servers` (source name -> base URL)."""
    command = [
        str(redocly),
        "respect",
        str(document),
        "--json-output",
        str(json_log),
        "--har-output",
        str(har_log),
        "--execution-timeout",
        str(EXECUTION_TIMEOUT_SECONDS * 1000),
        "--max-fetch-timeout",
        str(FETCH_TIMEOUT_SECONDS * 1000),
    ]
    for name, url in servers.items():
        command += ["--server", f"{name}={url}"]
    for name, value in inputs.items():
        command += ["--input", f"{name}={value}"]
    for workflow in workflows:
        command += ["--workflow", workflow]
    for stale in (json_log, har_log):
        stale.unlink(missing_ok=True)
    if not workflows:
        # Without --workflow respect would run every workflow of the document.
        return EngineLog(exit_code=0, workflows={}, har_entries=(), console_tail="")
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=EXECUTION_TIMEOUT_SECONDS + 60,
        check=False,
    )
    return EngineLog(
        exit_code=completed.returncode,
        workflows=_executed_workflows(json_log),
        har_entries=_har_entries(har_log),
        console_tail=(completed.stdout + completed.stderr)[-4000:],
    )


def _executed_workflows(path: Path) -> dict[str, Mapping[str, Any]]:
    if not path.exists():
        return {}
    log = json.loads(path.read_text("utf-8"))
    found: dict[str, Mapping[str, Any]] = {}
    for file_log in log.get("files", {}).values():
        for workflow in file_log.get("executedWorkflows", ()):
            found[str(workflow["workflowId"])] = workflow
    return found


def _har_entries(path: Path) -> tuple[Mapping[str, Any], ...]:
    if not path.exists():
        return ()
    return tuple(json.loads(path.read_text("utf-8")).get("log", {}).get("entries", ()))
