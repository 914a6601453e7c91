"""The judge of live traffic: one exchange at a time, as a proxy or a recording sees it.

Each exchange (request and answer, as bytes) is judged by:
- its shape: the answer's status is documented for the operation and its JSON body matches
  the schema; a request that breaks its schema must not be accepted;
- the contract suite's own rules (`checks.RULES`) and the spec's promises
  (`promises.PROMISES`), called as they are, so the proxy and the suite cannot disagree;
- the status machine: per entitlement, the last status seen (from answers, reads and
  notifications). A status may also have moved on through platform events since (a merchant's
  confirmation, the end of a period, ...), so an answer is judged against every status the
  event rows can reach from the one last seen; for an entitlement never seen the status is
  "unknown" and nothing is guessed. Notifications (when a receiver sits in front of the
  integration) must be the ones the fired rows send, in order.

The state is one small record per entitlement and nothing else, kept per reseller (the user
name of the request's Basic credentials): entitlement ids are unique per reseller only. The
judge keeps no bodies and no credentials.

Bodies come to the judge decoded (no Content-Encoding left to undo): the proxy decodes what it
keeps as it passes, within its bound, and a recording (HAR) holds them decoded already.
What it records (`_findings`) is one printable line per violation whatever bytes the traffic
carried, so every report stays well-formed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import orjson

import bango_resale_spec as spec
from bango_resale_contract import checks, promises
from bango_resale_contract._findings import Headers, NotJudged, Violation, reproducer, safe
from bango_resale_contract.behaviour import (
    CHECK as STATE_RULE,
)
from bango_resale_contract.behaviour import (
    CREATE,
    MERCHANT_CONFIRMED,
    NOTIFICATION_CHECK,
    request_kind,
    rows_answering,
    rows_fitting,
    rows_starting,
)
from bango_resale_contract.coverage import Coverage
from bango_resale_spec import StatusMachine, Transition, compiled
from bango_resale_spec.compiled import Validator

SHAPE_RULE = "bango_response_shape"
INVALID_REQUEST_RULE = "bango_invalid_request_refused"
CREDENTIALS_RULE = "bango_credentials_required"
UNKNOWN = "unknown"
REQUEST_IDENTIFIER = checks.REQUEST_IDENTIFIER_HEADER.lower().encode()
# Notification ids remembered per entitlement to drop redeliveries (delivery is at least once).
REMEMBERED_NOTIFICATION_IDS = 4
# Violations (and exchanges not judged) kept whole for the reports; past this only their
# count grows, so a badly broken service cannot make a long run's memory grow without bound.
KEPT_VIOLATIONS = 10_000
NOT_A_PARTNER_OPERATION = "(not a partner operation)"
NOTIFICATION = "(notification)"
# The reseller of a request without (readable) Basic credentials.
NO_RESELLER = ""


def reseller_of(headers: Headers) -> str:
    """The user name of the request's Basic credentials (NO_RESELLER without them)."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() != b"basic":
                return NO_RESELLER
            try:
                decoded = base64.b64decode(token.strip(), validate=True)
            except (binascii.Error, ValueError):
                return NO_RESELLER
            return decoded.partition(b":")[0].decode("utf-8", "replace")
    return NO_RESELLER


@dataclass(frozen=True, slots=True)
class _Operation:
    responses: Mapping[int, Validator | None]  # HTTP status -> its JSON body's, or None
    request: Validator | None  # the JSON body's, or None


