"""Run one of the pinned Node tools in node_modules/ (Redocly, Spectral) and read its JSON."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "node_modules" / ".bin"
# Keep Redocly quiet and offline: no telemetry, no update notice in the output.
_ENVIRONMENT = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}


class ToolFailed(RuntimeError):
    """The tool gave no JSON report (not installed, crashed, bad arguments)."""


def run_json(tool: str, *arguments: str) -> Any:
    """`node_modules/.bin/<tool> <arguments>` from the repository root; its stdout as JSON."""
    result = subprocess.run(
        [str(BIN / tool), *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, **_ENVIRONMENT},
        check=False,
        cwd=ROOT,
    )
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        raise ToolFailed(
            f"{tool} did not run cleanly (exit {result.returncode}): {result.stderr[-2000:]}"
        ) from None
