"""The entitlement's status machine, read from the partner spec's `x-status-machine`.

One `Transition` per row. The sandbox executes these rows, the contract suite checks any
service against them, the client asks them what a status allows, and the docs draw them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .tables import entitlement_statuses, load_partner_spec

EXTENSION = "x-status-machine"
# The update operation's bodies, as rows name them in `request`.
PRODUCT_CHANGE = "EntitlementChanges.productKey"


class MachineError(ValueError):
    """The table is not well formed (a row names an unknown status, row, ...)."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the table: a trigger, the statuses it starts from, the answer, the result."""

    id: str
    operation: str | None
    request: str | None
    event: str | None
    behaviour: str | None
    from_statuses: tuple[str, ...]
    http_status: int | None
    response_code: str | None
    to_status: str | None
    notifications: tuple[str, ...]
    completed_by: tuple[str, ...]
    while_deferred: bool
    description: str
    modelled: str | None

    @property
    def trigger(self) -> str:
        """The operation (with its request body, if any) or the event, as one label."""
        if self.event is not None:
            return self.event
        return f"{self.operation}[{self.request}]" if self.request else str(self.operation)

    @property
    def accepts(self) -> bool:
        """Whether the row answers with success (2xx) rather than a refusal."""
        return self.http_status is None or 200 <= self.http_status < 300

    @property
    def defers(self) -> bool:
        """A 202 `OK`: the change happens later, through a row of `completed_by`."""
        return self.http_status == 202 and self.response_code == "OK"

    @property
    def creates(self) -> bool:
        """A create of a new entitlement (no status before it)."""
        return self.operation is not None and not self.from_statuses

    def result(self, before: str | None) -> str | None:
        """The status after this row fires from `before`."""
        return self.to_status if self.to_status is not None else before


