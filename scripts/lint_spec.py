"""Validate and lint every spec in spec/. OpenAPI documents: openapi-spec-validator, Redocly
`recommended`, and Spectral `spectral:oas` with every rule switched on (.spectral.yaml). Arazzo
documents: Redocly (`recommended` plus the rules Respect applies, see redocly.yaml). Every
document: no YAML anchor or alias (Specmatic, for one, reads an alias as its name in a string),
so each is written out in full.

Fails on any validation error and on any Redocly or Spectral finding, whatever its severity.
Both linters run from the pinned copies in node_modules/ (installed by `make install` from
package-lock.json), the way a partner would run them on the published spec.
"""

from __future__ import annotations

import sys
from pathlib import Path

from node_tools import ToolFailed, run_json

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_SPECS = sorted((ROOT / "spec").glob("*.openapi.yaml"))
ARAZZO_SPECS = sorted((ROOT / "spec").glob("*.arazzo.yaml"))
SPECTRAL_SEVERITIES = ("error", "warning", "info", "hint")


def validate(spec: Path) -> list[str]:
    from openapi_spec_validator import OpenAPIV31SpecValidator
    from openapi_spec_validator.readers import read_from_filename

    document, base_uri = read_from_filename(str(spec))
    try:
        validator = OpenAPIV31SpecValidator(document, base_uri=base_uri)
        return [str(error).splitlines()[0] for error in validator.iter_errors()]
    except Exception as exc:  # an unresolvable $ref raises instead of yielding an error
        return [f"{type(exc).__name__}: {exc}"]


def yaml_references(spec: Path) -> list[str]:
    """Every YAML anchor (`&name`) and alias (`*name`) in the document, with its line."""
    import yaml

    found = []
    for event in yaml.parse(spec.read_text("utf-8")):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            found.append(f"alias *{event.anchor} at line {line}: write the value out in full")
        elif getattr(event, "anchor", None):
            found.append(f"anchor &{event.anchor} at line {line}: write its uses out in full")
    return found


def redocly_problems(spec: Path) -> list[str]:
    try:
        report = run_json(
            "redocly", "lint", str(spec), "--format=json", "--config", str(ROOT / "redocly.yaml")
        )
    except ToolFailed as exc:
        return [str(exc)]
    return [
        f"{p['severity']} {p['ruleId']}: {p['message']} at {p['location'][0]['pointer']}"
        for p in report.get("problems", [])
    ]


def spectral_problems(spec: Path) -> list[str]:
    ruleset = str(ROOT / ".spectral.yaml")
    try:
        report = run_json(
            "spectral", "lint", str(spec), "--format=json", "--quiet", "--ruleset", ruleset
        )
    except ToolFailed as exc:
        return [str(exc)]
    return [
        f"{SPECTRAL_SEVERITIES[p['severity']]} {p['code']}: {p['message']} at "
        + "/".join(str(part) for part in p["path"])
        for p in report
    ]


def main() -> int:
    failed = False
    checks = [
        (spec, "valid OpenAPI 3.1; Redocly recommended and Spectral spectral:oas (all rules)")
        for spec in OPENAPI_SPECS
    ]
    checks += [(spec, "Redocly recommended for Arazzo") for spec in ARAZZO_SPECS]
    for spec, passed in checks:
        problems = yaml_references(spec) + redocly_problems(spec)
        if spec in OPENAPI_SPECS:
            problems = validate(spec) + problems + spectral_problems(spec)
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
