"""A deterministic scenario suite run beside the fuzzing, over real HTTP.

Fuzzing finds what nobody thought of; it rarely reaches answers that need a particular state
or a merchant's particular reply. These scenarios walk the lifecycle on purpose (with the
sandbox's `X-Magic-Number` header where a merchant's reply has to be forced) so that every
documented (HTTP status, responseCode) pair of every operation is asked for at least once.
Every answer is judged by the same contract rules as the fuzzed traffic and recorded for the
coverage matrix. A step whose answer is not the one it asked for is a "miss": against this
project's sandbox a miss fails the run; against another service it is reported only, since
magic numbers are a sandbox feature.
"""

from __future__ import annotations

import itertools
import shlex
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from httpx import USE_CLIENT_DEFAULT

import bango_resale_spec as spec
from bango_resale_contract import checks, promises, sandbox_data
from bango_resale_contract.behaviour import BehaviourJudge, describe_answer
from bango_resale_contract.observations import Observation
from bango_resale_contract.sandbox_data import MAGIC_HEADER
from bango_resale_spec import Transition, status_machine

SOURCE = "scenarios"
# The check a body that is not JSON fails (the generic checks see only the fuzzed traffic).
JSON_CHECK = "bango_body_is_json"
# The reason every scenario ends an entitlement with, and one the table does not have.
VALID_REASON = ("CUSTOMER_CANCELLED", "NOT_RENEWED", "Customer has not renewed")
INVALID_REASON = ("CUSTOMER_CANCELLED", "FRAUD", "Not a pair of the reason table")
SUSPEND_REASON = ("ACTIVATION_ROLLBACK", "CUSTOMER_PAYMENT_DEFAULT", "Payment is overdue")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """How to call one partner operation."""

    method: str
    path: str  # with `{id}` where the entitlement id goes


ENDPOINTS: Mapping[str, Endpoint] = {
    "createEntitlement": Endpoint("POST", "/v1/entitlement"),
    "updateEntitlement": Endpoint("PATCH", "/v1/entitlement"),
    "getEntitlement": Endpoint("GET", "/v1/entitlement/{id}"),
    "queryEntitlements": Endpoint("POST", "/v1/entitlement/report"),
    "cancelEntitlement": Endpoint("POST", "/v1/entitlement/cancel/{id}"),
    "revokeEntitlement": Endpoint("POST", "/v1/entitlement/revoke/{id}"),
    "getActivationInfo": Endpoint("GET", "/v1/entitlement/activationInfo/{id}"),
    "reactivateEntitlement": Endpoint("POST", "/v1/entitlement/reactivate/{id}"),
    "echo": Endpoint("GET", "/v1/echo/{id}"),
}


# Headers httpx adds on its own; a reproducer is clearer without them.
_IMPLICIT_HEADERS = frozenset(
    {"host", "accept", "accept-encoding", "connection", "user-agent", "content-length"}
)
# Headers that carry credentials: a reproducer never repeats them.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def curl_command(request: httpx.Request) -> str:
    """A shell command that sends `request` again, credentials left to the reader's shell."""
    parts = ["curl", "-X", request.method, "-u", '"$BANGO_USER:$BANGO_PASSWORD"']
    for name, value in request.headers.items():
        if name.lower() not in _IMPLICIT_HEADERS | CREDENTIAL_HEADERS:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if request.content:
        parts += ["-d", shlex.quote(request.content.decode("utf-8", "replace"))]
    parts.append(shlex.quote(str(request.url)))
    return " ".join(parts)


@dataclass(slots=True)
class ScenarioReport:
    """What the scenario suite saw: observations, contract violations and misses."""

    observations: list[Observation] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    requests: int = 0