class Contract:
    """The partner spec as the judge reads it: the compiled operations (`bango_resale_spec.
    compiled`, the same the sandbox validates with), the status machine."""

    def __init__(self, document: Mapping[str, Any] | None = None) -> None:
        api = compiled.partner() if document is None else compiled.compile_spec(document)
        self.machine: StatusMachine = spec.machine_from(api.document)
        self.routes: tuple[compiled.Operation, ...] = api.operations
        self.operations: dict[str, _Operation] = {
            op.operation_id: _Operation(dict(op.responses), op.body) for op in api.operations
        }
        # The routes per method: a request is tried only against its own.
        self._by_method: dict[str, list[compiled.Operation]] = {}
        for route in self.routes:
            self._by_method.setdefault(route.method, []).append(route)
        self.events = [t for t in self.machine if t.event is not None]
        self._reachable: dict[tuple[str, str | None], frozenset[str]] = {}
        # Operations some row of the machine answers (the others only read).
        self.writes = frozenset(t.operation for t in self.machine if t.operation is not None)

    def route(self, method: str, path: str) -> tuple[str, str | None] | None:
        """(operationId, the path's parameter) for a partner request; None for anything else.
        The path may carry a prefix (a service mounted under `/api`, say): templates match its
        end."""
        for route in self._by_method.get(method, ()):
            found = route.pattern.search(path)
            if found is not None:
                value = unquote(found.group(1)) if found.groups() else None
                return route.operation_id, value
        return None

    def reachable(self, status: str, deferred: Transition | None) -> frozenset[str]:
        """Every status the event rows can lead to from `status` (itself included). A
        merchant's confirmation counts only for the 202 still waiting."""
        key = (status, deferred.id if deferred is not None else None)
        found = self._reachable.get(key)
        if found is None:
            found = self._reachable[key] = frozenset(self._walk(status, deferred))
        return found

    def completed(self, status: str, deferred: Transition) -> frozenset[str]:
        """The statuses the record can show once the waiting 202 `deferred` completed (a
        completion row of it fired, then any events): a status outside these proves it still
        waits."""
        key = ("completed " + status, deferred.id)
        found = self._reachable.get(key)
        if found is None:
            after: set[str] = set()
            for before in self.reachable(status, None):
                for row in self.events:
                    if row.id in deferred.completed_by and before in row.from_statuses:
                        result = row.result(before)
                        if result is not None:
                            after |= self.reachable(result, row if row.completed_by else None)
            found = self._reachable[key] = frozenset(after)
        return found

    def _walk(self, status: str, deferred: Transition | None) -> set[str]:
        allowed = set(deferred.completed_by) if deferred is not None else set()
        seen, todo = {status}, [status]
        while todo:
            current = todo.pop()
            for row in self.events:
                if current not in row.from_statuses:
                    continue
                if row.event == MERCHANT_CONFIRMED and row.id not in allowed:
                    continue
                after = row.result(current)
                if after is not None and after not in seen:
                    seen.add(after)
                    todo.append(after)
        return seen


@dataclass(slots=True)
class _Tracked:
    """What the judge keeps per entitlement, and nothing else."""

    status: str | None = None
    deferred: Transition | None = None
    watched: bool = False
    # Notifications owed by rows that fired: (notificationType, status after the row).
    owed: deque[tuple[str, str]] | None = None
    notification_ids: deque[str] | None = None
    # The X-RequestIdentifier of the last write: a repeat is answered with a replay of the
    # first answer, which may predate the status seen since.
    last_write_id: str | None = None


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        # What orjson refuses but JSON's grammar allows: a number past a double's range
        # (1e400). Not NaN or Infinity, which the standard library reads but JSON has no such
        # token; not a string escaping half a surrogate pair, which is no text at all (and
        # which no validator can read).
        found = json.loads(raw, parse_constant=_not_json)
        json.dumps(found, ensure_ascii=False).encode()
    except ValueError:  # UnicodeEncodeError included
        return None
    return found


