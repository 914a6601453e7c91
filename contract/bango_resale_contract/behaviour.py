"""Behaviour checks: every exchange against the partner spec's status machine.

For each request on an entitlement the judge knows the status before (from earlier answers
and reads), finds the rows of the table that start there with the answer the service gave,
checks that the record and a read right after show the row's resulting status, and expects
the row's notifications, in order, at the suite's receiver. Platform events (a merchant's
confirmation, the end of a period, ...) are judged the same way. Every violation is one
sentence (what was sent, what the contract expects, what came back) with a reproducer; the
coverage counts say which rows were seen.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from bango_resale_spec import PRODUCT_CHANGE, StatusMachine, Transition

from .notification_server import NotificationServer

CHECK = "bango_status_machine"
NOTIFICATION_CHECK = "bango_notifications"
CREATE = "createEntitlement"
UPDATE = "updateEntitlement"
MERCHANT_CONFIRMED = "MERCHANT_CONFIRMED"
# How long to wait for one step's notifications before going on (a healthy service sends
# them within milliseconds), and for the stragglers at the end.
STEP_WAIT_SECONDS = 1.5
SETTLE_SECONDS = 10.0

# A read of the entitlement's current status (None when it cannot be read).
Reader = Callable[[str], "str | None"]


def request_kind(operation_id: str, body: Any) -> str | None:
    """Which update body a request is (the rows' `request`); None for other operations."""
    if operation_id != UPDATE or not isinstance(body, Mapping):
        return None
    benefits = body.get("entitlementBenefits")
    if benefits == "SUSPENDED":
        return "SuspendEntitlementRequest"
    if benefits == "NORMAL":
        return "ResumeEntitlementRequest"
    return PRODUCT_CHANGE if "productKey" in body else "EntitlementChanges"


def rows_starting(
    machine: StatusMachine, operation_id: str, kind: str | None, prior: str | None
) -> list[Transition]:
    """The rows a request may fire from `prior` (None: nothing known, i.e. a new entitlement
    for a create). A create of a PENDING one is a repeat; any other create starts afresh."""
    if operation_id == CREATE:
        repeat = prior == "PENDING"
        return [
            t
            for t in machine.rows_for(operation=CREATE)
            if (repeat and prior in t.from_statuses) or (not repeat and t.creates)
        ]
    return [
        t
        for t in machine.rows_for(operation=operation_id, request=kind)
        if prior in t.from_statuses
    ]


def rows_answering(candidates: list[Transition], http_status: int, code: Any) -> list[Transition]:
    """Of the candidate rows, those that give this answer."""
    return [t for t in candidates if (t.http_status, t.response_code) == (http_status, code)]


def rows_fitting(answered: list[Transition], prior: str | None, shown: Any) -> list[Transition]:
    """Of the rows that give the answer, those whose resulting status is the record's. A
    refusal row's answer carries no record: the status simply stays."""
    return [
        t for t in answered if not t.accepts or t.result(prior if not t.creates else None) == shown
    ]


def describe_answer(http_status: int, code: Any, shown: Any = None) -> str:
    """`HTTP 200 OK`, with the record's status when the answer carried one."""
    text = f"HTTP {http_status} {code}"
    return f"{text} with status {shown}" if shown is not None else text


def describe_row(row: Transition, prior: str | None) -> str:
    """What a row answers and where it leads: `HTTP 200 OK and status CANCELLED (row X)`."""
    before = None if row.creates else prior
    answer = f"HTTP {row.http_status} {row.response_code}"
    if row.accepts:
        answer += f" and status {row.result(before)}"
    return f"{answer} (row {row.id})"


def _status_phrase(prior: str | None) -> str:
    return "a new entitlement" if prior is None else f"an entitlement that was {prior}"


@dataclass(slots=True)
class RowCoverage:
    """How often a row was seen, and how its notifications fared."""

    observed: int = 0
    notifications_verified: int = 0
    notifications_failed: int = 0


@dataclass(frozen=True, slots=True)
class Firing:
    """One row seen to fire on one entitlement, with the notifications it owes."""

    row: Transition
    entitlement_id: str
    status_after: str
    step: str
    reproduce: str


@dataclass
class BehaviourJudge:
    """Tracks statuses and judges exchanges and events against the status machine."""

    machine: StatusMachine
    receiver: NotificationServer | None = None
    status: dict[str, str] = field(default_factory=dict)
    deferred: dict[str, Transition] = field(default_factory=dict)
    firings: dict[str, list[Firing]] = field(default_factory=lambda: defaultdict(list))
    coverage: dict[str, RowCoverage] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    # Entitlements whose notificationUrl is the receiver: only their notifications are judged.
    watched: set[str] = field(default_factory=set)
    step_wait: float = STEP_WAIT_SECONDS
    settle_wait: float = SETTLE_SECONDS
    # Entitlements whose notifications already came late or not at all: no more waiting.
    _late: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.coverage = {row.id: RowCoverage() for row in self.machine}

    @property
    def notifications_checked(self) -> bool:
        return self.receiver is not None

    def watch(self, entitlement_id: str) -> None:
        if self.receiver is not None and entitlement_id:
            self.watched.add(entitlement_id)

    def request(
        self,
        operation_id: str,
        request_body: Any,
        http_status: int,
        response_body: Any,
        entitlement_id: str,
        read: Reader,
        *,
        step: str,
        reproduce: str,
        prefer: Collection[str] = (),
    ) -> Transition | None:
        """Judge one answer; return the row it followed (None for a refusal or no match).

        `prefer`: the rows the caller aimed at, credited when several rows fit what was seen
        (a PENDING entitlement cancelled at once looks the same whichever way its merchant
        ends entitlements)."""
        record = response_body if isinstance(response_body, Mapping) else {}
        code, shown = record.get("responseCode"), record.get("status")
        sent = request_body if isinstance(request_body, Mapping) else {}
        receiver_url = self.receiver.url if self.receiver is not None else None
        if operation_id == CREATE and receiver_url and sent.get("notificationUrl") == receiver_url:
            self.watch(entitlement_id)
        if not self.machine.rows_for(operation=operation_id):
            # A read: no row to judge, but it tells the status.
            if http_status == 200 and isinstance(shown, str) and entitlement_id:
                self.status[entitlement_id] = shown
            return None
        kind = request_kind(operation_id, request_body)
        label = f"{operation_id}[{kind}]" if kind else operation_id
        prior = self.status.get(entitlement_id)
        if operation_id != CREATE and prior is None:
            return None
        candidates = rows_starting(self.machine, operation_id, kind, prior)
        answered = rows_answering(candidates, http_status, code)
        what = f"sent {label} for {_status_phrase(prior)}"
        came = f"the service answered {describe_answer(http_status, code, shown)}"
        if not answered:
            if 200 <= http_status < 300:
                if candidates:
                    expected = "one of " + "; ".join(describe_row(t, prior) for t in candidates)
                else:
                    expected = f"NOT_AVAILABLE, since no row of {operation_id} starts from {prior}"
                self.violate(step, what, expected, came, reproduce)
            return None
        fits = rows_fitting(answered, prior, shown)
        if not fits:
            expected = " or ".join(describe_row(t, prior) for t in answered)
            self.violate(step, what, expected, came, reproduce)
            if shown is not None and entitlement_id:
                self.status[entitlement_id] = str(shown)
            return None
        row = _preferred(fits, prefer)
        waiting = self.deferred.get(entitlement_id)
        if waiting is not None and row.accepts and not row.while_deferred:
            self.violate(
                step,
                what,
                f"NOT_AVAILABLE while the 202 of row {waiting.id} waits for the merchant (only"
                " rows marked whileDeferred are accepted then)",
                f"{came} (row {row.id})",
                reproduce,
            )
        return self._fired(row, prior, entitlement_id, read, step, reproduce, what)

    def event(
        self,
        event: str,
        entitlement_id: str,
        read: Reader,
        *,
        step: str,
        reproduce: str,
        prefer: Collection[str] = (),
    ) -> Transition | None:
        """Judge a platform event the suite caused (through the sandbox's controls)."""
        prior = self.status.get(entitlement_id)
        after = read(entitlement_id)
        among = None
        if event == MERCHANT_CONFIRMED and entitlement_id in self.deferred:
            among = set(self.deferred[entitlement_id].completed_by)
        candidates = [
            t
            for t in self.machine.rows_for(event=event)
            if prior in t.from_statuses and (among is None or t.id in among)
        ]
        fits = [t for t in candidates if t.result(prior) == after]
        if not fits:
            if candidates:
                expected = "a read to show " + " or ".join(
                    f"{t.result(prior)} (row {t.id})" for t in candidates
                )
            else:
                expected = f"the status to stay {prior}, since no {event} row starts there"
            self.violate(
                step,
                f"caused {event} for {_status_phrase(prior)}",
                expected,
                f"a read shows {after}",
                reproduce,
            )
            if after is not None:
                self.status[entitlement_id] = after
            return None
        row = _preferred(fits, prefer)
        self.coverage[row.id].observed += 1
        if after is not None and after != prior:
            self.deferred.pop(entitlement_id, None)
        if event == MERCHANT_CONFIRMED:
            self.deferred.pop(entitlement_id, None)
        self.status[entitlement_id] = str(after)
        self._expect(row, entitlement_id, str(after), step, reproduce)
        return row

    def _fired(
        self,
        row: Transition,
        prior: str | None,
        entitlement_id: str,
        read: Reader,
        step: str,
        reproduce: str,
        what: str,
    ) -> Transition:
        expected = str(row.result(prior if not row.creates else None))
        after = read(entitlement_id)
        if after != expected:
            self.violate(
                step,
                what,
                f"a read right after to show {expected} (row {row.id}, which the answer followed)",
                f"a read right after shows {after}",
                reproduce,
            )
        self.coverage[row.id].observed += 1
        self.status[entitlement_id] = after or expected
        if row.defers:
            self.deferred[entitlement_id] = row
        self._expect(row, entitlement_id, expected, step, reproduce)
        return row

    def _expect(
        self, row: Transition, entitlement_id: str, status_after: str, step: str, reproduce: str
    ) -> None:
        if self.receiver is None or entitlement_id not in self.watched:
            return
        firings = self.firings[entitlement_id]
        firings.append(Firing(row, entitlement_id, status_after, step, reproduce))
        if row.notifications and entitlement_id not in self._late:
            # Wait, so that this step's notifications cannot race the next step's.
            owed = sum(len(f.row.notifications) for f in firings)
            if not self.receiver.wait_for(entitlement_id, owed, self.step_wait):
                self._late.add(entitlement_id)

    def settle(self) -> None:
        """Wait for the notifications still owed, then compare them with the rows, in order."""
        if self.receiver is None:
            return
        deadline = time.monotonic() + self.settle_wait
        for entitlement_id, firings in self.firings.items():
            owed = sum(len(f.row.notifications) for f in firings)
            self.receiver.wait_for(entitlement_id, owed, max(deadline - time.monotonic(), 0.0))
        # Let late repeats or stray notifications arrive before judging "nothing else came".
        time.sleep(0.2)
        for entitlement_id, firings in self.firings.items():
            self._compare(entitlement_id, firings, self.receiver.received(entitlement_id))

    def _compare(
        self, entitlement_id: str, firings: list[Firing], received: list[dict[str, Any]]
    ) -> None:
        types = [body.get("notificationType") for body in received]
        position = 0
        for firing in firings:
            owed = list(firing.row.notifications)
            got = received[position : position + len(owed)]
            got_types = [body.get("notificationType") for body in got]
            if got_types != owed:
                self.coverage[firing.row.id].notifications_failed += 1
                self.violate(
                    firing.step,
                    f"row {firing.row.id} fired for entitlement {entitlement_id}",
                    f"the notifications {owed or 'none'} next",
                    f"the receiver got {got_types or 'none'} there (all it got for the"
                    f" entitlement, in arrival order: {types})",
                    firing.reproduce,
                    check=NOTIFICATION_CHECK,
                )
                return
            for body in got:
                if body.get("status") != firing.status_after or not body.get("notificationId"):
                    self.coverage[firing.row.id].notifications_failed += 1
                    self.violate(
                        firing.step,
                        f"row {firing.row.id} fired for entitlement {entitlement_id}",
                        f"its {body.get('notificationType')} notification to say status"
                        f" {firing.status_after} and carry a notificationId",
                        f"the notification says status {body.get('status')} and notificationId"
                        f" {body.get('notificationId')!r}",
                        firing.reproduce,
                        check=NOTIFICATION_CHECK,
                    )
                    return
            self.coverage[firing.row.id].notifications_verified += 1
            position += len(owed)
        position += self._platform_moves(entitlement_id, firings[-1], received[position:])
        if position < len(received):
            last = firings[-1]
            self.violate(
                last.step,
                f"row {last.row.id} was the last to fire for entitlement {entitlement_id}",
                f"no further notification, or one a platform event sends from {last.status_after}",
                f"the receiver got {types[position:]} as well",
                last.reproduce,
                check=NOTIFICATION_CHECK,
            )

    def _platform_moves(
        self, entitlement_id: str, last: Firing, later: list[dict[str, Any]]
    ) -> int:
        """How many of the notifications that came after the last row the suite saw fire are
        the platform's own moves since (a merchant confirming the 202 that waited, an
        activation it finished in its own time, ...): the ones an event row sends from where
        the entitlement was, each showing the status that row leads to. Those rows count as
        seen; the first notification no such row explains ends the count."""
        status, waiting = last.status_after, self.deferred.get(entitlement_id)
        position = 0
        while position < len(later):
            confirmable = set(waiting.completed_by) if waiting is not None else set()
            row = next(
                (
                    t
                    for t in self.machine
                    if t.event is not None
                    and t.notifications
                    and status in t.from_statuses
                    and (t.event != MERCHANT_CONFIRMED or t.id in confirmable)
                    and _sends(t, later[position : position + len(t.notifications)], status)
                ),
                None,
            )
            if row is None:
                break
            self.coverage[row.id].observed += 1
            self.coverage[row.id].notifications_verified += 1
            status = str(row.result(status))
            if row.event == MERCHANT_CONFIRMED:
                waiting = None
            position += len(row.notifications)
        return position

    def violate(
        self, step: str, sent: str, expected: str, got: str, reproduce: str, *, check: str = CHECK
    ) -> None:
        """One violation as a sentence: the step, what it sent (or caused), what the contract
        expects, what came back, and how to do it again."""
        self.violations.append(
            f"{check}: {step}: {sent}; the contract expects {expected}; {got}\n"
            f"    reproduce with: {reproduce}"
        )


def _sends(row: Transition, bodies: list[dict[str, Any]], before: str) -> bool:
    """Whether `bodies` are the notifications `row` sends when it fires from `before`."""
    return [b.get("notificationType") for b in bodies] == list(row.notifications) and all(
        b.get("status") == row.result(before) and b.get("notificationId") for b in bodies
    )


def _preferred(rows: list[Transition], prefer: Collection[str]) -> Transition:
    """Of several rows that fit what was seen, the one the caller aimed at, if it said."""
    for row in rows:
        if row.id in prefer:
            return row
    return rows[0]
