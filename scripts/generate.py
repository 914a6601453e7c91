"""Regenerate the typed client in generated/ from the partner spec, or check it has not drifted.

    python scripts/generate.py           validate the spec, regenerate generated/
    python scripts/generate.py --check   regenerate into a temporary folder and fail if the
                                         result differs from the committed generated/

This script is the only writer of generated/. It fails on any generator warning, because
openapi-python-client silently drops operations it cannot parse.

Each operation module gets a public `build_request(...)` (scripts/templates/): the hand-written
client sends what it returns, so every header, parameter and body field the spec defines
reaches the wire without the client naming the generator's private helpers.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "bango-resale.openapi.yaml"
CONFIG = ROOT / "scripts" / "openapi-python-client.yaml"
TEMPLATES = ROOT / "scripts" / "templates"
# The generator's own template for an operation module, which ours extends.
ENDPOINT_TEMPLATE = "endpoint_module.py.jinja"
PACKAGE = "bango_resale_generated"
GENERATED = ROOT / "generated"
README = """\
# generated/

`bango_resale_generated` is produced from `spec/bango-resale.openapi.yaml` by
`scripts/generate.py` (openapi-python-client and ruff, both pinned in `pyproject.toml`).
Do not edit anything here: change the spec and run `make generate`. CI fails when this folder
differs from what the spec produces. Users import the hand-written `bango_resale` package,
which wraps this one.
"""


class GenerationError(RuntimeError):
    """The spec is invalid, or the generator warned or failed."""


def validate_spec(spec: Path) -> None:
    """Validate the spec with openapi-spec-validator before generating from it."""
    from openapi_spec_validator import OpenAPIV31SpecValidator, validate
    from openapi_spec_validator.readers import read_from_filename

    document, base_uri = read_from_filename(str(spec))
    try:
        validate(document, base_uri=base_uri, cls=OpenAPIV31SpecValidator)
    except Exception as exc:  # the validator raises several unrelated exception types
        raise GenerationError(f"{spec.name} is not a valid OpenAPI 3.1 document: {exc}") from exc


def write_templates(folder: Path) -> Path:
    """The custom template folder: the generator's operation template plus our request builder.

    Appending to the installed template (rather than keeping a copy of it) means a generator
    upgrade changes only what it changes upstream; the builder reuses that template's macros.
    """
    import openapi_python_client

    builtin = Path(openapi_python_client.__file__).parent / "templates" / ENDPOINT_TEMPLATE
    addition = (TEMPLATES / "request_builder.py.jinja").read_text()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ENDPOINT_TEMPLATE).write_text(builtin.read_text() + addition)
    return folder


def generate_into(target: Path, spec: Path = SPEC) -> None:
    """Generate the client for `spec` into `target` (a folder that must not exist yet)."""
    templates = write_templates(target.parent / f"{target.name}-templates")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    package_dir = target / PACKAGE
    command = [
        str(bin_dir / "openapi-python-client"),
        "generate",
        "--path",
        str(spec),
        "--meta",
        "none",
        "--config",
        str(CONFIG),
        "--custom-template-path",
        str(templates),
        "--output-path",
        str(package_dir),
        "--fail-on-warning",
    ]
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    finally:
        shutil.rmtree(templates, ignore_errors=True)
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0 or "warning" in output.lower():
        raise GenerationError(f"openapi-python-client failed or warned:\n{output}")
    shutil.rmtree(package_dir / ".ruff_cache", ignore_errors=True)
    # --meta none writes no typing marker; the distribution ships the package as typed.
    (package_dir / "py.typed").write_text("")
    (target / "README.md").write_text(README)


def differences(expected: Path, actual: Path) -> list[str]:
    """Relative paths that differ between two trees (missing, extra or changed)."""
    found: list[str] = []

    def walk(cmp: filecmp.dircmp[str], prefix: Path) -> None:
        found.extend(f"only in regenerated output: {prefix / n}" for n in cmp.left_only)
        found.extend(f"not produced by the spec: {prefix / n}" for n in cmp.right_only)
        for name in cmp.common_files:
            left, right = Path(cmp.left) / name, Path(cmp.right) / name
            if left.read_bytes() != right.read_bytes():
                found.append(f"changed: {prefix / name}")
        for name, sub in cmp.subdirs.items():
            walk(sub, prefix / name)

    walk(filecmp.dircmp(expected, actual, ignore=["__pycache__"]), Path())
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if generated/ has drifted")
    parser.add_argument("--spec", type=Path, default=SPEC, help="spec to generate from")
    parser.add_argument("--generated", type=Path, default=GENERATED, help="folder to compare")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    try:
        validate_spec(args.spec)
        with tempfile.TemporaryDirectory() as scratch:
            fresh = Path(scratch) / "generated"
            generate_into(fresh, args.spec)
            if args.check:
                drift = differences(fresh, args.generated)
                if drift:
                    print("generated/ does not match the spec; run `make generate`:")
                    print("\n".join(f"  {line}" for line in drift))
                    return 1
                print(f"generated/ matches the spec ({time.perf_counter() - started:.1f} s)")
                return 0
            shutil.rmtree(args.generated, ignore_errors=True)
            shutil.copytree(fresh, args.generated)
    except GenerationError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"regenerated {args.generated} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
