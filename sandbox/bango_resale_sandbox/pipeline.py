"""The request pipeline: from a matched route to a handler's answer.

In order: match the route (405/404), serve the activation page and health without
credentials, authenticate (with the failed-login throttle), open the request's entry in the
request log (if one is kept; it is closed with the answer), take from the reseller's rate
limit, read `X-Magic-Number` into the request's `Behaviour`, validate path, query, header
and body against the spec, then run the handler: reads as they are, writes inside one store
transaction, and writes with `X-RequestIdentifier` through the idempotency record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import bango_resale_spec as spec
from bango_resale_spec import compiled
from bango_resale_spec.compiled import Operation, RequestInvalid

from . import _json, activation, limits, magic, server
from .asgi import JSON, Receive, Response, Scope, base_url, header_text, read_body
from .auth import Authenticator
from .behaviour import Behaviour
from .config import SandboxConfig
from .domain import DomainError
from .envelopes import Envelopes, envelope
from .magic import UnknownMagicNumber
from .ratelimit import LoginThrottle, RateLimiter, SharedBuckets
from .services import MerchantSignUp
from .storage import EntitlementStore, StoredResponse

if TYPE_CHECKING:
    from .console.journal import RequestJournal

RETRY_AFTER_SECONDS = 1
# Methods that change nothing; a browser may send any of the others from another site's page.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TRANSIENT_STATUSES = frozenset({429, 500, 503})


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs ~5 us per request
class Request:
    """A request that passed the pipeline's checks, as a handler sees it."""

    operation: Operation
    reseller: str
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    body: Any
    behaviour: Behaviour
    raw_body: bytes
    base_url: str


Handler = Callable[[Request], Awaitable[Response]]


