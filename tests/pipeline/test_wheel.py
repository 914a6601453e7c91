"""The distribution: the wheel, built as `make wheel` does, installs with each extra in a fresh
virtual environment, and every console script it declares runs there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bango_resale_sandbox.testing import SandboxProcess

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


# One worker runs this module under `make test`, so that the module's wheel is built once.
pytestmark = pytest.mark.xdist_group("wheel")


def run(
    *command: str | Path,
    cwd: Path | None = None,
    expect: int = 0,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=600,
    )
    assert result.returncode == expect, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel as `make wheel` builds it: through the sdist, so the sdist must hold it all."""
    dist = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", dist, repo_root, cwd=repo_root)
    (built,) = dist.glob("bango_resale-*.whl")
    return built


def test_the_sdist_holds_the_examples_and_the_docs(wheel: Path) -> None:
    (sdist,) = wheel.parent.glob("bango_resale-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in (
        "examples/quickstart.py",
        "docs/index.md",
        "docs/getting-started.md",
        "mkdocs.yml",
        "spec/bango-resale.arazzo.yaml",
        "Makefile",
        "package-lock.json",
    ):
        assert needed in names, f"{needed} is not in {sdist.name}"


def test_nothing_the_sdist_ships_is_a_symbolic_link(repo_root: Path) -> None:
    """A link breaks where it lands: a wheel build copies its target or fails, a Windows
    checkout without symlink support gets a text file holding the path. A file needed in two
    places is held once and copied by the build (pyproject.toml's force-include)."""
    with (repo_root / "pyproject.toml").open("rb") as handle:
        shipped = tomllib.load(handle)["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    links = [
        str(path.relative_to(repo_root))
        for entry in shipped
        for path in [repo_root / entry, *(repo_root / entry).rglob("*")]
        if path.is_symlink()
    ]
    assert links == []


def install(wheel: Path, repo_root: Path, place: Path, extra: str | None) -> Path:
    """A fresh virtual environment holding the wheel (with `extra`); returns its bin/."""
    venv.create(place, with_pip=True)
    python = place / "bin" / "python"
    requirement = f"bango-resale{f'[{extra}]' if extra else ''} @ {wheel.as_uri()}"
    run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-c",
        repo_root / "constraints.txt",
        requirement,
    )
    return place / "bin"


def clean_environment(bin_dir: Path) -> dict[str, str]:
    """What a user's shell has: the venv's commands first, no BANGO_* settings of ours."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BANGO_")}
    environment["PATH"] = f"{bin_dir}{os.pathsep}{environment.get('PATH', '')}"
    return environment


@pytest.mark.slow
def test_wheel_installs_in_a_fresh_venv_and_type_checks(
    wheel: Path, repo_root: Path, tmp_path: Path
) -> None:
    bin_dir = install(wheel, repo_root, tmp_path / "venv", "sandbox")
    python = bin_dir / "python"
    # Each document is held once, as a regular file, in the contract package, side by side.
    with zipfile.ZipFile(wheel) as archive:
        documents = sorted(n for n in archive.namelist() if n.endswith(".yaml"))
    assert documents == [
        "bango_resale_spec/bango-resale.arazzo.yaml",
        "bango_resale_spec/bango-resale.openapi.yaml",
        "bango_resale_spec/sandbox.openapi.yaml",
    ]
    # The contract suite's configuration ships as a regular file, the checkout root's bytes.
    with zipfile.ZipFile(wheel) as archive:
        packaged = archive.read("bango_resale_contract/_data/schemathesis.toml")
    assert packaged == (repo_root / "schemathesis.toml").read_bytes()
    assert run(python, "-c", SMOKE).stdout.strip() == "ok"

    consumer = tmp_path / "consumer.py"
    consumer.write_text(CONSUMER)
    mypy = Path(sys.executable).parent / "mypy"
    result = run(mypy, "--strict", "--python-executable", python, "--no-incremental", consumer)
    assert "Success" in result.stdout


@pytest.mark.slow
def test_client_only_install_names_the_extra_each_command_needs(
    wheel: Path, repo_root: Path, tmp_path: Path
) -> None:
    bin_dir = install(wheel, repo_root, tmp_path / "venv", None)
    environment = clean_environment(bin_dir)
    # Run from elsewhere than the checkout, as a user of the wheel would.
    assert "bango-resale" in run("bango-resale", "--help", cwd=tmp_path, env=environment).stdout
    reasons = run("bango-resale", "reasons", cwd=tmp_path, env=environment).stdout
    assert "CUSTOMER_CANCELLED" in reasons

    # The hint names the wheel this environment was installed from: a bare
    # `pip install 'bango-resale[sandbox]'` would look for the name on an index.
    sandbox = run("bango-resale-sandbox", "--port", "0", cwd=tmp_path, env=environment, expect=2)
    assert f"pip install '{wheel}[sandbox]'" in sandbox.stderr, sandbox.stderr
    assert "Traceback" not in sandbox.stderr
    # The contract command line lists its commands without the extra, and each command that
    # needs it says how to get it, in one line.
    listed = run("bango-resale-contract", "--help", cwd=tmp_path, env=environment).stdout
    assert all(name in listed for name in ("run", "certify", "proxy", "audit", "receiver"))
    for command in ((), ("certify",), ("proxy", "--upstream", "http://127.0.0.1:9")):
        contract = run("bango-resale-contract", *command, cwd=tmp_path, env=environment, expect=2)
        assert f"pip install '{wheel}[contract]'" in contract.stderr, contract.stderr
        assert len(contract.stderr.splitlines()) == 1, contract.stderr
    # Testing a notification receiver is plain HTTP: it needs no extra.
    receiver = run(
        "bango-resale-contract",
        "receiver",
        "hooks",
        "--bearer",
        "t",
        cwd=tmp_path,
        env=environment,
        expect=2,
    )
    assert receiver.stderr == (
        "bango-resale-contract receiver: error: URL: 'hooks' is not an http(s) URL with a host\n"
    )


@pytest.fixture(scope="module")
def contract_venv(wheel: Path, repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel and its `contract` extra; returns its bin/."""
    return install(wheel, repo_root, tmp_path_factory.mktemp("contract") / "venv", "contract")


