"""The suite as a partner runs it (`--url`, the products they sell with `--product`) against a
correct sandbox process: it passes for each product of the catalogue alone, for every pair,
and for merchant configurations unlike the packaged one. What a product cannot do is "not
run" with a reason, never a failure; the rows the products can reach are all reached."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bango_resale_contract.suite import SuiteOptions, format_summary, run_suite
from bango_resale_sandbox.testing import DEMO_RESELLER, SandboxProcess

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIG = REPOSITORY / "schemathesis.toml"
MUSIC = ("BANGO_US", "MUSIC")
PREMIUM = ("BANGO_US", "MUSIC_PREMIUM")
BANGO = ("BANGO", "BangoMusic")
GOLD = ("ACME", "GOLD")
SILVER = ("ACME", "SILVER")

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RESELLER = """
[resellers.demo]
password = "demo-secret"
"""
# Merchant configurations a partner's service might have, none like the packaged catalogue.
CONFIGURATIONS = {
    "every product ends at the period end": """
[merchants.ACME.products.GOLD]
cancel = "period_end"
period_days = 90
[merchants.ACME.products.SILVER]
cancel = "period_end"
activation = "pending"
""",
    "every product needs a sign-up": """
[merchants.ACME.products.GOLD]
activation = "client_action"
[merchants.ACME.products.SILVER]
activation = "client_action"
cancel = "period_end"
""",
    "the merchant answers later, without suspend or reactivate": """
[merchants.ACME.products.GOLD]
async_operations = ["cancel", "revoke", "suspend", "resume", "update", "reactivate"]
[merchants.ACME.products.SILVER]
async_operations = ["cancel", "revoke"]
supports_suspend = false
supports_reactivate = false
""",
}

PRODUCT_CHANGES = {
    "change-product",
    "change-product-sign-up",
    "change-product-deferred",
    "change-product-confirmed",
    "change-product-confirmed-sign-up",
}
PERIOD_END = {"cancel-at-period-end", "cancel-confirmed-at-period-end", "paid-period-ended"}
SUSPEND = {"suspend", "suspend-deferred", "suspend-confirmed", "resume", "resume-deferred"}
REACTIVATE = {"reactivate", "reactivate-sign-up", "reactivate-deferred", "reactivate-confirmed"}

# (configuration or None for the packaged one, products) -> the rows those products cannot
# reach on a correct sandbox (and why, in short); every other row must be reached.
CASES: dict[str, tuple[str | None, tuple[tuple[str, str], ...], set[str]]] = {
    # Ends at once; no second product of its merchant to change to.
    "BangoMusic alone": (None, (BANGO,), PRODUCT_CHANGES | PERIOD_END),
    # Ends at the period end (even a deferred cancel); reactivating always needs a sign-up.
    "MUSIC alone": (None, (MUSIC,), PRODUCT_CHANGES | {"cancel-confirmed-now", "reactivate"}),
    # No suspend, no reactivate; its merchant ends later (202) whenever it ends.
    "MUSIC_PREMIUM alone": (
        None,
        (PREMIUM,),
        PRODUCT_CHANGES
        | SUSPEND
        | REACTIVATE
        | {"resume-confirmed", "cancel-at-period-end", "cancel-unpaid", "cancel-now"}
        | {"cancel-confirmed-now", "revoke"},
    ),
    "BangoMusic and MUSIC": (None, (BANGO, MUSIC), PRODUCT_CHANGES),
    "BangoMusic and MUSIC_PREMIUM": (
        None,
        (BANGO, PREMIUM),
        PRODUCT_CHANGES | {"cancel-at-period-end"},
    ),
    "MUSIC and MUSIC_PREMIUM": (None, (MUSIC, PREMIUM), {"cancel-confirmed-now", "reactivate"}),
    # Nothing ends at once (a deferred cancel neither); no product needs a sign-up.
    "every product ends at the period end": (
        CONFIGURATIONS["every product ends at the period end"],
        (GOLD, SILVER),
        {"cancel-confirmed-now", "change-product-confirmed-sign-up"},
    ),
    # Nothing activates (or changes product) without a sign-up.
    "every product needs a sign-up": (
        CONFIGURATIONS["every product needs a sign-up"],
        (GOLD, SILVER),
        {"change-product", "change-product-confirmed", "reactivate"},
    ),
    # Nothing ends, suspends, resumes or reactivates at once.
    "the merchant answers later, without suspend or reactivate": (
        CONFIGURATIONS["the merchant answers later, without suspend or reactivate"],
        (GOLD, SILVER),
        {"suspend", "resume", "revoke", "reactivate", "reactivate-sign-up"}
        | {"cancel-now", "cancel-unpaid", "cancel-at-period-end"}
        | {"cancel-confirmed-at-period-end", "paid-period-ended"},
    ),
}


@pytest.fixture(autouse=True)
def _from_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPOSITORY)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_correct_service_passes_whatever_it_sells(
    case: str, tmp_path: Path, sandbox_server: Callable[..., SandboxProcess]
) -> None:
    configuration, products, unreachable = CASES[case]
    config = None
    if configuration is not None:
        config = tmp_path / "sandbox.toml"
        config.write_text(RESELLER + configuration)
    service = sandbox_server(config=config, login_throttle=False)
    options = SuiteOptions(
        url=service.base_url,
        user=DEMO_RESELLER[0],
        password=DEMO_RESELLER[1],
        products=products,
        report_dir=tmp_path / "reports",
        config_path=CONFIG,
        # The point is the behaviour walk and the scenarios; the fuzzing gets a token budget.
        phases=("examples",),
        max_time=2,
        echo=False,
    )

    result = run_suite(options)

    summary = format_summary(options, result)
    assert result.problems == [], summary
    assert summary.endswith("PASSED: zero failures"), summary
    report = result.transitions
    assert report is not None
    # A loopback service reaches the suite's receiver: its notifications were checked.
    assert report.judge.notifications_checked
    assert all(not seen.notifications_failed for seen in report.judge.coverage.values())
    not_run = report.not_run()
    assert set(not_run) == unreachable, summary
    for row, reasons in not_run.items():
        assert reasons != ["no journey aims at it"], row
        assert all(reason.strip() for reason in reasons), row
    assert f"Transitions observed: {report.rows_observed}/41" in summary
