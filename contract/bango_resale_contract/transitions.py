"""Journeys through every row of the status machine, judged by `behaviour.BehaviourJudge`.

Each journey creates fresh entitlements whose `notificationUrl` is the suite's receiver,
drives them through the table's rows (forcing a merchant's answer with `X-Magic-Number`
where one has to be forced) and lets the judge check every answer, the status a read shows
right after, and the notifications that arrive. Platform events (a merchant confirming a 202,
the customer finishing sign-up, the end of a paid period, expiry, a merchant's own end,
`FAILED`) are caused through the sandbox's controls, so they run only against this project's
sandbox; against another service those rows are reported as not observed.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from bango_resale_spec import StatusMachine, status_machine

from . import sandbox_data
from .behaviour import SETTLE_SECONDS, STEP_WAIT_SECONDS, BehaviourJudge
from .notification_server import NotificationServer, receiving
from .scenarios import (
    ACTION_202,
    ACTIVATED,
    EXISTS_409,
    NOT_AVAILABLE_409,
    OK_200,
    OK_201,
    OK_202,
    SUSPEND_REASON,
    VALID_REASON,
    ScenarioClient,
    ScenarioReport,
    curl_command,
)

CREATED = "CREATE_REQUEST_RETURNS_CREATED"
SIGN_UP = "CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED"
DAY_SECONDS = 86_400


class _NoControls(Exception):
    """The service has no sandbox controls: the journey stops before its first event."""


@dataclass
class TransitionReport:
    """What the journeys saw: the judge's verdicts and coverage, and the exchanges' own."""

    judge: BehaviourJudge
    exchanges: ScenarioReport = field(default_factory=ScenarioReport)
    events_run: bool = True

    @property
    def violations(self) -> list[str]:
        return [*self.judge.violations, *self.exchanges.violations]

    @property
    def misses(self) -> list[str]:
        return self.exchanges.misses

    @property
    def rows_observed(self) -> int:
        return sum(1 for row in self.judge.coverage.values() if row.observed)

    @property
    def rows_total(self) -> int:
        return len(self.judge.coverage)

    def format(self) -> str:
        lines = ["Transition coverage (x-status-machine):", *self.judge.coverage_lines()]
        if not self.judge.notifications_checked:
            lines.append(
                "Notification checks: not run (no receiver; give --notify-url for a remote service)"
            )
        if not self.events_run:
            lines.append("Platform events: not run (the service has no sandbox controls)")
        return "\n".join(lines)


@dataclass
class Walk:
    """One walk: requests through the scenario client, events through the controls."""

    client: ScenarioClient
    judge: BehaviourJudge
    controls: bool
    notify_url: str | None
    # The sandbox's products by default: one that answers at once, one that needs a sign-up
    # and ends at the end of the period, one that answers later (see its configuration).
    products: tuple[tuple[str, str], ...] = sandbox_data.KNOWN_PRODUCTS

    def product(self, index: int) -> tuple[str, str]:
        return self.products[index % len(self.products)]

    def read(self, entitlement_id: str) -> str | None:
        return self.client.read_status(entitlement_id)

    def create(
        self,
        step: str,
        *,
        product: tuple[str, str] | None = None,
        magic: str | None = ACTIVATED,
        expect: tuple[int, str] = OK_200,
        behaviour: str | None = None,
        customer: str | None = None,
        **fields: Any,
    ) -> tuple[str, Mapping[str, Any]]:
        body: dict[str, Any] = {
            "customerIdentifier": customer or self.client.unique("transition-customer"),
            "merchantAccountKey": (product or self.product(0))[0],
            "productKey": (product or self.product(0))[1],
            **fields,
        }
        if self.notify_url:
            body["notificationUrl"] = self.notify_url
        answer = self.client.call(
            "createEntitlement",
            body=body,
            magic=magic,
            expect=expect,
            step=step,
            behaviour=behaviour,
        )
        return str(answer.get("entitlementId") or ""), answer

    def act(
        self,
        operation_id: str,
        entitlement_id: str,
        step: str,
        *,
        body: Any = None,
        magic: str | None = None,
        expect: tuple[int, str] = OK_200,
        behaviour: str | None = None,
    ) -> Mapping[str, Any]:
        path_id = None if operation_id == "updateEntitlement" else entitlement_id
        if operation_id == "updateEntitlement":
            body = {"entitlementId": entitlement_id, **(body or {})}
        answer = self.client.call(
            operation_id,
            entitlement_id=path_id,
            body=body,
            magic=magic,
            expect=expect,
            step=step,
            behaviour=behaviour,
        )
        return answer

    def event(
        self,
        event: str,
        entitlement_id: str,
        step: str,
        *,
        method: str = "POST",
        url: str,
        body: Any = None,
        behaviour: str | None = None,
    ) -> None:
        """Cause a platform event through a sandbox control (or the activation page)."""
        if not self.controls:
            raise _NoControls
        request = self.client.http.build_request(method, url, json=body)
        response = self.client.http.send(request)
        reproduce = curl_command(request)
        if response.status_code >= 300:
            self.judge.violations.append(
                f"{step}: the sandbox control answered HTTP {response.status_code}:"
                f" {response.text[:200]}\n    reproduce with: {reproduce}"
            )
            return
        self.judge.event(
            event, entitlement_id, self.read, step=step, reproduce=reproduce, behaviour=behaviour
        )

    def control(self, entitlement_id: str, action: str) -> str:
        return f"/sandbox/entitlements/{entitlement_id}/{action}"

    def confirm(self, entitlement_id: str, step: str, behaviour: str | None = None) -> None:
        self.event(
            "MERCHANT_CONFIRMED",
            entitlement_id,
            step,
            url=self.control(entitlement_id, "complete"),
            behaviour=behaviour,
        )

    def sign_up(self, entitlement_id: str, answer: Mapping[str, Any], step: str) -> None:
        """The customer finishes the merchant's sign-up at the answer's URL."""
        parameters = answer.get("parameters")
        url = parameters.get("url") if isinstance(parameters, Mapping) else None
        if not isinstance(url, str):
            self.judge.violations.append(f"{step}: the answer carried no sign-up URL")
            return
        self.event("ACTIVATION_COMPLETED", entitlement_id, step, url=url)


def _terminate(reason: tuple[str, str, str] = VALID_REASON) -> dict[str, str]:
    return {
        "cancelReasonCategory": reason[0],
        "cancelReasonCode": reason[1],
        "cancelReasonDescription": reason[2],
    }


SUSPEND = {
    "entitlementBenefits": "SUSPENDED",
    "reasonCategory": SUSPEND_REASON[0],
    "reasonCode": SUSPEND_REASON[1],
}
RESUME = {"entitlementBenefits": "NORMAL"}


def _life_of_an_active_entitlement(j: Walk) -> None:
    """Metadata, suspend and resume (at once and deferred), cancel, reactivate in every way."""
    e, _ = j.create("create activated")
    j.act("updateEntitlement", e, "update metadata", body={"extensionData": {"journey": "1"}})
    j.act(
        "updateEntitlement",
        e,
        "update metadata, deferred",
        body={"offerKey": "JOURNEY-OFFER"},
        magic="UPDATE_REQUEST_RETURNS_ACCEPTED",
        expect=OK_202,
    )
    j.confirm(e, "merchant confirms the metadata")
    j.act("updateEntitlement", e, "suspend", body=SUSPEND)
    j.act("updateEntitlement", e, "resume", body=RESUME)
    j.act(
        "updateEntitlement",
        e,
        "suspend, deferred",
        body=SUSPEND,
        magic="SUSPEND_REQUEST_RETURNS_ACCEPTED",
        expect=OK_202,
    )
    j.confirm(e, "merchant confirms the suspend")
    j.act(
        "updateEntitlement",
        e,
        "resume, deferred",
        body=RESUME,
        magic="RESUME_REQUEST_RETURNS_ACCEPTED",
        expect=OK_202,
    )
    j.confirm(e, "merchant confirms the resume")
    j.act("reactivateEntitlement", e, "reactivate a live one", expect=EXISTS_409)
    j.act("cancelEntitlement", e, "cancel at once", body=_terminate(), behaviour="ends-at-once")
    j.act("reactivateEntitlement", e, "reactivate")
    j.act("cancelEntitlement", e, "cancel again", body=_terminate(), behaviour="ends-at-once")
    j.act(
        "reactivateEntitlement",
        e,
        "reactivate, deferred",
        magic="REACTIVATE_REQUEST_RETURNS_ACCEPTED",
        expect=OK_202,
    )
    j.confirm(e, "merchant confirms the reactivation")
    j.act(
        "cancelEntitlement",
        e,
        "cancel, deferred",
        body=_terminate(),
        magic="CANCEL_REQUEST_RETURNS_ACCEPTED",
        expect=OK_202,
    )
    j.act(
        "updateEntitlement",
        e,
        "update metadata while the cancel waits",
        body={"extensionData": {"journey": "2"}},
    )
    j.act(
        "updateEntitlement",
        e,
        "suspend while the cancel waits",
        body=SUSPEND,
        expect=NOT_AVAILABLE_409,
    )
    j.confirm(e, "merchant confirms the cancel", behaviour="ends-at-once")
    answer = j.act(
        "reactivateEntitlement",
        e,
        "reactivate needing sign-up",
        magic="REACTIVATE_REQUEST_RETURNS_ACTIVATION_REQUIRED",
        expect=ACTION_202,
    )
    j.sign_up(e, answer, "customer signs up again")
    j.act("revokeEntitlement", e, "revoke", body=_terminate())
    j.act(
        "cancelEntitlement",
        e,
        "cancel a revoked one",
        body=_terminate(),
        expect=NOT_AVAILABLE_409,
    )


def _pending_without_sign_up(j: Walk) -> None:
    """201 PENDING, the same create again, activation info, activation; a deferred revoke."""
    customer = j.client.unique("transition-customer")
    e, _ = j.create("create pending", magic=CREATED, expect=OK_201, customer=customer)
    j.create("create the same again", magic=CREATED, expect=OK_201, customer=customer)
    j.act(
        "getActivationInfo",
        e,
        "activation info",
        magic="ACTIVATION_INFO_RETURNS_ACTIVATION_CODE",
    )
    j.event("ACTIVATION_COMPLETED", e, "merchant activates", url=j.control(e, "complete"))
    j.act(
        "revokeEntitlement",
        e,
        "revoke, deferred",
        body=_terminate(),
        magic="REVOKE_REQUEST_RETURNS_ACCEPTED",
        expect=OK_202,
    )
    j.confirm(e, "merchant confirms the revoke")


def _pending_with_sign_up(j: Walk) -> None:
    """202 CLIENT_ACTION_REQUIRED, the same create again, then a cancel while PENDING."""
    customer = j.client.unique("transition-customer")
    e, _ = j.create("create needing sign-up", magic=SIGN_UP, expect=ACTION_202, customer=customer)
    j.create("create the same again", magic=SIGN_UP, expect=ACTION_202, customer=customer)
    j.act(
        "cancelEntitlement", e, "cancel while pending", body=_terminate(), behaviour="ends-at-once"
    )


def _product_changes(j: Walk) -> None:
    """A product change at once, needing sign-up, deferred, and deferred needing sign-up."""
    e, _ = j.create("create MUSIC", product=j.product(1))
    j.act("updateEntitlement", e, "change product", body={"productKey": j.product(2)[1]})
    e, _ = j.create("create MUSIC", product=j.product(1))
    answer = j.act(
        "updateEntitlement",
        e,
        "change product needing sign-up",
        body={"productKey": j.product(2)[1]},
        magic="UPDATE_REQUEST_RETURNS_ACTIVATION_REQUIRED",
        expect=ACTION_202,
    )
    j.sign_up(e, answer, "customer signs up for the new product")
    e, _ = j.create("create MUSIC", product=j.product(1))
    j.act(
        "updateEntitlement",
        e,
        "change product, deferred",
        body={"productKey": j.product(2)[1]},
        magic="UPDATE_REQUEST_RETURNS_ACCEPTED",
        expect=OK_202,
    )
    j.confirm(e, "merchant confirms the product change", behaviour="answers-at-once")
    e, _ = j.create("create MUSIC_PREMIUM", product=j.product(2))
    j.act(
        "updateEntitlement",
        e,
        "change to a product needing sign-up, deferred",
        body={"productKey": j.product(1)[1]},
        magic="UPDATE_REQUEST_RETURNS_ACCEPTED",
        expect=OK_202,
    )
    j.confirm(e, "merchant confirms; the customer must sign up", behaviour="needs-sign-up")


def _ends_of_a_paid_period(j: Walk, clock_advances: list[Callable[[], None]]) -> None:
    """MUSIC keeps access to the end of the period: cancel from each status, deferred too."""
    ending, _ = j.create("create MUSIC to cancel", product=j.product(1))
    j.act(
        "cancelEntitlement",
        ending,
        "cancel at the end of the period",
        body=_terminate(),
        behaviour="ends-at-period-end",
    )
    suspended, _ = j.create("create MUSIC to suspend", product=j.product(1))
    j.act("updateEntitlement", suspended, "suspend", body=SUSPEND)
    j.act(
        "cancelEntitlement",
        suspended,
        "cancel with no paid period running",
        body=_terminate(),
        behaviour="ends-at-period-end",
    )
    later, _ = j.create("create MUSIC for a deferred cancel", product=j.product(1))
    j.act(
        "cancelEntitlement",
        later,
        "cancel, deferred",
        body=_terminate(),
        magic="CANCEL_REQUEST_RETURNS_ACCEPTED",
        expect=OK_202,
    )
    j.confirm(later, "merchant confirms: the period runs out", behaviour="ends-at-period-end")
    j.act("revokeEntitlement", later, "revoke while ending", body=_terminate())
    pending, _ = j.create(
        "create MUSIC needing sign-up", product=j.product(1), magic=SIGN_UP, expect=ACTION_202
    )
    j.act(
        "cancelEntitlement",
        pending,
        "cancel a pending one, deferred",
        body=_terminate(),
        magic="CANCEL_REQUEST_RETURNS_ACCEPTED",
        expect=OK_202,
    )
    j.confirm(pending, "merchant confirms: nothing was paid", behaviour="ends-at-period-end")
    if not j.controls:
        return
    now = j.client.http.get("/sandbox/clock").json()["now"]
    expiry = datetime.datetime.fromisoformat(now) + datetime.timedelta(days=1)
    expiring, _ = j.create("create with an expiry", dateExpiry=expiry.isoformat())

    def advance() -> None:
        j.event(
            "PAID_PERIOD_ENDED",
            ending,
            "the paid period ends",
            url="/sandbox/clock/advance",
            body={"seconds": 31 * DAY_SECONDS},
        )
        j.judge.event(
            "EXPIRY_REACHED",
            expiring,
            j.read,
            step="dateExpiry is reached",
            reproduce="(the same clock advance)",
        )

    clock_advances.append(advance)


def _the_merchants_own_ends(j: Walk) -> None:
    """The merchant cancels, revokes, or loses track (FAILED)."""
    for event, action in (
        ("MERCHANT_CANCELLED", "merchant-cancel"),
        ("MERCHANT_REVOKED", "merchant-revoke"),
        ("MERCHANT_STATE_LOST", "fail"),
    ):
        e, _ = j.create(f"create for {action}")
        j.event(event, e, f"merchant: {action}", url=j.control(e, action), body={})


def run_transitions(
    base_url: str,
    user: str,
    password: str,
    *,
    receiver: NotificationServer | None,
    controls: bool,
    machine: StatusMachine | None = None,
    products: tuple[tuple[str, str], ...] = (),
    waits: tuple[float, float] = (STEP_WAIT_SECONDS, SETTLE_SECONDS),
) -> TransitionReport:
    """Walk every journey against the service; judge it against the status machine.
    `waits`: seconds to wait for one step's notifications, and for the last ones."""
    judge = BehaviourJudge(
        machine or status_machine(), receiver, step_wait=waits[0], settle_wait=waits[1]
    )
    report = TransitionReport(judge, events_run=controls)
    with httpx.Client(base_url=base_url, auth=(user, password), timeout=10.0) as http:
        client = ScenarioClient(http=http, report=report.exchanges, judge=judge)
        journey = Walk(client, judge, controls, receiver.url if receiver else None)
        if products:
            journey.products = products
        clock_advances: list[Callable[[], None]] = []
        for walk in (
            _life_of_an_active_entitlement,
            _pending_without_sign_up,
            _pending_with_sign_up,
            _product_changes,
            lambda j: _ends_of_a_paid_period(j, clock_advances),
            _the_merchants_own_ends,
        ):
            try:
                walk(journey)
            except _NoControls:
                continue
        # The clock moves last: it would fire every other journey's pending changes too.
        for advance in clock_advances:
            advance()
        judge.settle()
    return report


