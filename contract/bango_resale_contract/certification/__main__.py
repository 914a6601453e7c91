"""`python -m bango_resale_contract.certification` (`make certify`): run the journeys.

Without --url it starts the project's sandbox on a free port with a fresh database, runs every
journey and stops it. With --url it runs them against that service with --user/--password;
steps a person must do there are reported as manual. Exit status: 0 every step passed, 1 a
step failed (or the engine could not run), 2 usage error, 3 nothing failed but manual steps
are outstanding.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bango_resale_contract import run_target
from bango_resale_contract.certification import (
    CertificationOptions,
    Verdict,
    certify,
    headline,
    write_reports,
)

EXIT_CODES = {Verdict.PASSED: 0, Verdict.FAILED: 1, Verdict.MANUAL: 3}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bango_resale_contract.certification",
        description="Run Bango's certification journeys (Arazzo) and write the evidence.",
    )
    run_target.add_target_arguments(parser)
    parser.add_argument(
        "--notification-url",
        default="",
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
    parser.add_argument("--report-dir", type=Path, default=Path("reports") / "certification")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        url, user, password = run_target.target_from_arguments(arguments)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    if url is not None and not (user and password):
        print("--url needs --user and --password (USER= and PASSWORD=)", file=sys.stderr)
        return 2
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
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
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
    return EXIT_CODES[run.outcome]


if __name__ == "__main__":
    sys.exit(main())
