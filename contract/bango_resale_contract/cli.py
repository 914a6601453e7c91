"""`bango-resale-contract`: one command line, a command per job.

    run        the contract suite, against a sandbox started for the run or any --url
    certify    Bango's certification journeys, and the evidence to hand in
    proxy      forward an integration's traffic to a service and judge every exchange
    audit      judge a recorded HAR file with the proxy's rules
    receiver   play the platform against a notification receiver

`run` is the default: with no command, or options first, the suite runs
(`bango-resale-contract --url URL` is `bango-resale-contract run --url URL`), as it did before
the other jobs had commands, so `make contract` and scripts written then keep working.

Each command checks its whole command line before it starts anything; what it cannot use is
one line naming the flag, exit status 2. The commands that need the `contract` extra say how
to install it, naming the wheel this installation came from.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bango_resale_contract import live_cli, receiver_checks, run_target, sandbox_data
from bango_resale_contract._usage import PROG, Parser, UsageError
from bango_resale_spec.distribution import install_command

__all__ = ["COMMANDS", "DEFAULT_COMMAND", "EXTRA_MODULES", "Command", "build_parser", "main"]

#: Modules of the `contract` extra (it brings the sandbox's too) the commands run on.
EXTRA_MODULES = ("schemathesis", "aiohttp", "uvicorn", "orjson", "jsonschema_rs")
#: The command a command line without one runs.
DEFAULT_COMMAND = "run"


@dataclass(frozen=True, slots=True)
class Command:
    """One command: its line in `--help`, its own help, its options and what it runs (which
    raises `UsageError` for arguments it cannot use, before starting anything)."""

    summary: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    needs_extra: bool = True


# -- run: the contract suite -------------------------------------------------------------------


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    run_target.add_target_arguments(parser)
    parser.add_argument(
        "--product",
        action="append",
        default=[],
        metavar="MERCHANT/PRODUCT",
        help="a product the service sells, for creates to name (repeatable; only with --url);"
        " what the products given cannot do is reported as not run, with the reason",
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help="where the reports go: schemathesis's under DIR/schemathesis, every answer in"
        " DIR/observations.jsonl, the sandbox's log (default: reports)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="schemathesis configuration (default: ./schemathesis.toml, else the one shipped with"
        " the suite)",
    )
    parser.add_argument(
        "--phases",
        default=None,
        help="comma-separated subset of schemathesis's phases"
        " (examples,coverage,fuzzing,stateful; default: all)",
    )
    parser.add_argument(
        "--max-examples",
        type=int,
        default=None,
        metavar="N",
        help="examples Hypothesis generates per operation (default: the configuration's)",
    )
    parser.add_argument(
        "--max-time",
        type=int,
        default=None,
        metavar="SECONDS",
        help="seconds per schemathesis run (default: the configuration's, 25)",
    )
    parser.add_argument(
        "--no-control-spec", action="store_true", help="skip the sandbox's own control spec"
    )
    parser.add_argument("--no-scenarios", action="store_true", help="skip the scenario suite")
    parser.add_argument(
        "--no-transitions",
        action="store_true",
        help="skip the journeys through the status machine",
    )
    parser.add_argument(
        "--notify-url",
        default=None,
        metavar="URL",
        help="public URL of the suite's notification receiver, for a service on another"
        " machine (a loopback --url reaches the receiver on loopback unasked; without either,"
        " notifications are not checked)",
    )
    parser.add_argument(
        "--notify-listen",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="where the receiver listens (default 127.0.0.1, any free port)",
    )
    parser.add_argument("--quiet", action="store_true", help="hide schemathesis's own output")


def _target(arguments: argparse.Namespace) -> tuple[str | None, str, str]:
    """(--url or None for a sandbox of the run's own, user, password)."""
    try:
        return run_target.target_from_arguments(arguments)
    except ValueError as error:  # a flag that does not go with the others
        raise UsageError(str(error)) from None


def _positive(value: int | None, flag: str) -> None:
    if value is not None and value < 1:
        raise UsageError(f"{flag}: {value} is not a positive number")


def _run(arguments: argparse.Namespace) -> int:
    """The suite: 0 passed, 1 failed."""
    from bango_resale_contract.suite import (
        SuiteOptions,
        default_config_path,
        faults_argument,
        format_summary,
        parse_phases,
        run_suite,
    )

    url, user, password = _target(arguments)
    try:
        products = sandbox_data.parse_products(",".join(arguments.product))
    except ValueError as error:
        raise UsageError(f"--product: {error}") from None
    if products and url is None:
        raise UsageError("--product only applies with --url (the sandbox's products are known)")
    try:
        phases = parse_phases(arguments.phases) if arguments.phases is not None else None
    except ValueError as error:
        raise UsageError(f"--phases: {error}") from None
    _positive(arguments.max_examples, "--max-examples")
    _positive(arguments.max_time, "--max-time")
    host, _, port = arguments.notify_listen.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--notify-listen: {arguments.notify_listen!r} is not HOST:PORT")
    config_path = arguments.config or default_config_path()
    if not config_path.is_file():
        raise UsageError(f"--config: {config_path} is not a file")
    options = SuiteOptions(
        url=url,
        user=user,
        password=password,
        faults=faults_argument(arguments.fault),
        report_dir=arguments.report_dir,
        config_path=config_path,
        max_examples=arguments.max_examples,
        max_time=arguments.max_time,
        control_spec=not arguments.no_control_spec,
        scenarios=not arguments.no_scenarios,
        transitions=not arguments.no_transitions,
        notify_url=arguments.notify_url,
        notify_listen=(host, int(port)),
        products=products,
        echo=not arguments.quiet,
        **({"phases": phases} if phases else {}),
    )
    result = run_suite(options)
    print(format_summary(options, result))
    return 0 if result.passed else 1


# -- certify: the certification journeys --------------------------------------------------------


def _add_certify_arguments(parser: argparse.ArgumentParser) -> None:
    run_target.add_target_arguments(parser)
    parser.add_argument(
        "--notification-url",
        default="",
        metavar="URL",
        help="where the service should send this run's notifications (put on every create)",
    )
    parser.add_argument(
        "--journey",
        action="append",
        default=[],
        metavar="WORKFLOW_ID",
        help="run only this journey (repeatable; default: all)",
    )
    parser.add_argument("--run-id", default="", help="unique id of the run (default: generated)")
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports") / "certification",
        metavar="DIR",
        help="where the evidence goes: certification.md and .html, JUnit XML, the engine's"
        " logs (default: reports/certification)",
    )