@dataclass
class ScenarioClient:
    """Calls partner operations, judges and records every answer."""

    http: httpx.Client
    report: ScenarioReport
    memory: checks.TerminalStatusMemory = field(default_factory=checks.TerminalStatusMemory)
    records: checks.RecordMemory = field(default_factory=checks.RecordMemory)
    # Judges every exchange against the status machine, when given.
    judge: BehaviourJudge | None = None
    # What the service sells: creates name these (by position, see `product`).
    products: tuple[tuple[str, str], ...] = sandbox_data.KNOWN_PRODUCTS
    # The last exchange sent, for checks that look further than the answer's body, and the
    # row of the status machine it followed (None: a refusal, a read, or no judge).
    last: tuple[httpx.Request, httpx.Response] | None = None
    last_row: Transition | None = None
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self._numbers):04d}"

    def product(self, index: int) -> tuple[str, str]:
        """The product at `index` of the list, counted round (the sandbox's catalogue lists
        one that activates at once, one that ends at the period end, a third of BANGO_US)."""
        return self.products[index % len(self.products)]

    def product_change(self) -> tuple[tuple[str, str], tuple[str, str]] | None:
        """Two products of one merchant (a product change stays with the merchant), the
        second and third of the sandbox's catalogue; None when no merchant has two."""
        pairs = [(a, b) for a, b in itertools.permutations(self.products, 2) if a[0] == b[0]]
        return pairs[0] if pairs else None

    def call(
        self,
        operation_id: str,
        *,
        entitlement_id: str | None = None,
        body: Any = None,
        magic: str | None = None,
        auth: tuple[str, str] | None = None,
        expect: tuple[int, str] | None = None,
        step: str = "",
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        prefer: Collection[str] = (),
    ) -> Mapping[str, Any]:
        """Send one request; return the JSON body (empty mapping if there is none).

        `prefer` names the rows of the status machine the step aims at, which the judge
        credits where several rows fit what it sees."""
        endpoint = ENDPOINTS[operation_id]
        path = endpoint.path.replace("{id}", entitlement_id or "")
        sent = {**(headers or {}), **({MAGIC_HEADER: magic} if magic else {})}
        if request_id is not None:
            sent[checks.REQUEST_IDENTIFIER_HEADER] = request_id
        request = self.http.build_request(endpoint.method, path, json=body, headers=sent)
        # A per-request credential replaces the client's; the rest keep the client's.
        response = self.http.send(request, auth=auth if auth is not None else USE_CLIENT_DEFAULT)
        self.last, self.last_row = (request, response), None
        self.report.requests += 1
        try:
            payload: Any = response.json()
        except ValueError:
            payload = None
        exchange = checks.Exchange(
            operation_id=operation_id,
            http_status=response.status_code,
            response_body=payload,
            request_body=body,
            entitlement_id=entitlement_id
            or (body.get("entitlementId") if isinstance(body, dict) else None),
        )
        code = checks.response_code_of(payload)
        self.report.observations.append(
            Observation(operation_id, response.status_code, code, SOURCE)
        )
        label = f"{step or operation_id}: {endpoint.method} {path}"
        problems = [
            (check_name, problem)
            for check_name, rule in checks.RULES.items()
            for problem in rule(exchange)
        ]
        problems += [(checks.TERMINAL_STATUS_CHECK, p) for p in self.memory.judge(exchange)]
        problems += self.records.judge(exchange)
        problems += [
            (promise.name, problem)
            for promise in promises.PROMISES
            for problem in promise.check(operation_id, request, response, payload)
        ]
        if payload is None:
            problems.append((JSON_CHECK, "the contract answers with a JSON object; this is not"))
        # One sentence per problem: the step and what it sent, what came back, what the
        # contract expects (the problem says), and the request to send again.
        answer = describe_answer(
            response.status_code, code, payload.get("status") if isinstance(payload, dict) else None
        )
        self.report.violations.extend(
            f"{check}: {label}: the service answered {answer}; {problem}\n"
            f"    reproduce with: {curl_command(request)}"
            for check, problem in problems
        )
        if self.judge is not None and auth is None:
            judged = exchange.entitlement_id
            if operation_id == "createEntitlement" and isinstance(payload, dict):
                judged = payload.get("entitlementId")
            self.last_row = self.judge.request(
                operation_id,
                body,
                response.status_code,
                payload,
                judged if isinstance(judged, str) else "",
                self.read_status,
                step=label,
                reproduce=curl_command(request),
                prefer=prefer,
            )
        if expect is not None and (response.status_code, code) != expect:
            self.report.misses.append(
                f"{label}: asked for HTTP {expect[0]} {expect[1]}, got {answer}\n"
                f"    reproduce with: {curl_command(request)}"
            )
        return payload if isinstance(payload, dict) else {}

    def read_status(self, entitlement_id: str) -> str | None:
        """The entitlement's status as a read shows it now (None if it cannot be read)."""
        response = self.http.get(f"/v1/entitlement/{entitlement_id}")
        try:
            status = response.json().get("status") if response.status_code == 200 else None
        except ValueError:
            status = None
        return None if status is None else str(status)

    def create(
        self,
        *,
        magic: str | None,
        product: tuple[str, str] | None = None,
        expect: tuple[int, str],
        step: str,
        **fields: Any,
    ) -> str:
        """Create an entitlement for a fresh customer; return its id ("" if none came back)."""
        product = product or self.product(0)
        body = {
            "customerIdentifier": self.unique("scenario-customer"),
            "merchantAccountKey": product[0],
            "productKey": product[1],
            **fields,
        }
        answer = self.call("createEntitlement", body=body, magic=magic, expect=expect, step=step)
        entitlement_id = answer.get("entitlementId")
        return entitlement_id if isinstance(entitlement_id, str) else ""


