"""Behaviour checks: every exchange against the partner spec's status machine.

For each request on an entitlement the judge knows the status before (from earlier answers
and reads), finds the rows of the table that start there with the answer the service gave,
checks that the record and a read right after show the row's resulting status, and expects
the row's notifications, in order, at the suite's receiver. Platform events (a merchant's
confirmation, the end of a period, ...) are judged the same way. Every violation names the
row it broke and carries a reproducer; the coverage table says which rows were seen.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping
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
        behaviour: str | None = None,
    ) -> Transition | None:
        """Judge one answer; return the row it followed (None for a refusal or no match)."""
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
        where = "a new entitlement" if prior is None else prior
        if not answered:
            if 200 <= http_status < 300:
                starting = ", ".join(t.id for t in candidates) or "none"
                self._violate(
                    f"{step}: {label} from {where} answered HTTP {http_status} {code}, which no"
                    f" row gives (rows starting there: {starting})",
                    reproduce,
                )
            return None
        fits = rows_fitting(answered, prior, shown)
        if not fits:
            expected = {t.id: t.result(prior if not t.creates else None) for t in answered}
            self._violate(
                f"{step}: row {' / '.join(expected)} answers HTTP {http_status} {code} from"
                f" {where} and leads to {' or '.join(map(str, set(expected.values())))}, but"
                f" the answer's record is {shown}",
                reproduce,
            )
            if shown is not None and entitlement_id:
                self.status[entitlement_id] = str(shown)
            return None
        row = _preferred(fits, behaviour)
        waiting = self.deferred.get(entitlement_id)
        if waiting is not None and row.accepts and not row.while_deferred:
            self._violate(
                f"{step}: row {row.id} was accepted while the 202 of row {waiting.id} still"
                " waits for the merchant; only rows marked whileDeferred are",
                reproduce,
            )
        return self._fired(row, prior, entitlement_id, read, step, reproduce)

    def event(
        self,
        event: str,
        entitlement_id: str,
        read: Reader,
        *,
        step: str,
        reproduce: str,
        behaviour: str | None = None,
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
            expected = {t.id: t.result(prior) for t in candidates}
            rows = " / ".join(expected) or "no row"
            self._violate(
                f"{step}: {event} from {prior}: {rows} leads to"
                f" {' or '.join(map(str, set(expected.values()))) or 'nothing'}, but a read says"
                f" {after}",
                reproduce,
            )
            if after is not None:
                self.status[entitlement_id] = after
            return None
        row = _preferred(fits, behaviour)
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
    ) -> Transition:
        expected = str(row.result(prior if not row.creates else None))
        after = read(entitlement_id)
        if after != expected:
            self._violate(
                f"{step}: row {row.id} answered {expected}, but a read right after says {after}",
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
                self._violate(
                    f"{firing.step}: row {firing.row.id} sends {owed or 'nothing'} for"
                    f" entitlement {entitlement_id}; at that point the receiver had"
                    f" {got_types or 'nothing'} (all, in arrival order: {types})",
                    firing.reproduce,
                    check=NOTIFICATION_CHECK,
                )
                return
            for body in got:
                if body.get("status") != firing.status_after or not body.get("notificationId"):
                    self.coverage[firing.row.id].notifications_failed += 1
                    self._violate(
                        f"{firing.step}: row {firing.row.id}: notification"
                        f" {body.get('notificationType')} says status {body.get('status')} and"
                        f" notificationId {body.get('notificationId')!r}; the row leads to"
                        f" {firing.status_after}",
                        firing.reproduce,
                        check=NOTIFICATION_CHECK,
                    )
                    return
            self.coverage[firing.row.id].notifications_verified += 1
            position += len(owed)
        if position < len(received):
            last = firings[-1]
            self._violate(
                f"entitlement {entitlement_id}: {types[position:]} arrived after row"
                f" {last.row.id} ({last.step}), and no row sent them",
                last.reproduce,
                check=NOTIFICATION_CHECK,
            )

    def _violate(self, message: str, reproduce: str, *, check: str = CHECK) -> None:
        self.violations.append(f"{check}: {message}\n    reproduce with: {reproduce}")

    def coverage_lines(self) -> list[str]:
        """The transition coverage table: each row, seen or not, and its notifications."""
        lines = [f"{'row':<34} {'trigger':<50} {'seen':>4}  notifications"]
        for row in self.machine:
            seen = self.coverage[row.id]
            if not seen.observed:
                verdict = "-"
            elif self.receiver is None:
                verdict = "not run"
            elif seen.notifications_failed:
                verdict = "FAILED"
            elif seen.notifications_verified:
                verdict = f"verified {list(row.notifications) or '(none sent)'}"
            else:
                verdict = "not watched"
            lines.append(f"{row.id:<34} {row.trigger:<50} {seen.observed:>4}  {verdict}")
        observed = sum(1 for r in self.coverage.values() if r.observed)
        lines.append(f"Transitions observed: {observed}/{len(self.coverage)}")
        return lines


def _preferred(rows: list[Transition], behaviour: str | None) -> Transition:
    """Of several rows that fit what was seen, the one of the merchant behaviour the caller
    set up, if it said."""
    for row in rows:
        if behaviour is not None and row.behaviour == behaviour:
            return row
    return rows[0]