def _certify(arguments: argparse.Namespace) -> int:
    """The journeys: 0 passed, 1 a step failed, 3 manual steps outstanding."""
    from bango_resale_contract.certification import (
        CertificationOptions,
        Verdict,
        certify,
        headline,
        write_reports,
    )

    url, user, password = _target(arguments)
    if url is not None and not (user and password):
        raise UsageError("--url needs --user and --password (USER= and PASSWORD= with make)")
    options = CertificationOptions(
        url=url,
        user=user,
        password=password,
        run_id=arguments.run_id or None,
        notification_url=arguments.notification_url or None,
        report_dir=arguments.report_dir,
        workflows=tuple(arguments.journey),
        faults=tuple(arguments.fault),
    )
    try:
        run = certify(options)
    except ValueError as error:  # options it cannot use, found before anything was sent
        raise UsageError(str(error)) from None
    files = write_reports(run, arguments.report_dir)
    for journey in run.journeys:
        print(f"{journey.outcome.value:>8}  {journey.workflow_id}: {journey.summary}")
        for step in journey.steps:
            if step.outcome is Verdict.FAILED:
                for check in step.failed_checks:
                    print(f"          {step.step_id}: {check.name}: {check.detail}")
    for problem in run.problems:
        print(f"problem: {problem}")
    print(headline(run))
    print(f"reports: {files.markdown}, {files.html}, {files.junit}")
    return {Verdict.PASSED: 0, Verdict.FAILED: 1, Verdict.MANUAL: 3}[run.outcome]