class Pipeline:
    """Checks a request and runs its handler; see the module docstring for the order."""

    def __init__(
        self,
        config: SandboxConfig,
        store: EntitlementStore,
        signup: MerchantSignUp,
        envelopes: Envelopes,
        handlers: Mapping[str, Handler],
        limiter: RateLimiter,
        journal: RequestJournal | None = None,
    ) -> None:
        """`journal`: where each request of a reseller is logged, with its answer (None: not
        logged)."""
        self.config = config
        self.journal = journal
        self.store = store
        self.signup = signup
        self.envelopes = envelopes
        self.handlers = dict(handlers)
        self.partner = compiled.partner()
        self.controls = compiled.sandbox()
        self.auth = Authenticator(config.resellers)
        self.limiter = limiter
        shared = store if isinstance(store, SharedBuckets) else None
        self.logins = LoginThrottle(
            config.failed_logins_per_source,
            config.failed_logins_per_source_user,
            config.failed_logins_per_user,
            config.resellers,
            shared=shared,
        )
        # The behaviour of a request without X-Magic-Number (most of them), built once.
        self._unforced = Behaviour()
        self._reused = spec.response_code_row_for(spec.REQUEST_IDENTIFIER_REUSED)
        self._not_json = spec.response_code_row_for(spec.UNSUPPORTED_MEDIA_TYPE)
        self._foreign = spec.response_code_row_for(spec.FOREIGN_ORIGIN)
        # Browser origins besides the sandbox's own that may send writes (a console on a
        # port of its own, say); `trust_origin` adds one at run time.
        self._trusted_origins = set(config.trusted_origins)
        if config.public_base_url:
            self._trusted_origins.add(config.public_base_url.lower())
        self._own_origins: dict[tuple[str, str, int], frozenset[str]] = {}
        missing = {op.operation_id for op in (*self.partner.operations, *self.controls.operations)}
        missing -= {*self.handlers, *activation.PAGE_OPERATIONS}
        if missing:
            raise RuntimeError(f"no handler for operations {sorted(missing)}")

    async def handle(
        self, scope: Scope, headers: Mapping[bytes, bytes], receive: Receive
    ) -> Response:
        method, path = scope["method"], scope["path"]
        expect = headers.get(b"expect")
        if expect is not None and expect.strip().lower() != b"100-continue":
            # The one expectation HTTP/1.1 defines; the server sends its 100 when the body is read.
            return envelope(
                417,
                "BAD_REQUEST",
                "Expect: only 100-continue is supported; send the request without it",
            )
        router = self.controls if path.startswith("/sandbox/") else self.partner
        operation, path_params, allowed = router.match(method, path)
        if operation is None:
            if allowed:
                response = envelope(405, "BAD_REQUEST", f"{method} is not allowed on {path}")
                response.headers.append((b"allow", ", ".join(sorted(allowed)).encode()))
                return response
            return self.envelopes.error("NOT_FOUND", f"no such resource: {path}")
        if operation.operation_id in activation.PAGE_OPERATIONS:
            status, page = await activation.serve_page(
                self.signup,
                self.store,
                self.envelopes.status_for,
                operation.operation_id,
                path_params["token"],
                receive,
            )
            return Response(status, page, activation.HTML)
        if operation.operation_id == "getHealth":
            health = Request(operation, "", {}, {}, None, self._unforced, b"", "")
            return await self.handlers["getHealth"](health)

        origin = headers.get(b"origin")
        if origin is not None and method not in _SAFE_METHODS and not self._own(origin, scope):
            # A page of another site (or another port of this host) in a browser that holds a
            # reseller's credentials: the browser would send them, so the write is refused.
            return envelope(
                self._foreign.http_status,
                self._foreign.response_code,
                f"Origin {header_text(origin)!r} is not this service's own: a page of another"
                " site may not change anything here",
            )
        authorization = headers.get(b"authorization")
        source = str((scope.get("client") or ("unknown",))[0])
        if self.logins.watching():  # after a failed login; until then, skip the decoding
            wait = await self.logins.wait(source, Authenticator.claimed_user(authorization))
            if wait:
                return self.envelopes.retry_later(
                    "TOO_MANY_REQUESTS", "Too many failed logins", wait
                )
        reseller = self.auth.reseller_for(authorization)
        if reseller is None:
            user = Authenticator.claimed_user(authorization)
            if user is not None:  # only a user:password pair is a guess worth slowing
                await self.logins.failed(source, user)
            response = self.envelopes.error(
                "UNAUTHORIZED", "The user name or password was not accepted"
            )
            response.headers.append((b"www-authenticate", b'Basic realm="bango-resale"'))
            return response
        server.mark_authenticated(scope)  # the connection may now idle longer
        if not self.logins.known.noted(source, reseller):
            await self.logins.known.note(source, reseller)
        # The request log sees each request of a reseller from here on, with its answer.
        journal = self.journal
        entry = (
            None
            if journal is None
            else journal.open(reseller, operation, path_params, scope, headers, receive)
        )
        if journal is None or entry is None:
            return await self._serve(scope, headers, receive, operation, path_params, reseller)
        response = await self._serve(
            scope, headers, entry.receive, operation, path_params, reseller
        )
        journal.close(entry, response)
        return response

    async def _serve(
        self,
        scope: Scope,
        headers: Mapping[bytes, bytes],
        receive: Receive,
        operation: Operation,
        path_params: Mapping[str, str],
        reseller: str,
    ) -> Response:
        """The rest of the pipeline for a request whose credentials name `reseller`."""
        method = scope["method"]
        wait = await self.limiter.acquire(reseller)
        if wait:
            return self.envelopes.retry_later("TOO_MANY_REQUESTS", "Request limit reached", wait)
        try:
            forced = magic.parse(header_text(headers.get(b"x-magic-number")))
        except (UnknownMagicNumber, UnicodeDecodeError) as exc:
            return self.envelopes.error("BAD_REQUEST", str(exc))
        failure = None if forced is None else magic.forced_failure(forced)
        if failure == "INTERNAL_ERROR":
            return self.envelopes.error(failure, "Forced by X-Magic-Number")
        if failure is not None:
            return self.envelopes.retry_later(
                failure, "Forced by X-Magic-Number", RETRY_AFTER_SECONDS
            )
        try:
            request_id = _request_id(operation, headers)
            operation.check_path(path_params)
            query = (
                operation.check_query(
                    parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
                )
                if scope["query_string"]
                else {}
            )
            # A request without a declared body has none to wait for (the GET hot path).
            has_body = headers.get(b"content-length", b"0") != b"0" or (
                b"transfer-encoding" in headers
            )
            if has_body and operation.json_body and not _is_json(headers.get(b"content-type")):
                # A form or text/plain body is what another site's page can send without asking
                # the browser first: only JSON is read. A bodyless write needs no type.
                return envelope(
                    self._not_json.http_status,
                    self._not_json.response_code,
                    "Content-Type: a request body must be sent as application/json",
                )
            raw = await read_body(receive, headers, self.config.max_body_bytes) if has_body else b""
            body = _parse_body(operation, raw)
        except RequestInvalid as exc:
            return self.envelopes.error("BAD_REQUEST", str(exc))
        request = Request(
            operation,
            reseller,
            path_params,
            query,
            body,
            self._unforced if forced is None else Behaviour(forced),
            raw,
            base_url(scope, self.config.public_base_url),
        )
        handler = self.handlers[operation.operation_id]
        if operation.method == "GET":
            # A read is never stored or replayed, whatever X-RequestIdentifier it carries (the
            # id is only echoed): a repeated read shows the record as it is now. No
            # transaction either: there is nothing to undo.
            try:
                return await handler(request)
            except DomainError as exc:
                return self.envelopes.error(exc.response_code, exc.message)
        if request_id is None:
            # The transaction holds this handler's writes only: a refusal rolls all of it
            # back, with no savepoint to pay for on every write.
            try:
                async with self.store.transaction():
                    return await handler(request)
            except DomainError as exc:
                return self.envelopes.error(exc.response_code, exc.message)
        return await self._idempotent(handler, request, request_id, method, scope)

    def trust_origin(self, origin: str) -> None:
        """Let pages of `origin` (scheme://host[:port]) send writes, like the sandbox's own."""
        self._trusted_origins.add(origin.rstrip("/").lower())

    def _own(self, origin: bytes, scope: Scope) -> bool:
        """True for an `Origin` that is this sandbox's own: the address the request arrived on
        (with `localhost` for a loopback address, same port), the configured public base URL,
        or a trusted origin."""
        try:
            text = origin.decode("ascii").lower()
        except UnicodeDecodeError:
            return False
        if text in self._trusted_origins:
            return True
        host, port = scope.get("server") or ("", 0)
        key = (str(scope.get("scheme", "http")), str(host), int(port or 0))
        own = self._own_origins.get(key)
        if own is None:
            own = self._own_origins[key] = _origins_of(*key)
        return text in own

    async def _run(self, handler: Handler, request: Request) -> Response:
        """Run a handler inside the open transaction; a refusal undoes the handler's writes."""
        try:
            async with self.store.savepoint():
                return await handler(request)
        except DomainError as exc:
            return self.envelopes.error(exc.response_code, exc.message)

    async def _idempotent(
        self, handler: Handler, request: Request, request_id: str, method: str, scope: Scope
    ) -> Response:
        fingerprint = hashlib.sha256(
            b"\0".join(
                (
                    method.encode(),
                    scope["path"].encode(),
                    scope["query_string"],
                    request.raw_body,
                )
            )
        ).digest()
        async with self.store.transaction():
            stored = await self.store.claim_response(request.reseller, request_id, fingerprint)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    # A conflict with the request stored under this id: the spec's row for
                    # this cause gives the HTTP status and the responseCode.
                    return envelope(
                        self._reused.http_status,
                        self._reused.response_code,
                        f"X-RequestIdentifier {request_id} already stands for a different "
                        "request; send a new id for a new request",
                    )
                return Response(stored.status, stored.body)
            response = await self._run(handler, request)
            # Transient failures are not remembered, so that a retry can succeed.
            if response.status not in _TRANSIENT_STATUSES and response.content_type == JSON:
                await self.store.put_response(
                    request.reseller,
                    request_id,
                    StoredResponse(fingerprint, response.status, response.body),
                )
            else:
                await self.store.forget_response(request.reseller, request_id)
            return response