def _not_json(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def _target(url: str) -> str:
    """The path and query of an absolute URL (or of a target already)."""
    if url.startswith("/"):
        return url
    scheme_end = url.find("://")
    slash = url.find("/", scheme_end + 3 if scheme_end >= 0 else 0)
    return url[slash:] if slash >= 0 else "/"


class _HeaderView:
    """Raw headers, read case-insensitively (the first of a repeated name counts): all the
    promises need of `httpx.Headers`. Names are folded once, not at every lookup."""

    __slots__ = ("_by_name",)

    def __init__(self, raw: Headers) -> None:
        self._by_name = {key.lower(): value for key, value in reversed(raw)}

    def raw(self, name: bytes) -> str | None:
        """The value of `name` (lower case), decoded; None when absent."""
        value = self._by_name.get(name)
        return None if value is None else value.decode("latin-1")

    def get(self, key: str, default: Any = None) -> Any:
        found = self.raw(key.lower().encode("latin-1"))
        return default if found is None else found


class _RequestView:
    """A request the judge watched go by, as the promises read it (`url.path`, `headers`,
    `content`); building an `httpx.Request` for every exchange would cost more than judging
    it. It is its own `url`: one object per request instead of two."""

    __slots__ = ("content", "headers", "path")

    def __init__(self, path: str, headers: _HeaderView, content: bytes) -> None:
        self.path = path
        self.headers = headers
        self.content = content

    @property
    def url(self) -> _RequestView:
        return self


class _ResponseView:
    __slots__ = ("headers", "status_code")

    def __init__(self, status_code: int, headers: _HeaderView) -> None:
        self.status_code = status_code
        self.headers = headers


def _is_object(value: Any) -> bool:
    """A JSON object (what decoding gives is a dict: checked first, without the ABC)."""
    return type(value) is dict or isinstance(value, Mapping)


# The contract suite's stateless rules, as pairs, in their order.
_RULES = tuple(checks.RULES.items())


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if text else ""


@dataclass
class LiveJudge:
    """Judges exchanges and notifications; counts what it saw."""

    contract: Contract = field(default_factory=Contract)
    # The path a notification receiver answers on: creates naming it are watched.
    receiver_path: str | None = None
    # Per reseller, per entitlement id: what the judge keeps.
    tracked: dict[str, dict[str, _Tracked]] = field(default_factory=dict)
    exchanges: Counter[str] = field(default_factory=Counter)
    violations: list[Violation] = field(default_factory=list)
    violations_per_rule: Counter[str] = field(default_factory=Counter)
    not_judged_per_operation: Counter[str] = field(default_factory=Counter)
    not_judged_kept: list[NotJudged] = field(default_factory=list)
    # What the traffic exercised: the rows it made, the answers it met.
    coverage: Coverage = field(init=False)

    def __post_init__(self) -> None:
        self.coverage = Coverage(self.contract.machine)

    def _keep(self, found: list[Violation]) -> list[Violation]:
        found = [safe(violation) for violation in found]
        for violation in found:
            self.violations_per_rule[violation.rule] += 1
            if len(self.violations) < KEPT_VIOLATIONS:
                self.violations.append(violation)
        return found

    def exchange(
        self,
        method: str,
        url: str,
        request_headers: Headers,
        request_body: bytes,
        http_status: int,
        response_headers: Headers,
        response_body: bytes,
    ) -> list[Violation]:
        """Judge one request and its answer (bodies decoded); return (and keep) what it
        broke."""
        raw_path = _target(url).split("?", 1)[0]
        routed = self.contract.route(method.upper(), raw_path)
        if routed is None:
            self.exchanges[NOT_A_PARTNER_OPERATION] += 1
            return []
        operation_id, parameter = routed
        self.exchanges[operation_id] += 1
        sent_headers, answer_headers = _HeaderView(request_headers), _HeaderView(response_headers)
        path = unquote(raw_path) if "%" in raw_path else raw_path
        request = _RequestView(path, sent_headers, request_body)
        response = _ResponseView(http_status, answer_headers)
        sent = _json(request_body)
        body = _json(response_body)
        self.coverage.answered(operation_id, http_status, checks.response_code_of(body))
        entitlement_id = parameter if operation_id != "echo" else None
        if entitlement_id is None and _is_object(sent):
            candidate = sent.get("entitlementId")
            entitlement_id = candidate if isinstance(candidate, str) else None
        if operation_id == CREATE and _is_object(body) and 200 <= http_status < 300:
            candidate = body.get("entitlementId")
            entitlement_id = candidate if isinstance(candidate, str) else entitlement_id
        found_problems: list[tuple[str, str, str]] = []  # (rule, expected, got)
        found_problems += self._shape(
            operation_id, sent_headers, http_status, sent, body, answer_headers, response_body
        )
        exchange = checks.Exchange(operation_id, http_status, body, sent, entitlement_id)
        for rule, check in _RULES:
            problems = check(exchange)
            if problems:
                expected = _first_line(check.__doc__)
                found_problems += [(rule, expected, problem) for problem in problems]
        for promise in promises.PROMISES:
            problems = promise.check(operation_id, request, response, body)
            if problems:
                found_problems += [(promise.name, promise.where, problem) for problem in problems]
        if entitlement_id:
            request_id = sent_headers.raw(REQUEST_IDENTIFIER)
            reseller = reseller_of(request_headers)
            entries = self.tracked.setdefault(reseller, {})
            entry = entries.get(entitlement_id)
            if entry is None:
                entry = entries[entitlement_id] = _Tracked()
            found_problems += self._state(
                operation_id, sent, http_status, body, entitlement_id, entry, request_id
            )
            if entry.status is None and not entry.watched:
                # Nothing learnt (a probe of an unknown id, a refusal): keep no state for it.
                del entries[entitlement_id]
                if not entries:
                    del self.tracked[reseller]
        if not found_problems:
            return []
        reproduce = reproducer(method, url, request_headers, request_body)
        found = [
            Violation(rule, operation_id, entitlement_id or "", expected, got, reproduce)
            for rule, expected, got in found_problems
        ]
        return self._keep(found)

    def not_judged(self, method: str, url: str, why: str, request_headers: Headers = ()) -> str:
        """Count an exchange seen but not judged (a body too large to keep, or encoded in a
        way the proxy does not decode), forget the status of the entitlement it names (it may
        have changed unseen), and return the log line that reports it."""
        target = _target(url)
        raw_path = target.split("?", 1)[0]
        routed = self.contract.route(method.upper(), raw_path)
        operation_id = routed[0] if routed is not None else NOT_A_PARTNER_OPERATION
        self.exchanges[operation_id] += 1
        if routed is not None and routed[1] is not None:
            self.tracked.get(reseller_of(request_headers), {}).pop(routed[1], None)
        return self._not_judged(operation_id, f"{method} {target}", why)

    def notification_not_judged(self, why: str) -> str:
        """Count a notification that could not be judged; the log line that reports it."""
        self.exchanges[NOTIFICATION] += 1
        return self._not_judged(NOTIFICATION, "a notification", why)

    def _not_judged(self, operation_id: str, target: str, why: str) -> str:
        self.not_judged_per_operation[operation_id] += 1
        skipped = safe(NotJudged(operation_id, target, why))
        if len(self.not_judged_kept) < KEPT_VIOLATIONS:
            self.not_judged_kept.append(skipped)
        return skipped.line()

    def _shape(
        self,
        operation_id: str,
        request_headers: _HeaderView,
        http_status: int,
        sent: Any,
        body: Any,
        response_headers: _HeaderView,
        response_body: bytes,
    ) -> list[tuple[str, str, str]]:
        operation = self.contract.operations[operation_id]
        problems = []
        accepted = 200 <= http_status < 300
        if accepted and request_headers.raw(b"authorization") is None:
            problems.append(
                (
                    CREDENTIALS_RULE,
                    "every partner operation needs credentials (basicAuth); without them, 401",
                    f"HTTP {http_status} to a request without credentials",
                )
            )
        if (
            accepted
            and operation.request is not None
            and sent is not None
            and not operation.request.is_valid(sent)
        ):
            errors = [e.message for e in operation.request.iter_errors(sent)]
            if errors:
                problems.append(
                    (
                        INVALID_REQUEST_RULE,
                        "a request that breaks its schema is refused (400)",
                        f"HTTP {http_status} to a body where {errors[0]}",
                    )
                )
        if http_status not in operation.responses:
            documented = ", ".join(map(str, sorted(operation.responses)))
            return [*problems, (SHAPE_RULE, f"HTTP {documented}", f"HTTP {http_status}")]
        validator = operation.responses[http_status]
        if validator is None:
            return problems
        content_type = response_headers.raw(b"content-type") or ""
        if not content_type.startswith("application/json") or body is None:
            return [
                *problems,
                (
                    SHAPE_RULE,
                    f"HTTP {http_status} with a JSON body",
                    f"content-type {content_type or 'none'}: {response_body[:80]!r}",
                ),
            ]
        if not validator.is_valid(body):  # the fast path; the messages only for a failure
            errors = [e.message for e in validator.iter_errors(body)]
            problems.append(
                (SHAPE_RULE, f"the documented schema of HTTP {http_status}", "; ".join(errors))
            )
        return problems

    def status_of(self, entitlement_id: str, reseller: str = NO_RESELLER) -> str:
        """The last status seen of a reseller's entitlement, or "unknown"."""
        entry = self.tracked.get(reseller, {}).get(entitlement_id)
        return entry.status if entry is not None and entry.status else UNKNOWN

    def tracked_count(self) -> int:
        """Entitlements followed, over every reseller."""
        return sum(len(entries) for entries in self.tracked.values())

    def _all_tracked(self) -> Iterator[tuple[str, _Tracked]]:
        for entries in self.tracked.values():
            yield from entries.items()

    def _state(
        self,
        operation_id: str,
        sent: Any,
        http_status: int,
        body: Any,
        entitlement_id: str,
        entry: _Tracked,
        request_id: str | None,
    ) -> list[tuple[str, str, str]]:
        record = body if _is_object(body) else {}
        code, shown = record.get("responseCode"), record.get("status")
        shown = shown if isinstance(shown, str) else None
        if (
            operation_id == CREATE
            and self.receiver_path
            and isinstance(sent, Mapping)
            and httpx.URL(str(sent.get("notificationUrl", ""))).path == self.receiver_path
        ):
            entry.watched = True
        machine = self.contract.machine
        if operation_id not in self.contract.writes:
            if http_status != 200 or shown is None or record.get("entitlementId") != entitlement_id:
                return []
            return self._read(entry, operation_id, shown)
        if request_id is not None:
            if request_id == entry.last_write_id:
                return []
            entry.last_write_id = request_id
        kind = request_kind(operation_id, sent)
        if entry.status is None and operation_id != CREATE:
            # Unknown: nothing to judge against; learn the status from a record that says it.
            if 200 <= http_status < 300 and shown is not None:
                entry.status = shown
            return []
        possible = (
            self.contract.reachable(entry.status, entry.deferred)
            if entry.status is not None
            else {None}
        )
        fitting: list[tuple[str | None, Transition]] = []
        answered_any: list[Transition] = []
        for prior in sorted(possible, key=lambda s: (s != entry.status, str(s))):
            answered = rows_answering(
                rows_starting(machine, operation_id, kind, prior), http_status, code
            )
            answered_any += answered
            fitting += [(prior, row) for row in rows_fitting(answered, prior, shown)]
        label = f"{operation_id}[{kind}]" if kind else operation_id
        last = entry.status or "a new entitlement"
        if not answered_any:
            if 200 <= http_status < 300:
                starts = sorted(
                    {t.id for p in possible for t in rows_starting(machine, operation_id, kind, p)}
                )
                moved = ", ".join(sorted(map(str, possible - {entry.status}))) or "nothing"
                rows = ", ".join(starts) or "none, so 409 NOT_AVAILABLE"
                return [
                    (
                        STATE_RULE,
                        f"from {last} (or where events lead: {moved}) a row of {label}: {rows}",
                        f"HTTP {http_status} {code}",
                    )
                ]
            return []
        if not fitting:
            results = sorted(
                {str(t.result(None if t.creates else p)) for p in possible for t in answered_any}
            )
            entry.status = shown or entry.status
            return [
                (
                    STATE_RULE,
                    f"{label} answered HTTP {http_status} {code} from {last} leads to"
                    f" {' or '.join(results)}",
                    f"the record says {shown}",
                )
            ]
        prior, row = fitting[0]
        self.coverage.fired(row.id)
        problems = []
        if self._ignored_waiting(entry, fitting):
            assert entry.deferred is not None
            problems.append(
                (
                    STATE_RULE,
                    f"only whileDeferred rows while the 202 of row {entry.deferred.id} waits",
                    f"row {row.id} accepted (HTTP {http_status} {code})",
                )
            )
        if row.accepts:
            entry.status = str(row.result(None if row.creates else prior))
            if row.defers:
                entry.deferred = row
            elif prior != entry.status:
                entry.deferred = None
            if entry.watched and row.notifications:
                owed = entry.owed if entry.owed is not None else deque()
                owed.extend((kind_, entry.status) for kind_ in row.notifications)
                entry.owed = owed
        return problems

    def _ignored_waiting(
        self, entry: _Tracked, fitting: list[tuple[str | None, Transition]]
    ) -> bool:
        """Whether an accepted answer changed a record whose 202 `OK` surely still waited.

        With notifications watched, the completion would have been seen. Without them it may
        have happened unseen, so the answer is a violation only when no reading of it starts
        from a status the completion can lead to (an accepted second suspend, say, is possible
        only while the first still waits); otherwise whether it waited is unknown, and unknown
        is not reported."""
        waiting, status = entry.deferred, entry.status
        row = fitting[0][1]
        if waiting is None or status is None or not row.accepts or row.while_deferred:
            return False
        if entry.watched:
            return True
        done = self.contract.completed(status, waiting)
        return not any(before in done or not r.accepts or r.while_deferred for before, r in fitting)

    def _read(self, entry: _Tracked, operation_id: str, shown: str) -> list[tuple[str, str, str]]:
        problems = []
        if entry.status is not None:
            possible = self.contract.reachable(entry.status, entry.deferred)
            if shown not in possible:
                problems.append(
                    (
                        STATE_RULE,
                        f"last seen {entry.status}; a read may show {', '.join(sorted(possible))}",
                        f"{operation_id} shows {shown}",
                    )
                )
        if entry.status is not None and shown != entry.status and not problems:
            self._moved_unseen(entry, shown)
        if shown != entry.status:
            entry.deferred = None
        entry.status = shown
        return problems

    def _moved_unseen(self, entry: _Tracked, shown: str) -> None:
        """A read shows the platform moved the entitlement since (a merchant's confirmation,
        an activation, an end): the event row that does that in one step counts as made and,
        for a watched entitlement, owes its notifications (what arrives already settled the
        status, so these are the ones still to come)."""
        assert entry.status is not None
        allowed = set(entry.deferred.completed_by) if entry.deferred is not None else set()
        rows = [
            row
            for row in self.contract.events
            if entry.status in row.from_statuses
            and row.result(entry.status) == shown
            and (row.event != MERCHANT_CONFIRMED or row.id in allowed)
        ]
        if not rows:
            return  # more than one step since: which rows fired is not known
        # The completion of the 202 that waited, where it is one of them.
        row = next((r for r in rows if r.id in allowed), rows[0])
        self.coverage.fired(row.id)
        if entry.watched and len({r.notifications for r in rows}) == 1 and row.notifications:
            owed = entry.owed if entry.owed is not None else deque()
            owed.extend((kind, shown) for kind in row.notifications)
            entry.owed = owed

    def notification(self, raw: bytes, headers: Headers = ()) -> list[Violation]:
        """Judge one notification the service sent to the receiver."""
        self.exchanges[NOTIFICATION] += 1
        body = _json(raw)
        if not isinstance(body, Mapping) or not isinstance(body.get("entitlementId"), str):
            return []
        entitlement_id = str(body["entitlementId"])
        kind, status = body.get("notificationType"), body.get("status")
        notification_id = str(body.get("notificationId"))
        entry = self._notified(entitlement_id, kind, status)
        if entry is None:
            self._not_judged(
                NOTIFICATION,
                f"notification {notification_id}",
                f"more than one reseller follows entitlement {entitlement_id}, and none of"
                f" them is owed a {kind} notification",
            )
            return []
        ids = (
            entry.notification_ids
            if entry.notification_ids is not None
            else deque(maxlen=REMEMBERED_NOTIFICATION_IDS)
        )
        entry.notification_ids = ids
        if notification_id in ids:
            return []
        ids.append(notification_id)
        entry.watched = True
        owed = entry.owed if entry.owed is not None else deque()
        entry.owed = owed
        problems: list[tuple[str, str, str]] = []
        if owed and owed[0][0] == kind:
            _, after = owed.popleft()
            if status != after:
                problems.append(
                    (NOTIFICATION_CHECK, f"{kind} with status {after}", f"status {status}")
                )
        elif any(k == kind for k, _ in owed):
            problems.append(
                (
                    NOTIFICATION_CHECK,
                    f"{owed[0][0]} first (rows fire in order)",
                    f"{kind} out of order",
                )
            )
            for index, (k, _) in enumerate(owed):
                if k == kind:
                    del owed[index]
                    break
        else:
            problems += self._event_notification(entry, kind, status)
        found = [
            Violation(
                rule,
                NOTIFICATION,
                entitlement_id,
                expected,
                got,
                f"notification {notification_id}",
            )
            for rule, expected, got in problems
        ]
        return self._keep(found)

    def _notified(self, entitlement_id: str, kind: Any, status: Any) -> _Tracked | None:
        """The entry a notification is about. Notifications name no reseller, so: the one
        reseller following the entitlement (watching it through the receiver, if any does);
        of several, one the notification is next owed to (with the status it shows, if one
        such), those being alike for the verdict; None when none is owed it. An entitlement
        no one follows is followed from here on, under no reseller."""
        following = [e[entitlement_id] for e in self.tracked.values() if entitlement_id in e]
        watching = [entry for entry in following if entry.watched] or following
        if not watching:
            return self.tracked.setdefault(NO_RESELLER, {}).setdefault(entitlement_id, _Tracked())
        if len(watching) == 1:
            return watching[0]
        owed_to = [entry for entry in watching if entry.owed and entry.owed[0][0] == kind]
        showing = [entry for entry in owed_to if entry.owed and entry.owed[0][1] == status]
        chosen = showing or owed_to
        return chosen[0] if chosen else None

    def _event_notification(
        self, entry: _Tracked, kind: Any, status: Any
    ) -> list[tuple[str, str, str]]:
        if entry.status is None:
            entry.status = status if isinstance(status, str) else None
            return []
        allowed = set(entry.deferred.completed_by) if entry.deferred is not None else set()
        for prior in sorted(self.contract.reachable(entry.status, entry.deferred)):
            for row in self.contract.events:
                if prior not in row.from_statuses or kind not in row.notifications:
                    continue
                if row.event == MERCHANT_CONFIRMED and row.id not in allowed:
                    continue
                if row.result(prior) == status:
                    if row.id in allowed:
                        entry.deferred = None
                    entry.status = str(status)
                    self.coverage.fired(row.id)
                    return []
        return [
            (
                NOTIFICATION_CHECK,
                f"a notification some row sends from {entry.status}",
                f"{kind} with status {status}",
            )
        ]

    def finish(self) -> list[Violation]:
        """At the end: notifications still owed were never sent."""
        found = [
            Violation(
                NOTIFICATION_CHECK,
                NOTIFICATION,
                entitlement_id,
                f"{kind} (status {after})",
                "never sent",
                "-",
            )
            for entitlement_id, entry in self._all_tracked()
            if entry.owed
            for kind, after in entry.owed
        ]
        for _, entry in self._all_tracked():
            if entry.owed:
                entry.owed.clear()
        return self._keep(found)

    def rules(self) -> list[str]:
        """Every rule this judge applies, for reports that list the passing ones too."""
        return [
            SHAPE_RULE,
            INVALID_REQUEST_RULE,
            CREDENTIALS_RULE,
            *checks.RULES,
            *(p.name for p in promises.PROMISES),
            STATE_RULE,
            NOTIFICATION_CHECK,
        ]
