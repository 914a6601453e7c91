"""The whole contract suite: schemathesis on both specs, the scenarios, the matrix, a verdict."""

from __future__ import annotations

import shlex
import time
import tomllib
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import bango_resale_spec as spec
from bango_resale_contract import run_target, sandbox_data
from bango_resale_contract.observations import (
    MatrixRow,
    Observation,
    coverage_matrix,
    format_matrix,
    operations_exercised,
    read_observations,
)
from bango_resale_contract.scenarios import ScenarioReport, run_scenarios
from bango_resale_contract.schemathesis_runner import (
    ALL_PHASES,
    FailureGroup,
    SchemathesisRun,
    run_schemathesis,
    schemathesis_command,
)
from bango_resale_contract.transitions import TransitionReport, run_with_receiver

#: Where the printed replay command expects a sandbox started by hand.
SANDBOX_REPLAY_URL = "http://127.0.0.1:8000"
MIN_LINK_COVERAGE = 0.9
#: schemathesis's per-run budget when the configuration sets none (seconds).
DEFAULT_MAX_TIME = 25
# The shipped configuration: where a wheel holds it (pyproject.toml's force-include), and
# where it is in a source checkout (its root, two folders above this package).
PACKAGED_CONFIG = ("_data", "schemathesis.toml")
CHECKOUT_CONFIG = Path(__file__).resolve().parents[2] / "schemathesis.toml"


@dataclass(frozen=True, slots=True)
class SuiteOptions:
    """What to run and against what; the defaults are the CI run against a fresh sandbox."""

    url: str | None = None
    user: str = sandbox_data.DEMO_USER
    password: str = sandbox_data.DEMO_PASSWORD
    faults: tuple[str, ...] = ()
    report_dir: Path = Path("reports")
    config_path: Path | None = None
    phases: tuple[str, ...] = ALL_PHASES
    max_examples: int | None = None
    max_time: int | None = None
    control_spec: bool = True
    scenarios: bool = True
    echo: bool = True
    # Products a service other than the sandbox sells; creates name them (see hooks).
    products: tuple[tuple[str, str], ...] = ()
    # The journeys through the status machine, and where their notifications go: the public
    # address of the suite's receiver (needed for a remote service) and where it listens.
    transitions: bool = True
    notify_url: str | None = None
    notify_listen: tuple[str, int] = ("127.0.0.1", 0)

    @property
    def own_sandbox(self) -> bool:
        """True when the suite starts the project's sandbox (and so may demand everything)."""
        return self.url is None


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason the run fails, with the hints that help reproduce it: the summary lists them
    under it, and counts only the problem."""

    text: str
    hints: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.text


@dataclass(slots=True)
class SuiteResult:
    """Everything the suite measured, and the reasons it fails (empty when it passes)."""

    runs: list[SchemathesisRun] = field(default_factory=list)
    scenarios: ScenarioReport | None = None
    transitions: TransitionReport | None = None
    matrix: list[MatrixRow] = field(default_factory=list)
    exercised: dict[str, int] = field(default_factory=dict)
    stateful_creates: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def notifications_unchecked(self) -> str | None:
        """Why the service's notifications were not checked (None when they were)."""
        if self.transitions is None:
            return "the journeys did not run: --no-transitions"
        if not self.transitions.judge.notifications_checked:
            return "give --notify-url"
        return None

    def findings(self) -> set[str]:
        """Failure codes and titles from schemathesis plus the scenario suite's violations."""
        names = {name for run in self.runs for name in run.failure_names()}
        if self.scenarios is not None:
            names.update(self.scenarios.violations)
        if self.transitions is not None:
            names.update(self.transitions.violations)
        return names


def _budget_arguments(options: SuiteOptions) -> list[str]:
    return ["--max-time", str(options.max_time)] if options.max_time is not None else []