def _terminate_body(reason: tuple[str, str, str]) -> dict[str, str]:
    return {
        "cancelReasonCategory": reason[0],
        "cancelReasonCode": reason[1],
        "cancelReasonDescription": reason[2],
        "ticket": "scenario-custom-property",
    }


def _suspend_body(entitlement_id: str) -> dict[str, str]:
    return {
        "entitlementId": entitlement_id,
        "entitlementBenefits": checks.SUSPEND_BENEFITS,
        "reasonCategory": SUSPEND_REASON[0],
        "reasonCode": SUSPEND_REASON[1],
        "reasonDescription": SUSPEND_REASON[2],
    }


OK_200 = (200, "OK")
OK_201 = (201, "OK")
OK_202 = (202, "OK")
ACTION_202 = (202, checks.CLIENT_ACTION_REQUIRED)
BAD_400 = (400, "BAD_REQUEST")
UNAUTHORIZED_401 = (401, "UNAUTHORIZED")
NOT_FOUND_404 = (404, "NOT_FOUND")
EXISTS_409 = (409, "ALREADY_EXISTS")
NOT_AVAILABLE_409 = (409, "NOT_AVAILABLE")
ACTIVATED = "CREATE_REQUEST_RETURNS_ACTIVATED"


def _accepted_answers(client: ScenarioClient) -> None:
    """202 OK answers, each on its own entitlement: an operation the merchant has not yet
    confirmed blocks further changes to that entitlement until it completes."""
    for operation_id, magic in (
        ("updateEntitlement", "UPDATE_REQUEST_RETURNS_ACCEPTED"),
        ("cancelEntitlement", "CANCEL_REQUEST_RETURNS_ACCEPTED"),
        ("revokeEntitlement", "REVOKE_REQUEST_RETURNS_ACCEPTED"),
    ):
        target = client.create(magic=ACTIVATED, expect=OK_200, step=f"create for {magic}")
        client.call(
            operation_id,
            magic=magic,
            expect=OK_202,
            step=f"{operation_id} accepted",
            **_arguments_for(operation_id, target, client.product(0)),
        )


