"""`python -m bango_resale_contract` / `bango-resale-contract`: run the contract suite.

Without --url it starts the project's sandbox on a free port with a fresh database, runs the
suite and stops it. With --url it tests that service with --user/--password. `proxy` and
`audit` judge live or recorded traffic instead (see `live_cli`); `receiver URL` tests a
reseller's notification receiver (see `receiver_checks`).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

from bango_resale_contract import live_cli, receiver_checks, run_target, sandbox_data
from bango_resale_contract.suite import (
    SuiteOptions,
    default_config_path,
    faults_argument,
    format_summary,
    parse_phases,
    run_suite,
)
from bango_resale_spec.distribution import install_command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bango-resale-contract",
        description="Contract-test a Bango Resale service against the partner spec.",
    )
    run_target.add_target_arguments(parser)
    parser.add_argument(
        "--product",
        action="append",
        default=[],
        metavar="MERCHANT/PRODUCT",
        help="a product the service sells, for creates to name (repeatable; only with --url);"
        " what the products given cannot do is reported as not run, with the reason",
    )
    parser.add_argument("--report-dir", type=Path, default=Path("reports"))
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="schemathesis configuration (default: ./schemathesis.toml, else the one shipped with"
        " the suite)",
    )
    parser.add_argument("--phases", default=None, help="comma-separated subset of the phases")
    parser.add_argument("--max-examples", type=int, default=None)
    parser.add_argument(
        "--max-time", type=int, default=None, help="seconds per schemathesis run (config: 25)"
    )
    parser.add_argument("--no-control-spec", action="store_true", help="skip the sandbox spec")
    parser.add_argument("--no-scenarios", action="store_true", help="skip the scenario suite")
    parser.add_argument(
        "--no-transitions",
        action="store_true",
        help="skip the journeys through the status machine",
    )
    parser.add_argument(
        "--notify-url",
        default=None,
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
    return parser


#: Modules the suite runs on that only the `contract` extra installs (it brings the sandbox's too).
EXTRA_MODULES = ("schemathesis", "uvicorn", "orjson")


def _missing_extra() -> str | None:
    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (
        f"the contract suite needs {', '.join(missing)}, which come with the 'contract' extra:"
        f" {install_command('contract')}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [receiver_checks.COMMAND]:  # needs none of the extra's modules
        return receiver_checks.main(argv[1:])
    live = bool(argv) and argv[0] in live_cli.COMMANDS
    arguments = None if live else _parser().parse_args(argv)
    missing = _missing_extra()
    if missing is not None:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    if arguments is None:
        return live_cli.main(argv)
    try:
        url, user, password = run_target.target_from_arguments(arguments)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        products = sandbox_data.parse_products(",".join(arguments.product))
    except ValueError as error:
        print(f"--product: {error}", file=sys.stderr)
        return 2
    if products and url is None:
        print(
            "--product only applies with --url (the sandbox's products are known)", file=sys.stderr
        )
        return 2
    try:
        phases = parse_phases(arguments.phases) if arguments.phases else None
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    host, _, port = arguments.notify_listen.rpartition(":")
    if not host or not port.isdigit():
        print(f"--notify-listen: {arguments.notify_listen!r} is not HOST:PORT", file=sys.stderr)
        return 2
    config_path = arguments.config or default_config_path()
    if not config_path.is_file():
        print(f"--config: {config_path} is not a file", file=sys.stderr)
        return 2
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


if __name__ == "__main__":
    sys.exit(main())
