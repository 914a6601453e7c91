"""Journeys through every row of the status machine, judged by `behaviour.BehaviourJudge`.

Each journey creates fresh entitlements whose `notificationUrl` is the suite's receiver,
drives them through rows of the table (forcing a merchant's answer with `X-Magic-Number`
where one has to be forced) and lets the judge check every answer, the status a read shows
right after, and the notifications that arrive. Platform events (a merchant confirming a 202,
the customer finishing sign-up, the end of a paid period, expiry, a merchant's own end,
`FAILED`) are caused through the sandbox's controls, so they run only against this project's
sandbox.

What a row needs of a product (an end at the period end, suspend, a second product of the
same merchant) is not assumed: a journey runs with one product (or pair) after another until
its rows are reached, and a row no product given could reach is reported "not run" with the
reason, never as a failure (see `walk`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from bango_resale_spec import StatusMachine, status_machine

from . import run_target, sandbox_data
from .behaviour import SETTLE_SECONDS, STEP_WAIT_SECONDS, BehaviourJudge
from .notification_server import NotificationServer, receiving
from .scenarios import SUSPEND_REASON, ScenarioClient, ScenarioReport
from .walk import Product, Walk, casts, label, terminate_body

CREATED = "CREATE_REQUEST_RETURNS_CREATED"
SIGN_UP = "CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED"
UPDATE = "updateEntitlement"
CANCEL = "cancelEntitlement"
REVOKE = "revokeEntitlement"
REACTIVATE = "reactivateEntitlement"
SUSPEND = {
    "entitlementBenefits": "SUSPENDED",
    "reasonCategory": SUSPEND_REASON[0],
    "reasonCode": SUSPEND_REASON[1],
}
RESUME = {"entitlementBenefits": "NORMAL"}
# Reasons listed under a row not run; the rest are counted.
MAX_REASONS_SHOWN = 4


@dataclass
class TransitionReport:
    """What the journeys saw: the judge's verdicts and coverage, the exchanges' own, and why
    each row never reached was not."""

    judge: BehaviourJudge
    exchanges: ScenarioReport = field(default_factory=ScenarioReport)
    events_run: bool = True
    products: tuple[Product, ...] = ()
    reasons: dict[str, list[str]] = field(default_factory=dict)

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

    @property
    def created_nothing(self) -> bool:
        """No create with the products given made an entitlement: nothing could be walked."""
        return not any(
            self.judge.coverage[row.id].observed for row in self.judge.machine if row.creates
        )

    def not_run(self) -> dict[str, list[str]]:
        """Each row never observed, with why (a reason per product and step tried)."""
        return {
            row_id: self.reasons.get(row_id) or ["no journey aims at it"]
            for row_id, seen in self.judge.coverage.items()
            if not seen.observed
        }

    def format(self) -> str:
        """The transition coverage table: each row, how often seen, its notifications, and
        for a row not run, why."""
        judge = self.judge
        lines = [
            "Transition coverage (x-status-machine), with "
            + ", ".join(label(p) for p in self.products),
            f"{'row':<34} {'trigger':<50} {'seen':>4}  notifications",
        ]
        not_run = self.not_run()
        for row in judge.machine:
            seen = judge.coverage[row.id]
            if not seen.observed:
                verdict = "not run"
            elif judge.receiver is None:
                verdict = "not checked"
            elif seen.notifications_failed:
                verdict = "FAILED"
            elif seen.notifications_verified:
                verdict = f"verified {list(row.notifications) or '(none sent)'}"
            else:
                verdict = "not watched"
            lines.append(f"{row.id:<34} {row.trigger:<50} {seen.observed:>4}  {verdict}")
            reasons = not_run.get(row.id, [])
            lines.extend(f"    - {reason}" for reason in reasons[:MAX_REASONS_SHOWN])
            if len(reasons) > MAX_REASONS_SHOWN:
                lines.append(f"    - and {len(reasons) - MAX_REASONS_SHOWN} more")
        lines.append(f"Transitions observed: {self.rows_observed}/{self.rows_total}")
        if not judge.notifications_checked:
            lines.append(
                "Notification checks: not run (no receiver; give --notify-url for a remote service)"
            )
        if not self.events_run:
            lines.append("Platform events: not run (the service has no sandbox controls)")
        return "\n".join(lines)


# -- the journeys ---------------------------------------------------------------------------
#
# Each takes the walk and its cast (one product, or two of one merchant). The rows a step
# aims at are those it names; the walk skips a step whose rows cannot start where the
# entitlement is, so a journey reads as the path a fully featured product takes.


def _metadata(j: Walk, product: Product) -> None:
    """Metadata changes at once and deferred."""
    e = j.create("create activated", product, aim="create-activated")
    j.act(UPDATE, e, "update metadata", aim="update-metadata", body={"extensionData": {"j": "1"}})
    j.act(
        UPDATE,
        e,
        "update metadata, deferred",
        aim="update-metadata-deferred",
        body={"offerKey": "JOURNEY-OFFER"},
        magic="UPDATE_REQUEST_RETURNS_ACCEPTED",
    )
    j.confirm(e, "merchant confirms the metadata", aim="update-metadata-confirmed")


def _suspend_and_resume(j: Walk, product: Product) -> None:
    """Suspend and resume, at once and deferred; reactivate is refused while live."""
    e = j.create("create activated", product, aim="create-activated")
    j.act(UPDATE, e, "suspend", aim="suspend", body=SUSPEND)
    j.act(UPDATE, e, "resume", aim="resume", body=RESUME)
    j.act(
        UPDATE,
        e,
        "suspend, deferred",
        aim="suspend-deferred",
        body=SUSPEND,
        magic="SUSPEND_REQUEST_RETURNS_ACCEPTED",
    )
    j.confirm(e, "merchant confirms the suspend", aim="suspend-confirmed")
    j.act(
        UPDATE,
        e,
        "resume, deferred",
        aim="resume-deferred",
        body=RESUME,
        magic="RESUME_REQUEST_RETURNS_ACCEPTED",
    )
    j.confirm(e, "merchant confirms the resume", aim="resume-confirmed")
    j.act(REACTIVATE, e, "reactivate a live one", aim="reactivate-live")


def _cancel_and_reactivate(j: Walk, product: Product) -> None:
    """Cancel at once and deferred, reactivate in every way, revoke; what a waiting cancel
    allows and refuses. A merchant that ends at the period end is made to end it now, so that
    reactivate is tried on its product too."""
    e = j.create("create activated", product, aim="create-activated")
    j.act(CANCEL, e, "cancel at once", aim="cancel-now", body=terminate_body())
    j.cancelled_now(e, "the merchant ends it before the period does")
    j.act(REACTIVATE, e, "reactivate", aim="reactivate")
    j.act(CANCEL, e, "cancel again", aim="cancel-now", body=terminate_body())
    j.cancelled_now(e, "the merchant ends it before the period does")
    j.act(
        REACTIVATE,
        e,
        "reactivate, deferred",
        aim="reactivate-deferred",
        magic="REACTIVATE_REQUEST_RETURNS_ACCEPTED",
    )
    j.confirm(e, "merchant confirms the reactivation", aim="reactivate-confirmed")
    j.act(
        CANCEL,
        e,
        "cancel, deferred",
        aim="cancel-deferred",
        body=terminate_body(),
        magic="CANCEL_REQUEST_RETURNS_ACCEPTED",
    )
    j.act(
        UPDATE,
        e,
        "update metadata while the cancel waits",
        aim="update-metadata",
        body={"extensionData": {"j": "2"}},
    )
    j.refused(UPDATE, e, "suspend while the cancel waits", body=SUSPEND, while_waiting=True)
    j.confirm(e, "merchant confirms the cancel", aim="cancel-confirmed-now")
    j.cancelled_now(e, "the merchant ends it before the period does")
    answer = j.act(
        REACTIVATE,
        e,
        "reactivate needing sign-up",
        aim="reactivate-sign-up",
        magic="REACTIVATE_REQUEST_RETURNS_ACTIVATION_REQUIRED",
    )
    j.sign_up(e, answer, "customer signs up again")
    j.act(REVOKE, e, "revoke", aim="revoke", body=terminate_body())
    j.refused(CANCEL, e, "cancel a revoked one", body=terminate_body(), statuses=("REVOKED",))


def _pending_without_sign_up(j: Walk, product: Product) -> None:
    """201 PENDING, the same create again, activation info, activation; a deferred revoke."""
    e = j.create("create pending", product, aim="create-pending", magic=CREATED)
    j.create("create the same again", product, aim="create-again-pending", magic=CREATED, again=e)
    j.act(
        "getActivationInfo",
        e,
        "activation info",
        aim="activation-info",
        magic="ACTIVATION_INFO_RETURNS_ACTIVATION_CODE",
    )
    j.platform(
        "ACTIVATION_COMPLETED",
        e,
        "merchant activates",
        aim="activation-completed",
        action="complete",
    )
    j.act(
        REVOKE,
        e,
        "revoke, deferred",
        aim="revoke-deferred",
        body=terminate_body(),
        magic="REVOKE_REQUEST_RETURNS_ACCEPTED",
    )
    j.confirm(e, "merchant confirms the revoke", aim="revoke-confirmed")


def _pending_with_sign_up(j: Walk, product: Product) -> None:
    """202 CLIENT_ACTION_REQUIRED, the same create again, then a cancel while PENDING."""
    e = j.create("create needing sign-up", product, aim="create-sign-up", magic=SIGN_UP)
    j.create("create the same again", product, aim="create-again-sign-up", magic=SIGN_UP, again=e)
    j.act(CANCEL, e, "cancel while pending", aim="cancel-now", body=terminate_body())


def _product_changes(j: Walk, product: Product, other: Product) -> None:
    """A product change at once, needing sign-up, and deferred (whose confirmation may need
    the customer to sign up, as the new product decides)."""
    change = {"productKey": other[1]}
    e = j.create(f"create {product[1]}", product, aim="create-activated")
    j.act(
        UPDATE, e, "change product", aim=("change-product", "change-product-sign-up"), body=change
    )
    e = j.create(f"create {product[1]}", product, aim="create-activated")
    answer = j.act(
        UPDATE,
        e,
        "change product needing sign-up",
        aim="change-product-sign-up",
        body=change,
        magic="UPDATE_REQUEST_RETURNS_ACTIVATION_REQUIRED",
    )
    j.sign_up(e, answer, "customer signs up for the new product")
    e = j.create(f"create {product[1]}", product, aim="create-activated")
    j.act(
        UPDATE,
        e,
        "change product, deferred",
        aim="change-product-deferred",
        body=change,
        magic="UPDATE_REQUEST_RETURNS_ACCEPTED",
    )
    j.confirm(
        e,
        "merchant confirms the product change",
        aim=("change-product-confirmed", "change-product-confirmed-sign-up"),
    )


def _ends_of_a_paid_period(j: Walk, product: Product) -> None:
    """A product that keeps access to the end of the period: cancel from each status,
    deferred too; the end of the period and an expiry, once the clock moves."""
    ending = j.create("create to cancel", product, aim="create-activated")
    j.act(
        CANCEL,
        ending,
        "cancel at the end of the period",
        aim="cancel-at-period-end",
        body=terminate_body(),
    )
    j.at_the_end("PAID_PERIOD_ENDED", ending, "the paid period ends", aim="paid-period-ended")
    suspended = j.create("create to suspend", product, aim="create-activated")
    j.act(UPDATE, suspended, "suspend", aim="suspend", body=SUSPEND)
    j.act(
        CANCEL,
        suspended,
        "cancel with no paid period running",
        aim="cancel-unpaid",
        body=terminate_body(),
    )
    later = j.create("create for a deferred cancel", product, aim="create-activated")
    j.act(
        CANCEL,
        later,
        "cancel, deferred",
        aim="cancel-deferred",
        body=terminate_body(),
        magic="CANCEL_REQUEST_RETURNS_ACCEPTED",
    )
    j.confirm(later, "merchant confirms: the period runs out", aim="cancel-confirmed-at-period-end")
    j.act(REVOKE, later, "revoke while ending", aim="revoke", body=terminate_body())
    pending = j.create("create needing sign-up", product, aim="create-sign-up", magic=SIGN_UP)
    j.act(
        CANCEL,
        pending,
        "cancel a pending one, deferred",
        aim="cancel-deferred",
        body=terminate_body(),
        magic="CANCEL_REQUEST_RETURNS_ACCEPTED",
    )
    j.confirm(pending, "merchant confirms: nothing was paid", aim="cancel-confirmed-unpaid")
    now = j.sandbox_now()
    expiry = (now or datetime.datetime.now(datetime.UTC)) + datetime.timedelta(days=1)
    expiring = j.create(
        "create with an expiry", product, aim="create-activated", dateExpiry=expiry.isoformat()
    )
    j.at_the_end("EXPIRY_REACHED", expiring, "dateExpiry is reached", aim="expiry-reached")


def _the_merchants_own_ends(j: Walk, product: Product) -> None:
    """The merchant cancels, revokes, or loses track (FAILED)."""
    for event, row, action in (
        ("MERCHANT_CANCELLED", "merchant-cancelled", "merchant-cancel"),
        ("MERCHANT_REVOKED", "merchant-revoked", "merchant-revoke"),
        ("MERCHANT_STATE_LOST", "merchant-state-lost", "fail"),
    ):
        e = j.create(f"create for {action}", product, aim="create-activated")
        j.platform(event, e, f"merchant: {action}", aim=row, action=action)


@dataclass(frozen=True, slots=True)
class Journey:
    """A journey, how many products it takes (2: two of one merchant), and which product of
    the list it tries first (the sandbox's catalogue is listed so that each journey's first
    try reaches all its rows)."""

    walk: Callable[..., None]
    size: int = 1
    preferred: int = 0


JOURNEYS: tuple[Journey, ...] = (
    Journey(_metadata),
    Journey(_suspend_and_resume),
    Journey(_cancel_and_reactivate),
    Journey(_pending_without_sign_up),
    Journey(_pending_with_sign_up),
    Journey(_product_changes, size=2),
    Journey(_ends_of_a_paid_period, preferred=1),
    Journey(_the_merchants_own_ends),
)


def _walk_every_journey(j: Walk, products: Sequence[Product]) -> None:
    for journey in JOURNEYS:
        tries = casts(products, journey.size, journey.preferred)
        if not tries:
            merchants = ", ".join(label(p) for p in products)
            j.begin(
                "",
                blocked="needs two products of one merchant (a product change stays with the"
                f" merchant); the products given are {merchants}",
            )
            journey.walk(j, *([products[0]] * journey.size))
            continue
        for cast in tries:
            j.begin(" -> ".join(label(p) for p in cast))
            journey.walk(j, *cast)
            if j.settled():
                break
    # The clock moves last: it would fire every other journey's pending changes too.
    j.finish()


def run_transitions(
    base_url: str,
    user: str,
    password: str,
    *,
    receiver: NotificationServer | None,
    controls: bool,
    machine: StatusMachine | None = None,
    products: tuple[Product, ...] = (),
    waits: tuple[float, float] = (STEP_WAIT_SECONDS, SETTLE_SECONDS),
) -> TransitionReport:
    """Walk every journey against the service; judge it against the status machine.
    `products`: what the service sells (default: the sandbox's catalogue). `waits`: seconds to
    wait for one step's notifications, and for the last ones."""
    products = products or sandbox_data.KNOWN_PRODUCTS
    judge = BehaviourJudge(
        machine or status_machine(), receiver, step_wait=waits[0], settle_wait=waits[1]
    )
    report = TransitionReport(judge, events_run=controls, products=products)
    with httpx.Client(base_url=base_url, auth=(user, password), timeout=10.0) as http:
        client = ScenarioClient(http=http, report=report.exchanges, judge=judge)
        walk = Walk(client, judge, controls, receiver.url if receiver else None)
        _walk_every_journey(walk, products)
        judge.settle()
    report.reasons = walk.reasons
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
    products: tuple[Product, ...] = (),
    waits: tuple[float, float] = (STEP_WAIT_SECONDS, SETTLE_SECONDS),
    receive: bool | None = None,
) -> TransitionReport:
    """The journeys with a receiver wherever the service can reach one (`receive`, by
    default `receiver_reachable`); without one, notifications are not checked."""
    controls = own_sandbox or has_sandbox_controls(base_url, user, password)
    if receive is None:
        receive = receiver_reachable(base_url, own_sandbox=own_sandbox, notify_url=notify_url)
    if not receive:
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


def receiver_reachable(base_url: str, *, own_sandbox: bool, notify_url: str | None) -> bool:
    """Whether the service can reach the suite's receiver: at the public `notify_url` when
    one is given, else on loopback, which a service on this machine (the suite's own sandbox,
    or a loopback URL) shares."""
    return notify_url is not None or own_sandbox or run_target.is_loopback(base_url)
