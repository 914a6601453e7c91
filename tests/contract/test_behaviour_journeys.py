"""The journeys through the status machine against the real sandbox: clean, every row is
observed and its notifications verified; each deliberate behaviour fault is reported, naming
the row it broke."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import bango_resale_spec as spec
from bango_resale_contract.behaviour import CHECK, NOTIFICATION_CHECK
from bango_resale_contract.notification_server import receiving
from bango_resale_contract.transitions import TransitionReport, run_transitions, run_with_receiver
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


# Fault -> (check, what the sentence must say).
FAULTS = {
    "wrong_notification_type": (
        NOTIFICATION_CHECK,
        "row update-metadata fired for entitlement",
        "the contract expects the notifications ['METADATA_UPDATE'] next; the receiver got"
        " ['PRODUCT_UPDATE'] there",
    ),
    "skipped_notification": (
        NOTIFICATION_CHECK,
        "row cancel-now fired for entitlement",
        "the contract expects the notifications ['TERMINATION_SUCCESS'] next",
    ),
    "notifications_out_of_order": (
        NOTIFICATION_CHECK,
        "row create-activated fired for entitlement",
        "the contract expects the notifications ['ACTIVATION_SUCCESS'] next",
    ),
    "notification_status_stale": (
        NOTIFICATION_CHECK,
        "row suspend fired for entitlement",
        "the contract expects its SUSPENSION_SUCCESS notification to say status SUSPENDED and"
        " carry a notificationId; the notification says status ACTIVE",
    ),
    "confirmation_not_notified": (
        NOTIFICATION_CHECK,
        "row suspend-confirmed fired for entitlement",
        "the contract expects the notifications ['SUSPENSION_SUCCESS'] next; the receiver got"
        " none there",
    ),
    "unchanged_after_200": (
        CHECK,
        "sent cancelEntitlement for an entitlement that was ACTIVE",
        "or HTTP 200 OK and status CANCELLED (row cancel-now); the service answered HTTP 200 OK"
        " with status ACTIVE",
    ),
    "illegal_transition": (
        CHECK,
        "sent cancelEntitlement for an entitlement that was REVOKED",
        "the contract expects NOT_AVAILABLE, since no row of cancelEntitlement starts from"
        " REVOKED; the service answered HTTP 200 OK",
    ),
    "waiting_202_ignored": (
        CHECK,
        "sent updateEntitlement[SuspendEntitlementRequest] for an entitlement that was ACTIVE",
        "the contract expects NOT_AVAILABLE while the 202 of row cancel-deferred waits for the"
        " merchant",
    ),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_behaviour_fault_is_reported_with_its_row(
    fault: str, in_process_sandbox: Callable[..., SandboxThread]
) -> None:
    check, *sentence = FAULTS[fault]
    report = _run(in_process_sandbox, fault)

    found = [
        v for v in report.violations if v.startswith(check) and all(part in v for part in sentence)
    ]
    assert found, report.violations
    assert all("reproduce with: curl" in v for v in found)


def test_without_a_receiver_notifications_are_not_run_never_passed(
    in_process_sandbox: Callable[..., SandboxThread],
) -> None:
    url = in_process_sandbox(login_throttle=False).base_url
    # As for a service on another machine with no public receiver address given.
    report = run_with_receiver(
        url, "demo", "demo-secret", own_sandbox=False, notify_url=None, receive=False
    )
    assert report.violations == []
    assert not report.judge.notifications_checked
    assert all(not seen.notifications_verified for seen in report.judge.coverage.values())
    assert "Notification checks: not run" in report.format()


NOTIFICATION_FAULTS = sorted(f for f, (check, *_) in FAULTS.items() if check == NOTIFICATION_CHECK)


def _remote(start: Callable[..., SandboxThread], *faults: str) -> TransitionReport:
    """As for a service elsewhere: not the suite's own sandbox, notifications to the public
    address given with --notify-url (here a name of this machine the receiver listens on)."""
    waits = (0.5, 2.0) if faults else (1.5, 10.0)
    url = start(faults=faults, login_throttle=False).base_url
    return run_with_receiver(
        url,
        "demo",
        "demo-secret",
        own_sandbox=False,
        # The receiver listens on a port it binds itself ({port} in the public address).
        notify_url="http://localhost:{port}/notifications",
        notify_listen=("127.0.0.1", 0),
        waits=waits,
    )


def test_with_notify_url_a_remote_service_is_checked_as_fully_as_the_suites_own(
    in_process_sandbox: Callable[..., SandboxThread],
) -> None:
    report = _remote(in_process_sandbox)

    assert report.violations == []
    assert report.judge.notifications_checked
    assert report.rows_observed == report.rows_total
    assert all(seen.notifications_verified for seen in report.judge.coverage.values())


@pytest.mark.parametrize("fault", NOTIFICATION_FAULTS)
def test_with_notify_url_each_notification_fault_of_a_remote_service_is_reported(
    fault: str, in_process_sandbox: Callable[..., SandboxThread]
) -> None:
    check, *sentence = FAULTS[fault]
    report = _remote(in_process_sandbox, fault)

    assert any(
        v.startswith(check) and all(part in v for part in sentence) for v in report.violations
    ), report.violations


# A merchant that answers later and finishes by itself within the sandbox's next sweep, and
# one that activates by itself: the platform moves on its own, unseen.
ON_ITS_OWN_TIME = """
[resellers.demo]
password = "demo-secret"
[merchants.ACME.products.GOLD]
async_operations = ["cancel", "revoke", "suspend"]
async_delay_seconds = 0.05
[merchants.ACME.products.SILVER]
activation = "pending"
activation_delay_seconds = 0.05
cancel = "period_end"
"""


def test_a_service_without_sandbox_controls_is_walked_without_false_alarms(
    tmp_path: Path, in_process_sandbox: Callable[..., SandboxThread]
) -> None:
    config = tmp_path / "sandbox.toml"
    config.write_text(ON_ITS_OWN_TIME)
    url = in_process_sandbox(config=config, login_throttle=False).base_url
    with receiving() as receiver:
        # As for a partner's own service: no /sandbox controls to cause platform events.
        report = run_transitions(
            url,
            "demo",
            "demo-secret",
            receiver=receiver,
            controls=False,
            products=(("ACME", "GOLD"), ("ACME", "SILVER")),
            waits=(1.5, 3.0),
        )

    assert report.violations == [], report.violations
    not_run = report.not_run()
    assert "merchant-cancelled" in not_run
    assert all(
        "only this project's sandbox has the controls" in r for r in not_run["merchant-cancelled"]
    )
    assert any("who confirms in its own time" in r for r in not_run["reactivate"])