@dataclass(frozen=True, slots=True)
class StatusMachine:
    """The whole table, with the look-ups its readers need, and the end statuses of the
    document it was read from (`x-terminal` on `EntitlementStatus`)."""

    transitions: tuple[Transition, ...]
    terminal: frozenset[str]

    def __iter__(self) -> Iterator[Transition]:
        return iter(self.transitions)

    def __len__(self) -> int:
        return len(self.transitions)

    def row(self, row_id: str) -> Transition:
        for transition in self.transitions:
            if transition.id == row_id:
                return transition
        raise KeyError(f"the status machine has no row {row_id!r}")

    def rows_for(
        self, *, operation: str | None = None, request: str | None = None, event: str | None = None
    ) -> tuple[Transition, ...]:
        """Rows of one trigger (an operation, optionally narrowed to a request body, or an
        event)."""
        return tuple(
            t
            for t in self.transitions
            if (operation is None or t.operation == operation)
            and (request is None or t.request == request)
            and (event is None or t.event == event)
        )

    def select(
        self,
        *,
        status: str | None,
        behaviour: str | None = None,
        operation: str | None = None,
        request: str | None = None,
        event: str | None = None,
        among: Iterable[str] | None = None,
    ) -> Transition | None:
        """The row a trigger fires from `status` (None: before a create) under `behaviour`.

        A row without a behaviour matches any. Refusal rows (e.g. reactivate of a live
        entitlement) are found too; None means no row covers the status at all, which the
        contract answers with NOT_AVAILABLE. `among` limits the search to those row ids (the
        `completed_by` of a deferred row).
        """
        allowed = None if among is None else set(among)
        candidates = [
            t
            for t in self.rows_for(operation=operation, request=request, event=event)
            if (allowed is None or t.id in allowed)
            and (status in t.from_statuses if status is not None else not t.from_statuses)
        ]
        for transition in candidates:
            if transition.behaviour == behaviour:
                return transition
        for transition in candidates:
            if transition.behaviour is None or not transition.accepts:
                return transition
        return None

    def allowed_from(self, operation: str, request: str | None = None) -> tuple[str, ...]:
        """Statuses from which the operation (or that request body) is accepted, in the
        order of the status enum."""
        starts = {
            status
            for t in self.rows_for(operation=operation, request=request)
            if t.accepts
            for status in t.from_statuses
        }
        return tuple(s for s in entitlement_statuses() if s in starts)

    def behaviours(self, operation: str, request: str | None = None) -> tuple[str, ...]:
        """The merchant behaviours the rows of one operation cover, in table order."""
        seen: dict[str, None] = {}
        for t in self.rows_for(operation=operation, request=request):
            if t.behaviour is not None:
                seen.setdefault(t.behaviour)
        return tuple(seen)

    def events(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for t in self.transitions:
            if t.event is not None:
                seen.setdefault(t.event)
        return tuple(seen)


def _strings(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in values or ())


def _transition(row: Mapping[str, Any]) -> Transition:
    http_status = row.get("httpStatus")
    return Transition(
        id=str(row["id"]),
        operation=row.get("operation"),
        request=row.get("request"),
        event=row.get("event"),
        behaviour=row.get("behaviour"),
        from_statuses=_strings(row.get("from")),
        http_status=None if http_status is None else int(http_status),
        response_code=row.get("responseCode"),
        to_status=row.get("to"),
        notifications=_strings(row.get("notifications")),
        completed_by=_strings(row.get("completedBy")),
        while_deferred=bool(row.get("whileDeferred", False)),
        description=str(row.get("description", "")).strip(),
        modelled=row.get("modelled"),
    )


def machine_from(document: Mapping[str, Any]) -> StatusMachine:
    """The status machine of a partner spec document (any copy, not only the shipped one).

    Raises `MachineError` when a row is ill-formed: a duplicate id, both or neither of
    `operation` and `event`, an unknown status or notification type, a `completedBy` that
    names no event row; or when `x-terminal` names an unknown status.
    """
    status_schema = document["components"]["schemas"]["EntitlementStatus"]
    machine = StatusMachine(
        tuple(_transition(row) for row in document[EXTENSION]),
        frozenset(_strings(status_schema.get("x-terminal"))),
    )
    statuses = set(_schema_enum(document, "EntitlementStatus"))
    types = set(_schema_enum(document, "NotificationType"))
    ids = [t.id for t in machine]
    problems = [f"row id {i!r} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    unknown_ends = sorted(machine.terminal - statuses)
    problems.extend(f"x-terminal: unknown status {status!r}" for status in unknown_ends)
    events = {t.id for t in machine if t.event is not None}
    for t in machine:
        if (t.operation is None) == (t.event is None):
            problems.append(f"{t.id}: name exactly one of operation and event")
        if (t.event is None) != (t.http_status is not None and t.response_code is not None):
            problems.append(f"{t.id}: an operation row needs an answer, an event row none")
        for status in (*t.from_statuses, *([t.to_status] if t.to_status else [])):
            if status not in statuses:
                problems.append(f"{t.id}: unknown status {status!r}")
        problems.extend(
            f"{t.id}: unknown notificationType {n!r}" for n in t.notifications if n not in types
        )
        problems.extend(
            f"{t.id}: completedBy {c!r} is no event row" for c in t.completed_by if c not in events
        )
    if problems:
        raise MachineError("; ".join(problems))
    return machine


def _schema_enum(document: Mapping[str, Any], name: str) -> tuple[str, ...]:
    return _strings(document["components"]["schemas"][name]["enum"])


@functools.cache
def status_machine() -> StatusMachine:
    """The shipped partner spec's status machine (cached)."""
    return machine_from(load_partner_spec())


def operation_allowed_from(operation_id: str) -> tuple[str, ...]:
    """Statuses an entitlement must be in for this operation to be accepted (any of its
    rows). KeyError for an operation without that precondition: one the table has no row
    for (a read), or one that creates an entitlement."""
    machine = status_machine()
    rows = machine.rows_for(operation=operation_id)
    if not rows or any(row.creates for row in rows):
        raise KeyError(f"{operation_id} does not depend on an entitlement's status")
    return machine.allowed_from(operation_id)


def body_allowed_from(schema_name: str, property_name: str | None = None) -> tuple[str, ...]:
    """Statuses an entitlement must be in for this update body, or for one of its fields
    (`EntitlementChanges`'s `productKey`)."""
    request = schema_name if property_name is None else f"{schema_name}.{property_name}"
    return status_machine().allowed_from("updateEntitlement", request)