def _lifecycle(client: ScenarioClient) -> None:
    """Create, read, update, suspend, resume, cancel, reactivate and revoke on purpose."""
    call = client.call
    call("echo", entitlement_id="scenario-echo", expect=OK_200)
    active = client.create(magic=ACTIVATED, expect=OK_200, step="create activated")
    created = client.create(
        magic="CREATE_REQUEST_RETURNS_CREATED", expect=OK_201, step="create pending"
    )
    needs_signup = client.create(
        magic="CREATE_REQUEST_RETURNS_ACTIVATION_REQUIRED",
        expect=ACTION_202,
        step="create needing sign-up",
    )
    client.create(magic=None, expect=EXISTS_409, step="create with a used id", entitlementId=active)
    client.create(
        magic="CREATE_REQUEST_RETURNS_NOT_AVAILABLE",
        expect=NOT_AVAILABLE_409,
        step="create refused by the merchant",
    )
    call(
        "createEntitlement",
        body={"customerIdentifier": "scenario-incomplete"},
        expect=BAD_400,
        step="create without product",
    )

    owner = call("getEntitlement", entitlement_id=active, expect=OK_200).get("customerIdentifier")
    call("getEntitlement", entitlement_id="scenario-no-such-entitlement", expect=NOT_FOUND_404)
    call("queryEntitlements", body={"customerIdentifier": owner}, expect=OK_200)
    call(
        "queryEntitlements",
        body={"status": "ACTIVE"},
        expect=BAD_400,
        step="query without customer",
    )

    call(
        "getActivationInfo",
        entitlement_id=needs_signup,
        magic="ACTIVATION_INFO_RETURNS_ACTIVATION_URL",
        expect=OK_200,
    )
    call(
        "getActivationInfo",
        entitlement_id=created,
        magic="ACTIVATION_INFO_RETURNS_ACTIVATION_CODE",
        expect=OK_200,
    )
    call(
        "getActivationInfo",
        entitlement_id=active,
        expect=NOT_AVAILABLE_409,
        step="activation info of an active entitlement",
    )
    call("getActivationInfo", entitlement_id="scenario-no-such-entitlement", expect=NOT_FOUND_404)

    call(
        "updateEntitlement",
        body={"entitlementId": active, "extensionData": {"salesChannel": "scenario"}},
        expect=OK_200,
        step="update metadata",
    )
    call(
        "updateEntitlement",
        body={"entitlementId": active, "offerKey": "SCENARIO-OFFER"},
        magic="UPDATE_REQUEST_RETURNS_NOT_AVAILABLE",
        expect=NOT_AVAILABLE_409,
        step="update refused",
    )
    call(
        "updateEntitlement",
        body={"entitlementId": active},
        expect=BAD_400,
        step="update without a change",
    )
    call(
        "updateEntitlement",
        body={"entitlementId": "scenario-no-such-entitlement", "offerKey": "X"},
        expect=NOT_FOUND_404,
    )
    change = client.product_change()
    if change is not None:
        changing = client.create(
            magic=ACTIVATED, product=change[0], expect=OK_200, step="create to change product"
        )
        call(
            "updateEntitlement",
            body={"entitlementId": changing, "productKey": change[1][1]},
            magic="UPDATE_REQUEST_RETURNS_ACTIVATION_REQUIRED",
            expect=ACTION_202,
            step="product change needing sign-up",
        )
    call("updateEntitlement", body=_suspend_body(active), expect=OK_200, step="suspend")
    call(
        "updateEntitlement",
        body={"entitlementId": active, "entitlementBenefits": "NORMAL"},
        expect=OK_200,
        step="resume",
    )

    call(
        "cancelEntitlement",
        entitlement_id=active,
        body=_terminate_body(INVALID_REASON),
        expect=BAD_400,
        step="cancel with a pair not in the table",
    )
    call(
        "cancelEntitlement",
        entitlement_id="scenario-no-such-entitlement",
        body=_terminate_body(VALID_REASON),
        expect=NOT_FOUND_404,
    )
    call(
        "reactivateEntitlement",
        entitlement_id=active,
        expect=EXISTS_409,
        step="reactivate an active entitlement",
    )
    call(
        "cancelEntitlement",
        entitlement_id=active,
        body=_terminate_body(VALID_REASON),
        expect=OK_200,
        step="cancel",
    )
    call(
        "cancelEntitlement",
        entitlement_id=active,
        body=_terminate_body(VALID_REASON),
        expect=NOT_AVAILABLE_409,
        step="cancel a cancelled entitlement",
    )
    call("reactivateEntitlement", entitlement_id=active, expect=OK_200, step="reactivate")
    call(
        "cancelEntitlement",
        entitlement_id=active,
        body=_terminate_body(VALID_REASON),
        expect=OK_200,
        step="cancel again",
    )
    call(
        "reactivateEntitlement",
        entitlement_id=active,
        magic="REACTIVATE_REQUEST_RETURNS_ACTIVATION_REQUIRED",
        expect=ACTION_202,
        step="reactivate needing sign-up",
    )
    cancelled = client.create(magic=ACTIVATED, expect=OK_200, step="create to cancel")
    call(
        "cancelEntitlement",
        entitlement_id=cancelled,
        body=_terminate_body(VALID_REASON),
        expect=OK_200,
        step="cancel before an accepted reactivation",
    )
    call(
        "reactivateEntitlement",
        entitlement_id=cancelled,
        magic="REACTIVATE_REQUEST_RETURNS_ACCEPTED",
        expect=OK_202,
        step="reactivate accepted",
    )
    call(
        "reactivateEntitlement", entitlement_id="scenario-no-such-entitlement", expect=NOT_FOUND_404
    )

    revoked = client.create(magic=ACTIVATED, expect=OK_200, step="create to revoke")
    call(
        "revokeEntitlement",
        entitlement_id=revoked,
        body=_terminate_body(INVALID_REASON),
        expect=BAD_400,
        step="revoke with a pair not in the table",
    )
    call(
        "revokeEntitlement",
        entitlement_id="scenario-no-such-entitlement",
        body=_terminate_body(VALID_REASON),
        expect=NOT_FOUND_404,
    )
    call(
        "revokeEntitlement",
        entitlement_id=revoked,
        body=_terminate_body(VALID_REASON),
        expect=OK_200,
        step="revoke",
    )
    call(
        "revokeEntitlement",
        entitlement_id=revoked,
        body=_terminate_body(VALID_REASON),
        expect=NOT_AVAILABLE_409,
        step="revoke a revoked entitlement",
    )
    call(
        "cancelEntitlement",
        entitlement_id=revoked,
        body=_terminate_body(VALID_REASON),
        expect=NOT_AVAILABLE_409,
        step="cancel a revoked entitlement",
    )
    call(
        "updateEntitlement",
        body={"entitlementId": revoked, "offerKey": "X"},
        expect=NOT_AVAILABLE_409,
        step="update a revoked entitlement",
    )
    call(
        "reactivateEntitlement",
        entitlement_id=revoked,
        expect=NOT_AVAILABLE_409,
        step="reactivate a revoked entitlement",
    )