def run_suite(options: SuiteOptions) -> SuiteResult:
    """Run the suite; start (and stop) a sandbox first when no URL is given."""
    started = time.monotonic()
    result = SuiteResult()
    options.report_dir.mkdir(parents=True, exist_ok=True)
    observations_path = options.report_dir / "observations.jsonl"
    observations_path.unlink(missing_ok=True)
    with ExitStack() as stack:
        if options.url:
            base_url = options.url.rstrip("/")
        else:
            base_url = stack.enter_context(
                run_target.running_sandbox(options.faults, options.report_dir / "sandbox.log")
            )
        partner = run_schemathesis(
            name="partner",
            spec_path=spec.partner_spec_path(),
            base_url=base_url,
            user=options.user,
            password=options.password,
            report_dir=options.report_dir / "schemathesis",
            observations_path=observations_path,
            config_path=options.config_path,
            phases=options.phases,
            max_examples=options.max_examples,
            extra_arguments=_budget_arguments(options),
            echo=options.echo,
            products=options.products,
        )
        result.runs.append(partner)
        if options.scenarios:
            result.scenarios = run_scenarios(
                base_url, options.user, options.password, options.products
            )
        if options.transitions:
            result.transitions = run_with_receiver(
                base_url,
                options.user,
                options.password,
                own_sandbox=options.own_sandbox,
                notify_url=options.notify_url,
                notify_listen=options.notify_listen,
                products=options.products,
            )
        if options.control_spec and options.own_sandbox:
            result.runs.append(
                run_schemathesis(
                    name="sandbox-controls",
                    spec_path=spec.sandbox_spec_path(),
                    base_url=base_url,
                    user=options.user,
                    password=options.password,
                    report_dir=options.report_dir / "schemathesis",
                    observations_path=None,
                    config_path=options.config_path,
                    phases=options.phases,
                    max_examples=options.max_examples,
                    extra_arguments=_budget_arguments(options),
                    echo=options.echo,
                )
            )
    observations: list[Observation] = read_observations(observations_path)
    if result.scenarios is not None:
        observations += result.scenarios.observations
    if result.transitions is not None:
        observations += result.transitions.exchanges.observations
    result.matrix = coverage_matrix(observations)
    result.exercised = dict(operations_exercised(observations))
    result.stateful_creates = sum(
        1
        for o in observations
        if o.operation_id == "createEntitlement" and o.source == "schemathesis:stateful"
    )
    result.seconds = time.monotonic() - started
    result.problems = _verdict(options, result)
    result.warnings = _warnings(options, result)
    return result


# --- The verdict -----------------------------------------------------------------------------
#
# Each rule looks at the measured result and returns the problems it finds, worded for the
# person who ran the command: our flag names, what was measured, how to reproduce (as a
# `Problem`'s hints, when there is more to say than its one line). A new check adds a rule to
# VERDICT_RULES (problems fail the run) or WARNING_RULES (reported, not failing).

VerdictRule = Callable[[SuiteOptions, SuiteResult], Sequence[str | Problem]]
WarningRule = Callable[[SuiteOptions, SuiteResult], list[str]]

#: What each schemathesis warning means for someone running this suite, in its terms.
WARNING_MEANINGS = {
    "missing_auth": "the service refused the credentials (HTTP 401)",
    "missing_test_data": "kept answering 404, so these were only tested with ids that name"
    " nothing (the stateful phase and the scenarios supply real ones)",
    "unmatched_filter": "a filter in the schemathesis configuration matched no operation",
    "rate_limited": "the service answered 429 often: the figures are from fewer real answers",
    "low_valid_rate": "most generated requests were refused as invalid",
}


def credentials_refused(result: SuiteResult) -> bool:
    """True when the service answered 401 to the credentials the suite was given."""
    return any(run.warnings.get("missing_auth") for run in result.runs)


def _credential_hint(options: SuiteOptions) -> str:
    if options.own_sandbox:
        return "the suite's own sandbox refused the demo reseller: report this as a bug"
    return (
        f"check --user and --password (make contract USER=... PASSWORD=...); user"
        f" {options.user!r} got HTTP 401 at {options.url}"
    )


def _credentials_rule(options: SuiteOptions, result: SuiteResult) -> list[str]:
    if not credentials_refused(result):
        return []
    return [f"credentials refused: {_credential_hint(options)}"]


