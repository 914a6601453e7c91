"""Validate and lint every spec in spec/: OpenAPI documents with openapi-spec-validator, then
Redocly `recommended`; Arazzo documents with Redocly (`recommended` plus the rules Respect
applies, see redocly.yaml).

Fails on any validation error and on any Redocly error or warning. Redocly runs from the pinned
copy in node_modules/ (installed by `make install` from package-lock.json).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_SPECS = sorted((ROOT / "spec").glob("*.openapi.yaml"))
ARAZZO_SPECS = sorted((ROOT / "spec").glob("*.arazzo.yaml"))
REDOCLY = ROOT / "node_modules" / ".bin" / "redocly"


def validate(spec: Path) -> list[str]:
    from openapi_spec_validator import OpenAPIV31SpecValidator
    from openapi_spec_validator.readers import read_from_filename

    document, base_uri = read_from_filename(str(spec))
    try:
        validator = OpenAPIV31SpecValidator(document, base_uri=base_uri)
        return [str(error).splitlines()[0] for error in validator.iter_errors()]
    except Exception as exc:  # an unresolvable $ref raises instead of yielding an error
        return [f"{type(exc).__name__}: {exc}"]


def redocly_problems(spec: Path) -> list[str]:
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"}
    result = subprocess.run(
        [str(REDOCLY), "lint", str(spec), "--format=json", "--config", str(ROOT / "redocly.yaml")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=ROOT,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        return [f"redocly did not run cleanly (exit {result.returncode}): {result.stderr[-2000:]}"]
    return [
        f"{p['severity']} {p['ruleId']}: {p['message']} at {p['location'][0]['pointer']}"
        for p in report.get("problems", [])
    ]


def main() -> int:
    failed = False
    checks = [(spec, "valid OpenAPI 3.1, Redocly recommended") for spec in OPENAPI_SPECS]
    checks += [(spec, "Redocly recommended for Arazzo") for spec in ARAZZO_SPECS]
    for spec, passed in checks:
        problems = redocly_problems(spec)
        if spec in OPENAPI_SPECS:
            problems = validate(spec) + problems
        name = spec.relative_to(ROOT)
        if problems:
            failed = True
            print(f"{name}: {len(problems)} problem(s)")
            print("\n".join(f"  {p}" for p in problems))
        else:
            print(f"{name}: {passed}: 0 errors, 0 warnings")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