def has_sandbox_controls(base_url: str, user: str, password: str) -> bool:
    """Whether the service offers this project's sandbox controls (it is a sandbox)."""
    try:
        response = httpx.get(f"{base_url}/sandbox/clock", auth=(user, password), timeout=5.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def run_with_receiver(
    base_url: str,
    user: str,
    password: str,
    *,
    own_sandbox: bool,
    notify_url: str | None,
    notify_listen: tuple[str, int] = ("127.0.0.1", 0),
    products: tuple[tuple[str, str], ...] = (),
    waits: tuple[float, float] = (STEP_WAIT_SECONDS, SETTLE_SECONDS),
) -> TransitionReport:
    """The journeys with a receiver when one can be reached: always for the suite's own
    sandbox (loopback), for another service only at the public `notify_url`."""
    controls = own_sandbox or has_sandbox_controls(base_url, user, password)
    if not own_sandbox and notify_url is None:
        return run_transitions(
            base_url,
            user,
            password,
            receiver=None,
            controls=controls,
            products=products,
            waits=waits,
        )
    with receiving(notify_listen[0], notify_listen[1], notify_url) as receiver:
        return run_transitions(
            base_url,
            user,
            password,
            receiver=receiver,
            controls=controls,
            products=products,
            waits=waits,
        )
