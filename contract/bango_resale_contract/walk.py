"""How a journey through the status machine takes its steps (the journeys are in `transitions`).

Every step aims at a row of `x-status-machine`. A step is sent only when its row can start
from where the journey's entitlement is (and, for a platform event, when the service has this
project's sandbox controls to cause it); otherwise it is skipped. A step that was skipped, or
that the service answered by another row (a merchant that ends at the period end, a product
without suspend, a magic number the service does not know), is not a failure: the walk notes
why, per product, and the report lists that reason beside each row it never reached. What the
service answers is judged all the same (`behaviour.BehaviourJudge`, and the scenario client's
rules): a correct service passes whatever it sells, a wrong one fails with a sentence.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bango_resale_spec import Transition

from .behaviour import MERCHANT_CONFIRMED, BehaviourJudge, describe_answer
from .promises import moment
from .scenarios import ACTIVATED, NOT_AVAILABLE_409, VALID_REASON, ScenarioClient, curl_command

Product = tuple[str, str]
# The rows one step aims at: reaching any of them is reaching the aim.
Aim = tuple[str, ...]

ACTIVATION_COMPLETED = "ACTIVATION_COMPLETED"
CLIENT_ACTION_REQUIRED = "CLIENT_ACTION_REQUIRED"
# Statuses that time alone can change (an activation the merchant finishes by itself, the end
# of a paid period): the walk ends them before it moves the sandbox clock.
TIME_SENSITIVE_STATUSES = ("PENDING", "ACTIVE-ENDING")
# How far past the latest scheduled end the clock goes, so that each has surely passed.
CLOCK_MARGIN = datetime.timedelta(hours=1)
NO_CONTROLS = "is a platform event; only this project's sandbox has the controls that cause it"


def label(product: Product) -> str:
    """`MERCHANT/PRODUCT`, as --product takes it."""
    return f"{product[0]}/{product[1]}"


def terminate_body(reason: tuple[str, str, str] = VALID_REASON) -> dict[str, str]:
    return {
        "cancelReasonCategory": reason[0],
        "cancelReasonCode": reason[1],
        "cancelReasonDescription": reason[2],
    }


def casts(products: Sequence[Product], size: int, preferred: int) -> list[tuple[Product, ...]]:
    """What a journey is tried with: each product, the preferred position first; for size 2,
    each ordered pair of one merchant's products (a product change stays with the merchant)."""
    if size == 1:
        start = preferred % len(products) if products else 0
        return [(p,) for p in (*products[start:], *products[:start])]
    return [(a, b) for a, b in itertools.permutations(products, 2) if a[0] == b[0]]


def _aim(rows: str | Collection[str]) -> Aim:
    return (rows,) if isinstance(rows, str) else tuple(rows)


@dataclass(slots=True)
class Subject:
    """One entitlement a journey works on: its product, the customer and fields it is created
    with, its id once created, and the last step on it that did not go as the journey meant
    (why a later step cannot be sent)."""

    product: Product
    customer: str
    fields: Mapping[str, Any]
    id: str = ""
    history: str = ""
    # A step on it was skipped for a reason no other product would change (no controls).
    final: bool = False
    # Why nothing more is sent for it (a 202 the merchant confirms unseen), once so.
    left: str = ""

    def because(self) -> str:
        return f": {self.history}" if self.history else ""