def _request_id(operation: Operation, headers: Mapping[bytes, bytes]) -> str | None:
    raw = headers.get(b"x-requestidentifier")
    if raw is None:
        return None
    value = header_text(raw) or ""
    validator = operation.header_params.get("X-RequestIdentifier")
    if validator is not None:
        validator.check(value, "X-RequestIdentifier")
    elif not value:
        raise RequestInvalid("X-RequestIdentifier: must not be empty")
    return value


def _is_json(content_type: bytes | None) -> bool:
    """True for `application/json`, whatever its parameters (JSON is UTF-8 in any case)."""
    if content_type is None:
        return False
    return content_type.partition(b";")[0].strip().lower() == b"application/json"


def _origins_of(scheme: str, host: str, port: int) -> frozenset[str]:
    """The `Origin` values a browser sends for pages served from scheme://host:port."""
    names = {f"[{host}]" if ":" in host else host}
    if host == "::1" or host.startswith("127."):
        names.add("localhost")
    default = {"http": 80, "https": 443}.get(scheme)
    suffix = "" if port == default else f":{port}"
    return frozenset(f"{scheme}://{name}{suffix}" for name in names)


def _parse_body(operation: Operation, raw: bytes) -> Any:
    if not operation.json_body:
        return None
    if not raw.strip():
        if operation.body_required:
            raise RequestInvalid("body: a JSON object is required")
        return None
    try:
        body = _json.loads(raw)
    except _json.JSONDecodeError as exc:
        raise RequestInvalid(f"body: not valid JSON ({exc})") from None
    # Before schema validation and storage: deep JSON is cheap to send, costly to walk
    # and store, and past ~250 levels cannot be serialised back at all.
    problem = limits.too_deep(body, "body", limits.max_json_depth())
    if problem is not None:
        raise RequestInvalid(problem)
    if operation.body is not None:
        operation.body.check(body, "body")
    return body
