"""The README's command-line section runs top to bottom, as written, against a real sandbox."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from bango_resale_sandbox.testing import SandboxThread


def test_readme_cli_block_runs_top_to_bottom(
    readme_cli_block: str,
    run_readme_cli: Callable[[str, Path, Path], str],
    sandbox: SandboxThread,
    tmp_path: Path,
) -> None:
    # Every command the README names in this block must come from the block itself.
    assert "bango-resale create" in readme_cli_block
    output = run_readme_cli(sandbox.base_url, Path(sys.executable).parent, tmp_path)
    assert "warning: reactivate is deprecated" in output
    assert "NAVIGATE_TO_URL http" in output
    assert '"responseCode": "NOT_FOUND"' in output and "exit status 1" in output
