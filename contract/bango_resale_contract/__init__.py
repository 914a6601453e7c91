"""bango_resale_contract: prove that a service honours the Bango Resale partner contract.

The public API, one name per job (each is also importable from the module that defines it):

- the contract suite (schemathesis with our checks, then the scripted scenarios):
  `run_suite(SuiteOptions(...)) -> SuiteResult`;
- the certification journeys (the Arazzo document shipped in the package):
  `certify(CertificationOptions(...)) -> CertificationRun`;
- the notification receiver test: `check_receiver(url, ...)` and `check_receiver_async`, giving
  a `ReceiverVerdict`;
- live traffic: `LiveJudge` judges exchanges one at a time, `ValidatingProxy` and `serve` put it
  in front of a service, `audit(path)` judges a HAR recording;
- `NotificationServer`, a loopback receiver that records what a service delivers.

Names load on first use, so importing the package stays cheap and needs only what the name
used needs (the proxy, for instance, brings aiohttp).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bango_resale_contract.certification import (
        CertificationOptions,
        CertificationRun,
        certify,
    )
    from bango_resale_contract.har import HarError, audit
    from bango_resale_contract.live import Contract, LiveJudge
    from bango_resale_contract.notification_server import NotificationServer
    from bango_resale_contract.proxy import ValidatingProxy, serve
    from bango_resale_contract.receiver_checks import (
        ReceiverVerdict,
        check_receiver,
        check_receiver_async,
    )
    from bango_resale_contract.suite import Problem, SuiteOptions, SuiteResult, run_suite

# Public name -> the module that defines it.
_HOMES = {
    "CertificationOptions": "certification",
    "CertificationRun": "certification",
    "certify": "certification",
    "HarError": "har",
    "audit": "har",
    "Contract": "live",
    "LiveJudge": "live",
    "NotificationServer": "notification_server",
    "ValidatingProxy": "proxy",
    "serve": "proxy",
    "ReceiverVerdict": "receiver_checks",
    "check_receiver": "receiver_checks",
    "check_receiver_async": "receiver_checks",
    "Problem": "suite",
    "SuiteOptions": "suite",
    "SuiteResult": "suite",
    "run_suite": "suite",
}

__all__ = [
    "CertificationOptions",
    "CertificationRun",
    "Contract",
    "HarError",
    "LiveJudge",
    "NotificationServer",
    "Problem",
    "ReceiverVerdict",
    "SuiteOptions",
    "SuiteResult",
    "ValidatingProxy",
    "audit",
    "certify",
    "check_receiver",
    "check_receiver_async",
    "run_suite",
    "serve",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'bango_resale_contract' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"bango_resale_contract.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