# -- the command line ---------------------------------------------------------------------------

COMMANDS: dict[str, Command] = {
    "run": Command(
        summary="the contract suite, on a fresh sandbox or --url (the default)",
        description="Contract-test a Bango Resale service against the partner spec:"
        " schemathesis with the spec's own checks, a scenario suite, and journeys through every"
        " row of the status machine. Without --url it starts the sandbox on a free port with a"
        " fresh database, runs the suite and stops it; with --url it tests that service with"
        " --user and --password. Exit status 0 passed, 1 failed, 2 usage error.",
        add_arguments=_add_run_arguments,
        run=_run,
    ),
    "certify": Command(
        summary="Bango's certification journeys, and the evidence to hand in",
        description="Run Bango's certification journeys (Arazzo workflows, run by Redocly"
        " Respect) and write the evidence. Without --url"
        " against a sandbox started for the run; with --url against that service, where steps"
        " a person must do are listed as manual. Exit status 0 every step passed, 1 a step"
        " failed, 2 usage error, 3 nothing failed but manual steps are outstanding.",
        add_arguments=_add_certify_arguments,
        run=_certify,
    ),
    "proxy": Command(
        summary=live_cli.PROXY_SUMMARY,
        description=live_cli.PROXY_DESCRIPTION,
        add_arguments=live_cli.add_proxy_arguments,
        run=live_cli.proxy,
    ),
    "audit": Command(
        summary=live_cli.AUDIT_SUMMARY,
        description=live_cli.AUDIT_DESCRIPTION,
        add_arguments=live_cli.add_audit_arguments,
        run=live_cli.audit,
    ),
    "receiver": Command(
        summary=receiver_checks.SUMMARY,
        description=receiver_checks.DESCRIPTION,
        add_arguments=receiver_checks.add_arguments,
        run=receiver_checks.run,
        needs_extra=False,  # plain HTTP: the client's own dependencies
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; `bango-resale-contract COMMAND --help` describes each command."""
    parser = Parser(
        prog=PROG,
        description="Check a Bango Resale service, your integration's traffic and your\n"
        "notification receiver against the partner spec.",
        epilog=f"Without a command, or with options first, `{DEFAULT_COMMAND}` runs:\n"
        f"`{PROG} --url URL` is `{PROG} {DEFAULT_COMMAND} --url URL`.\n"
        f"`{PROG} COMMAND --help` describes a command and its options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", required=True
    )
    for name, command in COMMANDS.items():
        command.add_arguments(
            commands.add_parser(name, help=command.summary, description=command.description)
        )
    return parser


def _require_extra() -> None:
    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(
            f"missing {', '.join(missing)}, from the 'contract' extra:"
            f" {install_command('contract')}"
        )


def _with_command(argv: list[str]) -> list[str]:
    """The command line with its command: the default when none is given (an empty line, or
    options first; `--help` alone asks for the list of commands)."""
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        return [DEFAULT_COMMAND, *argv]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status (2 for a usage error or a missing extra)."""
    given = _with_command(list(sys.argv[1:] if argv is None else argv))
    try:
        arguments, unknown = build_parser().parse_known_args(given)
        if unknown:  # argparse would blame the top level; the command's own line is clearer
            raise UsageError(
                f"unrecognized arguments: {' '.join(unknown)}", f"{PROG} {arguments.command}"
            )
    except UsageError as error:
        print(f"{error.prog}: error: {error}", file=sys.stderr)
        return 2
    command = COMMANDS[arguments.command]
    try:
        if command.needs_extra:
            _require_extra()
        return command.run(arguments)
    except UsageError as error:
        print(f"{PROG} {arguments.command}: error: {error}", file=sys.stderr)
        return 2
