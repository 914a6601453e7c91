"""The regeneration pipeline: deterministic output, and a drift check that catches stale code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

GENERATE = ["scripts/generate.py"]


def run_generate(repo_root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *GENERATE, *args],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=False,
    )


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_committed_client_matches_the_spec(repo_root: Path) -> None:
    result = run_generate(repo_root, "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_drift_check_fails_when_the_spec_changes_without_regeneration(
    repo_root: Path, tmp_path: Path
) -> None:
    spec = (repo_root / "spec" / "bango-resale.openapi.yaml").read_text()
    changed = spec.replace(
        "        offerKey:\n          $ref: '#/components/schemas/OfferKey'\n",
        "        offerKey:\n          $ref: '#/components/schemas/OfferKey'\n"
        "        campaignCode:\n          type: string\n",
        1,
    )
    assert changed != spec
    edited = tmp_path / "bango-resale.openapi.yaml"
    edited.write_text(changed)

    result = run_generate(repo_root, "--check", "--spec", str(edited))

    assert result.returncode == 1
    assert "changed: bango_resale_generated/models/create_entitlement_request.py" in result.stdout


def test_drift_check_fails_on_a_hand_edit(repo_root: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "generated"
    shutil.copytree(repo_root / "generated", copy, ignore=shutil.ignore_patterns("__pycache__"))
    client = copy / "bango_resale_generated" / "client.py"
    client.write_text(client.read_text() + "\n# patched by hand\n")

    result = run_generate(repo_root, "--check", "--generated", str(copy))

    assert result.returncode == 1
    assert "changed: bango_resale_generated/client.py" in result.stdout


def test_an_invalid_spec_is_refused_before_generation(repo_root: Path, tmp_path: Path) -> None:
    spec = (repo_root / "spec" / "bango-resale.openapi.yaml").read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(spec.replace("$ref: '#/components/schemas/OfferKey'", "$ref: '#/nowhere'", 1))

    result = run_generate(repo_root, "--check", "--spec", str(broken))

    assert result.returncode == 1
    assert "not a valid OpenAPI 3.1 document" in result.stderr


@pytest.mark.slow
def test_two_generations_are_byte_identical(repo_root: Path, tmp_path: Path) -> None:
    sys.path.insert(0, str(repo_root / "scripts"))
    try:
        import generate
    finally:
        sys.path.pop(0)
    generate.generate_into(tmp_path / "one")
    generate.generate_into(tmp_path / "two")
    first, second = tree_bytes(tmp_path / "one"), tree_bytes(tmp_path / "two")
    assert len(first) > 30
    assert first == second