def _schemathesis_rule(options: SuiteOptions, result: SuiteResult) -> list[str | Problem]:
    problems: list[str | Problem] = []
    for run in result.runs:
        how = _reproducers(options, run) if run.failures else []
        for group in run.failures:
            cases = _replay_ids_of(run, group)
            shown = ", ".join(f"{case} ({operation})" for operation, case in cases[:6])
            more = f" and {len(cases) - 6} more" if len(cases) > 6 else ""
            problems.append(
                Problem(
                    f"{run.name}: {group.code} {group.title} x{group.count}"
                    f" ({', '.join(group.operations)})",
                    hints=(*([f"replay IDs: {shown}{more}"] if cases else []), *how),
                )
            )
        problems.extend(f"{run.name}: error: {error}" for error in run.errors)
        explained = run.failures or run.errors or run.warnings.get("missing_auth")
        if run.exit_code != 0 and not explained:
            problems.append(
                f"{run.name}: schemathesis exited with {run.exit_code} without naming a failure;"
                f" its output is above and its reports are in {run.junit_path}"
            )
    return problems


def _replay_ids_of(run: SchemathesisRun, group: FailureGroup) -> list[tuple[str, str]]:
    """The run's replay IDs on the group's operations; the run's first group also takes any ID
    whose operation no group names, so that none goes unlisted."""
    named = {operation for each in run.failures for operation in each.operations}
    first = group is run.failures[0]
    return [
        (operation, case)
        for operation, case in run.replay_ids
        if operation in group.operations or (first and operation not in named)
    ]


def _reproducers(options: SuiteOptions, run: SchemathesisRun) -> list[str]:
    """How to replay this run's failures, as commands that work as printed."""
    curl = (
        f"a curl command per failure is in {run.junit_path}"
        " (add -u USER:PASSWORD; the Authorization header is filtered)"
    )
    if not run.replay_ids:
        return [curl]
    config = options.config_path or default_config_path()
    # The demo password is public; another service's password is left for the user to fill in.
    password = shlex.quote(options.password) if options.own_sandbox else "..."
    credentials = (
        f"BANGO_CONTRACT_USER={shlex.quote(options.user)} BANGO_CONTRACT_PASSWORD={password}"
    )
    url = shlex.quote(options.url or SANDBOX_REPLAY_URL)
    program = " ".join(shlex.quote(part) for part in schemathesis_command())
    command = (
        f"{credentials} {program} --config-file {shlex.quote(str(config))} replay ID --url {url}"
    )
    if options.own_sandbox:
        faults = "".join(f" --fault {fault}" for fault in options.faults)
        port = SANDBOX_REPLAY_URL.rsplit(":", 1)[1]
        replay = (
            "to replay a failure, start a sandbox like the suite's (it has stopped):"
            f" bango-resale-sandbox --port {port} --db replay.sqlite3{faults}, then run: {command}"
        )
    else:
        replay = f"to replay a failure: {command}"
    return [replay, curl]


def _scenario_rule(options: SuiteOptions, result: SuiteResult) -> list[str]:
    if result.scenarios is None:
        return []
    problems = [f"scenarios: {v}" for v in result.scenarios.violations]
    if options.own_sandbox and not credentials_refused(result):
        problems.extend(f"scenarios: {m}" for m in result.scenarios.misses)
    return problems


def budget_judged(options: SuiteOptions) -> bool:
    """True when the runs had the time the link-coverage target is set for."""
    return options.max_time is None or options.max_time >= configured_max_time(options)


def _full_run_rule(options: SuiteOptions, result: SuiteResult) -> list[str]:
    # The full figures are only demanded of a full run against the project's sandbox.
    if not (options.own_sandbox and options.scenarios and "stateful" in options.phases):
        return []
    problems = []
    missing = [row for row in result.matrix if not row.observed]
    if missing:
        problems.append(
            "matrix: documented pairs never observed: "
            + ", ".join(f"{r.operation_id} {r.http_status} {r.response_code}" for r in missing)
        )
    unexercised = [op for op, count in result.exercised.items() if count == 0]
    if unexercised:
        problems.append(f"operations never exercised: {', '.join(unexercised)}")
    if not budget_judged(options):
        # Too short a budget to walk the links: reported by WARNING_RULES, not failed.
        return problems
    partner = result.runs[0]
    if partner.links is None:
        problems.append("the stateful phase reported no link coverage (did it run?)")
    elif partner.links.ratio < MIN_LINK_COVERAGE:
        problems.append(
            f"stateful link coverage {partner.links.covered}/{partner.links.selected}"
            f" ({partner.links.ratio:.0%}) is below {MIN_LINK_COVERAGE:.0%}"
        )
    if result.stateful_creates == 0:
        problems.append("the stateful phase never called createEntitlement")
    return problems


