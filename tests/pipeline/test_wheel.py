"""The distribution: the wheel installs into a fresh virtual environment and is typed."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

CONSUMER = '''\
"""A consumer of the generated client, as a user would write it."""

from bango_resale_generated import AuthenticatedClient
from bango_resale_generated.api.entitlements import get_entitlement
from bango_resale_generated.models import EntitlementResponse, Envelope
from bango_resale_generated.types import Response


def status_of(entitlement_id: str) -> str | None:
    client = AuthenticatedClient(
        base_url="http://127.0.0.1:8000", token="ZGVtbzpkZW1vLXNlY3JldA==", prefix="Basic"
    )
    with client:
        response: Response[EntitlementResponse | Envelope] = get_entitlement.sync_detailed(
            entitlement_id, client=client
        )
    if isinstance(response.parsed, EntitlementResponse):
        return str(response.parsed.status)
    return None
'''

SMOKE = """\
import bango_resale_generated, bango_resale, bango_resale_sandbox, bango_resale_spec
from importlib import resources
assert len(bango_resale_spec.reason_rows()) == 23
packages = ("bango_resale_generated", "bango_resale", "bango_resale_sandbox", "bango_resale_spec")
for package in packages:
    assert resources.files(package).joinpath("py.typed").is_file(), package
# The documents are inside the contract package, side by side: the sandbox spec's relative
# $refs point at the partner spec beside it.
data = resources.files("bango_resale_spec")
partner = bango_resale_spec.partner_spec_path()
sandbox = bango_resale_spec.sandbox_spec_path()
assert partner == data.joinpath("bango-resale.openapi.yaml"), partner
assert sandbox.parent == partner.parent, (sandbox, partner)
assert "EntitlementResponse" in bango_resale_spec.load_partner_spec()["components"]["schemas"]
assert "./bango-resale.openapi.yaml#/" in sandbox.read_text()
print("ok")
"""


def run(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_wheel_installs_in_a_fresh_venv_and_type_checks(repo_root: Path, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, repo_root, cwd=repo_root)
    (wheel,) = dist.glob("bango_resale-*.whl")
    # Each document is held once, as a regular file, in the contract package.
    with zipfile.ZipFile(wheel) as archive:
        documents = sorted(n for n in archive.namelist() if n.endswith(".openapi.yaml"))
    assert documents == [
        "bango_resale_spec/bango-resale.openapi.yaml",
        "bango_resale_spec/sandbox.openapi.yaml",
    ]

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # The sandbox's server dependencies come with its extra, as a user would install it.
    requirement = f"bango-resale[sandbox] @ {wheel.as_uri()}"
    run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement)

    assert run(python, "-c", SMOKE).stdout.strip() == "ok"

    consumer = tmp_path / "consumer.py"
    consumer.write_text(CONSUMER)
    mypy = Path(sys.executable).parent / "mypy"
    result = run(mypy, "--strict", "--python-executable", python, "--no-incremental", consumer)
    assert "Success" in result.stdout
