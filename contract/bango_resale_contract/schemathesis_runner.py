"""Run the schemathesis CLI as a subprocess and read back what it found.

The CLI is the most faithful way to run every phase (examples, coverage, fuzzing, stateful)
exactly as a partner would. Its JSON report gives the failures by code and check; its console
output gives the stateful phase's link coverage.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bango_resale_contract.observations import OBSERVATIONS_ENVIRONMENT_VARIABLE
from bango_resale_contract.sandbox_data import PRODUCTS_ENVIRONMENT_VARIABLE

ALL_PHASES = ("examples", "coverage", "fuzzing", "stateful")
_LINKS_LINE = re.compile(r"API Links:\s*(\d+) covered / (\d+) selected / (\d+) total")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# A failure's section heading (`____ POST /v1/entitlement ____`) and its case id line.
_FAILURE_HEADING = re.compile(r"^_{3,} ([A-Z]+ \S+) _{3,}$", re.MULTILINE)
_CASE_ID = re.compile(r"^\s*\d+\. Test Case ID: (\w+)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class FailureGroup:
    """One kind of failure schemathesis reported: its code (ST101...), title and where."""

    code: str
    title: str
    count: int
    operations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LinkCoverage:
    """The stateful phase's link figures as the CLI prints them."""

    covered: int
    selected: int
    total: int

    @property
    def ratio(self) -> float:
        return self.covered / self.selected if self.selected else 0.0


@dataclass(slots=True)
class SchemathesisRun:
    """The outcome of one `schemathesis run`."""

    name: str
    exit_code: int
    seconds: float
    output: str
    # The JUnit report, which holds a curl reproducer for every failure.
    junit_path: Path | None = None
    failures: list[FailureGroup] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Warning kind (`missing_auth`, `missing_test_data`, ...) -> what it names (operations,
    # filters); only kinds that fired.
    warnings: dict[str, list[str]] = field(default_factory=dict)
    # (operation, test case id) for each failure, for `st replay ID`.
    replay_ids: list[tuple[str, str]] = field(default_factory=list)
    links: LinkCoverage | None = None
    operations_tested: int = 0
    operations_selected: int = 0
    test_cases: int = 0

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.failures and not self.errors

    def failure_names(self) -> set[str]:
        """Codes and titles of every failure, for matching a expected finding by either."""
        return {part for group in self.failures for part in (group.code, group.title)}


def schemathesis_command() -> list[str]:
    """The schemathesis CLI of this environment, by absolute path (works without activation)."""
    executable = Path(sys.executable).with_name("schemathesis")
    if executable.exists():
        return [str(executable)]
    return [sys.executable, "-m", "schemathesis.cli"]


def run_schemathesis(
    *,
    name: str,
    spec_path: Path,
    base_url: str,
    user: str,
    password: str,
    report_dir: Path,
    observations_path: Path | None,
    config_path: Path | None,
    phases: Sequence[str] = ALL_PHASES,
    max_examples: int | None = None,
    extra_arguments: Sequence[str] = (),
    echo: bool = True,
    products: Sequence[tuple[str, str]] = (),
) -> SchemathesisRun:
    """Run schemathesis once, stream its console output, and parse its JSON report."""
    report_dir.mkdir(parents=True, exist_ok=True)
    json_report = report_dir / f"{name}.json"
    junit_report = report_dir / f"{name}.junit.xml"
    command = schemathesis_command()
    if config_path is not None:
        command += ["--config-file", str(config_path)]
    command += [
        "run",
        str(spec_path),
        "--url",
        base_url,
        "--phases",
        ",".join(phases),
        "--report-dir",
        str(report_dir),
        "--report-junit-path",
        str(junit_report),
        "--report-ndjson-path",
        str(report_dir / f"{name}.ndjson"),
        "--report-json-path",
        str(json_report),
    ]
    if config_path is None:
        # No configuration file: ask for the same essentials on the command line.
        command += ["--report", "junit,ndjson,json", "--generation-deterministic"]
        command += ["--auth", f"{user}:{password}", "--warnings", "missing_auth"]
    if max_examples is not None:
        command += ["--max-examples", str(max_examples)]
    command += list(extra_arguments)
    environment = dict(os.environ)
    environment.update(
        BANGO_CONTRACT_USER=user,
        BANGO_CONTRACT_PASSWORD=password,
        NO_COLOR="1",
        COLUMNS="120",
    )
    if observations_path is not None:
        environment[OBSERVATIONS_ENVIRONMENT_VARIABLE] = str(observations_path)
    # The hooks run inside the schemathesis process; they learn the products from here.
    environment.pop(PRODUCTS_ENVIRONMENT_VARIABLE, None)
    if products:
        environment[PRODUCTS_ENVIRONMENT_VARIABLE] = ",".join(f"{m}/{p}" for m, p in products)
    json_report.unlink(missing_ok=True)
    started = time.monotonic()
    lines: list[str] = []
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=environment,
        text=True,
        encoding="utf-8",
        errors="replace",
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if echo:
                sys.stdout.write(line)
                sys.stdout.flush()
    output = _ANSI.sub("", "".join(lines))
    run = SchemathesisRun(
        name=name,
        exit_code=process.returncode,
        seconds=time.monotonic() - started,
        output=output,
        junit_path=junit_report,
    )
    run.replay_ids = replay_ids(output)
    links = _LINKS_LINE.findall(output)
    if links:
        covered, selected, total = (int(n) for n in links[-1])
        run.links = LinkCoverage(covered=covered, selected=selected, total=total)
    if json_report.exists():
        _read_json_report(run, json.loads(json_report.read_text(encoding="utf-8")))
    elif process.returncode != 0:
        run.errors.append(f"schemathesis exited with {process.returncode} and wrote no report")
    return run


def _read_json_report(run: SchemathesisRun, report: Mapping[str, Any]) -> None:
    operations = report.get("operations", {})
    run.operations_tested = int(operations.get("tested", 0))
    run.operations_selected = int(operations.get("selected", 0))
    run.test_cases = int(report.get("test_cases", {}).get("generated", 0))
    for group in report.get("failures", []):
        run.failures.append(
            FailureGroup(
                code=str(group.get("code") or ""),
                title=str(group.get("title") or ""),
                count=int(group.get("count", 0)),
                operations=tuple(str(o) for o in group.get("operations", [])),
            )
        )
    run.errors.extend(str(e.get("title")) for e in report.get("errors", []))
    warnings = report.get("warnings", {})
    if isinstance(warnings, Mapping):
        run.warnings = {
            str(kind): [str(i) for i in items] for kind, items in warnings.items() if items
        }


def replay_ids(output: str) -> list[tuple[str, str]]:
    """(operation, test case id) for every failure section of schemathesis's console output."""
    found: list[tuple[str, str]] = []
    headings = list(_FAILURE_HEADING.finditer(output))
    for index, heading in enumerate(headings):
        end = headings[index + 1].start() if index + 1 < len(headings) else len(output)
        found.extend(
            (heading.group(1), case) for case in _CASE_ID.findall(output, heading.end(), end)
        )
    return found
