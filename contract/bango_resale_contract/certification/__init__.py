"""Bango's certification journeys, run from `spec/bango-resale.arazzo.yaml` by Redocly Respect.

`certify(CertificationOptions(...))` runs them against a fresh local sandbox (or any service
with `url=`) and returns a `CertificationRun`; `write_reports` turns it into Markdown, HTML and
JUnit XML. `bango-resale-contract certify` (`make certify`) does both.
"""

from bango_resale_contract.certification.model import (
    CertificationRun,
    CheckResult,
    JourneyResult,
    StepExchange,
    StepResult,
    Verdict,
)
from bango_resale_contract.certification.report import ReportFiles, headline, write_reports
from bango_resale_contract.certification.run import CertificationOptions, certify, new_run_id

__all__ = [
    "CertificationOptions",
    "CertificationRun",
    "CheckResult",
    "JourneyResult",
    "ReportFiles",
    "StepExchange",
    "StepResult",
    "Verdict",
    "certify",
    "headline",
    "new_run_id",
    "write_reports",
]