@pytest.mark.slow
def test_contract_extra_runs_every_console_script(
    contract_venv: Path,
    tmp_path: Path,
    run_cli_walkthrough: Callable[[str, Path, Path], str],
) -> None:
    bin_dir = contract_venv
    environment = clean_environment(bin_dir)
    work = tmp_path / "elsewhere"
    work.mkdir()
    for command in ("bango-resale", "bango-resale-sandbox", "bango-resale-contract"):
        assert "usage:" in run(command, "--help", cwd=work, env=environment).stdout

    # The wheel's own console script, from the wheel's environment, outside the checkout.
    program = [str(bin_dir / "bango-resale-sandbox")]
    with SandboxProcess(work / "sandbox.sqlite3", program=program, cwd=work) as server:
        environment |= {
            "BANGO_RESALE_BASE_URL": server.base_url,
            "BANGO_RESALE_USERNAME": "demo",
            "BANGO_RESALE_PASSWORD": "demo-secret",
        }
        assert (
            "wheel-ping"
            in run("bango-resale", "echo", "wheel-ping", cwd=work, env=environment).stdout
        )
        # The CLI guide's walk through every command works with the wheel's commands too.
        run_cli_walkthrough(server.base_url, bin_dir, work)
        # The console's templates and files are package data the wheel carries.
        console = {
            "/sandbox/console/": 'data-page="entitlements"',
            "/sandbox/console/assets/console.js": '"use strict";',
        }
        for path, marker in console.items():
            page = httpx.get(f"{server.base_url}{path}", auth=("demo", "demo-secret"))
            assert page.status_code == 200 and marker in page.text, (path, page.text[:300])

    # The suite from the wheel alone: no checkout, so the packaged configuration and specs.
    suite = run(
        "bango-resale-contract",
        "--phases",
        "examples",
        "--max-examples",
        "1",
        "--max-time",
        "5",
        "--no-scenarios",
        "--no-control-spec",
        "--quiet",
        cwd=work,
        env=environment,
    )
    assert "PASSED" in suite.stdout, suite.stdout + suite.stderr


@pytest.mark.slow
def test_certification_runs_from_the_wheel_outside_any_checkout(
    contract_venv: Path, repo_root: Path, tmp_path: Path
) -> None:
    bin_dir = contract_venv
    work = tmp_path / "elsewhere"
    work.mkdir()
    certify = ("bango-resale-contract", "certify")

    bare = clean_environment(bin_dir)
    usage = run(*certify, "--help", cwd=work, env=bare).stdout
    assert usage.startswith("usage: bango-resale-contract certify"), usage
    assert "--journey WORKFLOW_ID" in usage and "--report-dir DIR" in usage

    # Without Redocly CLI anywhere: one line that says how to get it, exit status 2; the name
    # certification had before it was a command says the same.
    bare["PATH"] = os.pathsep.join(
        part for part in bare["PATH"].split(os.pathsep) if not (Path(part) / "redocly").exists()
    )
    for command in (certify, (bin_dir / "python", "-m", "bango_resale_contract.certification")):
        missing = run(*command, "--journey", "connectivity", cwd=work, env=bare, expect=2)
        assert "npm install @redocly/cli@" in missing.stderr, missing.stderr
        assert len(missing.stderr.splitlines()) == 1, missing.stderr

    # With Redocly CLI on PATH (as after a global npm install), from the wheel alone: the
    # packaged journeys against a sandbox of its own.
    environment = clean_environment(bin_dir)
    environment["PATH"] += os.pathsep + str(repo_root / "node_modules" / ".bin")
    result = run(*certify, "--journey", "connectivity", cwd=work, env=environment)
    assert "PASSED: 1 of 1 journeys passed" in result.stdout, result.stdout + result.stderr
    report = (work / "reports" / "certification" / "certification.md").read_text()
    journeys_from = next(line for line in report.splitlines() if "Journeys from" in line)
    assert str(bin_dir.parent) in journeys_from, journeys_from
    assert "bango_resale_spec/bango-resale.arazzo.yaml" in journeys_from


def test_the_engine_named_to_wheel_users_is_the_one_package_json_pins(repo_root: Path) -> None:
    from bango_resale_contract.certification import _respect

    pins = json.loads((repo_root / "package.json").read_text())["devDependencies"]
    assert pins["@redocly/cli"] == _respect.REDOCLY_VERSION
    assert f"@redocly/cli@{_respect.REDOCLY_VERSION}" in _respect.INSTALL_HINT