def _schemathesis_warnings(options: SuiteOptions, result: SuiteResult) -> list[str]:
    warnings = []
    for run in result.runs:
        for kind, items in run.warnings.items():
            if kind == "missing_auth":
                continue  # a problem of its own (credentials refused)
            meaning = WARNING_MEANINGS.get(kind, kind.replace("_", " "))
            warnings.append(f"{run.name}: {meaning}: {', '.join(items)}")
    return warnings


def _budget_warnings(options: SuiteOptions, result: SuiteResult) -> list[str]:
    full_run = options.own_sandbox and options.scenarios and "stateful" in options.phases
    if budget_judged(options) or not result.runs or not full_run:
        return []
    links = result.runs[0].links
    figure = f"{links.covered}/{links.selected}" if links is not None else "no figure"
    return [
        f"link coverage ({figure}) not judged: --max-time {options.max_time} is shorter than the"
        f" {configured_max_time(options)} s per run the {MIN_LINK_COVERAGE:.0%} target is set for"
    ]


def _transition_warnings(options: SuiteOptions, result: SuiteResult) -> list[str]:
    report = result.transitions
    if report is None or options.own_sandbox or credentials_refused(result):
        return []
    not_run = len(report.not_run())
    if not not_run:
        return []
    return [
        f"transitions: {not_run} of {report.rows_total} rows not run with the products given"
        " (each has its reason in the table above); --product adds products"
    ]


def _scenario_warnings(options: SuiteOptions, result: SuiteResult) -> list[str]:
    if result.scenarios is None or not result.scenarios.misses:
        return []
    misses = result.scenarios.misses
    if credentials_refused(result):
        return [f"scenarios: {len(misses)} misses not listed: every request was refused (401)"]
    if options.own_sandbox:
        return []  # problems of their own (see _scenario_rule)
    return [
        f"scenarios: {len(misses)} misses (answers that differ from the sandbox's magic numbers;"
        " not failures against another service), listed above"
    ]


def _transition_rule(options: SuiteOptions, result: SuiteResult) -> list[str | Problem]:
    """Behaviour violations always fail; against the project's sandbox, so do misses and
    rows of the table not run (its catalogue reaches every one)."""
    report = result.transitions
    if report is None or credentials_refused(result):
        return []  # refused credentials are one problem of their own (_credentials_rule)
    problems: list[str | Problem] = [f"transitions: {v}" for v in report.violations]
    if report.created_nothing:
        # Not a row the products cannot reach: names the service does not sell (a typo in
        # --product, say) leave nothing to test at all.
        products = " ".join(f"--product {m}/{p}" for m, p in report.products)
        problems.append(
            Problem(
                f"transitions: no create made an entitlement with {products}; check that the"
                " service sells them",
                hints=tuple(report.not_run().get("create-activated", ())[:3]),
            )
        )
    if options.own_sandbox:
        problems.extend(f"transitions: {m}" for m in report.misses)
        problems.extend(
            Problem(f"transitions: row {row} was never observed", hints=tuple(reasons))
            for row, reasons in report.not_run().items()
        )
    return problems


VERDICT_RULES: list[VerdictRule] = [
    _credentials_rule,
    _schemathesis_rule,
    _scenario_rule,
    _transition_rule,
    _full_run_rule,
]
WARNING_RULES: list[WarningRule] = [
    _schemathesis_warnings,
    _budget_warnings,
    _scenario_warnings,
    _transition_warnings,
]