@dataclass
class Walk:
    """One walk: the client and judge, why rows were not reached, the entitlements made."""

    client: ScenarioClient
    judge: BehaviourJudge
    controls: bool
    notify_url: str | None
    # Row id -> why it was not reached, one line per product (or pair) and step.
    reasons: dict[str, list[str]] = field(default_factory=dict)
    subjects: list[Subject] = field(default_factory=list)
    # Events the final clock advance causes: (event, entitlement, aim, step).
    scheduled: list[tuple[str, Subject, Aim, str]] = field(default_factory=list)
    # The run under way: the product(s) it uses, the rows it aims at, and, when it cannot
    # send anything, why.
    cast: str = ""
    aims: list[Aim] = field(default_factory=list)
    blocked: str | None = None
    # Rows skipped for reasons no other product would change.
    final: set[str] = field(default_factory=set)

    def begin(self, cast: str, blocked: str | None = None) -> None:
        """Start a journey's run with the products `cast` names."""
        self.cast, self.blocked, self.aims = cast, blocked, []

    def settled(self) -> bool:
        """Whether every row the run aimed at is reached (or will be, or cannot be anywhere):
        no need to run the journey again with another product. Where a step aims at several
        rows (the merchant chooses), each of them counts."""
        done = {row for row, seen in self.judge.coverage.items() if seen.observed}
        done |= {row for _, _, aim, _ in self.scheduled for row in aim} | self.final
        return all(done.issuperset(aim) for aim in self.aims)

    # -- requests -------------------------------------------------------------------------

    def create(
        self,
        step: str,
        product: Product,
        *,
        aim: str | Collection[str],
        magic: str | None = ACTIVATED,
        again: Subject | None = None,
        **fields: Any,
    ) -> Subject:
        """Create an entitlement for a fresh customer (or `again` the one given, as it was)."""
        aims = self._aiming(aim)
        subject = again or Subject(product, self.client.unique("transition-customer"), fields)
        if again is None:
            self.subjects.append(subject)
        if (blocked := self._blocked(step, subject, aims)) is not None:
            self._skip(aims, blocked, subject)
            return subject
        body: dict[str, Any] = {
            "customerIdentifier": subject.customer,
            "merchantAccountKey": subject.product[0],
            "productKey": subject.product[1],
            **subject.fields,
        }
        if self.notify_url:
            body["notificationUrl"] = self.notify_url
        answer = self.client.call(
            "createEntitlement", body=body, magic=magic, step=step, prefer=aims
        )
        created = answer.get("entitlementId")
        if again is None and isinstance(created, str):
            subject.id = created
        self._answered(step, subject, aims, answer, magic)
        return subject

    def act(
        self,
        operation_id: str,
        subject: Subject,
        step: str,
        *,
        aim: str | Collection[str],
        body: Any = None,
        magic: str | None = None,
    ) -> Mapping[str, Any]:
        """Send one request on the subject's entitlement, if the aimed rows can start there.
        A 202 the step did not aim at is confirmed at once (where the controls allow), so that
        no change waits on the merchant's own schedule."""
        aims = self._aiming(aim)
        if (blocked := self._blocked(step, subject, aims)) is not None:
            self._skip(aims, blocked, subject)
            return {}
        answer = self._send(operation_id, subject, step, body, magic, prefer=aims)
        row = self._answered(step, subject, aims, answer, magic)
        if row is not None and row.defers and row.id not in aims and self.controls:
            self.confirm(
                subject, f"{step}: the merchant confirms", aim=row.completed_by, aside=True
            )
        elif row is not None and row.defers and not self.controls:
            # The merchant confirms in its own time, unseen: the entitlement is left to it
            # (what it then notifies is judged as the platform's own move).
            subject.final = True
            subject.left = (
                f"'{step}' left it waiting for the merchant (row {row.id}), who confirms in its"
                " own time; nothing more is sent for it"
            )
        return answer

    def refused(
        self,
        operation_id: str,
        subject: Subject,
        step: str,
        *,
        body: Any = None,
        statuses: Collection[str] = (),
        while_waiting: bool = False,
    ) -> None:
        """A request the contract refuses (NOT_AVAILABLE) where the journey now is; sent only
        when the entitlement is in one of `statuses`, or a 202 waits (`while_waiting`)."""
        if self.blocked is not None or not subject.id or subject.left:
            return
        if while_waiting and subject.id not in self.judge.deferred:
            return
        if statuses and self.judge.status.get(subject.id) not in statuses:
            return
        self._send(operation_id, subject, step, body, None, expect=NOT_AVAILABLE_409)

    def _send(
        self,
        operation_id: str,
        subject: Subject,
        step: str,
        body: Any,
        magic: str | None,
        *,
        prefer: Aim = (),
        expect: tuple[int, str] | None = None,
    ) -> Mapping[str, Any]:
        update = operation_id == "updateEntitlement"
        if update:
            body = {"entitlementId": subject.id, **(body or {})}
        return self.client.call(
            operation_id,
            entitlement_id=None if update else subject.id,
            body=body,
            magic=magic,
            expect=expect,
            step=step,
            prefer=prefer,
        )

    # -- platform events ------------------------------------------------------------------

    def confirm(
        self, subject: Subject, step: str, *, aim: str | Collection[str], aside: bool = False
    ) -> None:
        """The merchant confirms the 202 that waits (the sandbox's `complete` control).
        `aside`: a confirmation the journey did not set out to cause (its rows are not aims,
        and nothing is noted when they are missed)."""
        aims = _aim(aim) if aside else self._aiming(aim)
        blocked = self._without_controls(step, subject, aims)
        waiting = self.judge.deferred.get(subject.id)
        if blocked is None and (waiting is None or not set(aims) & set(waiting.completed_by)):
            blocked = f"'{step}' needs a 202 waiting for the merchant, but none was" + (
                subject.because()
            )
        if blocked is not None:
            if not aside:
                self._skip(aims, blocked, subject)
            return
        url = self._control(subject, "complete")
        self._event(MERCHANT_CONFIRMED, subject, step, aims, url=url, aside=aside)

    def platform(self, event: str, subject: Subject, step: str, *, aim: str, action: str) -> None:
        """A platform event caused through the sandbox control named `action`."""
        aims = self._aiming(aim)
        blocked = self._without_controls(step, subject, aims) or self._blocked(step, subject, aims)
        if blocked is not None:
            self._skip(aims, blocked, subject)
            return
        self._event(event, subject, step, aims, url=self._control(subject, action), body={})

    def cancelled_now(self, subject: Subject, step: str) -> None:
        """Where a cancel left the entitlement ACTIVE-ENDING (its merchant ends entitlements
        at the period end), the merchant cancels it now (a sandbox control), so that the
        journey goes on from CANCELLED."""
        if self.blocked is not None or not self.controls or not subject.id:
            return
        if self.judge.status.get(subject.id) != "ACTIVE-ENDING":
            return
        url = self._control(subject, "merchant-cancel")
        aims = ("merchant-cancelled",)
        self._event("MERCHANT_CANCELLED", subject, step, aims, url=url, body={}, aside=True)

    def sign_up(self, subject: Subject, answer: Mapping[str, Any], step: str) -> None:
        """The customer finishes the merchant's sign-up at the URL the answer gave."""
        aims = self._aiming("activation-completed")
        parameters = answer.get("parameters")
        url = parameters.get("url") if isinstance(parameters, Mapping) else None
        blocked = self._without_controls(step, subject, aims) or self._blocked(step, subject, aims)
        if blocked is None and answer.get("responseCode") != CLIENT_ACTION_REQUIRED:
            blocked = f"'{step}' needs a sign-up URL, but there was none" + subject.because()
        if blocked is not None or not isinstance(url, str):
            # (A CLIENT_ACTION_REQUIRED without a URL is the client-action rule's failure.)
            self._skip(aims, blocked or f"'{step}': the answer gave no sign-up URL", subject)
            return
        self._event(ACTIVATION_COMPLETED, subject, step, aims, url=url)

    def at_the_end(self, event: str, subject: Subject, step: str, *, aim: str) -> None:
        """An event of time (the end of a paid period, an expiry), caused once every journey
        is done by moving the sandbox clock: moved earlier, it would end the others' too."""
        aims = self._aiming(aim)
        blocked = self._without_controls(step, subject, aims) or self._blocked(step, subject, aims)
        if blocked is not None:
            self._skip(aims, blocked, subject)
            return
        self.scheduled.append((event, subject, aims, step))

    def sandbox_now(self) -> datetime.datetime | None:
        """The sandbox's clock (None without controls)."""
        if not self.controls:
            return None
        return moment(self.client.http.get("/sandbox/clock").json().get("now"))

    def finish(self) -> None:
        """Move the sandbox clock past every scheduled end and expiry, then judge each
        scheduled event. What the move would change without such an event (an activation
        the merchant finishes in its own time, a 202 it confirms in its own time, other ends
        of a period) is settled first, by steps the judge sees."""
        now = self.sandbox_now() if self.scheduled else None
        if now is None:
            return
        self._tidy()
        latest = now + datetime.timedelta(days=1)
        for _, subject, _, _ in self.scheduled:
            record = self.client.http.get(f"/v1/entitlement/{subject.id}").json()
            for name in ("dateEnded", "dateExpiry"):
                latest = max(latest, moment(record.get(name)) or latest)
        seconds = round((latest + CLOCK_MARGIN - now).total_seconds())
        request = self.client.http.build_request(
            "POST", "/sandbox/clock/advance", json={"seconds": seconds}
        )
        response = self.client.http.send(request)
        reproduce = curl_command(request)
        where = "the clock moves past every end: POST /sandbox/clock/advance"
        if response.status_code >= 300:
            self.judge.violate(
                where,
                f"asked the sandbox to move its clock {seconds} s on",
                "the control to do it (HTTP 200)",
                f"it answered HTTP {response.status_code}: {response.text[:200]}",
                reproduce,
            )
            return
        self.begin("")
        for event, subject, aims, step in self.scheduled:
            row = self.judge.event(
                event,
                subject.id,
                self.client.read_status,
                step=f"{step}: {where}",
                reproduce=reproduce,
                prefer=aims,
            )
            shown = f"a read shows {self.judge.status.get(subject.id)}"
            self._outcome(f"'{step}'", subject, aims, row, shown)

    def _tidy(self) -> None:
        self.begin("")
        keep = {subject.id for _, subject, _, _ in self.scheduled}
        for subject in self.subjects:
            if not subject.id or subject.id in keep:
                continue
            if (waiting := self.judge.deferred.get(subject.id)) is not None:
                step = "before the clock moves: the merchant confirms"
                self.confirm(subject, step, aim=waiting.completed_by, aside=True)
            if self.judge.status.get(subject.id) in TIME_SENSITIVE_STATUSES:
                self.act(
                    "revokeEntitlement",
                    subject,
                    "before the clock moves: revoke",
                    aim=("revoke", "revoke-deferred"),
                    body=terminate_body(),
                )
            if (waiting := self.judge.deferred.get(subject.id)) is not None:
                step = "before the clock moves: the merchant confirms the revoke"
                self.confirm(subject, step, aim=waiting.completed_by, aside=True)

    def _event(
        self,
        event: str,
        subject: Subject,
        step: str,
        aims: Aim,
        *,
        url: str,
        body: Any = None,
        aside: bool = False,
    ) -> None:
        request = self.client.http.build_request("POST", url, json=body)
        response = self.client.http.send(request)
        reproduce = curl_command(request)
        where = f"{step}: POST {request.url.path}"
        if response.status_code >= 300:
            self.judge.violate(
                where,
                f"caused {event} for an entitlement that was {self.judge.status.get(subject.id)}",
                "the sandbox control to act (HTTP 200), since a row starts there",
                f"it answered HTTP {response.status_code}: {response.text[:200]}",
                reproduce,
            )
            return
        row = self.judge.event(
            event, subject.id, self.client.read_status, step=where, reproduce=reproduce, prefer=aims
        )
        shown = f"a read shows {self.judge.status.get(subject.id)}"
        self._outcome(f"'{step}'", subject, aims, row, shown, aside=aside)

    @staticmethod
    def _control(subject: Subject, action: str) -> str:
        return f"/sandbox/entitlements/{subject.id}/{action}"

    # -- aims and reasons -----------------------------------------------------------------

    def _aiming(self, aim: str | Collection[str]) -> Aim:
        aims = _aim(aim)
        self.aims.append(aims)
        return aims

    def _blocked(self, step: str, subject: Subject, aims: Aim) -> str | None:
        """Why the aimed rows cannot start where the subject is (None when they can)."""
        if self.blocked is not None:
            return self.blocked
        if subject.left:
            return subject.left
        rows = [self.judge.machine.row(row_id) for row_id in aims]
        starts = [status for row in rows for status in row.from_statuses]
        if not starts:
            return None  # a create of a new entitlement
        if not subject.id:
            return f"'{step}' has no entitlement to act on" + subject.because()
        status = self.judge.status.get(subject.id)
        if status not in starts:
            needed = " or ".join(dict.fromkeys(starts))
            return f"'{step}' needs {needed}, but the entitlement was {status}" + subject.because()
        waiting = self.judge.deferred.get(subject.id)
        requests = any(row.operation is not None for row in rows)
        if waiting is not None and requests and not any(row.while_deferred for row in rows):
            return (
                f"'{step}' cannot be sent while the 202 of row {waiting.id} waits for the"
                " merchant" + subject.because()
            )
        return None

    def _without_controls(self, step: str, subject: Subject, aims: Aim) -> str | None:
        if self.blocked is not None:
            return self.blocked
        if self.controls:
            return None
        subject.final = True
        return f"'{step}' {NO_CONTROLS}"

    def _skip(self, aims: Aim, reason: str, subject: Subject) -> None:
        if subject.final or self.blocked is not None:
            self.final.update(aims)
        self._note(aims, reason)

    def _note(self, aims: Collection[str], reason: str) -> None:
        text = f"{self.cast}: {reason}" if self.cast else reason
        for row_id in aims:
            found = self.reasons.setdefault(row_id, [])
            if text not in found:
                found.append(text)

    def _answered(
        self, step: str, subject: Subject, aims: Aim, answer: Mapping[str, Any], magic: str | None
    ) -> Transition | None:
        """Note what a request's answer did for its aim; return the row it followed."""
        row = self.client.last_row
        response = self.client.last[1] if self.client.last is not None else None
        status = response.status_code if response is not None else 0
        came = describe_answer(status, answer.get("responseCode"), answer.get("status"))
        message = answer.get("responseMessage")
        if row is None and isinstance(message, str) and not 200 <= status < 300:
            came += f' "{message}"'
        said = f"'{step}'" + (f" (X-Magic-Number {magic})" if magic else "")
        self._outcome(said, subject, aims, row, came)
        return row

    def _outcome(
        self,
        said: str,
        subject: Subject,
        aims: Aim,
        row: Transition | None,
        came: str,
        *,
        aside: bool = False,
    ) -> None:
        """Note a step that missed its aim (it becomes the subject's history); a row the
        merchant chose among the aimed ones leaves the others a reason too."""
        if row is not None and row.id in aims:
            if aside:
                # The reason a later step gives then tells the whole story.
                subject.history += f"; {said} followed row {row.id}"
            else:
                chose = f"{said} followed row {row.id} (the merchant chooses)"
                self._note([a for a in aims if a != row.id], chose)
            return
        if row is not None:
            subject.history = f"{said} followed row {row.id} instead ({came})"
        elif subject.id:
            subject.history = f"{said} got {came}"
        else:
            subject.history = f"{said} created none: it got {came}"
        if not aside:
            self._note(aims, subject.history)