def _arguments_for(
    operation_id: str, entitlement_id: str, product: tuple[str, str]
) -> dict[str, Any]:
    """A well-formed request of each operation, for the answers any operation can give."""
    bodies: dict[str, Any] = {
        "createEntitlement": {
            "customerIdentifier": "scenario-any",
            "merchantAccountKey": product[0],
            "productKey": product[1],
        },
        "updateEntitlement": {"entitlementId": entitlement_id, "offerKey": "X"},
        "queryEntitlements": {"customerIdentifier": "scenario-any"},
        "cancelEntitlement": _terminate_body(VALID_REASON),
        "revokeEntitlement": _terminate_body(VALID_REASON),
    }
    arguments: dict[str, Any] = {"body": bodies.get(operation_id)}
    if "{id}" in ENDPOINTS[operation_id].path:
        arguments["entitlement_id"] = entitlement_id
    return arguments


def _answers_of_every_operation(client: ScenarioClient, wrong_password: tuple[str, str]) -> None:
    """Bad credentials, an unknown magic number and the transient failures, per operation."""
    # When the create fails (a service refusing our credentials, say), the probes still need a
    # well-formed id: an empty one would hit a different route and blur the report.
    target = (
        client.create(magic=ACTIVATED, expect=OK_200, step="create for generic answers")
        or "scenario-no-entitlement"
    )
    transient_codes = {
        row.http_status: row.response_code for row in spec.response_code_rows() if row.transient
    }
    for operation_id in ENDPOINTS:
        arguments = _arguments_for(operation_id, target, client.product(0))
        client.call(
            operation_id,
            auth=wrong_password,
            expect=UNAUTHORIZED_401,
            step=f"{operation_id} with a wrong password",
            **arguments,
        )
        client.call(
            operation_id,
            magic=sandbox_data.UNKNOWN_MAGIC_NUMBER,
            expect=BAD_400,
            step=f"{operation_id} with an unknown magic number",
            **arguments,
        )
        for status, magic in sandbox_data.TRANSIENT_OUTCOMES.items():
            client.call(
                operation_id,
                magic=magic,
                expect=(status, transient_codes[status]),
                step=f"{operation_id} forced {status}",
                **arguments,
            )
        if ENDPOINTS[operation_id].method != "GET":
            _reused_request_identifier(client, operation_id, arguments)
            _browser_refusals(client, operation_id, arguments)


def _reused_request_identifier(
    client: ScenarioClient, operation_id: str, arguments: Mapping[str, Any]
) -> None:
    """A write under an X-RequestIdentifier already taken by a different request is refused."""
    reused = spec.response_code_row_for(spec.REQUEST_IDENTIFIER_REUSED)
    request_id = client.unique("scenario-reused-id")
    client.call(
        "queryEntitlements",
        body={"customerIdentifier": client.unique("scenario-id-owner")},
        request_id=request_id,
        step=f"take an X-RequestIdentifier before {operation_id}",
    )
    client.call(
        operation_id,
        request_id=request_id,
        expect=(reused.http_status, reused.response_code),
        step=f"{operation_id} under an X-RequestIdentifier taken by another request",
        **arguments,
    )