def _verdict(options: SuiteOptions, result: SuiteResult) -> list[Problem]:
    return [
        problem if isinstance(problem, Problem) else Problem(problem)
        for rule in VERDICT_RULES
        for problem in rule(options, result)
    ]


def _warnings(options: SuiteOptions, result: SuiteResult) -> list[str]:
    return [warning for rule in WARNING_RULES for warning in rule(options, result)]


def format_summary(options: SuiteOptions, result: SuiteResult) -> str:
    """The closing report: matrix, figures per run, scenarios, verdict."""
    lines = ["", "=" * 78, "Bango Resale contract suite", "=" * 78]
    if result.matrix:
        lines.append(format_matrix(result.matrix))
    total_operations = len(spec.operation_responses())
    exercised = sum(1 for count in result.exercised.values() if count)
    lines.append(f"Operations exercised: {exercised}/{total_operations}")
    for run in result.runs:
        links = (
            f"{run.links.covered}/{run.links.selected} links covered ({run.links.ratio:.0%})"
            if run.links is not None
            else "no link figures"
        )
        lines.append(
            f"schemathesis[{run.name}]: exit {run.exit_code}, {run.test_cases} test cases,"
            f" {run.operations_tested}/{run.operations_selected} operations, {links},"
            f" {sum(g.count for g in run.failures)} failures, {run.seconds:.1f}s"
        )
    lines.append(f"Stateful phase calls to createEntitlement: {result.stateful_creates}")
    if result.scenarios is not None:
        scenarios = result.scenarios
        lines.append(
            f"Scenarios: {scenarios.requests} requests, {len(scenarios.violations)} contract"
            f" violations, {len(scenarios.misses)} misses"
        )
        if scenarios.misses and not options.own_sandbox and not credentials_refused(result):
            lines.append("  (misses are not failures against another service:)")
            lines.extend(f"  - {miss}" for miss in scenarios.misses)
    if result.transitions is not None:
        lines.append(result.transitions.format())
    lines.append(f"Total time: {result.seconds:.1f}s")
    if result.warnings:
        lines.append(f"Warnings (not failures): {len(result.warnings)}")
        lines.extend(f"  - {warning}" for warning in result.warnings)
    if result.problems:
        count = len(result.problems)
        lines.append(f"FAILED: {count} failure{'s' if count != 1 else ''}")
        shown: set[str] = set()
        for problem in result.problems:
            lines.append(f"  - {problem.text}")
            # A hint several failures share (how to replay a run's failures) is listed once,
            # under the first of them.
            lines.extend(f"      {hint}" for hint in problem.hints if hint not in shown)
            shown.update(problem.hints)
    elif result.notifications_unchecked:
        lines.append(f"PASSED, notifications not checked ({result.notifications_unchecked})")
    else:
        lines.append("PASSED: zero failures")
    return "\n".join(lines)


def default_config_path() -> Path:
    """`./schemathesis.toml` when there is one, else the one that ships: inside the package in
    a wheel (its build copies it there), at the root of the checkout the package sits in
    otherwise (a source checkout or an editable install). The file is held once: a copy kept
    in the package would drift, and a link would not survive a wheel or a Windows checkout."""
    candidate = Path("schemathesis.toml")
    if candidate.exists():
        return candidate
    packaged = Path(str(resources.files("bango_resale_contract").joinpath(*PACKAGED_CONFIG)))
    if packaged.is_file():
        return packaged
    return CHECKOUT_CONFIG


def configured_max_time(options: SuiteOptions) -> int:
    """The configuration's per-run time budget (`max-time`), the one the targets are set for."""
    config = options.config_path or default_config_path()
    with config.open("rb") as handle:
        value = tomllib.load(handle).get("max-time", DEFAULT_MAX_TIME)
    return int(value)


def parse_phases(text: str) -> tuple[str, ...]:
    """A comma-separated phase list, checked against the known phases."""
    phases = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = set(phases) - set(ALL_PHASES)
    if unknown or not phases:
        raise ValueError(f"unknown phases {sorted(unknown)}; known: {', '.join(ALL_PHASES)}")
    return phases


def faults_argument(values: Sequence[str]) -> tuple[str, ...]:
    """Fault names, comma-separated or repeated."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())
