"""The journeys through the status machine against the real sandbox: clean, every row is
observed and its notifications verified; each deliberate behaviour fault is reported, naming
the row it broke."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import bango_resale_spec as spec
from bango_resale_contract.behaviour import CHECK, NOTIFICATION_CHECK
from bango_resale_contract.transitions import TransitionReport, run_with_receiver
from bango_resale_sandbox.testing import SandboxThread

pytestmark = pytest.mark.integration


def _run(start: Callable[..., SandboxThread], *faults: str) -> TransitionReport:
    # A faulty sandbox leaves notifications missing; waiting the full time proves nothing more.
    waits = (0.5, 2.0) if faults else (1.5, 10.0)
    url = start(faults=faults, login_throttle=False).base_url
    return run_with_receiver(
        url, "demo", "demo-secret", own_sandbox=True, notify_url=None, waits=waits
    )


def test_the_clean_sandbox_follows_every_row_and_sends_every_notification(
    in_process_sandbox: Callable[..., SandboxThread],
) -> None:
    report = _run(in_process_sandbox)

    assert report.violations == []
    assert report.misses == []
    assert report.rows_observed == report.rows_total == len(spec.status_machine())
    for row_id, seen in report.judge.coverage.items():
        assert seen.notifications_verified, f"{row_id}: notifications not verified"
        assert not seen.notifications_failed, row_id
    table = report.format()
    assert f"Transitions observed: {report.rows_total}/{report.rows_total}" in table
    assert "cancel-at-period-end" in table and "not run" not in table


# Fault -> (check, row) the report must name.
FAULTS = {
    "wrong_notification_type": (NOTIFICATION_CHECK, "row update-metadata sends"),
    "skipped_notification": (NOTIFICATION_CHECK, "row cancel-now sends"),
    "notifications_out_of_order": (NOTIFICATION_CHECK, "row create-activated sends"),
    "unchanged_after_200": (CHECK, "cancel-now answers HTTP 200 OK"),
    "illegal_transition": (CHECK, "answered HTTP 200 OK, which no row gives"),
    "waiting_202_ignored": (CHECK, "row suspend was accepted while the 202 of row cancel-deferred"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_behaviour_fault_is_reported_with_its_row(
    fault: str, in_process_sandbox: Callable[..., SandboxThread]
) -> None:
    check, names = FAULTS[fault]
    report = _run(in_process_sandbox, fault)

    found = [v for v in report.violations if v.startswith(check) and names in v]
    assert found, report.violations
    assert all("reproduce with: curl" in v for v in found)


def test_without_a_receiver_notifications_are_not_run_never_passed(
    in_process_sandbox: Callable[..., SandboxThread],
) -> None:
    url = in_process_sandbox(login_throttle=False).base_url
    # A service that is not the suite's own sandbox, and no public receiver address.
    report = run_with_receiver(url, "demo", "demo-secret", own_sandbox=False, notify_url=None)
    assert report.violations == []
    assert not report.judge.notifications_checked
    assert all(not seen.notifications_verified for seen in report.judge.coverage.values())
    assert "Notification checks: not run" in report.format()
