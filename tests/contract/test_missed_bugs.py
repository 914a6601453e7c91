"""Each bug the contract suite once missed, planted by a deliberate sandbox fault in front of
an otherwise correct sandbox, is reported by a named check with a sentence and a curl (the
notification bugs: see test_behaviour_journeys)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bango_resale_contract.scenarios import run_scenarios
from bango_resale_sandbox.testing import DEMO_RESELLER, SandboxThread

pytestmark = pytest.mark.integration

# Fault -> (the check that reports it, what its sentence says).
MISSED = {
    "cancel_drops_custom": (
        "bango_custom_properties_kept",
        "the request sent the custom property 'ticket' ('scenario-custom-property'), which"
        " extensionData should keep; it has no such key",
    ),
    "retry_after_missing": (
        "bango_required_headers_sent",
        "the service answered HTTP 429 TOO_MANY_REQUESTS; an HTTP 429 answer carries Retry-After",
    ),
    "product_change_ignored": (
        "bango_update_applied",
        "the update sent productKey 'MUSIC_PREMIUM' and was answered 200 OK (done); the record"
        " still has 'MUSIC'",
    ),
    "extension_data_replaced": (
        "bango_extension_data_merged",
        "(merged, not replaced); the answer has keys ['salesChannel'], without ['origin']",
    ),
    "query_drops_last": ("bango_query_complete", "leaving out"),
}


@pytest.mark.parametrize("fault", sorted(MISSED))
def test_each_bug_the_suite_missed_is_now_reported_by_its_check(
    fault: str, in_process_sandbox: Callable[..., SandboxThread]
) -> None:
    check, sentence = MISSED[fault]
    url = in_process_sandbox(faults=[fault], login_throttle=False).base_url

    report = run_scenarios(url, *DEMO_RESELLER)

    found = [v for v in report.violations if v.startswith(f"{check}: ")]
    assert found and all(sentence in v for v in found), report.violations
    assert all("\n    reproduce with: curl " in v for v in found)
    # Nothing else is blamed for it.
    assert {v.split(":", 1)[0] for v in report.violations} == {check}