#: A page of another site, as a browser names it in the `Origin` of a cross-site request.
FOREIGN_ORIGIN = "http://foreign-site.example"


def _browser_refusals(
    client: ScenarioClient, operation_id: str, arguments: Mapping[str, Any]
) -> None:
    """What a browser could send from another site's page is refused: a write carrying that
    site's `Origin`, and a body not sent as JSON (which a page can post without asking)."""
    foreign = spec.response_code_row_for(spec.FOREIGN_ORIGIN)
    client.call(
        operation_id,
        headers={"Origin": FOREIGN_ORIGIN},
        expect=(foreign.http_status, foreign.response_code),
        step=f"{operation_id} from another site's page",
        **arguments,
    )
    if arguments.get("body") is None:
        return
    not_json = spec.response_code_row_for(spec.UNSUPPORTED_MEDIA_TYPE)
    client.call(
        operation_id,
        headers={"Content-Type": "text/plain"},
        expect=(not_json.http_status, not_json.response_code),
        step=f"{operation_id} with a body sent as text/plain",
        **arguments,
    )


def _promises_kept(client: ScenarioClient) -> None:
    """Traffic that puts each promise of `promises.PROMISES`, and each rule of what an answer
    must keep of the ones before (`checks.RecordMemory`), to the test."""
    customer = client.unique("scenario-promises")
    kept = client.create(
        magic=ACTIVATED,
        expect=OK_200,
        step="create with an offer",
        customerIdentifier=customer,
        offerKey="SCENARIO-OFFER",
        extensionData={"origin": "scenario"},
    )
    client.call(
        "updateEntitlement",
        body={"entitlementId": kept, "extensionData": {"salesChannel": "scenario"}},
        expect=OK_200,
        step="update one key of extensionData",
    )
    ended = client.create(
        magic=ACTIVATED, expect=OK_200, step="create to end", customerIdentifier=customer
    )
    client.call(
        "revokeEntitlement",
        entitlement_id=ended,
        body=_terminate_body(VALID_REASON),
        expect=OK_200,
        step="revoke one of the customer's two",
    )
    client.call(
        "queryEntitlements",
        body={"customerIdentifier": customer},
        expect=OK_200,
        step="query all the customer's entitlements",
    )
    for status in ("ACTIVE", "REVOKED"):
        client.call(
            "queryEntitlements",
            body={"customerIdentifier": customer, "status": status},
            expect=OK_200,
            step=f"query the customer's {status} entitlements",
        )
    change = client.product_change()
    if change is not None:
        moving = client.create(
            magic=ACTIVATED, product=change[0], expect=OK_200, step="create to change product"
        )
        client.call(
            "updateEntitlement",
            body={"entitlementId": moving, "productKey": change[1][1]},
            expect=OK_200,
            step="change product",
        )
    client.call(
        "getEntitlement",
        entitlement_id=kept,
        headers={promises.REQUEST_ID_HEADER: client.unique("scenario-request")},
        expect=OK_200,
        step="get with a request identifier",
    )
    ending = client.create(
        magic=ACTIVATED,
        product=client.product(1),
        expect=OK_200,
        step="create to cancel at the end of the period",
    )
    client.call(
        "cancelEntitlement",
        entitlement_id=ending,
        body=_terminate_body(VALID_REASON),
        expect=OK_200,
        step="cancel at the end of the period",
    )


SCENARIOS: tuple[Callable[[ScenarioClient], None], ...] = (
    _lifecycle,
    _accepted_answers,
    _promises_kept,
)


def run_scenarios(
    base_url: str, user: str, password: str, products: tuple[tuple[str, str], ...] = ()
) -> ScenarioReport:
    """Run every scenario against the service at `base_url`; return what was seen.
    `products`: what the service sells (default: the sandbox's catalogue)."""
    report = ScenarioReport()
    judge = BehaviourJudge(status_machine())
    with httpx.Client(base_url=base_url, auth=(user, password), timeout=10.0) as http:
        client = ScenarioClient(
            http=http, report=report, judge=judge, products=products or sandbox_data.KNOWN_PRODUCTS
        )
        for scenario in SCENARIOS:
            scenario(client)
        _answers_of_every_operation(client, (user, password + "-wrong"))
    report.violations.extend(judge.violations)
    return report
